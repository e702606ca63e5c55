#!/usr/bin/env bash
# A real sync of every stream of the built-in simulated Okta org: okta-sim serves a seeded org on
# 127.0.0.1, source-okta reads it (Airbyte protocol), destination-bigquery loads it in local mode
# (the exact load files and table schemas it would send to BigQuery), and the row counts per table
# are printed. Environment: DEMO_USERS (default 2000), DEMO_DIR (default ./.demo),
# BQ_ENDPOINT (e.g. http://127.0.0.1:9050 to load into the BigQuery emulator instead),
# DEMO_RATE_LIMITS=workforce (Okta's Workforce limits per 60 s window instead of none: shows the pacing;
# the per-user fan-outs such as user_factors then take minutes, as they would against a real org).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${DEMO_USERS:-2000}
work=${DEMO_DIR:-$PWD/.demo}
rm -rf "$work" && mkdir -p "$work"

echo "==> building (release)" >&2
cargo build --release -q -p source-okta -p okta-sim -p destination-bigquery --bins
bin=$PWD/target/release

echo "==> starting the simulated org ($users users)" >&2
"$bin/okta-sim" --users "$users" --port 0 --rate-limits "${DEMO_RATE_LIMITS:-unlimited}" >"$work/sim.json" 2>"$work/sim.log" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$work/sim.json" ] && break; sleep 0.05; done
[ -s "$work/sim.json" ] || { echo "the simulator did not start; see $work/sim.log" >&2; exit 1; }

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
sim = json.loads(open(f"{work}/sim.json").readline())
json.dump({"base_url": sim["base_url"], "credentials": {"auth_type": "api_token", "api_token": sim["api_token"]}},
          open(f"{work}/source.json", "w"), indent=2)
PY

"$bin/source-okta" discover --config "$work/source.json" >"$work/catalog.jsonl"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
catalog = next(json.loads(l) for l in open(f"{work}/catalog.jsonl") if '"CATALOG"' in l)["catalog"]
streams = []
for s in catalog["streams"]:
    inc = "incremental" in s["supported_sync_modes"]
    streams.append({"stream": s, "sync_mode": "incremental" if inc else "full_refresh",
                    "destination_sync_mode": "append_dedup" if inc else "overwrite",
                    "cursor_field": s.get("default_cursor_field", []),
                    "primary_key": s.get("source_defined_primary_key", [])})
json.dump({"streams": streams}, open(f"{work}/configured_catalog.json", "w"), indent=2)
PY

if [ -n "${BQ_ENDPOINT:-}" ]; then
  printf '{"project_id":"demo","dataset_id":"okta","dataset_location":"US","endpoint":"%s"}\n' "$BQ_ENDPOINT" >"$work/destination.json"
else
  printf '{"dataset_id":"okta","loading_method":{"method":"local","path":"%s/bigquery"}}\n' "$work" >"$work/destination.json"
fi

echo "==> syncing: source-okta read | destination-bigquery write" >&2
start=$(date +%s.%N)
"$bin/source-okta" read --config "$work/source.json" --catalog "$work/configured_catalog.json" 2>"$work/source.log" \
  | tee "$work/messages.jsonl" \
  | "$bin/destination-bigquery" write --config "$work/destination.json" --catalog "$work/configured_catalog.json" \
      >"$work/destination-out.jsonl" 2>"$work/destination.log"
end=$(date +%s.%N)

python3 - "$work" "$start" "$end" <<'PY'
import json, os, sys, collections
work, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
records = collections.Counter()
for line in open(f"{work}/messages.jsonl"):
    m = json.loads(line)
    if m["type"] == "RECORD":
        records[m["record"]["stream"]] += 1
states = sum(1 for l in open(f"{work}/destination-out.jsonl") if '"STATE"' in l)
loaded = collections.Counter()
summary = f"{work}/bigquery/summary.json"
if os.path.exists(summary):
    for table, t in json.load(open(summary)).get("tables", {}).items():
        loaded[table.split(".")[-1]] = t.get("rows_loaded", 0)
root = f"{work}/bigquery/okta"
print(f"{'table':34} {'records read':>12} {'rows loaded':>12}")
for t in sorted(records):
    print(f"{t:34} {records[t]:>12} {loaded.get(t, '-') if loaded else '-':>12}")
total = sum(records.values())
print(f"{'TOTAL':34} {total:>12} {sum(loaded.values()) if loaded else '-':>12}")
print(f"\n{total} records in {end - start:.1f}s; {states} STATE messages committed by the destination")
print(f"load files and table schemas: {root if os.path.isdir(root) else 'see ' + work + '/destination.log'}")
PY
