//! Time seeding an org of `N` users (default 100 000): `cargo run --release -p okta-sim --example seed_timing -- 100000`.

use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let cfg = okta_sim::SimConfig {
        users: n,
        ..okta_sim::SimConfig::default()
    };
    let t = Instant::now();
    let org = okta_sim::org::Org::seed(&cfg, "http://127.0.0.1:1", okta_sim::clock::wall_ms());
    eprintln!(
        "seeded {} users, {} log events in {:.2}s",
        org.users.len(),
        org.logs.len(),
        t.elapsed().as_secs_f64()
    );
    let avg = |total: usize, n: usize| total / n.max(1);
    let t = Instant::now();
    let mut scratch = okta_sim::logs::Scratch::default();
    let mut buf = Vec::with_capacity(4 << 20);
    for e in &org.logs {
        if buf.len() > (3 << 20) {
            buf.clear();
        }
        org.log_templates.write(e, &mut scratch, &mut buf);
    }
    let rendered = t.elapsed();
    buf.clear();
    for e in &org.logs[..1000.min(org.logs.len())] {
        org.log_templates.write(e, &mut scratch, &mut buf);
    }
    let logs = buf.len() * org.logs.len() / 1000.min(org.logs.len()).max(1);
    eprintln!(
        "rendered {} log events in {:.2}s ({:.0} events/s)",
        org.logs.len(),
        rendered.as_secs_f64(),
        org.logs.len() as f64 / rendered.as_secs_f64()
    );
    let users: usize = org.users.by_id.values().map(|u| u.json.len()).sum();
    let app_users: Vec<usize> = org.children["app_users"]
        .values()
        .flat_map(|v| v.iter().map(|i| i.json.len()))
        .collect();
    eprintln!(
        "average JSON bytes: log event {}, user {}, app user {} ({} app users)",
        avg(logs, org.logs.len()),
        avg(users, org.users.len()),
        avg(app_users.iter().sum(), app_users.len()),
        app_users.len()
    );
}
