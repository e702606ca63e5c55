//! Test harness: runs the real `source-okta` binary against the simulator and parses its stdout back into
//! protocol messages (every line must be one).

use airbyte_protocol::{AirbyteMessage, FailureType, StreamStatus, TraceBody};
use okta_sim::{SimConfig, SimServer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_source-okta");
pub const TAP_BIN: &str = env!("CARGO_BIN_EXE_tap-okta");

/// A temporary folder that lives as long as the test.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Self {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    pub fn write(&self, name: &str, content: &Value) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, serde_json::to_string_pretty(content).unwrap()).unwrap();
        p
    }

    pub fn write_text(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

/// The output of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub messages: Vec<AirbyteMessage>,
}

impl Run {
    pub fn records(&self, stream: &str) -> Vec<Value> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                AirbyteMessage::Record { record } if record.stream == stream => {
                    Some(record.data.clone())
                }
                _ => None,
            })
            .collect()
    }

    pub fn all_records(&self) -> Vec<(String, Value)> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                AirbyteMessage::Record { record } => {
                    Some((record.stream.clone(), record.data.clone()))
                }
                _ => None,
            })
            .collect()
    }

    pub fn states(&self, stream: &str) -> Vec<Value> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                AirbyteMessage::State { state }
                    if state.stream.stream_descriptor.name == stream =>
                {
                    Some(state.stream.stream_state.clone())
                }
                _ => None,
            })
            .collect()
    }

    pub fn last_state(&self, stream: &str) -> Value {
        self.states(stream)
            .pop()
            .unwrap_or_else(|| panic!("no STATE for {stream}; stderr:\n{}", self.stderr))
    }

    pub fn errors(&self) -> Vec<(String, FailureType)> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                AirbyteMessage::Trace { trace } => match &trace.body {
                    TraceBody::Error { error } => Some((error.message.clone(), error.failure_type)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    pub fn statuses(&self, stream: &str) -> Vec<StreamStatus> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                AirbyteMessage::Trace { trace } => match &trace.body {
                    TraceBody::StreamStatus { stream_status }
                        if stream_status.stream_descriptor.name == stream =>
                    {
                        Some(stream_status.status)
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    pub fn logs(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                AirbyteMessage::Log { log } => Some(log.message.clone()),
                _ => None,
            })
            .collect()
    }

    /// Asserts the run succeeded, with the whole output in the message otherwise.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            0,
            "exit {}; errors {:?}\nstderr:\n{}",
            self.code,
            self.errors(),
            self.stderr
        );
        assert!(
            self.errors().is_empty(),
            "unexpected TRACE errors {:?}",
            self.errors()
        );
        self
    }

    /// Asserts the run failed with exactly one TRACE error of this type; returns its message.
    pub fn failed_with(&self, ft: FailureType) -> String {
        assert_ne!(self.code, 0, "expected failure; stderr:\n{}", self.stderr);
        let errors = self.errors();
        assert_eq!(
            errors.len(),
            1,
            "expected exactly one TRACE error, got {errors:?}\nstdout:\n{}",
            self.stdout
        );
        assert_eq!(errors[0].1, ft, "{errors:?}");
        errors[0].0.clone()
    }

    /// Fails if any secret appears anywhere in stdout or stderr.
    pub fn assert_no_secret(&self, secrets: &[&str]) {
        for s in secrets {
            assert!(!self.stdout.contains(s), "secret found on stdout");
            assert!(!self.stderr.contains(s), "secret found on stderr");
        }
    }
}

/// Parses stdout strictly: every line is one Airbyte message.
pub fn parse_messages(stdout: &str) -> Vec<AirbyteMessage> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not an Airbyte message ({e}): {l}"))
        })
        .collect()
}

pub fn run(args: &[&str]) -> Run {
    run_env(BIN, args, &[])
}

pub fn run_env(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(bin)
        .args(args)
        .env("SOURCE_OKTA_RETRY_BASE_MS", "20")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked:\n{stderr}"
    );
    let messages = if bin == BIN {
        parse_messages(&stdout)
    } else {
        Vec::new()
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        messages,
    }
}

/// A simulator with the default seeded org.
pub fn sim() -> SimServer {
    SimServer::start(SimConfig::default())
}

pub fn sim_with(f: impl FnOnce(&mut SimConfig)) -> SimServer {
    let mut cfg = SimConfig::default();
    f(&mut cfg);
    SimServer::start(cfg)
}

pub fn config_json(sim: &SimServer) -> Value {
    json!({
        "base_url": sim.base_url(),
        "credentials": {"auth_type": "api_token", "api_token": sim.api_token()},
    })
}

/// Every Okta stream of the catalog (ASA streams need an `asa` config block).
pub fn all_streams() -> Vec<String> {
    discover_catalog()
        .into_iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .filter(|n| !n.starts_with("asa_"))
        .collect()
}

/// A simulator shared by the tests that only need `discover` (same seed, so the same schemas).
fn shared_sim() -> &'static SimServer {
    static SIM: std::sync::OnceLock<SimServer> = std::sync::OnceLock::new();
    SIM.get_or_init(sim)
}

/// The catalog as `discover` prints it for the simulated org (custom attributes typed), ASA included.
pub fn discover_catalog() -> Vec<Value> {
    static CATALOG: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let sim = shared_sim();
            let dir = Dir::new();
            let mut config = config_json(sim);
            config["asa"] = asa_config(sim);
            let cfg = dir.write("config.json", &config);
            let r = run(&["discover", "--config", cfg.to_str().unwrap()]).ok();
            let cat = r
                .messages
                .iter()
                .find_map(|m| match m {
                    AirbyteMessage::Catalog { catalog } => {
                        Some(serde_json::to_value(catalog).unwrap())
                    }
                    _ => None,
                })
                .expect("a CATALOG");
            cat["streams"].as_array().unwrap().clone()
        })
        .clone()
}

/// The `asa` config block for the simulator's ASA team.
pub fn asa_config(sim: &SimServer) -> Value {
    json!({"team": "sim-team", "key_id": "sim-asa-key", "key_secret": "sim-asa-secret", "base_url": sim.base_url()})
}

/// A configured catalog for these streams; `incremental` picks the mode for streams that support it.
pub fn configured(streams: &[&str], incremental: bool) -> Value {
    let all = discover_catalog();
    let chosen: Vec<Value> = streams
        .iter()
        .map(|name| {
            let s = all
                .iter()
                .find(|s| s["name"] == *name)
                .unwrap_or_else(|| panic!("no stream {name}"))
                .clone();
            let inc = incremental
                && s["supported_sync_modes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m == "incremental");
            json!({
                "stream": s,
                "sync_mode": if inc { "incremental" } else { "full_refresh" },
                "destination_sync_mode": if inc { "append_dedup" } else { "overwrite" },
                "cursor_field": s.get("default_cursor_field").cloned().unwrap_or(json!([])),
                "primary_key": s["source_defined_primary_key"],
            })
        })
        .collect();
    json!({"streams": chosen})
}

/// Runs `read` for the given streams against the simulator, with an optional state.
pub fn read(sim: &SimServer, streams: &[&str], incremental: bool, state: Option<&Value>) -> Run {
    read_cfg(&config_json(sim), streams, incremental, state)
}

pub fn read_cfg(config: &Value, streams: &[&str], incremental: bool, state: Option<&Value>) -> Run {
    read_cfg_env(config, streams, incremental, state, &[])
}

/// `read` with extra environment variables for the connector.
pub fn read_cfg_env(
    config: &Value,
    streams: &[&str],
    incremental: bool,
    state: Option<&Value>,
    env: &[(&str, &str)],
) -> Run {
    let dir = Dir::new();
    let cfg = dir.write("config.json", config);
    let cat = dir.write("catalog.json", &configured(streams, incremental));
    let mut args = vec![
        "read",
        "--config",
        cfg.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
    ];
    let state_path;
    if let Some(s) = state {
        state_path = dir.write("state.json", s);
        args.extend(["--state", state_path.to_str().unwrap()]);
    }
    run_env(BIN, &args, env)
}

/// Per-stream STATE messages as a host would pass them back.
pub fn state_file(pairs: &[(&str, Value)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(name, s)| json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": s}}))
            .collect(),
    )
}

/// Asserts the records' key tuples are unique and returns them.
pub fn unique_keys(records: &[Value], key: &[&str]) -> HashSet<Vec<String>> {
    let mut seen = HashSet::new();
    for r in records {
        let k: Vec<String> = key
            .iter()
            .map(|f| {
                r[*f]
                    .as_str()
                    .unwrap_or_else(|| panic!("key {f} missing or not a string in {r}"))
                    .to_string()
            })
            .collect();
        assert!(seen.insert(k.clone()), "duplicate key {k:?}");
    }
    seen
}

pub fn ids(values: &[Value]) -> HashSet<String> {
    values
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// Validates every record of a run against its stream's schema from `discover`.
pub fn validate_records(run: &Run) -> usize {
    let catalog = discover_catalog();
    let mut validators = BTreeMap::new();
    for s in &catalog {
        let v = jsonschema::draft7::new(&s["json_schema"])
            .unwrap_or_else(|e| panic!("schema of {} invalid: {e}", s["name"]));
        validators.insert(s["name"].as_str().unwrap().to_string(), v);
    }
    let mut n = 0;
    for (stream, data) in run.all_records() {
        let v = &validators[&stream];
        let errors: Vec<String> = v
            .iter_errors(&data)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "a {stream} record breaks its schema: {errors:?}\n{data}"
        );
        n += 1;
    }
    n
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
