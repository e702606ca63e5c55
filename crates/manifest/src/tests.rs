//! Consistency of the table: names, parents, keys and endpoints agree with each other.

use super::*;
use std::collections::HashSet;

#[test]
fn names_are_unique_and_snake_case() {
    let mut seen = HashSet::new();
    for s in STREAMS {
        assert!(seen.insert(s.name), "{} declared twice", s.name);
        assert!(
            s.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            s.name
        );
    }
}

#[test]
fn parents_resolve_by_name_and_fan_outs_name_their_key() {
    for s in STREAMS {
        for p in s.parent.iter().chain(s.more_types.iter()) {
            let parent = stream(p).unwrap_or_else(|| panic!("{}: no parent {p}", s.name));
            assert_eq!(parent.api, s.api, "{}: parent on another API", s.name);
            assert!(
                parent.parent.is_none(),
                "{}: grandparents are not read",
                s.name
            );
        }
        if s.reader == Reader::FanOut {
            assert!(s.parent.is_some(), "{}", s.name);
            assert!(s.endpoint.contains("{id}"), "{}", s.name);
        }
        if let Some(col) = s.parent_column {
            assert!(
                s.primary_key.contains(&col),
                "{}: {col} not in the key",
                s.name
            );
        }
    }
}

#[test]
fn key_columns_are_declared_or_come_from_the_item() {
    for s in catalog() {
        assert!(!s.primary_key.is_empty(), "{}", s.name);
        assert!(!s.module.is_empty() && !s.item.is_empty(), "{}", s.name);
        if !s.columns.is_empty() {
            assert!(
                s.record.is_some(),
                "{}: added columns need a record type",
                s.name
            );
        }
        if s.api == Api::Okta {
            assert!(s.scope.starts_with("okta."), "{}", s.name);
        }
    }
}

#[test]
fn buckets_follow_okta_prefix_rules() {
    assert_eq!(bucket_of("/api/v1/apps/0oa1/users"), "apps");
    assert_eq!(bucket_of("/api/v1/apps"), "apps");
    assert_eq!(bucket_of("/api/v1/users"), "users");
    assert_eq!(bucket_of("/api/v1/users/00u1/factors"), "users/{id}");
    assert_eq!(bucket_of("/api/v1/groups/00g1/users"), "groups/{id}");
    assert_eq!(bucket_of("/api/v1/groups/"), "groups");
    assert_eq!(bucket_of("/api/v1/logs"), "logs");
    assert_eq!(bucket_of("/oauth2/v1/token"), "oauth2/token");
    assert_eq!(bucket_of("/oauth2/v1/token/x"), "other");
    assert_eq!(bucket_of("/api/v1/meta/types/user"), "other");
    let users = find("users").map(Stream::bucket);
    assert_eq!(users, Some("users"));
}

#[test]
fn scopes_cover_every_okta_stream_once() {
    let scopes = scopes();
    let unique: HashSet<_> = scopes.iter().collect();
    assert_eq!(unique.len(), scopes.len());
    assert!(scopes.contains(&"okta.logs.read"));
    assert!(catalog()
        .filter(|s| s.api == Api::Okta)
        .all(|s| scopes.contains(&s.scope)));
}

/// Every list GET of the inventory is read by a stream or declared in [`EXCLUDED`] with a reason;
/// nothing is declared excluded that a stream reads or the inventory lacks.
#[test]
fn every_inventory_list_is_streamed_or_excluded() {
    let streamed: HashSet<String> = STREAMS
        .iter()
        .flat_map(|s| [Some(s.endpoint), s.list_all].into_iter().flatten())
        .map(path_shape)
        .collect();
    let lists: Vec<(&str, &str)> = inventory_lists().collect();
    assert!(lists.len() > 150, "the inventory went missing");
    let mut missing = Vec::new();
    for (_, path) in &lists {
        let is_streamed = streamed.contains(&path_shape(path));
        let excluded = EXCLUDED.iter().filter(|e| e.endpoint == *path).count();
        assert!(excluded <= 1, "{path} excluded twice");
        assert!(
            !(is_streamed && excluded == 1),
            "{path} is read by a stream and declared excluded"
        );
        if !is_streamed && excluded == 0 {
            missing.push(*path);
        }
    }
    assert!(
        missing.is_empty(),
        "inventory list endpoints neither streamed nor excluded:\n{}",
        missing.join("\n")
    );
    for e in EXCLUDED {
        assert!(
            lists.iter().any(|(_, p)| *p == e.endpoint),
            "{}: not a list endpoint of the inventory",
            e.endpoint
        );
        if let Reason::SameRowsAs(s) = e.reason {
            assert!(find(s).is_some(), "{}: no stream {s}", e.endpoint);
        }
    }
}
