//! Scalar newtypes shared by every record: timestamps, dates and the few loosely typed scalars.
//!
//! Okta sends timestamps as RFC 3339 strings with milliseconds (`2013-07-02T21:36:25.344Z`) and ASA
//! with nanoseconds; both are kept verbatim (no parsing, no loss) and described to Airbyte as
//! `timestamp_with_timezone`.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// An RFC 3339 timestamp as Okta sent it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub String);

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "airbyte_type": "timestamp_with_timezone"
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A calendar date (`YYYY-MM-DD`) as Okta sent it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Date(pub String);

impl JsonSchema for Date {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date"
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scalar the spec declares as a string but Okta also sends as a number (System Log `version`,
/// `postalCode`); kept as it came.
///
/// Its schema carries `airbyte_type: string`: a `["string", "number"]` union is a column type that
/// PyAirbyte cannot determine (it maps one non-null type or an `airbyte_type`), while every
/// destination stores such a union as text anyway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StringOrNumber {
    /// The documented form.
    String(String),
    /// The form seen in Okta's own examples.
    Number(serde_json::Number),
}

impl JsonSchema for StringOrNumber {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "StringOrNumber".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number"], "airbyte_type": "string" })
    }
}

impl fmt::Display for StringOrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

/// A timestamp Okta sends either as RFC 3339 or in Java's `2021-11-09 20:38:10.0` (UTC; behaviors and
/// group owners): described as `timestamp_with_timezone` without `format: date-time`, so that
/// validating consumers accept the second form too. Kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LooseTimestamp(pub String);

impl JsonSchema for LooseTimestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "LooseTimestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "airbyte_type": "timestamp_with_timezone"
        })
    }
}

impl fmt::Display for LooseTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

/// `YYYY-MM-DD?hh:mm:ss` with `sep` at `?`, the rest after it.
fn date_time_prefix<'a>(s: &'a str, seps: &[u8]) -> Option<&'a [u8]> {
    let b = s.as_bytes();
    let ok = b.len() >= 19
        && digits(&b[0..4])
        && b[4] == b'-'
        && digits(&b[5..7])
        && b[7] == b'-'
        && digits(&b[8..10])
        && seps.contains(&b[10])
        && digits(&b[11..13])
        && b[13] == b':'
        && digits(&b[14..16])
        && b[16] == b':'
        && digits(&b[17..19]);
    ok.then(|| &b[19..])
}

/// Skips a `.fraction` (at least one digit); `None` for a dot without digits.
fn skip_fraction(rest: &[u8]) -> Option<&[u8]> {
    match rest.split_first() {
        Some((b'.', tail)) => {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            (n > 0).then(|| &tail[n..])
        }
        _ => Some(rest),
    }
}

/// Whether `s` has the shape of an RFC 3339 timestamp (`2013-07-02T21:36:25.344Z`, `…+02:00`).
#[must_use]
pub fn is_rfc3339(s: &str) -> bool {
    let Some(rest) = date_time_prefix(s, b"Tt").and_then(skip_fraction) else {
        return false;
    };
    matches!(rest, [b'Z' | b'z'])
        || matches!(rest, [b'+' | b'-', h1, h2, b':', m1, m2]
            if digits(&[*h1, *h2, *m1, *m2]))
}

/// Whether `s` has the shape of Okta's Java-style timestamp (`2021-11-09 20:38:10.0`, no zone).
#[must_use]
pub fn is_okta_timestamp(s: &str) -> bool {
    date_time_prefix(s, b" ")
        .and_then(skip_fraction)
        .is_some_and(<[u8]>::is_empty)
}
