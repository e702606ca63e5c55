//! The source's modules form layers that import downward only: foundations (errors, secrets, config,
//! progress counters, the output writer, saved state) → the HTTP transport → the Okta API → the stream
//! readers → orchestration (discover, check, sync) → the Singer front-end → the Airbyte front-end and
//! entry point. Every module has its own rank, so an import is allowed only from a higher rank to a
//! lower one, which also rules out cycles. The workspace crates below `source-okta` (`okta-manifest`,
//! `okta-records`, the protocol crate) are layers of their own, enforced by Cargo.

use crate::harness::repo_root;
use std::path::Path;

/// Every top-level module of `src/`, lowest layer first.
const LAYERS: &[&str] = &[
    "error", "secret", "config", "progress", "output", "state",   // foundations
    "http",    // transport: client, retry, pacing, links
    "okta",    // the Okta API: auth, paging, error bodies
    "streams", // readers, behind `streams::context`
    "discover", "commands", "sync",   // orchestration
    "launch", // loading and ending, shared by both front-ends
    "singer", // the Singer front-end
    "cli",    // the Airbyte front-end and entry point
];

/// Imports that break the layering today, each with the work that removes it. Keep this empty.
const PENDING: &[(&str, &str)] = &[];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

/// (importing module, imported module, file) for every `crate::x` path in `src/`.
fn imports() -> Vec<(String, String, String)> {
    let src = repo_root().join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&src).unwrap();
                let Some(module) = top_module(rel) else {
                    continue;
                };
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    let code = line.split("//").next().unwrap_or_default();
                    let mut rest = code;
                    while let Some(at) = rest.find("crate::") {
                        rest = &rest[at + "crate::".len()..];
                        let target: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if target != module {
                            out.push((module.clone(), target, rel.display().to_string()));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `http/client.rs` → `http`; `sync.rs` → `sync`; the crate roots (`lib.rs`, `main.rs`, `bin/`) are none.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (!matches!(name.as_str(), "lib" | "main" | "bin")).then_some(name)
}

#[test]
fn every_module_has_a_layer() {
    for entry in std::fs::read_dir(repo_root().join("src"))
        .unwrap()
        .flatten()
    {
        if let Some(m) = top_module(Path::new(&entry.file_name())) {
            assert!(
                rank(&m).is_some(),
                "src/{m}: add it to LAYERS in tests/it/layers.rs"
            );
        }
    }
}

#[test]
fn modules_import_downward_only() {
    let mut upward = Vec::new();
    for (from, to, file) in imports() {
        let (Some(a), Some(b)) = (rank(&from), rank(&to)) else {
            continue;
        };
        if b > a && !PENDING.contains(&(from.as_str(), to.as_str())) {
            upward.push(format!("src/{file}: {from} imports {to}, a higher layer"));
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn the_check_sees_an_upward_import() {
    // The scan itself: a reader importing the orchestration is caught.
    let caught = imports()
        .into_iter()
        .any(|(from, to, _)| from == "sync" && to == "streams");
    assert!(caught, "the scan found no import of streams by sync");
    assert!(rank("streams") < rank("sync"));
}
