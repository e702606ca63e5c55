#!/usr/bin/env bash
# Compares what two builds of source-okta emit for a full read of the same simulated org: every RECORD
# (without `emitted_at` and the read-time `_ab_cdc_updated_at`), every STATE (without wall-clock
# positions) and every TRACE. Used to show a refactoring changed no output.
#
#   bash scripts/compare-reads.sh OLD_BINARY NEW_BINARY [USERS]
set -euo pipefail
old=$1 new=$2 users=${3:-300}
cd "$(dirname "$0")/.."
cargo build -q -p okta-sim --bin okta-sim
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
target/debug/okta-sim --users "$users" --port "$port" >"$dir/sim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/api/v1/org" >/dev/null 2>&1 && break; sleep 0.1; done
printf '{"base_url": "http://127.0.0.1:%s", "credentials": {"auth_type": "api_token", "api_token": "sim-ssws-token-0000"}}' "$port" >"$dir/config.json"
for b in old new; do
  bin=$old; [ $b = new ] && bin=$new
  "$bin" read --config "$dir/config.json" --all-streams >"$dir/$b.jsonl" 2>"$dir/$b.err" || echo "$b: exit $?"
  python3 - "$dir/$b.jsonl" "$dir/$b.norm" <<'PY'
import json, re, sys
out = []
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["type"] == "RECORD":
        r = m["record"]; r.pop("emitted_at", None); r.get("data", {}).pop("_ab_cdc_updated_at", None)
        out.append(json.dumps(r, sort_keys=True))
    elif m["type"] in ("STATE", "TRACE"):
        body = m[m["type"].lower()]; body.pop("emitted_at", None)
        s = m["type"] + " " + json.dumps(body, sort_keys=True)
        out.append(re.sub(r'"(changes_since|until)": "[^"]*"', r'"\1": "<now>"', s))
open(sys.argv[2], "w").write("\n".join(sorted(out)) + "\n")
print(f"{sys.argv[1].rsplit('/', 1)[1]}: {sum(1 for o in out if o.startswith('{'))} records, {len(out)} messages")
PY
done
if diff -q "$dir/old.norm" "$dir/new.norm" >/dev/null; then
  echo "identical"
else
  diff "$dir/old.norm" "$dir/new.norm" >"$dir/diff" || true
  echo "differences by stream (- removed or changed, + added):"
  grep -E '^[<>]' "$dir/diff" | sed -E 's/^(.).*"(stream|name)": "([a-z_]+)".*/\1 \3/' | sort | uniq -c
  cut -c1-200 "$dir/diff" | head -40
  exit 1
fi
