//! RECORD messages written without re-encoding the record: the record's JSON text (a span of the page
//! Okta sent) is spliced between an envelope head and tail that this module builds, so a record is parsed
//! once by the reader and never serialised again. Columns the connector adds (a parent id) are spliced in
//! front of the record's own keys.
//!
//! The bytes are exactly what `serde_json` would print for the typed [`crate::AirbyteMessage::Record`] and
//! [`crate::singer::SingerMessage::Record`] (the tests parse them back into those types).

use serde_json::{Map, Value};

/// One record as raw JSON text: the object `raw`, and optionally key/value pairs to put in front of its
/// own keys (`prefix`, e.g. `"app_id":"0oa1"`, already encoded).
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    pub raw: &'a str,
    pub prefix: Option<&'a str>,
}

impl<'a> RawRecord<'a> {
    /// The pieces of the record's object text, in order (no copy of the record itself).
    pub(crate) fn parts(self) -> [&'a [u8]; 4] {
        let raw = self.raw.trim();
        match self.prefix {
            None => [raw.as_bytes(), b"", b"", b""],
            Some(prefix) => {
                let body = raw.strip_prefix('{').unwrap_or(raw);
                let sep: &[u8] = if body.trim_start().starts_with('}') {
                    b""
                } else {
                    b","
                };
                [b"{", prefix.as_bytes(), sep, body.as_bytes()]
            }
        }
    }

    /// The record (with its spliced-in columns) as an object, for rewriting it.
    pub fn to_object(self) -> serde_json::Result<Map<String, Value>> {
        match self.prefix {
            None => serde_json::from_str(self.raw),
            Some(_) => {
                let mut text = Vec::with_capacity(self.raw.len() + 64);
                for p in self.parts() {
                    text.extend_from_slice(p);
                }
                serde_json::from_slice(&text)
            }
        }
    }
}

/// The bytes around a record's data: built once per batch of one stream, reused for every record.
#[derive(Debug, Clone)]
pub struct RecordEnvelope {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl RecordEnvelope {
    /// `{"type":"RECORD","record":{"stream":…,"data":<record>,"emitted_at":…}}`
    pub fn airbyte(stream: &str, emitted_at: i64) -> Self {
        let mut head = br#"{"type":"RECORD","record":{"stream":"#.to_vec();
        push_json_str(&mut head, stream);
        head.extend_from_slice(br#","data":"#);
        Self {
            head,
            tail: format!(",\"emitted_at\":{emitted_at}}}}}").into_bytes(),
        }
    }

    /// `{"type":"RECORD","stream":…,"record":<record>[,"version":…],"time_extracted":…}`
    pub fn singer(stream: &str, version: Option<i64>, time_extracted: &str) -> Self {
        let mut head = br#"{"type":"RECORD","stream":"#.to_vec();
        push_json_str(&mut head, stream);
        head.extend_from_slice(br#","record":"#);
        let mut tail = Vec::new();
        if let Some(v) = version {
            tail.extend_from_slice(format!(",\"version\":{v}").as_bytes());
        }
        tail.extend_from_slice(br#","time_extracted":"#);
        push_json_str(&mut tail, time_extracted);
        tail.push(b'}');
        Self { head, tail }
    }

    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    pub(crate) fn tail(&self) -> &[u8] {
        &self.tail
    }
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Encoding a `str` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::singer::SingerMessage;
    use crate::{AirbyteMessage, MessageWriter, RecordMessage};
    use serde_json::json;

    fn line(env: &RecordEnvelope, rec: RawRecord<'_>) -> String {
        let mut w = MessageWriter::new(Vec::new());
        w.write_record(env, rec).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        text.trim_end_matches('\n').to_string()
    }

    const ODD_NAME: &str = "us\"ers\\\u{e9}";

    #[test]
    fn airbyte_records_round_trip_and_match_serde_bytes() {
        let env = RecordEnvelope::airbyte(ODD_NAME, 1_700_000_000_123);
        let cases = [
            (
                r#"{"id":"00u1","profile":{"a":[1,2]}}"#,
                None,
                json!({"id":"00u1","profile":{"a":[1,2]}}),
            ),
            (
                r#"  {"id":"00u1"} "#,
                Some(r#""app_id":"0oa1""#),
                json!({"app_id":"0oa1","id":"00u1"}),
            ),
            ("{}", Some(r#""app_id":"0oa2""#), json!({"app_id":"0oa2"})),
            ("{ }", Some(r#""app_id":"0oa3""#), json!({"app_id":"0oa3"})),
        ];
        for (raw, prefix, data) in cases {
            let text = line(&env, RawRecord { raw, prefix });
            let typed = AirbyteMessage::Record {
                record: RecordMessage {
                    stream: ODD_NAME.into(),
                    namespace: None,
                    data: data.clone(),
                    emitted_at: 1_700_000_000_123,
                },
            };
            let back: AirbyteMessage = serde_json::from_str(&text).unwrap();
            assert_eq!(back, typed, "{text}");
            if raw.trim() == serde_json::to_string(&data).unwrap() {
                // Without splicing, the bytes are serde's own.
                assert_eq!(text, serde_json::to_string(&typed).unwrap());
            }
            assert_eq!(
                RawRecord { raw, prefix }.to_object().unwrap(),
                *data.as_object().unwrap()
            );
        }
    }

    #[test]
    fn singer_records_round_trip_and_match_serde_bytes() {
        for version in [None, Some(1_700_000_000_000)] {
            let env = RecordEnvelope::singer(ODD_NAME, version, "2024-01-01T00:00:00.000Z");
            let raw = r#"{"id":"1","n":null}"#;
            let text = line(&env, RawRecord { raw, prefix: None });
            let typed = SingerMessage::Record {
                stream: ODD_NAME.into(),
                record: json!({"id":"1","n":null}),
                version,
                time_extracted: Some("2024-01-01T00:00:00.000Z".into()),
            };
            assert_eq!(serde_json::from_str::<SingerMessage>(&text).unwrap(), typed);
            assert_eq!(text, serde_json::to_string(&typed).unwrap());
            let spliced = line(
                &env,
                RawRecord {
                    raw,
                    prefix: Some(r#""group_id":"g""#),
                },
            );
            let SingerMessage::Record { record, .. } = serde_json::from_str(&spliced).unwrap()
            else {
                panic!("{spliced}")
            };
            assert_eq!(record, json!({"group_id":"g","id":"1","n":null}));
        }
    }
}
