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

/// The `{parameter}`s of a path, `{type}` and `{team}` (filled from elsewhere) left out.
fn placeholders(path: &str) -> usize {
    path.split('{')
        .skip(1)
        .filter(|p| !p.starts_with("type}") && !p.starts_with("team}"))
        .count()
}

#[test]
fn parents_resolve_by_name_and_fan_outs_name_their_key() {
    for s in STREAMS {
        for p in s.parent.iter().chain(s.more_types.iter()) {
            let parent = stream(p).unwrap_or_else(|| panic!("{}: no parent {p}", s.name));
            assert_eq!(parent.api, s.api, "{}: parent on another API", s.name);
        }
        if let Some(p) = s.more_types.and_then(stream) {
            assert!(p.parent.is_none(), "{}: types from a fan-out", s.name);
        }
        if let Some(p) = s.parent.and_then(stream) {
            // A nested parent is a plain fan-out; a feed-driven (cdc) fan-out's parent is a list.
            assert!(
                p.parent.is_none() || (p.reader == Reader::FanOut && p.variants.is_empty()),
                "{}: its parent {} is read by another kind of reader",
                s.name,
                p.name
            );
            assert!(!(s.cdc && p.parent.is_some()), "{}", s.name);
        }
        if s.reader == Reader::FanOut {
            assert!(s.parent.is_some(), "{}", s.name);
            // One placeholder per key of the chain, each in its own column of the key.
            let cols = s.key_columns();
            for e in s.endpoints() {
                assert_eq!(placeholders(e), cols.len(), "{}: {e}", s.name);
            }
            for c in cols.iter().flatten() {
                assert!(s.primary_key.contains(c), "{}: {c} not in the key", s.name);
            }
        }
        if let Some(col) = s.parent_column {
            assert!(
                s.primary_key.contains(&col),
                "{}: {col} not in the key",
                s.name
            );
        }
        if let Some(first) = s.variants.first() {
            assert_eq!(first.endpoint, s.endpoint, "{}", s.name);
            assert!(
                s.type_column.is_some(),
                "{}: variants need a type column",
                s.name
            );
            assert!(s.types.is_empty(), "{}", s.name);
            let kinds = s.parent.and_then(stream).and_then(|p| p.kind_from);
            assert!(
                s.variants.iter().all(|v| v.kinds.is_empty()) || kinds.is_some(),
                "{}: variants filter on kinds its parent does not declare",
                s.name
            );
        }
    }
}

#[test]
fn role_targets_nest_under_role_assignments() {
    let s = find("user_role_targets").expect("declared");
    assert_eq!(
        s.key_columns(),
        [Some("user_id"), Some("role_assignment_id")]
    );
    assert_eq!(
        find("user_factors").map(Stream::key_columns),
        Some(vec![Some("user_id")])
    );
    assert_eq!(find("users").map(Stream::key_columns), Some(vec![]));
    let all: Vec<&str> = s.endpoints().collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1].contains("/targets/catalog/apps"), "{all:?}");
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
        .flat_map(|s| s.endpoints().chain(s.list_all))
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
        match e.reason {
            Reason::SameRowsAs(s) => assert!(find(s).is_some(), "{}: no stream {s}", e.endpoint),
            Reason::OneByKey(s) if !s.is_empty() => {
                assert!(find(s).is_some(), "{}: no stream {s}", e.endpoint);
            }
            _ => {}
        }
    }
}

#[test]
fn omitted_fields_are_neither_keys_nor_columns() {
    for s in STREAMS {
        for f in s.omit {
            assert!(!s.primary_key.contains(f), "{}: {f} is a key", s.name);
            assert!(
                s.columns.iter().all(|c| c.name != *f) && s.cursor_field != Some(f),
                "{}: {f} is a column or the cursor",
                s.name
            );
        }
    }
}
