//! Typed incremental state: one serde struct per reader kind (entity search, group memberships, System
//! Log, ASA audits, feed-driven fan-outs), and [`Ts`], the millisecond-exact instant every cursor is made
//! of.
//!
//! The JSON each struct writes is the JSON the readers wrote by hand before (same keys, same order, same
//! `YYYY-MM-DDTHH:MM:SS.mmmZ` form), pinned by `tests/it/states.rs`; every state an earlier release
//! saved still loads. Loading is tolerant where it always was (a malformed optional part is dropped and
//! read again) and strict where it always was: an unreadable cursor is a config error naming the stream
//! and the field, and a cursor from the future is ignored with a warning.

use crate::error::{Error, Result};
use crate::streams::context::StreamRun;
use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// An instant with Okta's precision (milliseconds since the epoch, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(i64);

impl Ts {
    /// Any RFC 3339 form (`Z` or an offset, with or without fractions; fractions below the millisecond
    /// are truncated, as Okta never writes them).
    pub fn parse(s: &str) -> Option<Ts> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Ts(t.with_timezone(&Utc).timestamp_millis()))
    }

    pub fn at(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Okta's form: `2026-01-02T03:04:05.006Z`.
    pub fn format(self) -> String {
        self.at()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

impl From<DateTime<Utc>> for Ts {
    fn from(t: DateTime<Utc>) -> Self {
        Ts(t.timestamp_millis())
    }
}

impl std::fmt::Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format())
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.format())
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ts::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 timestamp")))
    }
}

/// A cursor: absent until the first value, then it only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(Option<Ts>);

impl Cursor {
    pub fn new(t: Option<Ts>) -> Self {
        Cursor(t)
    }

    pub fn get(self) -> Option<Ts> {
        self.0
    }

    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// Moves to `t` if it is later; returns whether it moved. Never goes back.
    pub fn advance(&mut self, t: Ts) -> bool {
        if self.0.is_none_or(|c| t > c) {
            self.0 = Some(t);
            true
        } else {
            false
        }
    }
}

/// A field that falls back to its default when it cannot be read (as the hand-written readers did).
fn lenient<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).unwrap_or_default())
}

/// The strings of a list, whatever else it holds.
fn strings<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// The state of a reader kind.
pub trait Saved: Serialize + DeserializeOwned + Default {
    /// The cursor field: validated strictly (an unreadable value is a config error naming it) and
    /// ignored with a warning when it lies in the future.
    /// `None`: no entity cursor (feed-driven fan-outs), every field read leniently.
    const CURSOR: Option<&'static str>;
    fn cursor_mut(&mut self) -> Option<&mut Cursor>;
}

/// Loads a stream's saved state (the default on a first sync or in full refresh).
pub fn load<S: Saved>(run: &StreamRun<'_>) -> Result<S> {
    let Some(Value::Object(m)) = run.state.as_ref().filter(|_| run.incremental()) else {
        return Ok(S::default());
    };
    let field = S::CURSOR.unwrap_or_default();
    match S::CURSOR.and_then(|f| m.get(f)) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if Ts::parse(s).is_some() => {}
        Some(Value::String(s)) => {
            return Err(Error::Input(format!(
                "the state of stream {} has an invalid {field}: {s:?}",
                run.def.name
            )))
        }
        Some(other) => {
            return Err(Error::Input(format!(
                "the state of stream {} has an invalid {field}: {other}",
                run.def.name
            )))
        }
    }
    let mut s: S = serde_json::from_value(Value::Object(m.clone())).map_err(|e| {
        Error::Input(format!(
            "the state of stream {} cannot be read: {e}",
            run.def.name
        ))
    })?;
    if let Some(cursor) = s.cursor_mut() {
        if let Some(t) = cursor.get() {
            // A cursor from the future would skip every change until then: ignore it.
            if t.at() > Utc::now() + crate::config::CLOCK_SKEW_ALLOWANCE {
                tracing::warn!(
                    stream = run.def.name,
                    cursor = %t,
                    "the saved {field} is in the future; ignoring it and reading as on a first sync"
                );
                *cursor = Cursor::default();
            }
        }
    }
    Ok(s)
}

/// The JSON of a state, as checkpointed.
pub fn to_value<S: Serialize>(s: &S) -> Value {
    // A struct of strings, timestamps and maps of strings always serialises.
    serde_json::to_value(s).unwrap_or(Value::Null)
}

/// Implements [`Saved`] for a state whose cursor is the field `$field`, saved under the key `$key`.
macro_rules! saved_with_cursor {
    ($state:ty, $key:literal, $field:ident) => {
        impl Saved for $state {
            const CURSOR: Option<&'static str> = Some($key);
            fn cursor_mut(&mut self) -> Option<&mut Cursor> {
                Some(&mut self.$field)
            }
        }
    };
}

/// Entity streams read through search (`users`, `groups`, `devices`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchState {
    #[serde(
        rename = "lastUpdated",
        default,
        skip_serializing_if = "Cursor::is_none"
    )]
    pub last_updated: Cursor,
    /// The change-feed position (an invalid one falls back to the cursor, as before).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub changes_since: Option<Ts>,
    /// Ids read within the overlap below the cursor → their `lastUpdated` exactly as Okta sent it.
    #[serde(default, deserialize_with = "lenient")]
    pub recent: BTreeMap<String, String>,
}

saved_with_cursor!(SearchState, "lastUpdated", last_updated);

/// The group being read when the state was written, and its next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InProgress {
    pub group_id: String,
    pub next: String,
}

/// `group_members`: the cursor of fully read groups, the ids read at exactly that cursor value, the
/// group being read with its next page, and the change-feed position.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MembersState {
    #[serde(default, deserialize_with = "strings")]
    pub groups_at_cursor: Vec<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub changes_since: Option<Ts>,
    #[serde(
        rename = "lastMembershipUpdated",
        default,
        skip_serializing_if = "Cursor::is_none"
    )]
    pub last_membership_updated: Cursor,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub current: Option<InProgress>,
    /// Written by the last checkpoint of a sync that read every changed group to its end: then every
    /// membership up to `changes_since` is in the destination, and the change feed alone can say
    /// what a group gained or lost since. Absent from intermediate checkpoints and older states.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "is_false"
    )]
    pub complete: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

saved_with_cursor!(
    MembersState,
    "lastMembershipUpdated",
    last_membership_updated
);

/// `system_log`: the newest `published` read and Okta's polling link to resume from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogState {
    #[serde(default, skip_serializing_if = "Cursor::is_none")]
    pub published: Cursor,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub next: Option<String>,
}

saved_with_cursor!(LogState, "published", published);

/// `asa_audits`: the newest event time and the ids seen at exactly that time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditState {
    #[serde(default, deserialize_with = "strings")]
    pub ids_at_cursor: Vec<String>,
    #[serde(default, skip_serializing_if = "Cursor::is_none")]
    pub timestamp: Cursor,
}

saved_with_cursor!(AuditState, "timestamp", timestamp);

/// Feed-driven fan-outs: the feed position up to which every change was applied, and, while a read is
/// under way, the window end it reads up to and the last parent finished in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeltaState {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub changes_since: Option<Ts>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Ts>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub done_through: Option<String>,
}

impl DeltaState {
    pub fn new(changes_since: Option<Ts>, progress: Option<(Ts, &str)>) -> Self {
        let (until, done_through) = match progress {
            Some((u, d)) => (Some(u), Some(d.to_string())),
            None => (None, None),
        };
        Self {
            changes_since,
            until,
            done_through,
        }
    }

    /// The window end of an interrupted read and the last parent finished in it (both, or nothing).
    pub fn interrupted(&self) -> Option<(Ts, String)> {
        Some((self.until?, self.done_through.clone()?))
    }
}

impl Saved for DeltaState {
    const CURSOR: Option<&'static str> = None;
    fn cursor_mut(&mut self) -> Option<&mut Cursor> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_reads_every_saved_form_and_writes_okta_s() {
        for (saved, written) in [
            ("2026-01-02T03:04:05.006Z", "2026-01-02T03:04:05.006Z"),
            ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"),
            ("2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.100Z"),
            ("2026-01-02T05:04:05.006+02:00", "2026-01-02T03:04:05.006Z"),
            ("2026-01-02T03:04:05.006999Z", "2026-01-02T03:04:05.006Z"),
            ("1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z"),
        ] {
            let t = Ts::parse(saved).unwrap_or_else(|| panic!("{saved}"));
            assert_eq!(t.format(), written);
            assert_eq!(serde_json::to_value(t).unwrap(), written);
            let back: Ts = serde_json::from_value(Value::String(written.into())).unwrap();
            assert_eq!(back, t);
        }
        for bad in ["last tuesday", "2026-01-02", "", "2026-13-02T03:04:05Z"] {
            assert!(Ts::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_never_goes_back() {
        let (a, b) = (
            Ts::parse("2026-01-02T03:04:05.006Z").unwrap(),
            Ts::parse("2026-01-02T03:04:05.007Z").unwrap(),
        );
        let mut c = Cursor::default();
        assert!(c.advance(a));
        assert!(c.advance(b));
        assert!(!c.advance(a), "one millisecond back");
        assert!(!c.advance(b), "the same instant");
        assert_eq!(c.get(), Some(b));
    }

    #[test]
    fn states_serialise_with_today_s_keys_and_order() {
        let t = Ts::parse("2026-01-02T03:04:05.006Z").unwrap();
        let s = SearchState {
            last_updated: Cursor::new(Some(t)),
            changes_since: Some(t),
            recent: [("b".to_string(), "x".to_string()), ("a".into(), "y".into())]
                .into_iter()
                .collect(),
        };
        assert_eq!(
            to_value(&s).to_string(),
            r#"{"lastUpdated":"2026-01-02T03:04:05.006Z","changes_since":"2026-01-02T03:04:05.006Z","recent":{"a":"y","b":"x"}}"#
        );
        assert_eq!(
            to_value(&SearchState::default()).to_string(),
            r#"{"recent":{}}"#
        );
        let m = MembersState {
            groups_at_cursor: vec!["g".into()],
            changes_since: Some(t),
            last_membership_updated: Cursor::new(Some(t)),
            current: Some(InProgress {
                group_id: "g".into(),
                next: "/n".into(),
            }),
            complete: false,
        };
        assert_eq!(
            to_value(&m).to_string(),
            r#"{"groups_at_cursor":["g"],"changes_since":"2026-01-02T03:04:05.006Z","lastMembershipUpdated":"2026-01-02T03:04:05.006Z","current":{"group_id":"g","next":"/n"}}"#
        );
        assert_eq!(
            to_value(&DeltaState::new(Some(t), Some((t, "p")))).to_string(),
            r#"{"changes_since":"2026-01-02T03:04:05.006Z","until":"2026-01-02T03:04:05.006Z","done_through":"p"}"#
        );
        assert_eq!(
            to_value(&AuditState::default()).to_string(),
            r#"{"ids_at_cursor":[]}"#
        );
        assert_eq!(to_value(&LogState::default()).to_string(), "{}");
    }

    #[test]
    fn malformed_optional_parts_are_dropped_as_before() {
        let m: MembersState = serde_json::from_value(serde_json::json!({
            "groups_at_cursor": ["g", 3, null], "current": {"group_id": "g"}, "changes_since": 5
        }))
        .unwrap();
        assert_eq!(m.groups_at_cursor, vec!["g".to_string()]);
        assert!(m.current.is_none() && m.changes_since.is_none());
        let d: DeltaState =
            serde_json::from_value(serde_json::json!({"until": "2026-01-02T03:04:05Z"})).unwrap();
        assert!(d.interrupted().is_none(), "until without done_through");
        let s: SearchState = serde_json::from_value(serde_json::json!({"recent": [1]})).unwrap();
        assert!(s.recent.is_empty());
    }
}
