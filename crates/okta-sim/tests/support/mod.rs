//! The test harness shared by the simulator's integration tests: one HTTP response type, GET with the
//! simulator's token, link paging to the end, and the binary started as a child process.
//!
//! Each test file (`catalog`, `changes`, `http`) is its own binary and uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use okta_sim::{SimConfig, SimServer};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response read to its end.
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The items of an array body (none when the body is not an array).
    pub fn items(&self) -> Vec<Value> {
        self.json().as_array().cloned().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Every link relation, from every `link` header line (split outside `<…>`).
    pub fn links(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in self.headers.get_all("link") {
            let v = v.to_str().unwrap_or("");
            for part in v.split(", <") {
                let part = part.trim_start_matches('<');
                if let Some((url, rest)) = part.split_once('>') {
                    let rel = rest
                        .split("rel=\"")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .unwrap_or("")
                        .to_string();
                    out.push((rel, url.to_string()));
                }
            }
        }
        out
    }

    pub fn next(&self) -> Option<String> {
        self.links()
            .into_iter()
            .find(|(r, _)| r == "next")
            .map(|(_, u)| u)
    }

    pub fn error_code(&self) -> String {
        self.json()["errorCode"].as_str().unwrap_or("").to_string()
    }
}

/// A simulator of `users` users, otherwise the default org.
pub fn sim(users: usize) -> SimServer {
    SimServer::start(SimConfig {
        users,
        ..SimConfig::default()
    })
}

/// Sends a request and reads its response.
pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let r = req.send().await.expect("request failed");
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap_or_default(),
    }
}

/// A path on the simulator as a URL; a whole URL (a `next` link) as it is.
pub fn url(sim: &SimServer, path_or_url: &str) -> String {
    if path_or_url.starts_with("http") {
        path_or_url.to_string()
    } else {
        format!("{}{}", sim.base_url(), path_or_url)
    }
}

/// GET `url` as JSON with an `Authorization` value and extra headers.
pub async fn get_with(url: &str, auth: &str, extra: &[(&str, &str)]) -> Resp {
    let mut req = reqwest::Client::new()
        .get(url)
        .header("Authorization", auth)
        .header("Accept", "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    send(req).await
}

/// GET a path (or a `next` link) with the simulator's API token.
pub async fn get(sim: &SimServer, path_or_url: &str) -> Resp {
    get_with(
        &url(sim, path_or_url),
        &format!("SSWS {}", sim.api_token()),
        &[],
    )
    .await
}

/// Every item of a link-paged array list, following `next` links from `path`, and the number of pages.
pub async fn link_pages(sim: &SimServer, path: &str) -> (Vec<Value>, usize) {
    let mut next = Some(url(sim, path));
    let (mut items, mut pages) = (Vec::new(), 0);
    while let Some(u) = next {
        let r = get(sim, &u).await;
        assert_eq!(r.status, 200, "{u}: {}", r.text);
        items.extend(r.items());
        pages += 1;
        next = r.next();
        assert!(pages < 10_000, "runaway paging on {path}");
    }
    (items, pages)
}

/// Starts the `okta-sim` binary with `args` and reads the JSON line it prints first (its address and
/// token). The caller kills the child.
pub fn spawn_binary(args: &[&str]) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_okta-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn okta-sim");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read line");
    let v: Value = serde_json::from_str(&line).expect("JSON line");
    (child, v)
}

/// A single-threaded runtime, for the tests that drive a child process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
