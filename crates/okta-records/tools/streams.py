"""The stream table shared by `gen_records.py` and `extract_spec_examples.py`, read from the manifest.

The manifest (`crates/manifest/src/table.rs`) is the one declaration of every stream; this module
runs its `dump` example (`cargo run -q -p okta-manifest --example dump`) and turns each entry into a
`Stream` with the fields the generators use:

  name      stream name
  module    the Rust module (area) the record type lives in
  spec      'management' | 'oauth' | 'asa' | 'custom' (schemas written in `CUSTOM_SCHEMAS`)
  endpoint  the path the connector reads (manifest spelling: `{id}`, `{type}`, `{team}`)
  list      the spec's key for that path (set by `resolve_lists` once the specs are loaded)
  extract   'items' (a JSON array), a property name holding the array ({"roles":[...]}), 'self'
            (a single object) or 'list' (ASA {"list":[...]})
  item      the Rust name of the API object (the record, or the flattened item of a child record)
  gets      further GET endpoints answering the same object (used for their spec examples only)
  merge     further schemas (by name) whose properties are merged into the item
  pk        primary key
  parents   key columns added at the top level of child/derived records: (column, description)
  columns   further optional columns the connector adds to the wrapper: (json name, Rust type, description)
  record    the Rust name of the record wrapper (only when the connector adds columns)
  omit      top-level fields of the item the connector leaves out (secret material)
  string_as the field a bare string item becomes (`Derive::StringAs`), else None
"""

import json
import os
import re
import subprocess
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

SPECS = {"Management": "management", "OAuth": "oauth", "Asa": "asa", "Custom": "custom"}


@dataclass
class Stream:
    name: str
    module: str
    spec: str
    api: str
    endpoint: str
    extract: str
    item: str
    pk: list
    list: str = None
    gets: list = field(default_factory=list)
    merge: list = field(default_factory=list)
    parents: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    record: str = None
    omit: list = field(default_factory=list)
    string_as: str = None


def _extract(e, api):
    if e == "Array":
        return "items"
    if e == "Object":
        return "self"
    name = e["Field"]
    return "list" if api == "Asa" and name == "list" else name


def load():
    out = subprocess.run(
        ["cargo", "run", "-q", "--locked", "-p", "okta-manifest", "--example", "dump"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    streams = []
    for s in json.loads(out):
        if not s["in_catalog"]:
            continue
        streams.append(Stream(
            name=s["name"], module=s["module"], spec=SPECS[s["spec"]], api=s["api"],
            endpoint=s["endpoint"], extract=_extract(s["extract"], s["api"]), item=s["item"],
            pk=list(s["primary_key"]), merge=list(s["merge"]),
            # A stream reading several endpoints (variants): the others' examples are its examples too.
            gets=list(s["gets"]) + [v["endpoint"].split("?")[0] for v in s["variants"][1:]],
            parents=[(c["name"], c["doc"]) for c in s["columns"] if c["rust"] is None],
            columns=[(c["name"], c["rust"], c["doc"]) for c in s["columns"] if c["rust"] is not None],
            record=s["record"],
            omit=list(s["omit"]),
            string_as=s["derive"].get("StringAs") if isinstance(s["derive"], dict) else None,
        ))
    return streams


def _shape(path):
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


def resolve_lists(streams, docs):
    """Sets each stream's `list` to the spec's key for its endpoint (same segments, any parameter names)."""
    for st in streams:
        doc = docs["asa" if st.api == "Asa" else ("oauth" if st.spec == "oauth" else "management")]
        want = _shape(st.endpoint)
        keys = [p for p in doc.get("paths", {}) if _shape(p) == want]
        if len(keys) > 1:
            raise SystemExit(f"{st.name}: {st.endpoint} matches several spec paths: {keys}")
        st.list = keys[0] if keys else st.endpoint.split("?")[0].replace("{team}", "{team_name}")
    return streams


STREAMS = load()
