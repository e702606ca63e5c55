#!/usr/bin/env python3
"""Extract the examples of Okta's OpenAPI specs into test fixtures, one file per stream.

    python3 crates/okta-records/tools/extract_spec_examples.py [--specs crates/okta-records/spec]

Writes `tests/fixtures/spec-examples/<stream>.json` from the vendored specs (`spec/`); Okta's
official payloads are vendored in `tests/fixtures/examples/`:

    {
      "stream": "users",
      "records": [ {"source": "GET /api/v1/users 200 ListUsers[0]", "record": {...}} ],
      "values":  [ {"source": "User.profile.login", "path": ["profile", "login"], "value": "..."} ]
    }

* `records` are the API objects found in the `examples`/`example` of the 200 responses of the
  stream's list endpoint and of its get-by-id endpoints (the manifest's `gets`), one per array element,
  taken out of their envelope ({"roles": [...]}, {"list": [...]}); a bare string item (a stream with
  `Derive::StringAs`) becomes the record the connector makes of it, `{column: string}`. The test adds the parent-key
  columns of child streams and validates each against the stream's schema and Rust type.
* `values` are the `example`/`examples` of every schema reachable from the stream's object
  (objects, properties, array items, oneOf variants), with the JSON path from the record's root
  (`[]` = array item); the test validates each against the sub-schema at that path.
Needs PyYAML (`pip install pyyaml`).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_records import CRATE, specs_from_args, structural  # noqa: E402
from streams import STREAMS  # noqa: E402


# Streams whose list and get responses carry no example in the spec: records written here from the
# schemas' property examples and Okta's documentation, so the tests and the simulator have a payload.
HAND_RECORDS = {
    "application_cross_app_access_connections": [
        {"id": "cwofxqCAJWWGELFTYASJ", "requestingAppInstanceId": "0oafxqCAJWWGELFTYASJ",
         "resourceAppInstanceId": "0oafxqCBJWWGELFTYASK", "status": "ACTIVE",
         "created": "2024-10-15T10:30:00.000Z", "lastUpdated": "2024-10-15T14:20:00.000Z"},
    ],
    "user_subscriptions": [
        {"notificationType": "USER_LOCKED_OUT", "channels": ["email"], "status": "subscribed",
         "_links": {"self": {"href": "https://{yourOktaDomain}/api/v1/users/00u1/subscriptions/USER_LOCKED_OUT"}}},
        {"notificationType": "OKTA_UPDATE", "channels": ["email"], "status": "unsubscribed",
         "_links": {"self": {"href": "https://{yourOktaDomain}/api/v1/users/00u1/subscriptions/OKTA_UPDATE"}}},
    ],
}


# Response examples left out, with the reason: (stream, example name).
SKIPPED_EXAMPLES = {
    # A JWKS set (`{"jwks": {"keys": [...]}}`), not the array of keys the schema declares and Okta answers.
    ("application_jwks", "OAuthClientJsonWebKeyListResponseExample"),
}


def response_examples(specs, spec, path):
    """(name, value) of every example of the 200 JSON response of GET `path`."""
    doc = specs.docs[spec]
    op = doc["paths"].get(path, {}).get("get")
    if not op:
        raise SystemExit(f"no GET {path} in {spec}")
    content = op["responses"].get("200", {}).get("content", {}).get("application/json", {})
    out = []
    if "example" in content:
        out.append(("example", content["example"]))
    for name, ex in (content.get("examples") or {}).items():
        if "$ref" in ex:
            _, _, ex = specs.resolve_ref(spec, ex["$ref"])
        if "value" in ex:
            out.append((name, ex["value"]))
    return out


def records_of(value, extract):
    """The API objects in one response example."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if extract not in ("items", "self") and isinstance(value.get(extract), list):
            return value[extract]
        return [value]
    return []


class Walker:
    """Collects schema-level examples with their path from the record root."""

    def __init__(self, specs):
        self.specs = specs
        self.out = []
        self.seen = set()

    def walk(self, s, spec, path, where, stack=()):
        if not isinstance(s, dict):
            return
        if "$ref" in s:
            tspec, name, target = self.specs.resolve_ref(spec, s["$ref"])
            key = (tspec, name)
            if key in stack:
                return
            self.walk(target, tspec, path, name, stack + (key,))
            return
        for key in ("example", "examples"):
            if key in s:
                vals = s[key] if key == "examples" and isinstance(s[key], list) else [s[key]]
                for v in vals:
                    ident = (tuple(path), json.dumps(v, sort_keys=True))
                    if ident in self.seen:
                        continue
                    self.seen.add(ident)
                    self.out.append({"source": where + "".join("." + p for p in path), "path": list(path), "value": v})
        for key in ("allOf", "oneOf", "anyOf"):
            for part in s.get(key, []):
                if structural(part) or "example" in part:
                    self.walk(part, spec, path, where, stack)
        for pname, ps in (s.get("properties") or {}).items():
            self.walk(ps, spec, path + [pname], where, stack)
        if "items" in s:
            self.walk(s["items"], spec, path + ["[]"], where, stack)


def main():
    specs = specs_from_args(__doc__)

    fixtures = os.path.join(CRATE, "tests", "fixtures")
    out_dir = os.path.join(fixtures, "spec-examples")
    os.makedirs(out_dir, exist_ok=True)
    total_records = total_values = 0
    for st in STREAMS:
        records = []
        if st.spec != "custom":
            for path in [st.list] + st.gets:
                for name, value in response_examples(specs, st.spec, path):
                    if (st.name, name) in SKIPPED_EXAMPLES:
                        continue
                    for i, rec in enumerate(records_of(value, st.extract)):
                        records.append({"source": f"GET {path} 200 {name}[{i}]", "record": rec})
        if st.string_as:
            # Bare strings (app ids): the connector's record is `{string_as: item}`.
            for name, value in response_examples(specs, "management", st.list):
                for i, item in enumerate(records_of(value, st.extract)):
                    if isinstance(item, str):
                        records.append({"source": f"GET {st.list} 200 {name}[{i}]", "record": {st.string_as: item}})
        for i, rec in enumerate(HAND_RECORDS.get(st.name, [])):
            records.append({"source": f"hand-written in extract_spec_examples.py [{i}]", "record": rec})
        if st.name == "asa_audits":
            for name, value in response_examples(specs, "asa", st.list):
                for i, rec in enumerate(records_of(value, "list")):
                    records.append({"source": f"GET {st.list} 200 {name}[{i}]", "record": rec})
        elif st.name == "asa_teams":
            for path in ["/v1/teams/{team_name}/settings", "/v1/teams/{team_name}/team_stats"]:
                for name, value in response_examples(specs, "asa", path):
                    records.append({"source": f"GET {path} 200 {name}", "record": value})

        walker = Walker(specs)
        if st.spec == "custom":
            roots = [("custom", {"$ref": f"custom#/components/schemas/{st.item}"})]
        else:
            resp = specs.docs[st.spec]["paths"][st.list]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            s = resp
            if "$ref" in s:
                _, _, s = specs.resolve_ref(st.spec, s["$ref"])
            if st.extract == "items":
                s = s["items"]
            elif st.extract != "self":
                s = s["properties"][st.extract]["items"]
            roots = [(st.spec, s)] + [(st.spec, {"$ref": f"#/components/schemas/{m}"}) for m in st.merge]
        for spec, s in roots:
            walker.walk(s, spec, [], st.item)
        values = walker.out
        total_records += len(records)
        total_values += len(values)
        with open(os.path.join(out_dir, f"{st.name}.json"), "w") as f:
            json.dump({"stream": st.name, "records": records, "values": values}, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{st.name}: {len(records)} records, {len(values)} values", file=sys.stderr)

    print(f"total: {total_records} records, {total_values} values", file=sys.stderr)


if __name__ == "__main__":
    main()
