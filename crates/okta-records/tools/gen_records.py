#!/usr/bin/env python3
"""Generate the record modules of `okta-records` from Okta's OpenAPI specs.

    python3 crates/okta-records/tools/gen_records.py && cargo fmt -p okta-records

Reads the vendored specs `spec/{management-2026.06.3,oauth-2026.06.3,asa-2024-04}.yaml` (PyYAML
needed: `pip install pyyaml`) and the stream manifest (through `streams.py`), and writes one Rust
module per area (`src/users.rs`, `src/groups.rs`, ...), `src/common.rs` for types shared by several
areas and `src/registry.rs` (stream name -> record type).
`lib.rs`, `schema.rs` and `types.rs` are hand-written and never touched.

How a spec schema becomes Rust (the conventions of the crate):
  * object with `properties`  -> a struct (named after the spec schema, or Parent+Field when inline),
                                  every field `Option<...>` except the stream's primary-key columns,
                                  plus `#[serde(flatten)] extra` so unknown fields survive;
  * `allOf`                    -> the parts merged (later parts refine earlier ones);
  * `oneOf` / `anyOf`          -> the union of the variants' properties (a polymorphic list such as
                                  `/api/v1/apps` becomes one struct carrying every variant's fields);
                                  a property typed differently by two variants is loosened (string vs
                                  date-time -> string, integer vs number -> number, otherwise any JSON);
  * string (date-time / date)  -> `Timestamp` / `Date`; other strings and all enums -> `String`
                                  (the known values go into the description: Okta adds values over time);
                                  a plain string whose `example` is an RFC 3339 timestamp, and the ones
                                  listed in `TIMESTAMPS`, -> `Timestamp` too (the spec forgot the format);
  * integer -> i64, number -> f64, boolean -> bool, array -> Vec<T>;
  * object without properties (free-form, `additionalProperties` maps) -> `Map<String, Value>`;
  * a schema that refers back to itself is cut at the recursion with a free-form map.
Deliberate deviations from the spec are listed in `OVERRIDES` below with their reason.
"""

import argparse
import json
import keyword
import os
import re
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from streams import STREAMS, resolve_lists  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)

SPEC_FILES = {
    "management": "management-2026.06.3.yaml",
    "oauth": "oauth-2026.06.3.yaml",
    "asa": "asa-2024-04.yaml",
}
# Prefix given to type names coming from a spec, so ASA's `User` can't clash with Okta's `User`.
SPEC_PREFIX = {"management": "", "oauth": "OAuth", "asa": "Asa", "custom": ""}

MODULE_DOCS = {
    "users": "Users and their MFA factors (`users`, `user_factors`).",
    "groups": "Groups, their members, owners and rules (`groups`, `group_members`, `group_owners`, `group_rules`).",
    "apps": "Applications and their user and group assignments (`applications`, `application_users`, `application_groups`).",
    "logs": "The System Log (`system_log`).",
    "devices": "Devices and their users (`devices`, `device_users`).",
    "meta": "User types, profile schemas, UI schemas and linked-object definitions.",
    "iam": "Admin roles: custom roles, permissions, resource sets, role assignments and role subscriptions.",
    "policies": "Policies and policy rules (`policies`, `policy_rules`).",
    "authz": "Custom authorization servers, their scopes, claims and policies, and OAuth clients.",
    "security": "Authenticators, identity providers, network zones, trusted origins, behaviors, ThreatInsight, risk and SSF providers, API tokens.",
    "branding": "Brands, themes and email templates.",
    "hooks": "Event hooks, inline hooks and hook keys.",
    "org": "Org settings, features, log streams, profile mappings, push providers, realms, domains and SMS templates.",
    "asa": "Advanced Server Access (ScaleFT) records.",
    "common": "Nested types shared by records of several areas.",
}

# Schemas written here because the spec has none (risk providers left the spec in 2025.10.0) or
# because the spec's schema is wrong (ASA audits), the record joins two calls (ASA team) or the
# spec's item is a bare string (interclient trust).
CUSTOM_SCHEMAS = {
    "RiskProvider": {
        "type": "object",
        "description": "A risk provider (deprecated by Okta on 2024-12-31; last in management spec 2025.08.0).",
        "properties": {
            "action": {"type": "string", "enum": ["none", "log_only", "enforce_and_log"],
                       "description": "Action taken by Okta during authentication attempts based on the risk events sent by this provider. Logs are available in the System Log."},
            "clientId": {"type": "string", "description": "The ID of the OAuth service app that is used to send risk events to Okta"},
            "created": {"type": "string", "format": "date-time", "description": "Timestamp when the risk provider was created"},
            "id": {"type": "string", "description": "The ID of the risk provider"},
            "lastUpdated": {"type": "string", "format": "date-time", "description": "Timestamp when the risk provider was last updated"},
            "name": {"type": "string", "description": "Name of the risk provider"},
            "_links": {"type": "object", "additionalProperties": True, "description": "Link relations for this object"},
        },
    },
    # The ASA spec declares audit entries as string maps; real entries (and the spec's own example)
    # are {id, timestamp, details{...}}.
    "AsaAuditEvent": {
        "type": "object",
        "description": "An ASA audit event (`GET /v1/teams/{team}/auditsV2`). Actor, client and other references in `details` are keys into the page's `related_objects`.",
        "properties": {
            "details": {"$ref": "custom#/components/schemas/AsaAuditEventDetails"},
            "id": {"type": "string", "description": "The id of the audit event (base64)"},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
        },
    },
    "AsaAuditEventDetails": {
        "type": "object",
        "description": "What happened: the keys depend on `type`; references point into `related_objects`.",
        "properties": {
            "actor": {"type": "string", "description": "Key of the acting user in `related_objects`"},
            "client": {"type": "string", "description": "Key of the client in `related_objects`"},
            "session_type": {"type": "string", "description": "The kind of session, e.g. `authenticated_client`"},
            "target_server": {"type": "string", "description": "Key of the target server in `related_objects`, if any"},
            "team_id": {"type": "string", "description": "The team id"},
            "team_name": {"type": "string", "description": "The team name"},
            "trace_id": {"type": "string", "description": "Trace id of the request"},
            "type": {"type": "string", "description": "The audit event type, e.g. `auth_token.issue`"},
            "via": {"type": "string", "description": "How the action was performed, if known"},
        },
    },
    # The interclient trust lists answer bare app-id strings; the connector makes each string the
    # record `{column: string}` (`Derive::StringAs`), so the record is this one-column object.
    "InterclientAllowedApp": {
        "type": "object",
        "description": "An app allowed to request interclient SSO tokens for the app (`GET /api/v1/apps/{appId}/interclient-allowed-apps` answers bare app ids; one row each).",
        "required": ["allowed_app_id"],
        "properties": {
            "allowed_app_id": {"type": "string", "description": "The ID of an allowed app (the string Okta answers)"},
        },
    },
    "InterclientTargetApp": {
        "type": "object",
        "description": "An app the app may request interclient SSO tokens for (`GET /api/v1/apps/{appId}/interclient-target-apps` answers bare app ids; one row each).",
        "required": ["target_app_id"],
        "properties": {
            "target_app_id": {"type": "string", "description": "The ID of a target app (the string Okta answers)"},
        },
    },
    "AsaTeam": {
        "description": "The ASA team: its settings (`GET /settings`) and counts (`GET /team_stats`) in one record.",
        "allOf": [
            {"$ref": "asa#/components/schemas/TeamSettings"},
            {"$ref": "asa#/components/schemas/TeamStats"},
        ],
    },
}

# (spec, schema name, property) -> replacement schema, with the reason.
OVERRIDES = {
    # Example payloads carry a numeric version (`0`) and real events a string ("0").
    ("management", "LogEvent", "version"): {"x-loose": "string_or_number", "description": "Versioning indicator (a string such as `0`; some payloads carry a number)"},
    # Real payloads and the spec's example carry numeric postal codes as well as strings.
    ("management", "LogGeographicalContext", "postalCode"): {"x-loose": "string_or_number", "description": "Postal code of the geographical context of the event (string, sometimes a number)"},
    # Declared `type: string` with `items`; Dynamic Client Registration (RFC 7591) and the spec's
    # own example send an array of URIs.
    ("oauth", "Client", "post_logout_redirect_uris"): {"type": "array", "items": {"type": "string"}, "description": "Array of redirection URI strings for use for relying party initiated logouts"},
    # Declared a string, but the spec's example is an array of expressions: accept either.
    ("management", "PasswordPolicyPasswordSettingsComplexity", "oelStatement"): {"description": "An [Expression Language](https://developer.okta.com/docs/reference/okta-expression-language-in-identity-engine/) expression (or, as in Okta's example, an array of them) blocking words from being used in a password (any JSON: the spec and its example disagree)."},
    # The spec's response examples carry `2023-03-29 18:18:37.0`, which is not RFC 3339.
    ("management", "GroupOwner", "lastUpdated"): {"x-loose": "timestamp", "description": "Timestamp when the group owner was last updated (not always RFC 3339: Okta's examples show `2023-03-29 18:18:37.0`)"},
    ("management", "RoleGovernanceSource", "expirationDate"): {"x-loose": "timestamp", "description": "The expiration date of the entitlement bundle (not always RFC 3339: Okta's example shows `2024-12-09 14:17:22.0`)"},
    # Declared a boolean, but Okta answers `"unique": "UNIQUE_VALIDATED"` for unique attributes (the
    # login of every user schema): accept either.
    ("management", "UserSchemaAttribute", "unique"): {"description": "Whether property values must be unique: `UNIQUE_VALIDATED` / `NOT_UNIQUE` as Okta answers, or a boolean as the spec declares (any JSON)."},
    ("management", "GroupSchemaAttribute", "unique"): {"description": "Whether property values must be unique: `UNIQUE_VALIDATED` / `NOT_UNIQUE` as Okta answers, or a boolean as the spec declares (any JSON)."},
    # `properties` is a map from target attribute name to its mapping, not one mapping.
    # Declared an object that is `oneOf` three string enums; ASA answers (and its examples show) the
    # string value of the option named by `config_key`.
    ("asa", "ClientConfigOption", "config_value"): {"type": "string", "description": "The value applied to the Client configurations: `host` (`ssh.insecure_forward_agent`), `native` / `netcat` (`ssh.port_forward_method`), `always` / `ask` / `never` (`forward_client_trust.enable`)"},
    # Declared a string, but ASA answers (and both of the spec's examples show) the attributes as an
    # object.
    ("asa", "ProjectGroupWithProfileAttributes", "profile_attributes"): {"type": "object", "nullable": True, "description": "If `create_server_group` is `true`, the Attributes that will be synced to the server", "properties": {
        "unix_gid": {"type": "number", "description": "The Unix GID of the server group"},
        "unix_group_name": {"type": "string", "description": "The name of the server group on Unix servers"},
        "windows_group_name": {"type": "string", "description": "The name of the server group on Windows servers"},
    }},
    ("management", "ProfileMapping", "properties"): {"type": "object", "additionalProperties": True, "description": "Mapping expressions keyed by the target property name: each value is `{\"expression\": string, \"pushStatus\": \"PUSH\"|\"DONT_PUSH\"}`."},
}

# GET endpoints whose 200 responses the spec swaps: (spec, path, path) -> reason. The tools read each
# path's response (schema and examples) from the other's.
SWAPPED_RESPONSES = {
    # ListPreauthorizationsForProject is declared to answer one `Preauthorization` and
    # GetPreauthorization `{"list": [Preauthorization]}` (their summaries and query parameters are
    # swapped too); ASA answers the list in `{"list": [...]}` pages like its other lists.
    ("asa", "/v1/teams/{team_name}/projects/{project_name}/preauthorizations",
     "/v1/teams/{team_name}/projects/{project_name}/preauthorizations/{authorization_id}"):
        "the spec swaps the list and the get-by-id",
}

# Timestamps the spec declares as plain strings (no `format`, no `example`) although Okta sends (and its
# examples show) RFC 3339 timestamps: (spec, schema name, property) -> "date-time", or "loose" where Okta
# sends `2021-11-09 20:38:10.0` (Java's format, not RFC 3339: typed a timestamp by `airbyte_type` only, so
# that validating consumers accept it; warehouses parse it).
TIMESTAMPS = {
    ("management", "BehaviorRule", "created"): "loose",
    ("management", "BehaviorRule", "lastUpdated"): "loose",
    ("management", "DeviceAssurance", "createdDate"): "date-time",
    ("management", "DeviceAssurance", "lastUpdate"): "date-time",
    ("management", "DeviceUser", "created"): "date-time",
    ("management", "GroupSchema", "created"): "date-time",
    ("management", "GroupSchema", "lastUpdated"): "date-time",
    ("management", "UserSchema", "created"): "date-time",
    ("management", "UserSchema", "lastUpdated"): "date-time",
    ("management", "PushProvider", "lastUpdatedDate"): "date-time",
    ("management", "AttestationRootCertificatesResponse", "exp"): "date-time",
    ("management", "CustomAAGUIDResponseObject", "exp"): "date-time",
}

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

# Properties the spec's schemas lack but Okta's own response examples carry: declared so that
# destinations get a column for them (unknown properties only survive in `extra`).
ADDITIONS = {
    ("management", "LogEvent"): {
        "device": {"type": "object", "additionalProperties": True, "description": "The device the event came from (Identity Engine; present in Okta's examples, not in the spec's schema)"},
    },
    ("management", "LogAuthenticationContext"): {
        "rootSessionId": {"type": "string", "description": "The id of the root session the event belongs to"},
    },
    ("management", "UserCredentials"): {
        "emails": {"type": "array", "description": "The user's email addresses and their verification status", "items": {
            "type": "object", "properties": {
                "value": {"type": "string", "description": "The email address"},
                "status": {"type": "string", "description": "Verification status, e.g. `VERIFIED`"},
                "type": {"type": "string", "description": "`PRIMARY` or `SECONDARY`"},
            }}},
    },
    ("management", "OktaSignOnPolicyRuleConditions"): {
        "risk": {"$ref": "#/components/schemas/RiskPolicyRuleCondition", "description": "Behaviors (risk) the rule applies to"},
    },
    ("management", "ApiToken"): {
        "_links": {"type": "object", "additionalProperties": True, "description": "Link relations (hypermedia) of this object."},
    },
    ("management", "IdentityProviderPolicy"): {
        "mapAMRClaims": {"type": "boolean", "description": "Whether the IdP's AMR claims are mapped to Okta's"},
    },
    ("management", "SingleLogout"): {
        "spIssuer": {"type": "string", "description": "The issuer of the service provider for single logout"},
    },
    ("oauth", "Client"): {
        "client_uri": {"type": "string", "description": "URL of a web page providing information about the client"},
    },
    ("asa", "User"): {
        "team_name": {"type": "string", "description": "The name of the team the ASA user belongs to"},
    },
    ("asa", "Project"): {
        "gateway_selector": {"type": "string", "description": "Label selector of the gateways used by the project"},
    },
    ("asa", "EntitlementSudo"): {
        "created_at": {"type": "string", "format": "date-time", "description": "When the entitlement was created"},
        "updated_at": {"type": "string", "format": "date-time", "description": "When the entitlement was last updated"},
    },
    ("asa", "TeamStats"): {
        "num_oidc_applications": {"type": "number", "description": "The number of OIDC applications in a Team."},
        "num_af_applications": {"type": "number", "description": "The number of Application Federation applications in a Team."},
    },
}

# Properties kept free-form everywhere: hypermedia links vary per response/expand and are not data.
FREEFORM_PROPS = {"_links"}

RUST_KEYWORDS = set(keyword.kwlist) | {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "async",
    "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield", "try", "gen",
}
NO_RAW = {"self", "Self", "super", "crate", "_"}


# --------------------------------------------------------------------------------------- models
class Prim:
    def __init__(self, kind, enum=None):
        self.kind = kind  # String bool i64 f64 Timestamp Date StringOrNumber
        self.enum = list(enum or [])


class Arr:
    def __init__(self, item):
        self.item = item


class FreeMap:
    pass


class Any:
    pass


class Prop:
    def __init__(self, model, desc=None):
        self.model = model
        self.desc = desc


class Obj:
    def __init__(self, desc=None, ref=None):
        self.props = OrderedDict()
        self.desc = desc
        self.ref = ref  # the spec schema it came from unmerged (gives it its name)
        self.name = None
        self.module = None
        self.parents = set()


# --------------------------------------------------------------------------------------- specs
class Specs:
    def __init__(self, spec_dir):
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.docs = {}
        for key, fname in SPEC_FILES.items():
            with open(os.path.join(spec_dir, fname)) as f:
                self.docs[key] = yaml.load(f, Loader=loader)
        self.docs["custom"] = {"components": {"schemas": CUSTOM_SCHEMAS}, "paths": {}}
        for (spec, a, b) in SWAPPED_RESPONSES:
            ga, gb = self.docs[spec]["paths"][a]["get"], self.docs[spec]["paths"][b]["get"]
            ga["responses"]["200"], gb["responses"]["200"] = gb["responses"]["200"], ga["responses"]["200"]

    def resolve_ref(self, spec, ref):
        if "#" in ref and not ref.startswith("#"):
            spec, ref = ref.split("#", 1)
            ref = "#" + ref
        parts = ref.lstrip("#/").split("/")
        node = self.docs[spec]
        for p in parts:
            node = node[p]
        return spec, parts[-1], node


STRUCTURAL = ("$ref", "type", "properties", "allOf", "oneOf", "anyOf", "items", "additionalProperties", "enum", "x-loose")


def structural(s):
    return isinstance(s, dict) and any(k in s for k in STRUCTURAL)


class Builder:
    def __init__(self, specs):
        self.specs = specs
        self.cache = {}

    def model(self, s, spec, stack=(), owner=None):
        """The model of schema `s`; `owner` = spec schema name whose property this is (for OVERRIDES)."""
        if s is True or s is None or s == {}:
            return Any()
        if "x-loose" in s:
            return Prim("LooseTimestamp" if s["x-loose"] == "timestamp" else "StringOrNumber")
        if "$ref" in s:
            tspec, name, target = self.specs.resolve_ref(spec, s["$ref"])
            key = (tspec, name)
            if key in stack:
                if isinstance(target, dict) and target.get("properties") and "discriminator" in target:
                    # a subtype's `allOf` naming its polymorphic base: the base's own fields
                    return self.object(target, tspec, stack, name)
                return FreeMap()  # recursion: cut here
            if key in self.cache:
                return self.cache[key]
            m = self.model(target, tspec, stack + (key,), owner=name)
            if isinstance(m, Obj) and key in ADDITIONS:
                m = copy_obj(m)
                for pname, ps in ADDITIONS[key].items():
                    if pname not in m.props:
                        m.props[pname] = Prop(self.model(ps, tspec, stack, name), ps.get("description"))
            if isinstance(m, Obj) and m.ref is None:
                m.ref = SPEC_PREFIX[tspec] + name if not name.startswith(SPEC_PREFIX[tspec]) else name
            self.cache[key] = m
            return m
        if "allOf" in s:
            parts = [p for p in s["allOf"] if structural(p)]
            m = None
            for p in parts:
                pm = self.model(p, spec, stack, owner)
                m = pm if m is None else merge(m, pm, "all")
            if "properties" in s:
                m = merge(m, self.object(s, spec, stack, owner), "all") if m else self.object(s, spec, stack, owner)
            if isinstance(m, Obj):
                m = copy_obj(m)
                m.desc = s.get("description") or m.desc or first_desc(s["allOf"])
            return m if m is not None else Any()
        for key in ("oneOf", "anyOf"):
            if key in s:
                m = None
                for p in s[key]:
                    if not structural(p):
                        continue
                    pm = self.model(p, spec, stack, owner)
                    if m is None:
                        m = copy_obj(pm) if isinstance(pm, Obj) else pm
                        if isinstance(m, Obj):
                            m.ref = None
                    else:
                        m = merge(m, pm, "one")
                if "properties" in s and m is not None:
                    m = merge(m, self.object(s, spec, stack, owner), "all")
                if isinstance(m, Obj):
                    m.desc = s.get("description") or m.desc
                return m if m is not None else Any()
        t = s.get("type")
        if isinstance(t, list):
            t = [x for x in t if x != "null"]
            t = t[0] if len(t) == 1 else None
        if t == "object" or "properties" in s or (t is None and "additionalProperties" in s):
            mapping = (s.get("discriminator") or {}).get("mapping")
            if s.get("properties") and mapping and stack:
                # A polymorphic base (`discriminator.mapping`, no `oneOf`): the data is one of the
                # mapped subtypes, which extend the base with `allOf`; take their union.
                m = self.object(s, spec, stack, owner)
                for ref in dict.fromkeys(mapping.values()):
                    m = merge(m, self.model({"$ref": ref}, spec, stack, owner), "one")
                m.desc = s.get("description") or m.desc
                return m
            if s.get("properties"):
                return self.object(s, spec, stack, owner)
            return FreeMap()
        if t == "array" or (t is None and "items" in s):
            return Arr(self.model(s.get("items", {}), spec, stack, owner))
        if t == "string" and s.get("nullable") and not s.get("enum") and (
            ("default" in s and s["default"] in (None, {}))
            or re.search(r"not supported|aren't supported|not applicable|must be `null`", s.get("description") or "", re.I)
        ):
            # e.g. `conditions` of a policy type that has none: "not supported", always null.
            # Typed by the other variants when merged, else a string.
            return Prim("Null")
        if t == "string" or (t is None and "enum" in s and all(isinstance(v, str) for v in s["enum"])):
            fmt = s.get("format")
            if fmt == "date-time":
                return Prim("Timestamp")
            if fmt == "date":
                return Prim("Date")
            if fmt is None and not s.get("enum") and isinstance(s.get("example"), str) and RFC3339.match(s["example"]):
                return Prim("Timestamp")
            return Prim("String", [v for v in s.get("enum", []) if v is not None])
        if t == "integer":
            return Prim("i64", s.get("enum"))
        if t == "number":
            return Prim("f64")
        if t == "boolean":
            return Prim("bool")
        return Any()

    def object(self, s, spec, stack, owner):
        o = Obj(desc=s.get("description") or s.get("title"))
        for pname, ps in (s.get("properties") or {}).items():
            ov = OVERRIDES.get((spec, owner, pname))
            if ov is not None:
                ps = ov
            ts = TIMESTAMPS.get((spec, owner, pname))
            if ts is not None:
                ps = dict(ps, **({"x-loose": "timestamp"} if ts == "loose" else {"format": "date-time"}))
            if pname in FREEFORM_PROPS:
                o.props[pname] = Prop(FreeMap(), prop_desc(ps, self.specs, spec) or "Link relations (hypermedia) of this object.")
                continue
            o.props[pname] = Prop(self.model(ps, spec, stack, owner), prop_desc(ps, self.specs, spec))
        return o


def first_desc(parts):
    for p in parts:
        if isinstance(p, dict) and p.get("description"):
            return p["description"]
    return None


def prop_desc(ps, specs, spec):
    if not isinstance(ps, dict):
        return None
    if ps.get("description"):
        return ps["description"]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in ps:
            d = first_desc(ps[key])
            if d:
                return d
            for p in ps[key]:
                if isinstance(p, dict) and "$ref" in p:
                    _, _, t = specs.resolve_ref(spec, p["$ref"])
                    if isinstance(t, dict) and t.get("description") and "properties" not in t and "allOf" not in t:
                        return t["description"]
    if "$ref" in ps:
        _, _, t = specs.resolve_ref(spec, ps["$ref"])
        # enums and primitives defined as their own schema: their description is the field's
        if isinstance(t, dict) and "properties" not in t and "allOf" not in t and "oneOf" not in t:
            return t.get("description")
    return None


def copy_obj(o):
    n = Obj(o.desc, o.ref)
    for k, p in o.props.items():
        n.props[k] = Prop(p.model, p.desc)
    return n


def merge(a, b, mode):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, Any) or isinstance(b, Any):
        if mode == "all":
            return b if isinstance(a, Any) else a
        return Any()
    if isinstance(a, Prim) and a.kind == "Null":
        return b
    if isinstance(b, Prim) and b.kind == "Null":
        return a
    if isinstance(a, Prim) and isinstance(b, Prim):
        if a.kind == b.kind:
            return Prim(a.kind, a.enum + [v for v in b.enum if v not in a.enum] if a.enum and b.enum else [])
        kinds = {a.kind, b.kind}
        if kinds <= {"Timestamp", "LooseTimestamp"}:
            return Prim("LooseTimestamp")
        if kinds <= {"String", "Timestamp", "LooseTimestamp", "Date"}:
            return Prim("String")
        if kinds <= {"i64", "f64"}:
            return Prim("f64")
        if kinds <= {"String", "i64", "f64", "StringOrNumber"}:
            return Prim("StringOrNumber")
        return b if mode == "all" else Any()
    if isinstance(a, Obj) and isinstance(b, Obj):
        n = Obj(a.desc or b.desc)
        for k, p in a.props.items():
            n.props[k] = Prop(p.model, p.desc)
        for k, p in b.props.items():
            if k in n.props:
                old = n.props[k]
                n.props[k] = Prop(merge(old.model, p.model, mode), (p.desc if mode == "all" else None) or old.desc or p.desc)
            else:
                n.props[k] = Prop(p.model, p.desc)
        return n
    if isinstance(a, Obj) and isinstance(b, FreeMap):
        return a
    if isinstance(a, FreeMap) and isinstance(b, Obj):
        return b
    if isinstance(a, FreeMap) and isinstance(b, FreeMap):
        return a
    if isinstance(a, Arr) and isinstance(b, Arr):
        return Arr(merge(a.item, b.item, mode))
    return b if mode == "all" else Any()


# --------------------------------------------------------------------------------------- naming
def pascal(s):
    parts = re.split(r"[^A-Za-z0-9]+", s)
    out = ""
    for p in parts:
        if p:
            out += p[0].upper() + p[1:]
    if out and out[0].isdigit():
        out = "N" + out
    return out


def snake(s):
    s = s.lstrip("_$")
    s = re.sub(r"[^A-Za-z0-9]+", "_", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = s.lower().strip("_")
    s = re.sub(r"_+", "_", s)
    if not s:
        s = "field"
    if s[0].isdigit():
        s = "n_" + s
    return s


def camel_of(rust_name):
    """What serde's `rename_all = "camelCase"` makes of a Rust field name."""
    name = rust_name[2:] if rust_name.startswith("r#") else rust_name
    out = ""
    cap = False
    for i, ch in enumerate(name):
        if ch == "_":
            if i == 0:
                out += ch
            else:
                cap = True
        elif cap:
            out += ch.upper()
            cap = False
        else:
            out += ch
    return out


def plain_of(rust_name):
    return rust_name[2:] if rust_name.startswith("r#") else rust_name


def rust_ident(s):
    if s in NO_RAW:
        return s + "_"
    if s in RUST_KEYWORDS:
        return "r#" + s
    return s


def signature(m, memo):
    if isinstance(m, Prim):
        return m.kind
    if isinstance(m, Arr):
        return "[" + signature(m.item, memo) + "]"
    if isinstance(m, FreeMap):
        return "map"
    if isinstance(m, Any):
        return "any"
    key = id(m)
    if key in memo:
        return memo[key]
    memo[key] = "..."
    sig = "{" + ",".join(k + ":" + signature(p.model, memo) for k, p in m.props.items()) + "}"
    memo[key] = sig
    return sig


class Namer:
    def __init__(self):
        self.by_name = {}  # name -> (sig, obj)
        self.memo = {}
        self.order = []  # objs in first-seen order

    def assign(self, obj, ctx, module, parent=None, reserved=None):
        if obj.name is not None:
            if parent is not None:
                canonical(obj).parents.add(parent)
            return
        if parent is not None:
            obj.parents.add(parent)
        sig = signature(obj, self.memo)
        base = reserved or obj.ref or ctx
        name = base
        i = 2
        while name in self.by_name and self.by_name[name][0] != sig:
            if name == base and obj.ref and ctx != obj.ref and ctx not in self.by_name:
                name = ctx
                continue
            if name in (base, ctx) and f"{ctx}Ref" not in self.by_name:
                name = f"{ctx}Ref"
                continue
            name = f"{base}{i}"
            i += 1
        if name in self.by_name:
            twin = self.by_name[name][1]
            obj.name = name
            obj.twin = twin
            for p in obj.parents:
                twin.parents.add(p)
            return
        obj.name = name
        obj.twin = None
        obj.first_module = module
        self.by_name[name] = (sig, obj)
        self.order.append(obj)
        for pname, p in obj.props.items():
            self.assign_model(p.model, obj.name + pascal(pname), module, obj)

    def reserve(self, obj, name, module):
        """Give a stream's root object its name before any nested object can take it."""
        if obj.name is not None:
            return
        obj.name = name
        obj.twin = None
        obj.first_module = module
        if name in self.by_name:
            raise SystemExit(f"two roots named {name}")
        self.by_name[name] = (signature(obj, self.memo), obj)
        self.order.append(obj)

    def expand(self, obj, module):
        if getattr(obj, "expanded", False):
            return
        obj.expanded = True
        for pname, p in obj.props.items():
            self.assign_model(p.model, obj.name + pascal(pname), module, obj)

    def assign_model(self, m, ctx, module, parent):
        if isinstance(m, Obj):
            self.assign(m, ctx, module, parent)
        elif isinstance(m, Arr):
            self.assign_model(m.item, ctx, module, parent)


def canonical(obj):
    return obj.twin if getattr(obj, "twin", None) is not None else obj


# --------------------------------------------------------------------------------------- emission
def clean_desc(d):
    if not d:
        return []
    d = d.replace("](/", "](https://developer.okta.com/docs/api/")
    # Okta's doc-site lifecycle badges -> plain words
    d = re.sub(r'<x-lifecycle class="oie"></x-lifecycle>', "(Identity Engine) ", d)
    d = re.sub(r'<x-lifecycle class="ea"></x-lifecycle>', "(Early Access) ", d)
    d = re.sub(r"</?x-lifecycle-container>|<div class=\"x-lifecycle-container\">|</div>", "", d)
    d = re.sub(r"\((Identity Engine|Early Access)\) +", r"(\1) ", d)
    d = d.replace("<br>", "")
    d = d.replace("\t", "    ")
    lines = [ln.rstrip() for ln in d.strip().split("\n")]
    out = []
    block = None  # None | "quote" | indent of the open list item's text
    fenced = False
    for ln in lines:
        if ln.strip().startswith("```"):
            # a code fence: rustdoc would compile an untagged block as a Rust doctest
            if not fenced and ln.strip() == "```":
                ln = ln.replace("```", "```text")
            fenced = not fenced
            block = None
            out.append(ln)
            continue
        if fenced:
            out.append(ln)
            continue
        if not ln.strip():
            block = None
            if out and out[-1] == "":
                continue
            out.append("")
            continue
        item = re.match(r"^(\s*)([-*+]|\d+[.)])\s+", ln)
        if ln.lstrip().startswith(">"):
            block = "quote"
        elif item:
            block = len(item.group(0))
        elif block == "quote":
            ln = "> " + ln  # a lazy continuation of a `>` note: keep it in the note
        elif isinstance(block, int) and len(ln) - len(ln.lstrip()) < block:
            ln = " " * block + ln.lstrip()  # a lazy continuation of a list item: indent it
        out.append(ln)
    while out and out[-1] == "":
        out.pop()
    return out


def doc(lines, indent):
    return "".join(f"{indent}///{(' ' + ln) if ln else ''}\n" for ln in lines)


def field_desc(p, m):
    lines = clean_desc(p.desc)
    if isinstance(m, Prim) and m.enum:
        vals = ", ".join(f"`{v}`" for v in m.enum)
        known = f"Known values: {vals}."
        if lines:
            lines = lines + ["", known]
        else:
            lines = [known]
    return lines


def rust_type(m, used):
    if isinstance(m, Prim):
        if m.kind == "Null":
            return "String"
        if m.kind in ("Timestamp", "LooseTimestamp", "Date", "StringOrNumber"):
            used.add(m.kind)
        return m.kind
    if isinstance(m, Arr):
        return f"Vec<{rust_type(m.item, used)}>"
    if isinstance(m, FreeMap):
        used.add("Map")
        return "Map<String, Value>"
    if isinstance(m, Any):
        used.add("Value")
        return "Value"
    c = canonical(m)
    used.add(("struct", c.name))
    return c.name


def field_names(obj, fixed=()):
    """Rust field names (unique, valid identifiers) for the struct's JSON properties."""
    taken = set(fixed)
    names = OrderedDict()
    for pname in obj.props:
        base = rust_ident(snake(pname))
        name = base
        i = 2
        while plain_of(name) in taken or plain_of(name) == "extra":
            name = rust_ident(f"{snake(pname)}_{i}")
            i += 1
        taken.add(plain_of(name))
        names[pname] = name
    return names


def emit_struct(obj, pk_fields, used, sources=()):
    names = field_names(obj)
    camel_ok = sum(1 for j, r in names.items() if camel_of(r) == j)
    plain_ok = sum(1 for j, r in names.items() if plain_of(r) == j)
    use_camel = camel_ok > plain_ok
    lines = clean_desc(obj.desc)
    if sources:
        if not lines:
            lines = [f"The `{obj.name}` object of the API."]
        lines += [""] + [f"Stream `{name}`: `GET {path}`." for name, path in sources]
    out = doc(lines, "")
    out += "#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]\n"
    if use_camel:
        out += '#[serde(rename_all = "camelCase")]\n'
    out += f"pub struct {obj.name} {{\n"
    for jname, p in obj.props.items():
        rname = names[jname]
        ty = rust_type(p.model, used)
        out += doc(field_desc(p, p.model), "    ")
        serde_name = camel_of(rname) if use_camel else plain_of(rname)
        attrs = []
        if serde_name != jname:
            attrs.append(f"rename = {json.dumps(jname)}")
        if jname in pk_fields:
            if ty != "String":
                raise SystemExit(f"primary key {obj.name}.{jname} is {ty}, not String")
            if attrs:
                out += f"    #[serde({', '.join(attrs)})]\n"
            out += f"    pub {rname}: String,\n"
        else:
            attrs.append('skip_serializing_if = "Option::is_none"')
            out += f"    #[serde({', '.join(attrs)})]\n"
            out += f"    pub {rname}: Option<{ty}>,\n"
    used.add("Map")
    used.add("Value")
    out += "    /// Properties not described by the spec, kept as they came.\n"
    out += "    #[serde(flatten)]\n"
    out += "    pub extra: Map<String, Value>,\n"
    out += "}\n"
    return out


def emit_record(st, item_obj, used):
    item_name = canonical(item_obj).name
    used.add(("struct", item_name))
    out = doc(
        [
            f"A row of the `{st.name}` stream: the API object plus the columns the connector adds",
            f"(primary key: {', '.join('`' + k + '`' for k in st.pk)}).",
        ],
        "",
    )
    out += "#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]\n"
    out += f"pub struct {st.record} {{\n"
    for col, desc in st.parents:
        out += doc([desc], "    ")
        out += f"    pub {col}: String,\n"
    for col, ty, desc in st.columns:
        used.add(ty)
        out += doc(desc.split("\n"), "    ")
        rname = rust_ident(snake(col))
        attrs = ['skip_serializing_if = "Option::is_none"']
        if plain_of(rname) != col:
            attrs.insert(0, f"rename = {json.dumps(col)}")
        out += f"    #[serde({', '.join(attrs)})]\n"
        out += f"    pub {rname}: Option<{ty}>,\n"
    out += f"    /// The `{item_name}` as returned by the API.\n"
    out += "    #[serde(flatten)]\n"
    out += f"    pub item: {item_name},\n"
    out += "}\n"
    return out


HEADER = """//! {doc}
//!
//! Generated by `tools/gen_records.py` from Okta's OpenAPI specs
//! ({specs});
//! change the generator (its overrides) rather than this file.
"""


def specs_from_args(description):
    """Parses the tools' one option, `--specs` (the vendored OpenAPI specs), loads them and resolves the
    streams' list endpoints in them."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specs", default=os.path.join(CRATE, "spec"), help="the vendored OpenAPI specs")
    args = ap.parse_args()
    specs = Specs(args.specs)
    resolve_lists(STREAMS, specs.docs)
    return specs


def main():
    specs = specs_from_args(__doc__)
    b = Builder(specs)
    namer = Namer()

    roots = []  # (stream, item obj)
    root_for_item = {}
    for st in STREAMS:
        doc_ = specs.docs[st.spec]
        if st.spec == "custom":
            m = b.model({"$ref": f"custom#/components/schemas/{st.item}"}, "custom")
        else:
            resp = doc_["paths"][st.list]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            s = resp
            owner = None  # the spec schema named by the response itself (its OVERRIDES / TIMESTAMPS apply)
            if "$ref" in s:
                _, owner, s = specs.resolve_ref(st.spec, s["$ref"])
            if st.extract == "items":
                s = s["items"]
                owner = None
            elif st.extract == "self":
                pass
            else:
                s = s["properties"][st.extract]["items"]
                owner = None
            m = b.model(s, st.spec, owner=owner)
            for extra in st.merge:
                m = merge(m, b.model({"$ref": f"#/components/schemas/{extra}"}, st.spec), "all")
            if st.omit:
                # Secret material the connector leaves out: no field for it.
                m = copy_obj(m)
                for name in st.omit:
                    if m.props.pop(name, None) is None:
                        raise SystemExit(f"{st.name}: omitted field {name} not in {st.item}")
        assert isinstance(m, Obj), st.name
        if st.item in root_for_item:
            m = root_for_item[st.item]
        else:
            m = copy_obj(m)
            m.ref = None
            m.desc = m.desc
            root_for_item[st.item] = m
        m.is_root = True
        roots.append((st, m))

    # Primary-key columns inside the item are non-optional.
    pk_of = {}
    for st, m in roots:
        item_pk = [k for k in st.pk if k not in [c for c, _ in st.parents]]
        for k in item_pk:
            if k not in m.props:
                raise SystemExit(f"{st.name}: primary key {k} not in {st.item}")
        pk_of.setdefault(st.item, set()).update(item_pk)

    for st, m in roots:
        namer.reserve(m, st.item, st.module)
    for st, m in roots:
        namer.expand(m, st.module)

    # Module of each struct: a root lives with its (first) stream; a nested struct lives with its
    # referrers when they all sit in one module, otherwise in `common`.
    root_module = {}
    for st, m in roots:
        root_module.setdefault(m.name, st.module)
    memo = {}

    def module_of(o, seen=()):
        if o.name in root_module:
            return root_module[o.name]
        if o.name in memo:
            return memo[o.name]
        if o.name in seen:
            return o.first_module
        mods = {module_of(canonical(p), seen + (o.name,)) for p in o.parents}
        mod = mods.pop() if len(mods) == 1 else "common"
        memo[o.name] = mod
        return mod

    modules = OrderedDict()
    for st, _ in roots:
        modules.setdefault(st.module, {"structs": [], "records": []})
    modules["common"] = {"structs": [], "records": []}
    for o in namer.order:
        modules[module_of(o)]["structs"].append(o)
    for st, m in roots:
        if st.record:
            modules[st.module]["records"].append((st, m))

    where = {}
    for mod, content in modules.items():
        for o in content["structs"]:
            where[o.name] = mod
        for st, _ in content["records"]:
            where[st.record] = mod

    spec_names = "management 2026.06.3, oauth 2026.06.3, ASA 2024-04"
    for mod, content in modules.items():
        used = set()
        body = ""
        for st, m in content["records"]:
            body += "\n" + emit_record(st, m, used)
        for o in content["structs"]:
            is_root = getattr(o, "is_root", False)
            sources = [(st.name, st.list) for st, m in roots if m is o] if is_root else []
            body += "\n" + emit_struct(o, pk_of.get(o.name, set()) if is_root else set(), used, sources)
        imports = ["use schemars::JsonSchema;", "use serde::{Deserialize, Serialize};"]
        js = sorted(x for x in ("Map", "Value") if x in used)
        if js:
            imports.append(f"use serde_json::{{{', '.join(js)}}};" if len(js) > 1 else f"use serde_json::{js[0]};")
        tys = sorted(x for x in ("Date", "LooseTimestamp", "StringOrNumber", "Timestamp") if x in used)
        if tys:
            imports.append(f"use crate::types::{{{', '.join(tys)}}};" if len(tys) > 1 else f"use crate::types::{tys[0]};")
        ext = {}
        for u in used:
            if isinstance(u, tuple) and where[u[1]] != mod:
                ext.setdefault(where[u[1]], []).append(u[1])
        for emod in sorted(ext):
            names = sorted(ext[emod])
            imports.append(f"use crate::{emod}::{{{', '.join(names)}}};" if len(names) > 1 else f"use crate::{emod}::{names[0]};")
        text = HEADER.format(doc=MODULE_DOCS[mod], specs=spec_names) + "\n" + "\n".join(sorted(imports)) + "\n" + body
        with open(os.path.join(CRATE, "src", f"{mod}.rs"), "w") as f:
            f.write(text)
        print(f"{mod}.rs: {len(content['structs'])} structs, {len(content['records'])} records", file=sys.stderr)

    write_registry(modules)


REGISTRY_HEADER = """//! Stream name -> record type: the dispatch behind [`crate::stream_schema`].
//!
//! Generated by `tools/gen_records.py` from the stream manifest (`crates/manifest`);
//! change the manifest rather than this file.
"""


def match_stream(arms, expr):
    """The tail of a registry function: `Some(match name { … })` with one arm per (stream, type), `expr` with
    `{ty}` standing for the type, and `None` for an unknown stream."""
    text = "    Some(match name {\n"
    for name, ty in arms:
        text += f'        "{name}" => {expr.format(ty=ty)},\n'
    return text + "        _ => return None,\n    })\n}\n"


def write_registry(modules):
    """`src/registry.rs`: the schema (and, for tests, the serde round trip) of every stream's type."""
    arms = [(st.name, f"{st.module}::{st.record or st.item}") for st in STREAMS]
    mods = sorted({ty.split("::")[0] for _, ty in arms})
    text = REGISTRY_HEADER + "\n"
    text += f"use crate::{{{', '.join(mods)}}};\n"
    text += "use crate::schema::airbyte_schema;\nuse serde_json::Value;\n\n"
    text += "/// Builds the stream's Airbyte JSON Schema from its record type; `None` for an unknown stream.\n"
    text += "pub(crate) fn schema_of(name: &str) -> Option<fn() -> Value> {\n"
    text += match_stream(arms, "airbyte_schema::<{ty}>") + "\n"
    text += "/// Deserialises `record` into the stream's record type and serialises it back.\n"
    text += "#[cfg(test)]\npub(crate) fn roundtrip(name: &str, record: Value) -> Option<Result<Value, serde_json::Error>> {\n"
    text += "    fn via<T: serde::de::DeserializeOwned + serde::Serialize>(record: Value) -> Result<Value, serde_json::Error> {\n"
    text += "        serde_json::from_value::<T>(record).and_then(|r| serde_json::to_value(&r))\n    }\n"
    text += match_stream(arms, "via::<{ty}>(record)")
    with open(os.path.join(CRATE, "src", "registry.rs"), "w") as f:
        f.write(text)
    print(f"registry.rs: {len(arms)} streams", file=sys.stderr)


if __name__ == "__main__":
    main()
