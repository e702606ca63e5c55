//! Destination benchmark: records/s through parsing, buffering and encoding, peak RSS, and load jobs per table.
//!
//! Records are generated in process (Okta-like users, groups and group memberships, as Airbyte RECORD lines
//! with a STATE every 1,000 records), parsed like stdin input, and pushed through the real sink with the
//! production batching limits. The upload is replaced by a local sink: load files are still written to the
//! spool folder, then only counted (`--local DIR` writes them out as local mode does instead).
//!
//! `cargo run --release -p destination-bigquery --example load_bench -- --records 1000000`
//!
//! `--cli` measures the real program instead: the `destination-bigquery` binary next to the example (build it
//! with `cargo build --release -p destination-bigquery --bins`, or name it with `DESTINATION_BIN`) runs
//! `write` in local mode (`--local DIR`, else a temp folder) on the same records, generated into a file first
//! which is then its stdin (so the generator does not compete with it for the cores); it reports wall-clock
//! records/s and the program's own peak RSS (from its summary).

#![allow(clippy::print_stdout)]

use destination_bigquery::config::{Batching, SchemaChangePolicy};
use destination_bigquery::input::{record_line, state_stream};
use destination_bigquery::local::LocalWarehouse;
use destination_bigquery::output::{Output, Protocol};
use destination_bigquery::schema::TableSchema;
use destination_bigquery::sink::{Mode, Sink, SinkOptions, StreamSpec};
use destination_bigquery::sql::TableRef;
use destination_bigquery::warehouse::{NullWarehouse, Warehouse};
use serde_json::{json, Value};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_default()
}

fn streams() -> Vec<StreamSpec> {
    let users = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "status": {"type": "string"},
        "created": {"type": "string", "format": "date-time"}, "activated": {"type": ["null", "string"], "format": "date-time"},
        "lastLogin": {"type": ["null", "string"], "format": "date-time"},
        "lastUpdated": {"type": "string", "format": "date-time"},
        "profile": {"type": "object"}, "credentials": {"type": "object"}, "_links": {"type": "object"}}});
    let groups = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "type": {"type": "string"}, "lastUpdated": {"type": "string", "format": "date-time"},
        "profile": {"type": "object"}}});
    let members = json!({"type": "object", "properties": {
        "groupId": {"type": "string"}, "userId": {"type": "string"}, "position": {"type": "integer"}}});
    let spec = |name: &str, schema: Value, mode: Mode, pk: &[&str], cursor: &[&str]| StreamSpec {
        name: name.into(),
        namespace: None,
        table: TableRef::new("bench", "okta", name),
        schema: TableSchema::from_json_schema(
            &schema,
            &pk.iter().map(|k| vec![k.to_string()]).collect::<Vec<_>>(),
            &cursor.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ),
        mode,
        generation_id: 1,
        sync_id: Some(1),
    };
    vec![
        spec("users", users, Mode::Dedup, &["id"], &["lastUpdated"]),
        spec("groups", groups, Mode::Overwrite, &["id"], &[]),
        spec("group_members", members, Mode::Append, &[], &[]),
    ]
}

fn user(i: u64) -> Value {
    json!({"id": format!("00u{i:017}"), "status": "ACTIVE", "created": "2023-04-05T06:07:08.000Z",
        "activated": "2023-04-05T06:07:09.000Z", "lastLogin": if i.is_multiple_of(3) { Value::Null } else { json!("2024-05-06T07:08:09.000Z") },
        "lastUpdated": format!("2024-01-{:02}T00:00:{:02}.000Z", 1 + i % 28, i % 60),
        "profile": {"firstName": "Ada", "lastName": format!("Lovelace{i}"), "email": format!("user{i}@example.com"),
            "login": format!("user{i}@example.com"), "mobilePhone": null, "department": "Engineering", "costCenter": i % 100},
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": format!("https://example.okta.com/api/v1/users/00u{i:017}")}}})
}

fn line(stream: &str, data: Value) -> String {
    json!({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1_700_000_000_000i64}}).to_string()
}

/// The `i`-th generated input line (the same mix as the in-process run), formatted without building trees.
fn cli_line(i: u64) -> String {
    match i % 20 {
        0 => format!(
            r#"{{"type":"RECORD","record":{{"stream":"groups","data":{{"id":"00g{i:017}","type":"OKTA_GROUP","lastUpdated":"2024-01-01T00:00:00.000Z","profile":{{"name":"Group {i}","description":null}}}},"emitted_at":1700000000000}}}}"#
        ),
        1..=5 => format!(
            r#"{{"type":"RECORD","record":{{"stream":"group_members","data":{{"groupId":"00g{:017}","userId":"00u{i:017}","position":{i}}},"emitted_at":1700000000000}}}}"#,
            i % 1000
        ),
        _ => format!(
            r#"{{"type":"RECORD","record":{{"stream":"users","data":{{"id":"00u{i:017}","status":"ACTIVE","created":"2023-04-05T06:07:08.000Z","activated":"2023-04-05T06:07:09.000Z","lastLogin":"2024-05-06T07:08:09.000Z","lastUpdated":"2024-01-{:02}T00:00:{:02}.000Z","profile":{{"firstName":"Ada","lastName":"Lovelace{i}","email":"user{i}@example.com","login":"user{i}@example.com","mobilePhone":null,"department":"Engineering","costCenter":{}}},"credentials":{{"provider":{{"type":"OKTA","name":"OKTA"}}}},"_links":{{"self":{{"href":"https://example.okta.com/api/v1/users/00u{i:017}"}}}}}},"emitted_at":1700000000000}}}}"#,
            1 + i % 28,
            i % 60,
            i % 100
        ),
    }
}

/// `--cli`: the real binary, fed through a pipe.
fn run_cli(records: u64, local: Option<String>) {
    use std::io::Write;
    let bin = std::env::var_os("DESTINATION_BIN")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.join("destination-bigquery"))
        })
        .filter(|p| p.exists())
        .expect("build the binary first: cargo build --release -p destination-bigquery --bins");
    let dir = std::env::temp_dir().join(format!(
        "destination-bigquery-bench-cli-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = local
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.join("out"));
    let cfg = dir.join("config.json");
    std::fs::write(
        &cfg,
        json!({"project_id": "bench", "dataset_id": "okta", "loading_method": {"method": "Local", "path": out}})
            .to_string(),
    )
    .expect("config");
    let stream = |name: &str, schema: Value, mode: &str, pk: &[&str], cursor: &[&str]| {
        json!({"stream": {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental", "destination_sync_mode": mode,
            "primary_key": pk.iter().map(|k| vec![*k]).collect::<Vec<_>>(), "cursor_field": cursor})
    };
    let specs = streams();
    let schema_of = |i: usize| {
        let props: serde_json::Map<String, Value> = specs[i]
            .schema
            .columns
            .iter()
            .filter_map(|c| c.field.clone().map(|f| (f, c.ty)))
            .map(|(f, ty)| {
                let t = match ty {
                    destination_bigquery::schema::BqType::Int64 => json!({"type": "integer"}),
                    destination_bigquery::schema::BqType::Timestamp => {
                        json!({"type": ["null", "string"], "format": "date-time"})
                    }
                    destination_bigquery::schema::BqType::Json => json!({"type": "object"}),
                    _ => json!({"type": "string"}),
                };
                (f, t)
            })
            .collect();
        json!({"type": "object", "properties": props})
    };
    let cat = dir.join("catalog.json");
    std::fs::write(
        &cat,
        json!({"streams": [
            stream("users", schema_of(0), "append_dedup", &["id"], &["lastUpdated"]),
            stream("groups", schema_of(1), "overwrite", &["id"], &[]),
            stream("group_members", schema_of(2), "append", &[], &[]),
        ]})
        .to_string(),
    )
    .expect("catalog");
    // The input is written to a file first and the file is the program's stdin: the figure measures the
    // destination, not a generator competing with it for the same cores.
    let input = dir.join("input.jsonl");
    let bytes = {
        let f = std::fs::File::create(&input).expect("input file");
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut bytes = 0u64;
        for i in 0..records {
            let l = cli_line(i);
            bytes += l.len() as u64 + 1;
            writeln!(w, "{l}").expect("input file");
            if (i + 1) % 1000 == 0 {
                let st = format!(
                    r#"{{"type":"STATE","state":{{"type":"STREAM","stream":{{"stream_descriptor":{{"name":"users"}},"stream_state":{{"i":{i}}}}}}}}}"#
                );
                bytes += st.len() as u64 + 1;
                writeln!(w, "{st}").expect("input file");
            }
        }
        w.flush().expect("input file");
        bytes
    };
    let started = Instant::now();
    let child = std::process::Command::new(&bin)
        .arg("write")
        .arg("--config")
        .arg(&cfg)
        .arg("--catalog")
        .arg(&cat)
        .stdin(std::fs::File::open(&input).expect("input file"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the destination");
    let output = child.wait_with_output().expect("destination output");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.split("peak memory ").nth(1))
        .unwrap_or("unknown");
    println!("destination-bigquery benchmark (the CLI, local mode, through a pipe)");
    println!("records:        {records}");
    println!(
        "input:          {:.1} MiB of Airbyte messages",
        bytes as f64 / 1048576.0
    );
    println!("exit status:    {}", output.status);
    println!(
        "elapsed:        {secs:.2} s (wall clock; input read from a file generated beforehand)"
    );
    println!("throughput:     {:.0} records/s", records as f64 / secs);
    println!("peak RSS:       {peak}");
    for l in stderr.lines().filter(|l| l.contains("rows loaded")) {
        println!("{}", l.trim_start_matches("destination-bigquery: "));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let records: u64 = arg("--records")
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    if std::env::args().any(|a| a == "--cli") {
        run_cli(records, arg("--local"));
        return;
    }
    let local = arg("--local");
    let wh = match &local {
        Some(dir) => {
            Warehouse::Local(LocalWarehouse::new(std::path::Path::new(dir)).expect("local dir"))
        }
        None => Warehouse::Null(NullWarehouse::default()),
    };
    let spool =
        std::env::temp_dir().join(format!("destination-bigquery-bench-{}", std::process::id()));
    let opts = SinkOptions {
        project: "bench".into(),
        raw_dataset: "airbyte_internal".into(),
        batching: Batching::default(),
        schema_change: SchemaChangePolicy::Fail,
        deletes: destination_bigquery::sql::Deletes::Hard,
        merge_interval: std::time::Duration::from_secs(3600),
        spool_dir: spool,
        run_id: "bench".into(),
    };
    let out = Output::new(Protocol::Airbyte, Box::new(std::io::sink()));
    let mut sink = Sink::new(wh, out, opts).expect("sink");
    for s in streams() {
        sink.register(s).await.expect("register");
    }
    let started = Instant::now();
    let mut bytes_in = 0u64;
    // Time spent in the destination (parse, encode, buffer, load) as opposed to generating the input.
    let mut in_destination = std::time::Duration::ZERO;
    for i in 0..records {
        // 70% users, 5% groups, 25% memberships: roughly an Okta org's mix.
        let text = match i % 20 {
            0 => line(
                "groups",
                json!({"id": format!("00g{i:017}"), "type": "OKTA_GROUP", "lastUpdated": "2024-01-01T00:00:00.000Z",
                "profile": {"name": format!("Group {i}"), "description": null}}),
            ),
            1..=5 => line(
                "group_members",
                json!({"groupId": format!("00g{:017}", i % 1000), "userId": format!("00u{i:017}"), "position": i}),
            ),
            _ => line("users", user(i)),
        };
        bytes_in += text.len() as u64 + 1;
        let t0 = Instant::now();
        // Read as the CLI reads a RECORD line: in one pass.
        let r = record_line(&text).expect("a RECORD line");
        sink.record(
            r.namespace.as_deref(),
            &r.stream,
            &r.data,
            r.emitted_at.unwrap_or_default() as i64,
            None,
        )
        .await
        .expect("record");
        in_destination += t0.elapsed();
        if (i + 1) % 1000 == 0 {
            let st = json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"i": i}}});
            let stream = state_stream(&st).map(|d| (d.namespace, d.name));
            let t0 = Instant::now();
            sink.state(
                st.clone(),
                stream.as_ref().map(|(ns, n)| (ns.as_deref(), n.as_str())),
            )
            .await
            .expect("state");
            in_destination += t0.elapsed();
        }
    }
    let t0 = Instant::now();
    let summary = sink.finish().await.expect("finish");
    in_destination += t0.elapsed();
    let total = started.elapsed().as_secs_f64();
    let secs = in_destination.as_secs_f64();
    let states = sink.output().states_emitted;
    println!(
        "destination-bigquery benchmark ({} sink)",
        if local.is_some() {
            "local-mode"
        } else {
            "null"
        }
    );
    println!("records:        {records}");
    println!(
        "input:          {:.1} MiB of Airbyte messages",
        bytes_in as f64 / 1048576.0
    );
    println!("elapsed:        {total:.2} s in all, {secs:.2} s in the destination (the rest generates input)");
    println!(
        "throughput:     {:.0} records/s ({:.1} MiB/s of input)",
        records as f64 / secs,
        bytes_in as f64 / 1048576.0 / secs
    );
    println!(
        "peak RSS:       {:.1} MiB (VmHWM)",
        peak_rss_kib() as f64 / 1024.0
    );
    println!("states echoed:  {states}");
    if let Warehouse::Null(n) = sink.warehouse() {
        println!(
            "load bytes:     {:.1} MiB of NDJSON",
            n.bytes as f64 / 1048576.0
        );
    }
    for t in summary {
        println!(
            "table {:<20} {:>9} rows  {:>3} load jobs  ({:?})",
            t.table, t.rows, t.loads, t.mode
        );
    }
}
