//! The protocol crate owns every byte on stdout: `airbyte_protocol::writer::stdout()` is the only way the
//! connector (`src/`) and the protocol crate reach stdout. `print!`/`println!` are denied by the workspace
//! lints; this test catches the rest (`std::io::stdout()`, `Stdout`, raw file descriptor 1, `/dev/stdout`).

use crate::harness::repo_root;
use std::path::{Path, PathBuf};

/// The one file allowed to open stdout.
const OWNER: &str = "crates/protocol/src/writer.rs";

/// Lines of `text` that reach stdout other than through `writer::stdout()`.
fn offending_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut bad = code.contains("Stdout")
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
                // `stdout(` calls and `use …stdout` imports are the ways in.
                if after.trim_start().starts_with('(') || code.trim_start().starts_with("use ") {
                    bad = true;
                }
            }
            rest = after;
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
        "use std::io::{stdout, Write};",
        "fn f(w: std::io::Stdout) {}",
        "File::from_raw_fd(1)",
    ] {
        assert_eq!(offending_lines(bad).len(), 1, "not caught: {bad}");
    }
    for fine in [
        "let out = airbyte_protocol::writer::stdout();",
        "/// stdout is only protocol messages",
        "tracing::info!(\"stdout closed\")",
        "let x = self.stdout_bytes;",
    ] {
        assert!(offending_lines(fine).is_empty(), "flagged: {fine}");
    }

    let root = repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates/protocol/src"), &mut files);
    assert!(files.len() > 20, "{} files", files.len());
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if rel == OWNER {
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
