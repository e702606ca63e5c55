#!/usr/bin/env bash
# Regenerates everything derived from the stream manifest (`crates/manifest/src/table.rs`) and the
# vendored Okta specs (`crates/okta-records/spec/`): the record types and their registry, the spec-example
# fixtures, the committed catalogs, `spec.json` and the README's tables.
#
#   bash scripts/generate.sh          # regenerate in place
#   bash scripts/generate.sh --check  # regenerate, then fail if anything differs from the commit (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3
if ! $py -c 'import yaml' 2>/dev/null; then
  [ -x .venv-gen/bin/python ] || { python3 -m venv .venv-gen && .venv-gen/bin/pip install -q 'pyyaml==6.0.3'; }
  py=.venv-gen/bin/python
fi
# What the generators write; `--check` compares it before and after (no git needed).
outputs=(crates/okta-records/src crates/okta-records/tests/fixtures/spec-examples catalogs spec.json README.md)
if [ "${1:-}" = "--check" ]; then
  before=$(mktemp -d)
  trap 'rm -rf "$before"' EXIT
  for o in "${outputs[@]}"; do mkdir -p "$before/$(dirname "$o")"; cp -r "$o" "$before/$o"; done
fi
$py crates/okta-records/tools/gen_records.py
$py crates/okta-records/tools/extract_spec_examples.py
cargo fmt -p okta-records
UPDATE_SNAPSHOTS=1 cargo test -q --locked --test it snapshots >/dev/null
UPDATE_SNAPSHOTS=1 cargo test -q --locked --lib the_readme >/dev/null
if [ "${1:-}" = "--check" ]; then
  drift=0
  for o in "${outputs[@]}"; do diff -r "$before/$o" "$o" >&2 || drift=1; done
  if [ "$drift" = 1 ]; then
    echo "generated files drifted from the manifest or the generators: run bash scripts/generate.sh and commit" >&2
    exit 1
  fi
  echo "generated files are current"
fi
