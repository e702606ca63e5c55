//! Singer tap mode: `tap-okta` on its own (no Python), piped into real Singer targets (target-jsonl,
//! target-csv, singer-check-tap from `SINGER_VENV`), and run by real Meltano (`MELTANO_VENV`) from the
//! repo's `meltano.yml`, all against the simulator and nothing else.
//!
//! The Python tools come from `scripts/singer-env.sh install`. Tests that need them are skipped with a note
//! when they are missing, and fail when `CI` is set.

use crate::harness::{ids, repo_root, run_env, sim, Dir, Run, TAP_BIN};
use okta_sim::SimServer;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// ---- helpers ---------------------------------------------------------------------------------------

fn tap(args: &[&str], env: &[(&str, &str)]) -> Run {
    run_env(TAP_BIN, args, env)
}

/// Parses stdout strictly: every line is one Singer message.
fn singer_messages(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"));
            assert!(
                matches!(
                    v["type"].as_str(),
                    Some("SCHEMA" | "RECORD" | "STATE" | "ACTIVATE_VERSION")
                ),
                "not a Singer message: {l}"
            );
            v
        })
        .collect()
}

/// Asserts every RECORD comes after a SCHEMA of its stream; returns the records per stream.
fn records_by_stream(msgs: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut schemas = HashSet::new();
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in msgs {
        let stream = m["stream"].as_str().unwrap_or_default().to_string();
        match m["type"].as_str() {
            Some("SCHEMA") => {
                assert!(
                    m["schema"]["properties"].is_object(),
                    "SCHEMA without properties: {m}"
                );
                assert!(
                    m["key_properties"].is_array(),
                    "SCHEMA without key_properties: {m}"
                );
                schemas.insert(stream);
            }
            Some("RECORD") => {
                assert!(
                    schemas.contains(&stream),
                    "a {stream} RECORD before its SCHEMA"
                );
                out.entry(stream).or_default().push(m["record"].clone());
            }
            _ => {}
        }
    }
    out
}

fn last_state(msgs: &[Value]) -> Value {
    msgs.iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .map(|m| m["value"].clone())
        .expect("a STATE message")
}

/// The flat config Meltano would build for the simulator.
fn flat_config(sim: &SimServer) -> Value {
    json!({"base_url": sim.base_url(), "api_token": sim.api_token()})
}

fn discover(dir: &Dir) -> Value {
    let cfg = dir.write(
        "discover-config.json",
        &json!({"domain": "acme", "api_token": "not-used-by-discover"}),
    );
    let r = tap(&["--config", cfg.to_str().unwrap(), "--discover"], &[]);
    assert_eq!(r.code, 0, "discover failed:\n{}", r.stderr);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("--discover printed no JSON document ({e}):\n{}", r.stdout))
}

/// A catalog as Meltano passes it: discover output with `selected` metadata for the chosen streams and
/// `false` for the listed properties.
fn select(catalog: &Value, streams: &[&str], deselect: &[&str]) -> Value {
    let mut cat = catalog.clone();
    for s in cat["streams"].as_array_mut().unwrap() {
        let chosen = streams.contains(&s["tap_stream_id"].as_str().unwrap());
        s["selected"] = json!(chosen);
        for m in s["metadata"].as_array_mut().unwrap() {
            let bc = m["breadcrumb"].as_array().unwrap().clone();
            if bc.is_empty() {
                m["metadata"]["selected"] = json!(chosen);
            } else if chosen {
                let field = bc[1].as_str().unwrap();
                m["metadata"]["selected"] = json!(!deselect.contains(&field));
            }
        }
    }
    cat
}

/// The simulator's truth: rows per stream.
fn truth(sim: &SimServer) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        ("users", sim.users().len()),
        ("groups", sim.groups().len()),
        ("group_members", sim.group_members().len()),
        ("applications", sim.apps().len()),
        ("application_users", sim.app_users().len()),
        ("application_groups", sim.app_groups().len()),
        ("system_log", sim.log_events().len()),
        ("user_types", sim.user_types().len()),
        ("custom_roles", sim.custom_roles().len()),
        (
            "custom_role_permissions",
            sim.custom_role_permissions().len(),
        ),
    ])
}

/// A tool from a venv made by `scripts/singer-env.sh install`: the venv comes from `var` (default
/// `<repo>/<default_dir>`). Missing: `None` with a note, or a failure under CI.
pub(crate) fn venv_tool(var: &str, default_dir: &str, exe: &str) -> Option<PathBuf> {
    let venv = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(default_dir));
    let path = venv.join("bin").join(exe);
    if path.exists() {
        return Some(path);
    }
    let note = format!(
        "{} not found (set {var} or run `bash scripts/singer-env.sh install`)",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "CI is set but {note}");
    eprintln!("SKIPPED: {note}");
    None
}

/// Output of a `tap | target` pipe.
struct Piped {
    tap_stderr: String,
    target_stdout: String,
    target_stderr: String,
}

/// Runs `tap-okta ARGS | TARGET TARGET_ARGS` through a real OS pipe; both must exit 0.
fn pipe(tap_args: &[&str], target: &Path, target_args: &[&str]) -> Piped {
    let dir = Dir::new();
    let err_path = dir.0.path().join("tap.stderr");
    let mut tap = Command::new(TAP_BIN)
        .args(tap_args)
        .env("SOURCE_OKTA_RETRY_BASE_MS", "20")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start tap-okta");
    let target_out = Command::new(target)
        .args(target_args)
        .stdin(Stdio::from(tap.stdout.take().unwrap()))
        .output()
        .unwrap_or_else(|e| panic!("start {}: {e}", target.display()));
    let tap_status = tap.wait().unwrap();
    let p = Piped {
        tap_stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        target_stdout: String::from_utf8_lossy(&target_out.stdout).into_owned(),
        target_stderr: String::from_utf8_lossy(&target_out.stderr).into_owned(),
    };
    assert!(
        tap_status.success(),
        "tap-okta failed ({tap_status}):\n{}",
        p.tap_stderr
    );
    assert!(
        target_out.status.success(),
        "{} failed ({}):\n{}",
        target.display(),
        target_out.status,
        p.target_stderr
    );
    p
}

/// The JSON objects of a `.jsonl` file (none when the target wrote no file: a stream without rows).
fn jsonl(path: &Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn id_set(v: &[&Value]) -> HashSet<String> {
    v.iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

// ---- (a) tap-okta alone ------------------------------------------------------------------------------

#[test]
fn discover_prints_a_valid_singer_catalog() {
    let dir = Dir::new();
    let cfg = dir.write("config.json", &json!({"domain": "acme", "api_token": "x"}));
    let r = tap(&["--config", cfg.to_str().unwrap(), "--discover"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Meltano reads --discover output line by line with a 64 KiB line limit.
    let longest = r.stdout.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 64 * 1024, "a {longest}-byte line in the catalog");
    let cat: Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    let streams = cat["streams"].as_array().expect("streams");
    assert!(streams.len() >= 10, "{} streams", streams.len());
    let mut names = HashSet::new();
    for s in streams {
        let id = s["tap_stream_id"].as_str().expect("tap_stream_id");
        assert!(names.insert(id.to_string()), "duplicate stream {id}");
        assert_eq!(s["stream"], id);
        let props = s["schema"]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{id}: schema without properties"));
        let keys: Vec<&str> = s["key_properties"]
            .as_array()
            .expect("key_properties")
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(!keys.is_empty(), "{id} has no key");
        for k in &keys {
            assert!(props.contains_key(*k), "{id}: key {k} not in the schema");
        }
        let md = s["metadata"].as_array().expect("metadata");
        let top = md
            .iter()
            .find(|m| m["breadcrumb"] == json!([]))
            .unwrap_or_else(|| panic!("{id}: no breadcrumb []"));
        let top = &top["metadata"];
        assert_eq!(top["inclusion"], "available", "{id}");
        let method = top["forced-replication-method"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no forced-replication-method"));
        assert!(
            method == "INCREMENTAL" || method == "FULL_TABLE",
            "{id}: {method}"
        );
        let rkeys = top["valid-replication-keys"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no valid-replication-keys"));
        if method == "INCREMENTAL" {
            assert_eq!(rkeys.len(), 1, "{id}");
            assert_eq!(s["replication_key"], rkeys[0], "{id}");
        }
        for rk in rkeys {
            assert!(
                props.contains_key(rk.as_str().unwrap()),
                "{id}: replication key {rk} not in the schema"
            );
        }
        assert_eq!(top["table-key-properties"], json!(keys), "{id}");
        // Every property has its own metadata; keys, replication keys and the deletion marker (so a
        // tombstone never loses it) are `automatic`.
        for p in props.keys() {
            let pm = md
                .iter()
                .find(|m| m["breadcrumb"] == json!(["properties", p]))
                .unwrap_or_else(|| panic!("{id}: no metadata for property {p}"));
            let automatic = keys.contains(&p.as_str())
                || rkeys.iter().any(|r| r == p.as_str())
                || p == "_sdc_deleted_at";
            assert_eq!(
                pm["metadata"]["inclusion"],
                if automatic { "automatic" } else { "available" },
                "{id}.{p}"
            );
        }
    }
    for n in [
        "users",
        "groups",
        "group_members",
        "applications",
        "system_log",
    ] {
        assert!(names.contains(n), "no stream {n}");
    }
}

#[test]
fn about_prints_json_and_markdown() {
    let r = tap(&["--about", "--format", "json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let about: Value = serde_json::from_str(&r.stdout).expect("--about --format json prints JSON");
    assert_eq!(about["name"], "tap-okta");
    for c in ["catalog", "state", "discover", "about"] {
        assert!(
            about["capabilities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == c),
            "capability {c}"
        );
    }
    let settings = about["settings"]["properties"]
        .as_object()
        .expect("settings.properties");
    for k in [
        "domain",
        "base_url",
        "api_token",
        "client_id",
        "key_id",
        "private_key",
        "scope",
        "start_date",
        "rate_limit_share",
        "max_concurrency",
    ] {
        assert!(settings.contains_key(k), "setting {k} missing from --about");
    }
    assert!(
        !settings.contains_key("credentials"),
        "settings are flat, as Meltano declares them"
    );

    let r = tap(&["--about", "--format", "markdown"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("# tap-okta"), "{}", r.stdout);
    for k in ["api_token", "private_key", "TAP_OKTA_"] {
        assert!(r.stdout.contains(k), "markdown lacks {k}");
    }
    // Without --format the JSON is the default.
    let r = tap(&["--about"], &[]);
    assert_eq!(r.code, 0);
    serde_json::from_str::<Value>(&r.stdout).expect("JSON by default");
}

#[test]
fn a_catalog_selecting_users_reads_only_users_without_the_deselected_field() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    let cat = dir.write(
        "catalog.json",
        &select(&discover(&dir), &["users"], &["profile"]),
    );
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.assert_no_secret(&[&sim.api_token()]);
    let msgs = singer_messages(&r.stdout);
    let by_stream = records_by_stream(&msgs);
    assert_eq!(
        by_stream.keys().collect::<Vec<_>>(),
        vec!["users"],
        "only users"
    );
    let users = &by_stream["users"];
    assert_eq!(ids(users), ids(&sim.users()));
    assert!(
        users.iter().all(|u| u.get("profile").is_none()),
        "a deselected field was sent"
    );
    assert!(
        users
            .iter()
            .all(|u| u["id"].is_string() && u["lastUpdated"].is_string()),
        "keys and replication keys stay"
    );
    let schemas: Vec<&Value> = msgs.iter().filter(|m| m["type"] == "SCHEMA").collect();
    assert_eq!(schemas.len(), 1);
    assert!(
        schemas[0]["schema"]["properties"].get("profile").is_none(),
        "the SCHEMA still declares the deselected field"
    );
    assert_eq!(schemas[0]["key_properties"], json!(["id"]));
    assert_eq!(schemas[0]["bookmark_properties"], json!(["lastUpdated"]));
    let state = last_state(&msgs);
    let bookmarks = state["bookmarks"]
        .as_object()
        .expect("STATE {\"bookmarks\": …}");
    assert_eq!(bookmarks.keys().collect::<Vec<_>>(), vec!["users"]);
    assert!(bookmarks["users"]["lastUpdated"].is_string(), "{state}");

    // `--properties` is the older name of `--catalog`.
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--properties",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        records_by_stream(&singer_messages(&r.stdout))
            .keys()
            .collect::<Vec<_>>(),
        vec!["users"]
    );
}

#[test]
fn without_a_catalog_every_stream_is_synced() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    let r = tap(&["--config", cfg.to_str().unwrap()], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.assert_no_secret(&[&sim.api_token()]);
    let msgs = singer_messages(&r.stdout);
    let by_stream = records_by_stream(&msgs);
    for (stream, n) in truth(&sim) {
        assert_eq!(
            by_stream.get(stream).map_or(0, Vec::len),
            n,
            "{stream} rows"
        );
    }
    let catalog = discover(&dir);
    let state = last_state(&msgs);
    for s in catalog["streams"].as_array().unwrap() {
        let id = s["tap_stream_id"].as_str().unwrap();
        if id == "risk_providers" {
            // Deprecated by Okta; the simulated org answers 404 and the stream is skipped.
            continue;
        }
        assert!(
            state["bookmarks"].get(id).is_some(),
            "the last STATE has no bookmark for {id}: {state}"
        );
    }
}

#[test]
fn config_files_merge_and_env_vars_and_flat_keys_work() {
    let sim = sim();
    let dir = Dir::new();
    let cat = dir.write("catalog.json", &select(&discover(&dir), &["groups"], &[]));
    let cat = cat.to_str().unwrap();
    let n = sim.groups().len();
    let groups = |r: &Run| -> usize {
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.assert_no_secret(&[&sim.api_token(), "wrong-token-never-printed"]);
        records_by_stream(&singer_messages(&r.stdout))
            .get("groups")
            .map_or(0, Vec::len)
    };

    // Two files: the second wins, also inside the nested `credentials` object.
    let first = dir.write(
        "first.json",
        &json!({"base_url": "http://127.0.0.1:9", "credentials": {"auth_type": "api_token", "api_token": "wrong-token-never-printed"}}),
    );
    let second = dir.write(
        "second.json",
        &json!({"base_url": sim.base_url(), "credentials": {"api_token": sim.api_token()}}),
    );
    let r = tap(
        &[
            "--config",
            first.to_str().unwrap(),
            "--config",
            second.to_str().unwrap(),
            "--catalog",
            cat,
        ],
        &[],
    );
    assert_eq!(groups(&r), n, "second --config overrides the first");

    // Flat keys at the top level, as Meltano builds them from declared settings.
    let flat = dir.write("flat.json", &flat_config(&sim));
    assert_eq!(
        groups(&tap(
            &["--config", flat.to_str().unwrap(), "--catalog", cat],
            &[]
        )),
        n,
        "flat api_token"
    );

    // TAP_OKTA_* variables fill in and override the files; Meltano's `TAP_OKTA__…` extras are ignored.
    let partial = dir.write(
        "partial.json",
        &json!({"base_url": "http://127.0.0.1:9", "api_token": "wrong-token-never-printed"}),
    );
    let token = sim.api_token();
    let base = sim.base_url();
    let env = [
        ("TAP_OKTA_BASE_URL", base.as_str()),
        ("TAP_OKTA_API_TOKEN", token.as_str()),
        ("TAP_OKTA_MAX_CONCURRENCY", "2"),
        ("TAP_OKTA__SELECT", "[\"*.*\"]"),
        ("TAP_OKTA__LOAD_SCHEMA", "tap_okta"),
    ];
    assert_eq!(
        groups(&tap(
            &["--config", partial.to_str().unwrap(), "--catalog", cat],
            &env
        )),
        n,
        "env overrides files"
    );
    // `--config ENV`: the variables alone.
    assert_eq!(
        groups(&tap(&["--config", "ENV", "--catalog", cat], &env)),
        n,
        "--config ENV"
    );

    // A text setting that looks like a number stays text (an all-digit token from the environment).
    let digits = crate::harness::sim_with(|c| c.api_token = "1234567890".into());
    let base = digits.base_url();
    let env = [
        ("TAP_OKTA_BASE_URL", base.as_str()),
        ("TAP_OKTA_API_TOKEN", "1234567890"),
    ];
    let r = tap(&["--config", "ENV", "--catalog", cat], &env);
    assert_eq!(r.code, 0, "an all-digit token: {}", r.stderr);
    assert_eq!(
        records_by_stream(&singer_messages(&r.stdout))["groups"].len(),
        digits.groups().len()
    );
}

#[test]
fn a_second_run_with_the_emitted_state_reads_only_changed_users() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    let cat = dir.write(
        "catalog.json",
        &select(&discover(&dir), &["users", "groups"], &[]),
    );
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
    ];
    let first = tap(&args, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let msgs = singer_messages(&first.stdout);
    assert_eq!(records_by_stream(&msgs)["users"].len(), sim.users().len());
    let state = dir.write("state.json", &last_state(&msgs));

    let with_state: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--state", state.to_str().unwrap()])
        .collect();
    let idle = tap(&with_state, &[]);
    assert_eq!(idle.code, 0, "{}", idle.stderr);
    let idle_msgs = singer_messages(&idle.stdout);
    assert!(
        records_by_stream(&idle_msgs).is_empty(),
        "an unchanged org re-sent records"
    );
    assert!(
        last_state(&idle_msgs)["bookmarks"]["users"]["lastUpdated"].is_string(),
        "STATE all the same"
    );

    let all = sim.users();
    let changed = all[3]["id"].as_str().unwrap().to_string();
    sim.update_user(&changed);
    let created = sim.create_user()["id"].as_str().unwrap().to_string();
    let second = tap(&with_state, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let msgs2 = singer_messages(&second.stdout);
    let by_stream = records_by_stream(&msgs2);
    assert_eq!(ids(&by_stream["users"]), HashSet::from([changed, created]));
    assert!(!by_stream.contains_key("groups"), "no group changed");
    // Every STATE carries all the streams' bookmarks, the input ones included.
    let s2 = last_state(&msgs2);
    assert!(
        s2["bookmarks"]["groups"].is_object() && s2["bookmarks"]["users"].is_object(),
        "{s2}"
    );
}

#[test]
fn a_bad_config_fails_on_stderr_without_the_token() {
    let sim = sim();
    let dir = Dir::new();
    let secret = "s3cr3t-token-that-must-never-show";
    let cases: Vec<(&str, Value)> = vec![
        (
            "wrong token",
            json!({"base_url": sim.base_url(), "api_token": secret}),
        ),
        (
            "bad base_url",
            json!({"base_url": format!("ftp://{secret}.example"), "api_token": secret}),
        ),
        ("no credentials", json!({"domain": "acme"})),
        (
            "bad number",
            json!({"base_url": sim.base_url(), "api_token": secret, "rate_limit_share": 7}),
        ),
    ];
    for (name, cfg) in cases {
        let path = dir.write("bad.json", &cfg);
        let r = tap(&["--config", path.to_str().unwrap()], &[]);
        assert_ne!(r.code, 0, "{name}: exit 0\n{}", r.stderr);
        assert!(!r.stderr.trim().is_empty(), "{name}: nothing on stderr");
        assert!(
            r.stdout
                .lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok()),
            "{name}: non-Singer stdout"
        );
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{name}: the token was printed:\n{}",
            r.stderr
        );
    }
    let path = dir.write_text("notjson.json", &format!("{{\"api_token\": \"{secret}\""));
    let r = tap(&["--config", path.to_str().unwrap(), "--discover"], &[]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not valid JSON"), "{}", r.stderr);
    assert!(!r.stderr.contains(secret) && r.stdout.is_empty());
    let r = tap(
        &[
            "--config",
            dir.0.path().join("missing.json").to_str().unwrap(),
            "--discover",
        ],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("cannot read the config file"),
        "{}",
        r.stderr
    );
    // A catalog naming an unknown stream is an error, not a silent skip.
    let cfg = dir.write("good.json", &flat_config(&sim));
    let cat = dir.write("cat.json", &json!({"streams": [{"tap_stream_id": "nope", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}]}));
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("nope"), "{}", r.stderr);
}

/// The message kinds of one stream, in order (`SCHEMA`, `ACTIVATE_VERSION`, `RECORD`…), with the version
/// every RECORD and ACTIVATE_VERSION carries.
fn sequence(msgs: &[Value], stream: &str) -> (Vec<String>, HashSet<Option<i64>>) {
    let mut kinds: Vec<String> = Vec::new();
    let mut versions = HashSet::new();
    let mut previous_was_ours = false;
    for m in msgs {
        let t = m["type"].as_str().unwrap().to_string();
        // STATE names no stream: it is this stream's when it follows this stream's last message.
        let ours = if t == "STATE" {
            previous_was_ours && m["value"]["bookmarks"].get(stream).is_some()
        } else {
            m["stream"] == stream
        };
        previous_was_ours = ours && t != "STATE";
        if !ours {
            continue;
        }
        if t == "RECORD" || t == "ACTIVATE_VERSION" {
            versions.insert(m["version"].as_i64());
        }
        if kinds.last() != Some(&t) || t != "RECORD" {
            kinds.push(t);
        }
    }
    (kinds, versions)
}

#[test]
fn full_table_streams_are_bracketed_by_activate_version() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    let mut cat = select(&discover(&dir), &["users", "groups", "applications"], &[]);
    // groups is asked FULL_TABLE although it could be incremental.
    for s in cat["streams"].as_array_mut().unwrap() {
        if s["tap_stream_id"] == "groups" {
            for m in s["metadata"].as_array_mut().unwrap() {
                if m["breadcrumb"] == json!([]) {
                    m["metadata"]["replication-method"] = json!("FULL_TABLE");
                }
            }
        }
    }
    let cat = dir.write("catalog.json", &cat);
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
    ];
    let r = tap(&args, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msgs = singer_messages(&r.stdout);
    let by_stream = records_by_stream(&msgs);
    assert_eq!(by_stream["applications"].len(), sim.apps().len());
    assert_eq!(by_stream["groups"].len(), sim.groups().len());
    let mut first_versions = Vec::new();
    for stream in ["applications", "groups"] {
        let (kinds, versions) = sequence(&msgs, stream);
        // STATE lines name no stream; the stream's own messages in order:
        let own: Vec<&str> = kinds
            .iter()
            .map(String::as_str)
            .filter(|k| *k != "STATE")
            .collect();
        assert_eq!(
            own,
            ["SCHEMA", "ACTIVATE_VERSION", "RECORD", "ACTIVATE_VERSION"],
            "{stream}: {kinds:?}"
        );
        // The closing ACTIVATE_VERSION follows the stream's final STATE.
        let last_av = kinds.iter().rposition(|k| k == "ACTIVATE_VERSION").unwrap();
        assert_eq!(kinds[last_av - 1], "STATE", "{stream}: {kinds:?}");
        assert_eq!(
            versions.len(),
            1,
            "{stream}: one version, on every message: {versions:?}"
        );
        let v = versions.into_iter().next().unwrap();
        assert!(v.is_some_and(|v| v > 0), "{stream}: {v:?}");
        first_versions.push(v.unwrap());
    }
    // The STATE after the closing ACTIVATE_VERSION is the stream's own.
    let (kinds, versions) = sequence(&msgs, "users");
    assert_eq!(
        kinds[..2],
        ["SCHEMA", "RECORD"],
        "incremental: no ACTIVATE_VERSION"
    );
    assert!(!kinds.iter().any(|k| k == "ACTIVATE_VERSION"), "{kinds:?}");
    assert_eq!(
        versions,
        HashSet::from([None]),
        "incremental records carry no version"
    );

    // The next run's version is higher, so targets drop the rows the first run loaded and this one did not.
    let r = tap(&args, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msgs = singer_messages(&r.stdout);
    let (_, versions) = sequence(&msgs, "applications");
    let v2 = versions.into_iter().next().flatten().unwrap();
    assert!(v2 > first_versions[0], "{v2} after {}", first_versions[0]);

    // The Meltano SDK's switch turns them off.
    let mut off = flat_config(&sim);
    off["emit_activate_version_messages"] = json!(false);
    let off = dir.write("off.json", &off);
    let r = tap(
        &[
            "--config",
            off.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msgs = singer_messages(&r.stdout);
    assert!(!msgs.iter().any(|m| m["type"] == "ACTIVATE_VERSION"));
    assert!(msgs.iter().all(|m| m.get("version").is_none()));
    assert_eq!(
        records_by_stream(&msgs)["applications"].len(),
        sim.apps().len()
    );

    let about: Value = serde_json::from_str(&tap(&["--about"], &[]).stdout).unwrap();
    assert!(about["settings"]["properties"]["emit_activate_version_messages"].is_object());
    assert!(
        about["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("activate-version")),
        "{about}"
    );
}

/// Streams the simulated org has no rows for (risk_providers answers 404 and is skipped).
fn empty_streams(msgs: &[Value], catalog: &Value) -> Vec<String> {
    let by_stream = records_by_stream(msgs);
    catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tap_stream_id"].as_str().unwrap().to_string())
        .filter(|id| !by_stream.contains_key(id))
        .collect()
}

#[test]
fn a_catalog_without_selection_syncs_every_default_stream_with_a_schema_each() {
    // A small org without System Log history: some streams have no rows at all.
    let sim = crate::harness::sim_with(|c| {
        c.users = 3;
        c.log_days = 0;
    });
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    // The raw --discover output: no `selected` anywhere.
    let catalog = discover(&dir);
    let cat = dir.write("catalog.json", &catalog);
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("selected-by-default"),
        "no notice on stderr:\n{}",
        r.stderr
    );
    let msgs = singer_messages(&r.stdout);
    let by_stream = records_by_stream(&msgs);
    for (stream, n) in truth(&sim) {
        assert_eq!(by_stream.get(stream).map_or(0, Vec::len), n, "{stream}");
    }
    // Every stream gets its SCHEMA (targets create one table each), also those without records.
    let schemas: HashSet<&str> = msgs
        .iter()
        .filter(|m| m["type"] == "SCHEMA")
        .map(|m| m["stream"].as_str().unwrap())
        .collect();
    let all: HashSet<&str> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tap_stream_id"].as_str().unwrap())
        .collect();
    assert_eq!(schemas, all);
    let empty = empty_streams(&msgs, &catalog);
    assert!(
        empty.iter().any(|s| s != "risk_providers"),
        "the simulated org should have an empty stream besides risk_providers: {empty:?}"
    );

    // With a selection, only the selected streams are synced, and every one of them has a SCHEMA.
    let some = dir.write(
        "some.json",
        &select(
            &catalog,
            &["users", empty[0].as_str(), "risk_providers"],
            &[],
        ),
    );
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            some.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("selected-by-default"), "{}", r.stderr);
    let msgs = singer_messages(&r.stdout);
    let mut schemas: Vec<&str> = msgs
        .iter()
        .filter(|m| m["type"] == "SCHEMA")
        .map(|m| m["stream"].as_str().unwrap())
        .collect();
    schemas.sort();
    let mut want = vec!["users", empty[0].as_str(), "risk_providers"];
    want.sort();
    assert_eq!(schemas, want);
}

fn md5_hex(s: &str) -> String {
    use md5::Digest;
    format!("{:x}", md5::Md5::digest(s.as_bytes()))
}

#[test]
fn stream_maps_drop_and_hash_properties_and_flattening_nests_columns() {
    let sim = sim();
    let dir = Dir::new();
    let mut config = flat_config(&sim);
    config["stream_maps"] = json!({
        "users": {"credentials": null, "_links": "__NULL__", "status": "md5(status)", "id_md5": "md5(id)"},
        "groups": null,
    });
    let cfg = dir.write("config.json", &config);
    let cat = dir.write(
        "catalog.json",
        &select(&discover(&dir), &["users", "groups", "applications"], &[]),
    );
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msgs = singer_messages(&r.stdout);
    let by_stream = records_by_stream(&msgs);
    assert!(
        !by_stream.contains_key("groups"),
        "groups: null removes the stream"
    );
    assert!(!msgs.iter().any(|m| m["stream"] == "groups"));
    let truth: HashMap<String, Value> = sim
        .users()
        .into_iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();
    let users = &by_stream["users"];
    assert_eq!(users.len(), truth.len());
    for u in users {
        let id = u["id"].as_str().unwrap();
        let orig = &truth[id];
        assert!(
            u.get("credentials").is_none() && u.get("_links").is_none(),
            "{u}"
        );
        assert!(u["profile"].is_object(), "untouched properties stay");
        assert_eq!(u["status"], md5_hex(orig["status"].as_str().unwrap()));
        assert_eq!(u["id_md5"], md5_hex(id));
    }
    let schema = msgs
        .iter()
        .find(|m| m["type"] == "SCHEMA" && m["stream"] == "users")
        .unwrap();
    let props = schema["schema"]["properties"].as_object().unwrap();
    assert!(!props.contains_key("credentials") && !props.contains_key("_links"));
    assert_eq!(props["id_md5"], json!({"type": ["null", "string"]}));
    assert_eq!(
        by_stream["applications"].len(),
        sim.apps().len(),
        "unmapped streams pass"
    );

    // Flattening: nested objects become parent__child columns, in the SCHEMA and the records.
    let mut config = flat_config(&sim);
    config["flattening_enabled"] = json!(true);
    config["flattening_max_depth"] = json!(1);
    let cfg = dir.write("flat.json", &config);
    let r = tap(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msgs = singer_messages(&r.stdout);
    let users = &records_by_stream(&msgs)["users"];
    for u in users {
        let orig = &truth[u["id"].as_str().unwrap()];
        assert!(u.get("profile").is_none(), "{u}");
        assert_eq!(u["profile__login"], orig["profile"]["login"]);
        assert!(
            u.as_object()
                .unwrap()
                .values()
                .all(|v| !v.is_object() && !v.is_array()),
            "{u}"
        );
    }
}

#[test]
fn unsupported_stream_maps_are_a_config_error() {
    let sim = sim();
    let dir = Dir::new();
    for (maps, says) in [
        (
            json!({"stream_maps": {"users": {"email": "email.upper()"}}}),
            "email.upper()",
        ),
        (
            json!({"stream_maps": {"users": {"__filter__": "True"}}}),
            "__filter__",
        ),
        (
            json!({"stream_maps": {"users": {"id": null}}}),
            "key property",
        ),
        (
            json!({"stream_maps": {"users": {"x": "md5(nope)"}}}),
            "nope",
        ),
        (json!({"flattening_enabled": true}), "flattening_max_depth"),
    ] {
        let mut config = flat_config(&sim);
        for (k, v) in maps.as_object().unwrap() {
            config[k] = v.clone();
        }
        let cfg = dir.write("config.json", &config);
        let r = tap(&["--config", cfg.to_str().unwrap()], &[]);
        assert_ne!(r.code, 0, "{maps}: accepted");
        assert!(r.stderr.contains(says), "{maps}: {}", r.stderr);
        assert!(
            !r.stdout.contains("\"RECORD\""),
            "{maps}: records were sent before the error"
        );
    }
}

// ---- (b) real Singer targets -------------------------------------------------------------------------

#[test]
fn piped_into_target_jsonl_rows_match_and_the_state_resumes() {
    let Some(target) = venv_tool("SINGER_VENV", ".venv-singer", "target-jsonl") else {
        return;
    };
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    let out1 = dir.0.path().join("out1");
    let tcfg = dir.write(
        "target.json",
        &json!({"destination_path": out1, "do_timestamp_file": false}),
    );
    let p = pipe(
        &["--config", cfg.to_str().unwrap()],
        &target,
        &["--config", tcfg.to_str().unwrap()],
    );
    assert!(!p.tap_stderr.contains(&sim.api_token()));
    for (stream, n) in truth(&sim) {
        let rows = jsonl(&out1.join(format!("{stream}.jsonl")));
        assert_eq!(rows.len(), n, "{stream}.jsonl rows");
    }
    let users = jsonl(&out1.join("users.jsonl"));
    assert_eq!(ids(&users), ids(&sim.users()));
    // target-jsonl prints the last STATE value it saw: the input of the next run.
    let state_line = p
        .target_stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .expect("target-jsonl printed the state");
    let state: Value = serde_json::from_str(state_line).unwrap();
    assert!(
        state["bookmarks"]["users"]["lastUpdated"].is_string(),
        "{state}"
    );
    let state_path = dir.write("state.json", &state);

    let changed = sim.users()[5]["id"].as_str().unwrap().to_string();
    sim.update_user(&changed);
    let created = sim.create_user()["id"].as_str().unwrap().to_string();
    let new_events = sim.append_log_events(3);
    let out2 = dir.0.path().join("out2");
    let tcfg2 = dir.write(
        "target2.json",
        &json!({"destination_path": out2, "do_timestamp_file": false}),
    );
    pipe(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--state",
            state_path.to_str().unwrap(),
        ],
        &target,
        &["--config", tcfg2.to_str().unwrap()],
    );
    let users2 = jsonl(&out2.join("users.jsonl"));
    assert_eq!(
        ids(&users2),
        HashSet::from([changed, created]),
        "only the changed and the new user"
    );
    assert_eq!(users2.len(), 2);
    assert!(
        jsonl(&out2.join("groups.jsonl")).is_empty(),
        "no group changed"
    );
    assert!(
        jsonl(&out2.join("group_members.jsonl")).is_empty(),
        "no membership changed"
    );
    let logs: HashSet<String> = jsonl(&out2.join("system_log.jsonl"))
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_string())
        .collect();
    // The new events: the appended ones and those the simulator logged for the update and the creation.
    let uuids = |events: &[Value]| -> HashSet<String> {
        events
            .iter()
            .map(|e| e["uuid"].as_str().unwrap().to_string())
            .collect()
    };
    let first: HashSet<String> = uuids(&jsonl(&out1.join("system_log.jsonl")));
    let want: HashSet<String> = uuids(&sim.log_events())
        .difference(&first)
        .cloned()
        .collect();
    assert!(uuids(&new_events).is_subset(&want));
    assert_eq!(logs, want, "only the new System Log events");
    // Full-refresh streams are read whole again.
    assert_eq!(
        jsonl(&out2.join("applications.jsonl")).len(),
        sim.apps().len()
    );
}

#[test]
fn piped_into_target_csv_every_stream_loads() {
    let Some(target) = venv_tool("SINGER_VENV", ".venv-singer", "target-csv") else {
        return;
    };
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    let out = dir.0.path().join("csv");
    std::fs::create_dir_all(&out).unwrap();
    // target-csv (Meltano SDK) validates every record against its SCHEMA and writes one column per
    // declared property: a record field the schema lacks fails the load.
    let tcfg = dir.write(
        "target.json",
        &json!({"output_path": out, "validate_records": true}),
    );
    let cat = dir.write(
        "catalog.json",
        &select(
            &discover(&dir),
            &["users", "group_members", "applications"],
            &["credentials"],
        ),
    );
    pipe(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &target,
        &["--config", tcfg.to_str().unwrap()],
    );
    // Count CSV rows with Python's csv module (fields may hold newlines).
    let python = target
        .canonicalize()
        .unwrap()
        .parent()
        .unwrap()
        .join("python");
    let t = truth(&sim);
    for stream in ["users", "group_members", "applications"] {
        let file = out.join(format!("{stream}.csv"));
        let o = Command::new(&python)
            .args(["-c", "import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=''))); print(len(r)); print(','.join(r[0].keys()))"])
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut lines = text.lines();
        let n: usize = lines
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|_| {
                panic!("{}: {}", file.display(), String::from_utf8_lossy(&o.stderr))
            });
        assert_eq!(n, t[stream], "{stream}.csv rows");
        let header = lines.next().unwrap_or_default();
        if stream == "users" {
            assert!(
                header.split(',').any(|c| c == "id")
                    && !header.split(',').any(|c| c == "credentials"),
                "{header}"
            );
        }
    }
    assert!(
        !out.join("groups.csv").exists(),
        "an unselected stream was loaded"
    );
}

#[test]
fn singer_check_tap_validates_the_output_and_the_resumed_run() {
    let Some(check) = venv_tool("SINGER_VENV", ".venv-singer", "singer-check-tap") else {
        return;
    };
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &flat_config(&sim));
    // singer-check-tap --tap races its own reader thread (it summarises before the thread is done and
    // crashes on fast taps), so it reads the pipe from stdin: same checks (SCHEMA first, each record
    // validated against it with date-time formats checked).
    let p = pipe(&["--config", cfg.to_str().unwrap()], &check, &[]);
    assert!(
        p.target_stdout.contains("The output is valid."),
        "{}\n{}",
        p.target_stdout,
        p.target_stderr
    );
    let users_row = p
        .target_stdout
        .lines()
        .find(|l| l.contains("| users "))
        .expect("users in the summary");
    assert!(
        users_row.contains(&format!(" {} ", sim.users().len())),
        "{users_row}"
    );
    // Re-run from the state it saw, as `singer-check-tap --tap` would.
    let first = tap(&["--config", cfg.to_str().unwrap()], &[]);
    let state = dir.write("state.json", &last_state(&singer_messages(&first.stdout)));
    sim.update_user(sim.users()[0]["id"].as_str().unwrap());
    let p = pipe(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        &check,
        &[],
    );
    assert!(
        p.target_stdout.contains("The output is valid."),
        "{}",
        p.target_stdout
    );
    let users_row = p
        .target_stdout
        .lines()
        .find(|l| l.contains("| users "))
        .expect("users in the summary");
    assert!(users_row.contains(" 1 "), "one changed user: {users_row}");
}

// ---- (c) Meltano -------------------------------------------------------------------------------------

/// A copy of the repo's Meltano project in a temp folder, with `target/debug/tap-okta` linked to the
/// binary under test, configured for the simulator through `.env` (the token) and environment variables.
struct Meltano {
    exe: PathBuf,
    dir: Dir,
    env: HashMap<String, String>,
}

impl Meltano {
    fn new(exe: PathBuf, sim: &SimServer) -> Self {
        let dir = Dir::new();
        std::fs::copy(
            repo_root().join("meltano.yml"),
            dir.0.path().join("meltano.yml"),
        )
        .unwrap();
        let bin_dir = dir.0.path().join("target/debug");
        std::fs::create_dir_all(&bin_dir).unwrap();
        std::os::unix::fs::symlink(TAP_BIN, bin_dir.join("tap-okta")).unwrap();
        // The secret in `.env`, as a user keeps it; the rest from the environment.
        std::fs::write(
            dir.0.path().join(".env"),
            format!("TAP_OKTA_API_TOKEN={}\n", sim.api_token()),
        )
        .unwrap();
        let env = [
            ("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false".to_string()),
            ("MELTANO_DISABLE_TRACKING", "true".to_string()),
            // No newest-version lookup on PyPI either.
            ("MELTANO_CLI_DISABLE_VERSION_CHECK", "true".to_string()),
            // Nothing listens there: any Hub lookup fails at once instead of leaving the machine.
            ("MELTANO_HUB_URL", "http://127.0.0.1:9".to_string()),
            ("MELTANO_CLI_LOG_LEVEL", "info".to_string()),
            ("NO_COLOR", "1".to_string()),
            ("TAP_OKTA_BASE_URL", sim.base_url()),
            ("TARGET_JSONL_DO_TIMESTAMP_FILE", "false".to_string()),
            ("SOURCE_OKTA_RETRY_BASE_MS", "20".to_string()),
        ];
        Meltano {
            exe,
            dir,
            env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn run(&self, args: &[&str], extra: &[(&str, &Path)]) -> (String, String) {
        let out = Command::new(&self.exe)
            .args(args)
            .current_dir(self.dir.0.path())
            .envs(&self.env)
            .envs(extra.iter().map(|(k, v)| (*k, v.as_os_str())))
            .stdin(Stdio::null())
            .output()
            .expect("run meltano");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "meltano {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        (stdout, stderr)
    }
}

#[test]
fn meltano_runs_tap_okta_into_target_jsonl_offline_and_keeps_state() {
    let Some(exe) = venv_tool("MELTANO_VENV", ".venv-meltano", "meltano") else {
        return;
    };
    let sim = sim();
    let m = Meltano::new(exe, &sim);
    let out1 = m.dir.0.path().join("out1");
    // The loader is installed by Meltano itself (pip_url, from PyPI) on the first run; the extractor is the binary.
    let (_, log) = m.run(
        &["run", "tap-okta", "target-jsonl"],
        &[("TARGET_JSONL_DESTINATION_PATH", &out1)],
    );
    assert!(
        !log.contains(&sim.api_token()),
        "Meltano's log shows the token"
    );
    for (stream, n) in truth(&sim) {
        assert_eq!(
            jsonl(&out1.join(format!("{stream}.jsonl"))).len(),
            n,
            "{stream} rows through Meltano\n{log}"
        );
    }

    // Meltano stored our last STATE value.
    let (state, _) = m.run(&["state", "get", "dev:tap-okta-to-target-jsonl"], &[]);
    let state: Value =
        serde_json::from_str(state.trim()).unwrap_or_else(|e| panic!("state get: {e}\n{state}"));
    assert!(
        state["singer_state"]["bookmarks"]["users"]["lastUpdated"].is_string(),
        "{state}"
    );

    // The second run reads only what changed (Meltano passes the state back, and --discover with it).
    let changed = sim.users()[7]["id"].as_str().unwrap().to_string();
    sim.update_user(&changed);
    let out2 = m.dir.0.path().join("out2");
    m.run(
        &["run", "tap-okta", "target-jsonl"],
        &[("TARGET_JSONL_DESTINATION_PATH", &out2)],
    );
    let users = jsonl(&out2.join("users.jsonl"));
    assert_eq!(
        id_set(&users.iter().collect::<Vec<_>>()),
        HashSet::from([changed])
    );
    assert!(
        jsonl(&out2.join("groups.jsonl")).is_empty(),
        "no group changed"
    );
    assert_eq!(
        jsonl(&out2.join("applications.jsonl")).len(),
        sim.apps().len(),
        "full refresh streams are read whole"
    );

    // `meltano invoke` runs the tap as configured; its settings are the declared ones, the token redacted.
    let (about, _) = m.run(&["invoke", "tap-okta", "--about", "--format", "json"], &[]);
    let about: Value =
        serde_json::from_str(&about).unwrap_or_else(|e| panic!("invoke --about: {e}\n{about}"));
    assert_eq!(about["name"], "tap-okta");
    let (list, _) = m.run(&["config", "list", "tap-okta"], &[]);
    assert!(
        list.contains("api_token")
            && list.contains("(redacted)")
            && !list.contains(&sim.api_token()),
        "{list}"
    );
    // `meltano config test` runs the tap until its first RECORD.
    let (test, log) = m.run(&["config", "test", "tap-okta"], &[]);
    assert!(
        format!("{test}{log}").contains("Plugin configuration is valid"),
        "{test}\n{log}"
    );
}

/// Rows and header of a CSV file, read with Python's csv module (fields may hold newlines).
fn csv_rows(python: &Path, file: &Path) -> (usize, Vec<String>) {
    let o = Command::new(python)
        .args(["-c", "import csv,sys,json; f=open(sys.argv[1], newline=''); r=csv.reader(f); h=next(r); print(json.dumps([sum(1 for _ in r), h]))"])
        .arg(file)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n{}",
            file.display(),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let header = v[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (v[0].as_u64().unwrap() as usize, header)
}

#[test]
fn meltano_runs_tap_okta_into_target_csv_and_target_jsonl_with_a_table_per_selected_stream() {
    let Some(exe) = venv_tool("MELTANO_VENV", ".venv-meltano", "meltano") else {
        return;
    };
    let Some(csv_tool) = venv_tool("SINGER_VENV", ".venv-singer", "target-csv") else {
        return;
    };
    let python = csv_tool
        .canonicalize()
        .unwrap()
        .parent()
        .unwrap()
        .join("python");
    // No System Log history: system_log is selected but has no rows; risk_providers answers 404.
    let sim = crate::harness::sim_with(|c| c.log_days = 0);
    let mut m = Meltano::new(exe, &sim);
    let selected = [
        "users",
        "groups",
        "applications",
        "group_members",
        "system_log",
        "risk_providers",
    ];
    let select: Vec<String> = selected.iter().map(|s| format!("{s}.*")).collect();
    m.env.insert(
        "TAP_OKTA__SELECT".into(),
        serde_json::to_string(&select).unwrap(),
    );
    // PII rules as a Meltano user writes them, and flattening for a flat CSV.
    m.env.insert(
        "TAP_OKTA_STREAM_MAPS".into(),
        json!({"users": {"credentials": null, "status": "md5(status)"}}).to_string(),
    );
    m.env
        .insert("TAP_OKTA_FLATTENING_ENABLED".into(), "true".into());
    m.env
        .insert("TAP_OKTA_FLATTENING_MAX_DEPTH".into(), "1".into());

    let csv_out = m.dir.0.path().join("csv");
    std::fs::create_dir_all(&csv_out).unwrap();
    let (_, log) = m.run(
        &["run", "tap-okta", "target-csv"],
        &[("TARGET_CSV_OUTPUT_PATH", &csv_out)],
    );
    assert!(
        !log.contains(&sim.api_token()),
        "Meltano's log shows the token"
    );
    let t = truth(&sim);
    for stream in selected {
        let file = csv_out.join(format!("{stream}.csv"));
        assert!(
            file.exists(),
            "no table for the selected stream {stream}\n{log}"
        );
        let (rows, header) = csv_rows(&python, &file);
        let want = t.get(stream).copied().unwrap_or(0);
        assert_eq!(rows, want, "{stream}.csv rows");
        if stream == "users" {
            assert!(header.iter().any(|c| c == "profile__login"), "{header:?}");
            assert!(
                !header.iter().any(|c| c == "credentials" || c == "profile"),
                "{header:?}"
            );
        }
    }
    let tables = std::fs::read_dir(&csv_out).unwrap().count();
    assert_eq!(
        tables,
        selected.len(),
        "one table per selected stream, no more"
    );
    let o = Command::new(&python)
        .args(["-c", "import csv,sys,json; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))"])
        .arg(csv_out.join("users.csv"))
        .output()
        .unwrap();
    let users: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let status: HashMap<String, String> = sim
        .users()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_string(),
                u["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for u in &users {
        let id = u["id"].as_str().unwrap();
        assert_eq!(u["status"], md5_hex(&status[id]), "status hashed");
    }

    // The same project into target-jsonl: a file per selected stream with rows (target-jsonl opens a
    // file at a stream's first RECORD, so streams without rows leave none).
    let jsonl_out = m.dir.0.path().join("jsonl");
    m.run(
        &["run", "tap-okta", "target-jsonl"],
        &[("TARGET_JSONL_DESTINATION_PATH", &jsonl_out)],
    );
    for stream in selected {
        let rows = jsonl(&jsonl_out.join(format!("{stream}.jsonl")));
        // Each pipeline has its own state in Meltano: this is a first run too.
        assert_eq!(
            rows.len(),
            t.get(stream).copied().unwrap_or(0),
            "{stream}.jsonl rows"
        );
    }
}

/// The rows of a CSV file as JSON objects (Python's csv module: fields may hold newlines).
fn csv_objects(python: &Path, file: &Path) -> Vec<Value> {
    if !file.exists() {
        return Vec::new();
    }
    let o = Command::new(python)
        .args(["-c", "import csv,sys,json; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))"])
        .arg(file)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n{}",
            file.display(),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Issue 10 in Singer mode: tap-okta → target-csv (a Meltano SDK target), a sync, a user deleted, a
/// second sync from the target's state. Tombstones reach the target as `_sdc_deleted_at` (declared in
/// the SCHEMA, so the SDK's validation accepts them), and applying them to the first load leaves
/// exactly the org's users and memberships.
#[test]
fn a_deletion_between_two_syncs_reaches_a_singer_target_as_sdc_deleted_at() {
    let Some(target) = venv_tool("SINGER_VENV", ".venv-singer", "target-csv") else {
        return;
    };
    let python = target
        .canonicalize()
        .unwrap()
        .parent()
        .unwrap()
        .join("python");
    let sim = sim();
    let dir = Dir::new();
    let mut config = flat_config(&sim);
    config["system_log_settle_seconds"] = json!(0);
    let cfg = dir.write("config.json", &config);
    let catalog = discover(&dir);
    for s in catalog["streams"].as_array().unwrap() {
        if ["users", "group_members"].contains(&s["tap_stream_id"].as_str().unwrap()) {
            assert!(
                s["schema"]["properties"]["_sdc_deleted_at"].is_object()
                    && s["schema"]["properties"]
                        .get("_ab_cdc_deleted_at")
                        .is_none(),
                "{} declares _sdc_deleted_at",
                s["tap_stream_id"]
            );
        }
    }
    let cat = dir.write(
        "catalog.json",
        &select(&catalog, &["users", "group_members"], &[]),
    );
    let sync = |n: usize, state: Option<&Path>| -> (PathBuf, Value) {
        let out = dir.0.path().join(format!("csv{n}"));
        std::fs::create_dir_all(&out).unwrap();
        // The SDK strips `_sdc_*` columns unless asked to keep record metadata (which SQL targets
        // with `hard_delete` rely on).
        let tcfg = dir.write(
            &format!("target{n}.json"),
            &json!({"output_path": out, "validate_records": true, "add_record_metadata": true}),
        );
        let mut args = vec![
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ];
        if let Some(s) = state {
            args.extend(["--state", s.to_str().unwrap()]);
        }
        let p = pipe(&args, &target, &["--config", tcfg.to_str().unwrap()]);
        let state = p
            .target_stdout
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .unwrap_or_else(|| panic!("the target emitted no state:\n{}", p.target_stderr));
        (out, state)
    };
    let (first, state) = sync(1, None);
    let (_, victim) = sim.group_members()[0].clone();
    assert!(sim.delete_user(&victim));
    let state_path = dir.write("state.json", &state);
    let (second, _) = sync(2, Some(&state_path));

    // Users: the victim's row is marked deleted in the second load.
    let users2 = csv_objects(&python, &second.join("users.csv"));
    assert!(
        users2.iter().any(|u| u["id"] == victim.as_str()
            && u["_sdc_deleted_at"].as_str().is_some_and(|d| !d.is_empty())),
        "the deleted user is marked deleted at the target: {users2:?}"
    );
    let mut users: BTreeMap<String, Value> = BTreeMap::new();
    for u in csv_objects(&python, &first.join("users.csv"))
        .into_iter()
        .chain(users2)
    {
        let id = u["id"].as_str().unwrap().to_string();
        if u["_sdc_deleted_at"].as_str().is_some_and(|d| !d.is_empty()) {
            users.remove(&id);
        } else {
            users.insert(id, u);
        }
    }
    assert_eq!(
        users.keys().cloned().collect::<HashSet<_>>(),
        ids(&sim.users()),
        "users at the target after applying the deletions"
    );
    // Memberships: the victim's are removed by one scoped tombstone (`user_id` alone).
    let mut members: HashSet<(String, String)> = HashSet::new();
    for m in csv_objects(&python, &first.join("group_members.csv"))
        .into_iter()
        .chain(csv_objects(&python, &second.join("group_members.csv")))
    {
        let (g, u) = (
            m["group_id"].as_str().unwrap_or_default().to_string(),
            m["user_id"].as_str().unwrap_or_default().to_string(),
        );
        if m["_sdc_deleted_at"].as_str().is_some_and(|d| !d.is_empty()) {
            members.retain(|(mg, mu)| !((g.is_empty() || *mg == g) && (u.is_empty() || *mu == u)));
        } else {
            members.insert((g, u));
        }
    }
    let want: HashSet<(String, String)> = sim.group_members().into_iter().collect();
    assert!(!members.iter().any(|(_, u)| *u == victim));
    assert_eq!(members, want, "group_members at the target");
}
