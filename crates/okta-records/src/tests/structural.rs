//! Every stream's schema is something Airbyte accepts.

#[test]
fn dump_users() {
    let s = crate::stream_schema("users").unwrap();
    std::fs::write(
        "/tmp/users.schema.json",
        serde_json::to_string_pretty(&s).unwrap(),
    )
    .unwrap();
}
