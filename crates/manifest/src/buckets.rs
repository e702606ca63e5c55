//! Okta's rate-limit bucket families for the endpoints the connector calls (API.md §3).
//!
//! Okta matches a request to a bucket by the longest path prefix; the pacer keeps one window per
//! family. The rules live here, beside the streams, so the README can show each stream's family.

/// One rule: a path's segments (`*` matches one segment, a trailing `..` any number, none
/// included) and the family they belong to. The first matching rule wins.
pub static BUCKETS: &[(&[&str], &str)] = &[
    (&["api", "v1", "apps", ".."], "apps"),
    (&["api", "v1", "groups"], "groups"),
    (&["api", "v1", "groups", ".."], "groups/{id}"),
    (&["api", "v1", "users"], "users"),
    (&["api", "v1", "users", ".."], "users/{id}"),
    (&["api", "v1", "logs", ".."], "logs"),
    (&["api", "v1", "devices", ".."], "devices"),
    (&["oauth2", "v1", "clients", ".."], "oauth2/clients"),
    (&["oauth2", "v1", "token"], "oauth2/token"),
];

/// The bucket family of a request path (without its query); `other` when no rule matches.
#[must_use]
pub fn bucket_of(path: &str) -> &'static str {
    let seg: Vec<&str> = path
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    BUCKETS
        .iter()
        .find(|(rule, _)| matches(rule, &seg))
        .map_or("other", |(_, family)| family)
}

fn matches(rule: &[&str], seg: &[&str]) -> bool {
    match rule.split_last() {
        Some((&"..", head)) => seg.len() >= head.len() && head.iter().zip(seg).all(|(r, s)| r == s),
        _ => rule.len() == seg.len() && rule.iter().zip(seg).all(|(r, s)| r == s),
    }
}
