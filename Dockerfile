# Airbyte-compatible image of source-okta (also contains tap-okta for Singer/Meltano use).
# Build from the repository root: docker build -t okta-connector/source-okta:dev .
FROM rust:1.85-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p source-okta --bins

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/source-okta /airbyte/integration_code/source-okta
COPY --from=build /src/target/release/tap-okta /usr/local/bin/tap-okta
ENV AIRBYTE_ENTRYPOINT="/airbyte/integration_code/source-okta"
ENTRYPOINT ["/airbyte/integration_code/source-okta"]
LABEL io.airbyte.name=okta-connector/source-okta
LABEL io.airbyte.version=0.1.0
