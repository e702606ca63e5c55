#!/usr/bin/env bash
# airbyte-cdk's standard tests (the suite that replaced Airbyte's connector acceptance tests) against the
# source-okta binary and the simulated org, without Docker: the suite's Docker-image tests (marked
# `image_tests`) are deselected; they build an image of a Python/Java connector, which this is not.
#
#   scripts/acceptance.sh install   # the pinned airbyte-cdk and pytest in .venv-cdk/ (idempotent)
#   scripts/acceptance.sh run       # build, start `okta-sim --port 8765`, run the suite, stop the simulator
#
# The suite looks for `acceptance-test-config.yml` in the connector root (the folder with metadata.yaml), with
# paths relative to it; ours lives in integration_tests/, so the run assembles that layout in a temporary
# folder of links. Overrides: CDK_VENV (location), CDK_PYTHON (interpreter), SOURCE_OKTA_BIN.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CDK_VENV="${CDK_VENV:-$root/.venv-cdk}"
CDK_PINS="airbyte-cdk==7.39.1 pytest==9.2.0"
PORT=8765

cmd_install() {
    if [[ -f "$CDK_VENV/.stamp" && "$(cat "$CDK_VENV/.stamp")" == "$CDK_PINS" ]] \
        && "$CDK_VENV/bin/python" -c 'import airbyte_cdk, pytest' >/dev/null 2>&1; then
        return
    fi
    local py="${CDK_PYTHON:-}"
    if [[ -z "$py" ]]; then
        for p in python3.11 python3.12 python3; do
            if command -v "$p" >/dev/null 2>&1; then py="$p"; break; fi
        done
    fi
    rm -rf "$CDK_VENV"
    "$py" -m venv "$CDK_VENV"
    # shellcheck disable=SC2086
    "$CDK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input $CDK_PINS
    echo "$CDK_PINS" >"$CDK_VENV/.stamp"
}

cmd_run() {
    cmd_install
    cd "$root"
    # The same build as `cargo test --workspace` (which puts both binaries in target/debug): right
    # after the test suite it is a no-op, where `cargo build -p …` would rebuild dependencies with
    # other features.
    cargo test --locked --workspace --no-run --quiet
    local bin="${SOURCE_OKTA_BIN:-$root/target/debug/source-okta}"
    local work
    work="$(mktemp -d)"
    "$root/target/debug/okta-sim" --port "$PORT" >"$work/sim.out" 2>"$work/sim.err" &
    SIM_PID=$!
    WORK="$work"
    trap 'kill "$SIM_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
    for _ in $(seq 1 100); do
        grep -q base_url "$work/sim.out" 2>/dev/null && break
        sleep 0.1
    done
    grep -q base_url "$work/sim.out" || { cat "$work/sim.err" >&2; echo "okta-sim did not start" >&2; exit 1; }
    local conn="$work/source-okta"
    mkdir -p "$conn"
    ln -s "$root/metadata.yaml" "$root/spec.json" "$root/integration_tests" "$conn/"
    ln -s "$root/integration_tests/acceptance-test-config.yml" "$conn/acceptance-test-config.yml"
    cp "$root/integration_tests/test_airbyte_standards.py" "$conn/"
    (cd "$conn" && SOURCE_OKTA_BIN="$bin" "$CDK_VENV/bin/python" -m pytest -v -rs -p no:cacheprovider \
        -m "not image_tests" test_airbyte_standards.py)
}

case "${1:-run}" in
    install) cmd_install ;;
    run) cmd_run ;;
    *) echo "usage: $0 install|run" >&2; exit 2 ;;
esac
