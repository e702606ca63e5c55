//! The examples embedded in Okta's OpenAPI specs validate against our schemas:
//! * every response example of the list and get endpoints of every stream (as records, with the
//!   key columns the connector adds), which must also deserialise into the Rust type;
//! * every `example`/`examples` value of every schema reachable from a stream's object, against
//!   the sub-schema at its path.
//!
//! The examples are extracted into `tests/fixtures/spec-examples/` by
//! `tools/extract_spec_examples.py`.

use serde_json::Value;

use super::{check_roundtrip, errors, fixtures, read_json, to_record, undeclared, validator};

/// Spec examples that contradict the spec's own (correct) types: typos and placeholders. They are
/// left out of the check, each precisely: (stream, source prefix, JSON pointer in the record or
/// `""` for a schema value, the bad value (`"object"`: any object), why). Everything else in
/// those examples is checked.
const SPEC_EXAMPLE_ERRORS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "agent_pool_updates",
        "GET /api/v1/agentPools/{poolId}/updates",
        "/agents",
        "object",
        "one agent object where the schema has an array of agents",
    ),
    (
        "agent_pools",
        "GET /api/v1/agentPools",
        "/agents",
        "object",
        "one agent object where the schema has an array of agents",
    ),
    (
        "user_factors",
        "UserFactorCallProfile.profile.phoneExtension",
        "",
        "1234",
        "a number for a string extension (maxLength 15)",
    ),
    (
        "user_factors",
        "UserFactorTokenVerifyRSA.verify.passCode",
        "",
        "5275875498",
        "a number for a one-time passcode string (request-only field)",
    ),
    (
        "applications",
        "ApplicationUniversalLogout.universalLogout",
        "",
        r#""ACTIVE""#,
        "a status string as the example of an object",
    ),
    (
        "policy_apps",
        "ApplicationUniversalLogout.universalLogout",
        "",
        r#""ACTIVE""#,
        "a status string as the example of an object",
    ),
    (
        "authenticator_methods",
        "DNSRecordAuthenticators.settings.rpId.domain.dnsRecord.verificationValue",
        "",
        r#"["79496f234c814638b1cc44f51a782781"]"#,
        "an array as the example of a string",
    ),
    (
        "policies",
        "GET /api/v1/policies",
        "/created",
        r#""createdDate""#,
        "a placeholder for a timestamp",
    ),
    (
        "policies",
        "GET /api/v1/policies",
        "/lastUpdated",
        r#""lastUpdated""#,
        "a placeholder for a timestamp",
    ),
    (
        "identity_providers",
        "GET /api/v1/idps/{idpId} 200 GenericOidcIdpResponse",
        "/protocol/credentials/client/pkce_required",
        r#""true""#,
        "a string for a boolean (the list example of the same IdP has `true`)",
    ),
    (
        "policy_rules",
        "GET /api/v1/policies/{policyId}/rules/{ruleId} 200 Auth",
        "/actions/appSignOn/verificationMethod/constraints",
        "object",
        "one constraint object where the schema (and the `access` list example) has an array of them",
    ),
    (
        "log_streams",
        "AwsAccountId.settings.accountId",
        "",
        "123456789012",
        "a number for a 12-digit AWS account id string (leading zeros matter)",
    ),
];

/// Properties found in the spec's response examples that the spec's schemas (hence our schemas)
/// do not declare: typos of the examples (`lastedUpdated`, `exclue`, keys ending in `"`), null
/// values whose type nobody documents, AD-specific group profile attributes, and fields of
/// other objects pasted into the wrong place. They are kept by the Rust types' `extra`; the list
/// is pinned so that a regression in the generated types (a property lost) shows up here.
const UNDECLARED_IN_SPEC_EXAMPLES: &[(&str, &str)] = &[
    ("app_user_schemas", "/definitions/base/properties/name"),
    ("app_user_schemas", "/definitions/base/properties/userName"),
    ("app_user_schemas", "/definitions/properties"),
    ("app_user_schemas", "/definitions/type"),
    (
        "applications",
        "/settings/signOn/assertionEncryption/_embedded",
    ),
    (
        "applications",
        "/settings/signOn/assertionEncryption/_links",
    ),
    (
        "applications",
        "/settings/signOn/assertionEncryption/acsEndpoints",
    ),
    (
        "applications",
        "/settings/signOn/assertionEncryption/allowMultipleAcsEndpoints",
    ),
    (
        "applications",
        "/settings/signOn/assertionEncryption/attributeStatements",
    ),
    (
        "applications",
        "/settings/signOn/assertionEncryption/requestCompressed",
    ),
    ("applications", "/settings/signOn/inlineHooks/[]/_links"),
    // The same application examples (borrowed from `GET /api/v1/apps/{appId}`).
    ("policy_apps", "/settings/signOn/inlineHooks/[]/_links"),
    ("asa_entitlements", "/commands"),
    // The JWK example writes the key `x5t#S256"` (a stray quote inside the name).
    ("application_keys", "/x5t#S256\""),
    ("asa_project_servers", "/broker_host_certs"),
    // The same server examples (the team-wide list).
    ("asa_servers", "/broker_host_certs"),
    // The example keys carry JWK members the schemas don't declare (`alg`; EC `crv`/`x`/`y`).
    ("authorization_server_resource_server_keys", "/alg"),
    ("application_jwks", "/alg"),
    ("identity_provider_key_store", "/alg"),
    ("identity_provider_key_store", "/crv"),
    ("identity_provider_key_store", "/x"),
    ("identity_provider_key_store", "/y"),
    // Typo of `lastUpdate` in the example.
    ("device_posture_checks", "/createdUpdate"),
    ("default_device_posture_checks", "/createdUpdate"),
    // The example names the security-key vendor (`fulfillmentProvider`); the schema doesn't declare it.
    ("user_webauthn_enrollments", "/fulfillmentProvider"),
    ("yubikey_tokens", "/activated"),
    ("asa_project_servers", "/instance_id"),
    ("asa_servers", "/instance_id"),
    ("authorization_server_claims", "/apiResourceId"),
    // The rule examples carry `exclude` lists the people conditions' schemas don't declare.
    (
        "authorization_server_policy_rules",
        "/conditions/people/groups/exclude",
    ),
    (
        "authorization_server_policy_rules",
        "/conditions/people/users/exclude",
    ),
    // The iOS/Android examples say `jailbroken`; the schemas declare `jailbreak`.
    ("device_assurances", "/jailbroken"),
    ("devices", "/providers"),
    ("groups", "/profile/groupScope"),
    ("groups", "/profile/groupType"),
    ("groups", "/profile/objectSid"),
    ("inline_hooks", "/channel/created"),
    ("network_zones", "/create"),
    ("network_zones", "/ipServiceCategories/exclue"),
    (
        "policies",
        "/settings/password/breachedProtection/deletegatedWorkflowId",
    ),
    (
        "policies",
        "/settings/recovery/factors/recovery_question/properties/complexity/complexity",
    ),
    ("policy_rules", "/actions/_links"),
    ("policy_rules", "/actions/type"),
    ("policy_rules", "/description"),
    ("push_providers", "/value"),
    ("system_log", "/from"),
    ("system_log", "/to"),
    ("trusted_origins", "/lastedUpdated"),
    ("trusted_origins", "/lastedUpdatedBy"),
    ("user_role_assignments", "/_links\""),
    ("user_role_assignments", "/assignmentType\""),
    ("user_role_assignments", "/created\""),
    ("user_role_assignments", "/lastUpdated\""),
    ("user_schemas", "/descripton"),
    ("users", "/profile/ListUsersResponse"),
];

/// Is this example (or the value at `pointer` in it) a known spec error?
fn known_error(stream: &str, source: &str, pointer: &str, value: &Value) -> bool {
    SPEC_EXAMPLE_ERRORS.iter().any(|(s, src, ptr, bad, _)| {
        *s == stream
            && source.starts_with(src)
            && *ptr == pointer
            && (*bad == "object" && value.is_object()
                || serde_json::from_str::<Value>(bad).is_ok_and(|b| &b == value))
    })
}

/// Removes the known spec errors from a record example; returns how many were removed.
fn drop_known_errors(stream: &str, source: &str, record: &mut Value) -> usize {
    let mut dropped = 0;
    for (s, src, ptr, _, _) in SPEC_EXAMPLE_ERRORS {
        if *s != stream || !source.starts_with(src) || ptr.is_empty() {
            continue;
        }
        let Some(value) = record.pointer(ptr).cloned() else {
            continue;
        };
        if known_error(stream, source, ptr, &value) {
            let (parent, key) = ptr.rsplit_once('/').expect("pointer");
            if let Some(Value::Object(m)) = record.pointer_mut(parent) {
                m.remove(key);
                dropped += 1;
            }
        }
    }
    dropped
}

/// The sub-schema at `path` (property names, `[]` for array items), or `None` when the path
/// enters a free-form object (any value is accepted there).
fn subschema<'a>(schema: &'a Value, path: &[Value]) -> Option<&'a Value> {
    let mut at = schema;
    for step in path {
        let step = step.as_str().expect("path step");
        at = if step == "[]" {
            at.get("items")?
        } else {
            at.get("properties")?.get(step)?
        };
    }
    Some(at)
}

#[test]
fn spec_examples_validate() {
    let dir = fixtures().join("spec-examples");
    let mut failures = Vec::new();
    let (mut records, mut values, mut free_form, mut known) = (0, 0, 0, 0);
    let mut undeclared_seen = std::collections::BTreeSet::new();
    for s in crate::streams() {
        let fixture = read_json(&dir.join(format!("{}.json", s.name)));
        assert_eq!(fixture["stream"], s.name);
        let schema = (s.schema)();
        let v = validator(&schema);
        for ex in fixture["records"].as_array().expect("records") {
            let source = ex["source"].as_str().expect("source");
            let mut record = to_record(s.name, &ex["record"]);
            known += drop_known_errors(s.name, source, &mut record);
            for e in errors(&v, &record) {
                failures.push(format!("{} {}: {e}", s.name, ex["source"]));
            }
            if let Err(e) = check_roundtrip(s.name, &record) {
                failures.push(format!("{} {}: {e}", s.name, ex["source"]));
            }
            let mut extra = Vec::new();
            undeclared(&schema, &record, "", &mut extra);
            undeclared_seen.extend(extra.into_iter().map(|p| (s.name.to_owned(), p)));
            records += 1;
        }
        for ex in fixture["values"].as_array().expect("values") {
            let path = ex["path"].as_array().expect("path");
            values += 1;
            if known_error(
                s.name,
                ex["source"].as_str().expect("source"),
                "",
                &ex["value"],
            ) {
                known += 1;
                continue;
            }
            if path.is_empty() {
                let record = to_record(s.name, &ex["value"]);
                for e in errors(&v, &record) {
                    failures.push(format!("{} {}: {e}", s.name, ex["source"]));
                }
                continue;
            }
            let Some(sub) = subschema(&schema, path) else {
                free_form += 1;
                continue;
            };
            let sub_v = validator(sub);
            for e in errors(&sub_v, &ex["value"]) {
                failures.push(format!("{} {}: {e}", s.name, ex["source"]));
            }
        }
    }
    let expected: std::collections::BTreeSet<(String, String)> = UNDECLARED_IN_SPEC_EXAMPLES
        .iter()
        .map(|(s, p)| ((*s).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        undeclared_seen, expected,
        "undeclared properties in spec examples"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "spec examples: {records} records, {values} schema values \
         ({free_form} inside free-form objects, {known} known spec errors left out)"
    );
    // Every fixture file was validated: none belongs to a stream the manifest no longer has.
    let on_disk = std::fs::read_dir(&dir)
        .expect("spec-examples")
        .filter_map(Result::ok)
        .map(|e| read_json(&e.path()))
        .fold((0, 0), |(r, v), f| {
            let len = |k: &str| f[k].as_array().map_or(0, Vec::len);
            (r + len("records"), v + len("values"))
        });
    assert_eq!((records, values), on_disk);
    assert!(
        records > 250 && values > 200,
        "the spec examples went missing"
    );
}
