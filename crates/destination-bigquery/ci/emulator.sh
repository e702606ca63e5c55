#!/usr/bin/env bash
# The bqemulator BigQuery emulator for the destination's integration tests, fully offline after `install`.
#
#   emulator.sh install   create ./.venv-bq at the repo root with pinned versions (idempotent, quick when done)
#   emulator.sh start     start it on 127.0.0.1:9050 (REST) / 127.0.0.1:9060 (gRPC) in the background,
#                         write a pid file, wait until it answers, print the endpoint
#   emulator.sh stop      stop the emulator this script started (by its pid file)
#   emulator.sh status    print the endpoint and exit 0 when it answers, exit 1 otherwise
#
# Why the extra packages: bqemulator runs `INSTALL spatial` at startup, which downloads from the DuckDB
# extension site and aborts offline. DuckDB 1.5.5 and its spatial extension both come from PyPI; the
# extension file is linked into the DuckDB extension directory of a private $HOME so DuckDB finds it
# without the network. See shared/bigquery/NOTES.md §5.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${BQ_EMULATOR_VENV:-$ROOT/.venv-bq}"
STATE_DIR="${BQ_EMULATOR_STATE:-$VENV/run}"
HOST=127.0.0.1
PORT="${BQ_EMULATOR_PORT:-9050}"
GRPC_PORT="${BQ_EMULATOR_GRPC_PORT:-9060}"
ENDPOINT="http://$HOST:$PORT"
PIDFILE="$STATE_DIR/bqemulator.pid"
LOGFILE="$STATE_DIR/bqemulator.log"
REQS="$HERE/requirements-emulator.txt"
STAMP="$VENV/.installed"
DUCKDB_VERSION=1.5.5

pick_python() {
  if [ -n "${BQ_EMULATOR_PYTHON:-}" ]; then echo "$BQ_EMULATOR_PYTHON"; return; fi
  for p in python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null 2>&1 &&
      "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$p"; return
    fi
  done
  echo "emulator.sh: need Python >= 3.11 (set BQ_EMULATOR_PYTHON)" >&2
  exit 1
}

ext_file() {
  find "$VENV/lib" -path "*duckdb_extension_spatial*" -name 'spatial.duckdb_extension' 2>/dev/null | head -n1
}

answers() {
  curl -fsS -o /dev/null --max-time 2 "$ENDPOINT/bigquery/v2/projects/p/datasets" 2>/dev/null
}

install() {
  local want
  want="$(sha256sum "$REQS" | cut -d' ' -f1)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/bqemulator" ]; then
    echo "emulator.sh: $VENV is up to date"
    return
  fi
  local py t0
  py="$(pick_python)"
  t0=$(date +%s)
  [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --quiet -r "$REQS"
  local ext
  ext="$(ext_file)"
  if [ -z "$ext" ]; then
    echo "emulator.sh: spatial.duckdb_extension not found in $VENV" >&2
    exit 1
  fi
  echo "*" >"$VENV/.gitignore"  # keep the venv out of git without touching the root .gitignore
  echo "$want" >"$STAMP"
  echo "emulator.sh: installed into $VENV in $(($(date +%s) - t0))s"
}

start() {
  if [ ! -x "$VENV/bin/bqemulator" ]; then
    echo "emulator.sh: not installed; run '$0 install' first" >&2
    exit 1
  fi
  if answers; then
    echo "$ENDPOINT"
    return
  fi
  mkdir -p "$STATE_DIR"
  local home="$STATE_DIR/home" uploads="$STATE_DIR/uploads" arch
  arch="linux_$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
  mkdir -p "$home/.duckdb/extensions/v$DUCKDB_VERSION/$arch" "$uploads"
  ln -sf "$(ext_file)" "$home/.duckdb/extensions/v$DUCKDB_VERSION/$arch/spatial.duckdb_extension"
  (
    cd "$STATE_DIR"
    HOME="$home" BQEMU_ENABLE_FORMAT_EXTENSIONS=false BQEMU_UPLOAD_STAGING_DIR="$uploads" \
      nohup "$VENV/bin/bqemulator" start --rest-host "$HOST" --rest-port "$PORT" \
      --grpc-host "$HOST" --grpc-port "$GRPC_PORT" </dev/null >"$LOGFILE" 2>&1 &
    echo $! >"$PIDFILE"
  )
  local pid i
  pid="$(cat "$PIDFILE")"
  for i in $(seq 1 600); do
    if answers; then
      echo "$ENDPOINT"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "emulator.sh: bqemulator exited during startup; log follows" >&2
      tail -n 40 "$LOGFILE" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "emulator.sh: bqemulator did not answer on $ENDPOINT within 60s; log follows" >&2
  tail -n 40 "$LOGFILE" >&2
  exit 1
}

stop() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    echo "emulator.sh: stopped"
  else
    echo "emulator.sh: not running (no pid file)"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if answers; then echo "$ENDPOINT"; else echo "emulator.sh: $ENDPOINT does not answer" >&2; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
