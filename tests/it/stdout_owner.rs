//! The protocol crate owns every byte on stdout: `airbyte_protocol::writer::stdout()` is the only way any
//! program of the workspace (the source, the destination, the protocol crate; every `src/` tree) reaches
//! stdout. `print!`/`println!` are denied by the workspace lints; this test checks that every crate takes
//! those lints, that nobody allows them away, and catches the rest (`std::io::stdout()`, `Stdout`, raw
//! file descriptor 1, `/dev/stdout`).
//!
//! Benchmarks (`examples/`) print their figures to stdout on purpose and are not scanned; tests are not
//! shipped and use `Command::stdout` to capture the binaries' output.

use crate::harness::repo_root;
use std::path::{Path, PathBuf};

/// The one file allowed to open stdout.
const OWNER: &str = "crates/protocol/src/writer.rs";

/// Files that may write stdout, each with the reason. Keep this list short.
const EXCEPTIONS: &[(&str, &str)] = &[(
    "crates/okta-sim/src/main.rs",
    "the simulator is a test server, not a connector: its one stdout line is the handshake \
     (`{\"base_url\",\"api_token\"}`) that launchers wait for",
)];

/// Lines of `text` that reach stdout other than through `writer::stdout()`.
fn offending_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut bad = code.contains("Stdout")
            || code.contains("print_stdout")
            || code.contains("/dev/stdout")
            || code.contains("from_raw_fd")
            || code.contains("STDOUT_FILENO");
        let mut rest = code;
        while let Some(at) = rest.find("stdout") {
            let before = &rest[..at];
            let after = &rest[at + "stdout".len()..];
            let ident_before = before
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            let ident_after = after
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if !ident_before && !ident_after && !before.ends_with("writer::") {
                // `std::io::stdout` (called or passed as a writer) and `use …stdout` imports are the
                // ways in; a wrapper such as the destination's `Output::stdout` is checked in its body.
                if before.ends_with("io::") || code.trim_start().starts_with("use ") {
                    bad = true;
                }
            }
            rest = after;
        }
        for mac in ["print!", "println!"] {
            let mut rest = code;
            while let Some(at) = rest.find(mac) {
                let before = &rest[..at];
                if !before
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    bad = true;
                }
                rest = &rest[at + mac.len()..];
            }
        }
        if bad {
            out.push(line.trim().to_string());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_protocol_writer_opens_stdout() {
    // The check itself: each of these must be caught, and the sanctioned call must not.
    for bad in [
        "let out = std::io::stdout();",
        "let mut s = io::stdout().lock();",
        ".with_writer(std::io::stdout)",
        "use std::io::{stdout, Write};",
        "fn f(w: std::io::Stdout) {}",
        "File::from_raw_fd(1)",
        "println!(\"{x}\");",
        "print!(\"x\")",
        "#![allow(clippy::print_stdout)]",
    ] {
        assert_eq!(offending_lines(bad).len(), 1, "not caught: {bad}");
    }
    for fine in [
        "let out = airbyte_protocol::writer::stdout();",
        "/// stdout is only protocol messages",
        "tracing::info!(\"stdout closed\")",
        "let x = self.stdout_bytes;",
        "let mut out = Output::stdout(Protocol::Airbyte);",
        "eprintln!(\"to stderr\");",
        "eprint!(\"x\")",
    ] {
        assert!(offending_lines(fine).is_empty(), "flagged: {fine}");
    }

    let root = repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    assert!(crates.len() >= 4, "{crates:?}");
    let mut found = Vec::new();
    for c in &crates {
        rust_files(&c.join("src"), &mut files);
        // The workspace lints (print_stdout denied) apply only to crates that take them.
        let manifest = std::fs::read_to_string(c.join("Cargo.toml")).unwrap();
        if !manifest.contains("[lints]\nworkspace = true") {
            found.push(format!(
                "{}: Cargo.toml lacks `[lints] workspace = true`",
                c.display()
            ));
        }
    }
    for needed in [
        OWNER,
        "src/output.rs",
        "crates/destination-bigquery/src/output.rs",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(needed)),
            "{needed} not scanned"
        );
    }
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if rel == OWNER || EXCEPTIONS.iter().any(|(e, _)| *e == rel) {
            continue;
        }
        for line in offending_lines(&std::fs::read_to_string(&f).unwrap()) {
            found.push(format!("{rel}: {line}"));
        }
    }
    assert!(
        found.is_empty(),
        "stdout is written outside {OWNER} (use airbyte_protocol::writer::stdout() and the Output):\n{}",
        found.join("\n")
    );
}
