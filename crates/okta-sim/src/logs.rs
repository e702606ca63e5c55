//! The System Log event generator.
//!
//! A large org has millions of events, so an event's JSON is assembled from fragments serialized
//! once (each actor, target, user agent, place and event type) plus the few values that vary per
//! event (ids, IP, timestamps), instead of serializing a fresh struct tree per event. Only ASCII
//! values that need no JSON escaping are written raw; every other string goes through serde.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::clock;
use crate::model::{event_uuid, LogEvent, LogRefs, Rng, TargetRef, EVENT_TYPES, PLACES};

/// User agents: (raw, os, browser).
const USER_AGENTS: &[(&str, &str, &str)] = &[
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36", "Mac OS X", "CHROME"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Windows 10", "EDGE"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Linux", "FIREFOX"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iOS", "SAFARI"),
    ("okta-sdk-golang/2.20.0 golang/go1.22.5 linux/amd64", "Linux", "UNKNOWN"),
];

/// Coordinates and country name of each entry of [`PLACES`].
const GEO: &[(f64, f64, &str)] = &[
    (37.7749, -122.4194, "United States"),
    (40.7128, -74.006, "United States"),
    (30.2672, -97.7431, "United States"),
    (47.6062, -122.3321, "United States"),
    (41.8781, -87.6298, "United States"),
    (43.6532, -79.3832, "Canada"),
    (51.5074, -0.1278, "United Kingdom"),
    (52.52, 13.405, "Germany"),
    (48.8566, 2.3522, "France"),
    (-33.8688, 151.2093, "Australia"),
    (12.9716, 77.5946, "India"),
    (35.6762, 139.6503, "Japan"),
];

const SYSTEM_ACTOR: &[u8] = br#"{"id":"0oa1okta0system0000","type":"PublicClientApp","alternateId":"Okta System","displayName":"Okta System","detailEntry":null}"#;

fn frag(v: &Value) -> Box<[u8]> {
    serde_json::to_vec(v).unwrap_or_default().into_boxed_slice()
}

struct KindFrag {
    /// `"displayMessage":…,"eventType":…,`
    head: Box<[u8]>,
    /// `"severity":…,`
    severity: Box<[u8]>,
    /// `"legacyEventType":…,`
    legacy: Box<[u8]>,
}

/// Pre-serialized fragments of every event.
pub struct LogTemplates {
    seed: u64,
    cum: Vec<f64>,
    actors: Vec<Box<[u8]>>,
    user_targets: Vec<Box<[u8]>>,
    app_targets: Vec<Box<[u8]>>,
    group_targets: Vec<Box<[u8]>>,
    agents: Vec<(Box<[u8]>, &'static str)>,
    geos: Vec<Box<[u8]>>,
    kinds: Vec<KindFrag>,
    n_people: usize,
    n_apps: usize,
    n_groups: usize,
}

impl std::fmt::Debug for LogTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogTemplates")
            .field("people", &self.n_people)
            .field("apps", &self.n_apps)
            .field("groups", &self.n_groups)
            .finish()
    }
}

/// Reusable buffers for the values that vary per event.
#[derive(Debug, Default)]
pub struct Scratch {
    ip: String,
    request_id: String,
    session: String,
}

fn push_hex(s: &mut String, mut v: u64, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for _ in 0..n {
        s.push(HEX[(v & 0xf) as usize] as char);
        v >>= 4;
    }
}

impl LogTemplates {
    /// Fragments for the actors and targets in `refs`.
    pub fn new(seed: u64, refs: &LogRefs) -> Self {
        let mut acc = 0.0;
        let cum = EVENT_TYPES
            .iter()
            .map(|e| {
                acc += f64::from(e.4);
                acc
            })
            .collect();
        let target = |id: &str, kind: &str, alt: &str, name: &str| {
            frag(
                &json!({"id": id, "type": kind, "alternateId": alt, "displayName": name, "detailEntry": null}),
            )
        };
        LogTemplates {
            seed,
            cum,
            actors: refs
                .people
                .iter()
                .map(|(id, login, name)| target(id, "User", login, name))
                .collect(),
            user_targets: refs
                .people
                .iter()
                .map(|(id, login, name)| target(id, "User", login, name))
                .collect(),
            app_targets: refs
                .apps
                .iter()
                .map(|(id, label)| target(id, "AppInstance", label, label))
                .collect(),
            group_targets: refs
                .groups
                .iter()
                .map(|(id, name)| target(id, "UserGroup", "unknown", name))
                .collect(),
            agents: USER_AGENTS
                .iter()
                .map(|(raw, os, browser)| {
                    (
                        frag(&json!({"rawUserAgent": raw, "os": os, "browser": browser})),
                        if *os == "iOS" { "Mobile" } else { "Computer" },
                    )
                })
                .collect(),
            geos: PLACES
                .iter()
                .zip(GEO)
                .map(|((city, state, _, zip), (lat, lon, country))| {
                    frag(&json!({
                        "city": city,
                        "state": if state.is_empty() { Value::Null } else { json!(state) },
                        "country": country,
                        "postalCode": zip,
                        "geolocation": {"lat": lat, "lon": lon}
                    }))
                })
                .collect(),
            kinds: EVENT_TYPES
                .iter()
                .map(|(event_type, legacy, message, severity, _, _)| {
                    let field = |k: &str, v: Value| {
                        let mut b = serde_json::to_vec(&json!(k)).unwrap_or_default();
                        b.push(b':');
                        b.extend(serde_json::to_vec(&v).unwrap_or_default());
                        b.push(b',');
                        b
                    };
                    let mut head = field("displayMessage", json!(message));
                    head.extend(field("eventType", json!(event_type)));
                    KindFrag {
                        head: head.into_boxed_slice(),
                        severity: field("severity", json!(severity)).into_boxed_slice(),
                        legacy: field("legacyEventType", json!(legacy)).into_boxed_slice(),
                    }
                })
                .collect(),
            n_people: refs.people.len(),
            n_apps: refs.apps.len(),
            n_groups: refs.groups.len(),
        }
    }

    /// Append the JSON of `e` to `out` (regenerated from its random stream).
    pub fn write(&self, e: &LogEvent, scratch: &mut Scratch, out: &mut Vec<u8>) {
        if let Some(c) = &e.custom {
            out.extend_from_slice(&c.json);
            return;
        }
        let mut rng = Rng::from_state(e.rng);
        self.event(e.n, e.published, e.persisted, &mut rng, scratch, Some(out));
    }

    /// Event number `n` (distinct numbers give distinct `uuid`s), published at `published` and
    /// committed at `persisted`, drawn from `rng`; its JSON is appended to `out` when given.
    pub fn event(
        &self,
        n: u64,
        published: i64,
        persisted: i64,
        rng: &mut Rng,
        scratch: &mut Scratch,
        out: Option<&mut Vec<u8>>,
    ) -> LogEvent {
        let state = rng.state();
        let total = self.cum.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        let ti = self
            .cum
            .partition_point(|c| *c <= x)
            .min(EVENT_TYPES.len() - 1);
        let (event_type, _, _, _, _, target_kind) = EVENT_TYPES[ti];
        let actor = rng.below(self.n_people) as u32;
        let (outcome, reason) = match event_type {
            "user.session.start" if rng.chance(0.12) => ("FAILURE", Some("INVALID_CREDENTIALS")),
            "policy.evaluate_sign_on" => ("ALLOW", None),
            "security.threat.detected" => ("DENY", Some("Password spray")),
            "user.account.lock" => ("FAILURE", Some("LOCKED_OUT")),
            _ => ("SUCCESS", None),
        };
        let mut targets = [TargetRef::None; 2];
        match target_kind {
            "app" if self.n_apps > 0 => targets[0] = TargetRef::App(rng.below(self.n_apps) as u32),
            "user" if self.n_people > 0 => {
                targets[0] = TargetRef::User(rng.below(self.n_people) as u32);
            }
            "group" if self.n_groups > 0 && self.n_people > 0 => {
                targets[0] = TargetRef::User(rng.below(self.n_people) as u32);
                targets[1] = TargetRef::Group(rng.below(self.n_groups) as u32);
            }
            _ => {}
        }
        let (agent, device) = &self.agents[rng.below(self.agents.len())];
        let geo = &self.geos[rng.below(self.geos.len())];
        scratch.ip.clear();
        let _ = if rng.chance(0.7) {
            write!(
                scratch.ip,
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        } else {
            write!(scratch.ip, "203.0.113.{}", 1 + rng.below(254))
        };
        scratch.request_id.clear();
        push_hex(&mut scratch.request_id, rng.next_u64(), 16);
        push_hex(&mut scratch.request_id, rng.next_u64(), 16);
        scratch.session.clear();
        scratch.session.push_str("idx");
        push_hex(&mut scratch.session, rng.next_u64(), 16);
        push_hex(&mut scratch.session, rng.next_u64(), 6);
        let uuid_s = event_uuid(self.seed, n, published);
        let mut uuid = [b'0'; 36];
        uuid.copy_from_slice(&uuid_s.as_bytes()[..36]);
        let event = LogEvent {
            published,
            persisted,
            uuid,
            kind: ti as u8,
            outcome,
            actor,
            targets,
            n,
            rng: state,
            custom: None,
        };
        let Some(out) = out else {
            return event;
        };
        let kind = &self.kinds[ti];
        let ip = scratch.ip.as_bytes();
        let rid = scratch.request_id.as_bytes();
        let session = scratch.session.as_bytes();

        out.extend_from_slice(b"{\"actor\":");
        out.extend_from_slice(
            self.actors
                .get(actor as usize)
                .map_or(SYSTEM_ACTOR, |a| &a[..]),
        );
        out.extend_from_slice(b",\"client\":{\"userAgent\":");
        out.extend_from_slice(agent);
        out.extend_from_slice(b",\"zone\":\"null\",\"device\":\"");
        out.extend_from_slice(device.as_bytes());
        out.extend_from_slice(b"\",\"id\":null,\"ipAddress\":\"");
        out.extend_from_slice(ip);
        out.extend_from_slice(b"\",\"geographicalContext\":");
        out.extend_from_slice(geo);
        out.extend_from_slice(b"},\"authenticationContext\":{\"authenticationProvider\":null,\"credentialProvider\":null,\"credentialType\":null,\"issuer\":null,\"interface\":null,\"authenticationStep\":0,\"rootSessionId\":\"");
        out.extend_from_slice(session);
        out.extend_from_slice(b"\",\"externalSessionId\":\"");
        out.extend_from_slice(session);
        out.extend_from_slice(b"\"},");
        out.extend_from_slice(&kind.head);
        out.extend_from_slice(b"\"outcome\":{\"result\":\"");
        out.extend_from_slice(outcome.as_bytes());
        out.extend_from_slice(b"\",\"reason\":");
        match reason {
            Some(r) => {
                out.push(b'"');
                out.extend_from_slice(r.as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"},\"published\":\"");
        out.extend_from_slice(&clock::iso_bytes(published));
        out.extend_from_slice(b"\",\"securityContext\":{\"asNumber\":394089,\"asOrg\":\"example isp\",\"isp\":\"example\",\"domain\":null,\"isProxy\":false},");
        out.extend_from_slice(&kind.severity);
        out.extend_from_slice(b"\"debugContext\":{\"debugData\":{\"requestId\":\"");
        out.extend_from_slice(rid);
        out.extend_from_slice(b"\",\"requestUri\":\"/idp/idx/authenticators/poll\",\"url\":\"/idp/idx/authenticators/poll\"}},");
        out.extend_from_slice(&kind.legacy);
        out.extend_from_slice(b"\"transaction\":{\"type\":\"WEB\",\"id\":\"");
        out.extend_from_slice(rid);
        out.extend_from_slice(b"\",\"detail\":null},\"uuid\":\"");
        out.extend_from_slice(&uuid);
        out.extend_from_slice(b"\",\"version\":\"0\",\"request\":{\"ipChain\":[{\"ip\":\"");
        out.extend_from_slice(ip);
        out.extend_from_slice(b"\",\"geographicalContext\":");
        out.extend_from_slice(geo);
        out.extend_from_slice(b",\"version\":\"V4\",\"source\":null}]},\"target\":[");
        let mut first = true;
        for t in targets {
            let f = match t {
                TargetRef::None => None,
                TargetRef::User(i) => self.user_targets.get(i as usize),
                TargetRef::App(i) => self.app_targets.get(i as usize),
                TargetRef::Group(i) => self.group_targets.get(i as usize),
            };
            if let Some(f) = f {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(f);
            }
        }
        out.extend_from_slice(b"]}");
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_valid_json_shaped_like_okta() {
        let refs = LogRefs {
            people: vec![("00uA".into(), "a\"b@example.com".into(), "A \\ B".into())],
            apps: vec![("0oaA".into(), "App".into())],
            groups: vec![("00gA".into(), "Group".into())],
        };
        let t = LogTemplates::new(1, &refs);
        let mut scratch = Scratch::default();
        let mut uuids = std::collections::HashSet::new();
        for n in 0..300 {
            let mut rng = Rng::derive(1, 2, n);
            let mut out = Vec::new();
            let e = t.event(
                n,
                1_700_000_000_123,
                1_700_000_000_200,
                &mut rng,
                &mut scratch,
                Some(&mut out),
            );
            let mut again = Vec::new();
            t.write(&e, &mut scratch, &mut again);
            assert_eq!(out, again, "regenerated JSON is identical");
            let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
            assert_eq!(v["published"], "2023-11-14T22:13:20.123Z");
            assert_eq!(v["uuid"], e.uuid());
            assert_eq!(v["eventType"], e.event_type());
            assert_eq!(v["actor"]["alternateId"], "a\"b@example.com");
            assert_eq!(v["outcome"]["result"], e.outcome);
            assert!(v["client"]["geographicalContext"]["geolocation"]["lat"].is_f64());
            assert_eq!(
                v["debugContext"]["debugData"]["requestId"],
                v["transaction"]["id"]
            );
            assert!(v["target"].is_array());
            for k in [
                "severity",
                "legacyEventType",
                "displayMessage",
                "authenticationContext",
                "securityContext",
                "request",
            ] {
                assert!(v.get(k).is_some(), "{k}");
            }
            assert!(uuids.insert(e.uuid().to_string()));
        }
    }
}
