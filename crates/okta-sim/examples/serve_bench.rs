//! Read a whole simulated org over HTTP the way a connector does (users, groups, members, apps,
//! app users, System Log polling) and report records per second:
//! `cargo run --release -p okta-sim --example serve_bench -- 100000 [workers]`.

use std::time::Instant;

use okta_sim::{SimConfig, SimServer};
use serde::de::IgnoredAny;

struct Client {
    http: reqwest::Client,
    auth: String,
}

impl Client {
    /// Follow `next` links from `url`; the number of records and the ids of the first pages'
    /// objects when `ids` is set.
    async fn drain(&self, url: String, ids: bool, stop_on_empty: bool) -> (usize, Vec<String>) {
        let mut url = Some(url);
        let mut n = 0;
        let mut out = Vec::new();
        while let Some(u) = url.take() {
            let r = self
                .http
                .get(&u)
                .header("Authorization", &self.auth)
                .send()
                .await
                .expect("request");
            let next = r
                .headers()
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.ends_with("rel=\"next\""))
                .and_then(|v| v.split('>').next())
                .map(|v| v.trim_start_matches('<').to_string());
            let body = r.bytes().await.expect("body");
            let count = if ids {
                let v: Vec<serde_json::Value> = serde_json::from_slice(&body).expect("json");
                out.extend(
                    v.iter()
                        .filter_map(|x| x["id"].as_str().map(str::to_string)),
                );
                v.len()
            } else {
                serde_json::from_slice::<Vec<IgnoredAny>>(&body)
                    .expect("json")
                    .len()
            };
            n += count;
            if stop_on_empty && count == 0 {
                break;
            }
            url = next;
        }
        (n, out)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let t = Instant::now();
    let sim = SimServer::start(SimConfig {
        users,
        ..SimConfig::default()
    });
    eprintln!("seeded {users} users in {:.2}s", t.elapsed().as_secs_f64());
    let base = sim.base_url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = std::sync::Arc::new(Client {
        http: reqwest::Client::new(),
        auth: format!("SSWS {}", sim.api_token()),
    });
    let t = Instant::now();
    let total = rt.block_on(async {
        let (u, _) = client
            .drain(format!("{base}/api/v1/users?limit=200"), false, false)
            .await;
        eprintln!("users: {u} in {:.2}s", t.elapsed().as_secs_f64());
        let (g, gids) = client
            .drain(format!("{base}/api/v1/groups?limit=200"), true, false)
            .await;
        let (a, aids) = client
            .drain(format!("{base}/api/v1/apps?limit=200"), true, false)
            .await;
        let mut urls: Vec<String> = gids
            .iter()
            .map(|id| format!("{base}/api/v1/groups/{id}/users?limit=1000"))
            .chain(
                aids.iter()
                    .map(|id| format!("{base}/api/v1/apps/{id}/users?limit=500")),
            )
            .collect();
        let fan = urls.len();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(std::mem::take(&mut urls)));
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (c, q) = (client.clone(), queue.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                loop {
                    let next = q.lock().ok().and_then(|mut v| v.pop());
                    let Some(u) = next else { break };
                    n += c.drain(u, false, false).await.0;
                }
                n
            }));
        }
        let mut children = 0;
        for t in tasks {
            children += t.await.unwrap_or(0);
        }
        eprintln!(
            "groups {g}, apps {a}, {children} members + app users over {fan} parents, at {:.2}s",
            t.elapsed().as_secs_f64()
        );
        let since = okta_sim::clock::iso(okta_sim::clock::wall_ms() - 90 * 86_400_000);
        let (l, _) = client
            .drain(
                format!("{base}/api/v1/logs?since={since}&limit=1000"),
                false,
                true,
            )
            .await;
        eprintln!("logs: {l} at {:.2}s", t.elapsed().as_secs_f64());
        u + g + a + children + l
    });
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{total} records in {secs:.2}s: {:.0} records/s ({} requests)",
        total as f64 / secs,
        sim.stats().requests
    );
}
