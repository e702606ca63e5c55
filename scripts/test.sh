#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need into local virtual
# environments (the BigQuery emulator; Singer targets and Meltano; airbyte-cdk), starts the emulator
# on 127.0.0.1, checks formatting, generated files and lints, builds, then runs every test of the
# workspace and airbyte-cdk's standard tests (scripts/acceptance.sh: the binary against
# `okta-sim --port 8765`).
#
# The installs (network) run while cargo builds (CPU). The test suites mostly wait (on the
# simulator, the emulator, Meltano's start-up), so the source's, the destination's and the
# standard tests run side by side, the source's with more threads than cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# CI builds once from scratch: incremental caches only cost disk there.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
logs="${TMPDIR:-/tmp}/okta-connector-test"
rm -rf "$logs"
mkdir -p "$logs"

# Installs, in the background; each one's output goes to its log, shown if it fails.
declare -A installs=()
install() {
  local name=$1
  shift
  "$@" >"$logs/install-$name.log" 2>&1 &
  installs[$name]=$!
}
install emulator bash crates/destination-bigquery/ci/emulator.sh install
install singer bash scripts/singer-env.sh install
install cdk bash scripts/acceptance.sh install
trap 'kill $(jobs -p) 2>/dev/null || true; bash "$root/crates/destination-bigquery/ci/emulator.sh" stop >/dev/null 2>&1 || true' EXIT

cargo fmt --all -- --check
# Everything generated from the stream manifest and the vendored specs is committed and current.
bash scripts/generate.sh --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace --no-run

for name in "${!installs[@]}"; do
  if ! wait "${installs[$name]}"; then
    echo "test.sh: installing $name failed:" >&2
    tail -n 40 "$logs/install-$name.log" >&2
    exit 1
  fi
done
bash crates/destination-bigquery/ci/emulator.sh start
export BQ_EMULATOR_ENDPOINT=http://127.0.0.1:9050
eval "$(bash scripts/singer-env.sh env)"

set +e
cargo test --locked -p destination-bigquery --no-fail-fast >"$logs/destination.log" 2>&1 &
destination=$!
bash scripts/acceptance.sh run >"$logs/acceptance.log" 2>&1 &
acceptance=$!
cargo test --locked --workspace --exclude destination-bigquery --no-fail-fast -- --test-threads=4 2>&1 |
  tee "$logs/source.log"
status=${PIPESTATUS[0]}
wait "$destination" || status=1
cat "$logs/destination.log"
# airbyte-cdk's standard tests (what replaced Airbyte's acceptance tests) against the binary and the simulator.
wait "$acceptance" || status=1
cat "$logs/acceptance.log"
set -e
# One closing line for the whole workspace.
cat "$logs/source.log" "$logs/destination.log" >"${TMPDIR:-/tmp}/okta-connector-test.log"
awk '/^test result:/ {p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}' \
  "${TMPDIR:-/tmp}/okta-connector-test.log"
exit "$status"
