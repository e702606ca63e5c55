# Airbyte-compatible image of source-okta (also contains tap-okta for Singer/Meltano use).
# Build from the repository root: docker build -t okta-connector/source-okta:dev .
# Base images are pinned by exact tag and digest (docker-library/repo-info); bump both together.
FROM rust:1.97.1-slim-bookworm@sha256:158b745f1b82dbeec7ea06e6b1617d6b005723bb66e6141cd2ddfee40d079ec3 AS build
WORKDIR /src
# .dockerignore keeps target/, the Python venvs and .env (secrets) out of the context.
COPY . .
RUN cargo build --release --locked -p source-okta --bins

FROM debian:bookworm-20260918-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin airbyte
COPY --from=build /src/target/release/source-okta /airbyte/integration_code/source-okta
COPY --from=build /src/target/release/tap-okta /usr/local/bin/tap-okta
# Runs as an unprivileged user (uid 1000, as Airbyte's own connector base images do).
USER 1000:1000
WORKDIR /home/airbyte
ENV AIRBYTE_ENTRYPOINT="/airbyte/integration_code/source-okta"
ENTRYPOINT ["/airbyte/integration_code/source-okta"]
LABEL io.airbyte.name=okta-connector/source-okta
LABEL io.airbyte.version=0.1.0
