#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need into local virtual
# environments (the BigQuery emulator; Singer targets and Meltano), starts the emulator on
# 127.0.0.1, checks formatting and lints, runs every test of the workspace, then airbyte-cdk's standard
# tests (scripts/acceptance.sh: its own venv, the binary against `okta-sim --port 8765`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# CI builds once from scratch: incremental caches only cost disk there.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

if [ -f crates/destination-bigquery/ci/emulator.sh ]; then
  bash crates/destination-bigquery/ci/emulator.sh install
  bash crates/destination-bigquery/ci/emulator.sh start
  trap 'bash "$root/crates/destination-bigquery/ci/emulator.sh" stop || true' EXIT
  export BQ_EMULATOR_ENDPOINT=http://127.0.0.1:9050
fi
if [ -f scripts/singer-env.sh ]; then
  bash scripts/singer-env.sh install
  eval "$(bash scripts/singer-env.sh env)"
fi

cargo fmt --all -- --check
# Everything generated from the stream manifest and the vendored specs is committed and current.
bash scripts/generate.sh --check
cargo clippy --locked --workspace --all-targets -- -D warnings
set +e
cargo test --locked --workspace --no-fail-fast 2>&1 | tee "${TMPDIR:-/tmp}/okta-connector-test.log"
status=${PIPESTATUS[0]}
# airbyte-cdk's standard tests (what replaced Airbyte's acceptance tests) against the binary and the simulator.
bash scripts/acceptance.sh run
acceptance=$?
[ "$acceptance" -eq 0 ] || status=1
set -e
# One closing line for the whole workspace.
awk '/^test result:/ {p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}' "${TMPDIR:-/tmp}/okta-connector-test.log"
exit "$status"
