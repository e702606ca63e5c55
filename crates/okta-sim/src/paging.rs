//! Paging: opaque `after` cursors, `limit` handling, `link` header URLs, and assembling a page
//! from pre-serialized objects by concatenation.
//!
//! A cursor is `base64url("v1|<kind>|<sort key>|<id>")`: it carries the last position under the
//! request's sort order, so pages stay stable while records change, and it doesn't look like an
//! offset a client could compute.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;

/// A decoded cursor: the sort key and id of the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Sort key (epoch ms for date sorts, a position for logs, 0 for id sorts).
    pub key: i64,
    /// Id (or tie-breaker) of the last item.
    pub id: String,
}

/// Encode a cursor of kind `kind` (which binds it to an endpoint and sort order).
pub fn encode(kind: &str, key: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{kind}|{key}|{id}"))
}

/// Decode a cursor, checking that it is of kind `kind`.
pub fn decode(kind: &str, s: &str) -> Option<Cursor> {
    let raw = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.splitn(4, '|');
    if parts.next()? != "v1" || parts.next()? != kind {
        return None;
    }
    let key = parts.next()?.parse().ok()?;
    let id = parts.next()?.to_string();
    Some(Cursor { key, id })
}

/// Why a `limit` value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLimit(pub String);

/// The page size for a request: `default` when absent or negative, capped at `max`; `0` is
/// allowed only when `allow_zero` (the System Log accepts `limit=0`).
pub fn limit(
    raw: Option<&str>,
    default: usize,
    max: usize,
    allow_zero: bool,
) -> Result<usize, BadLimit> {
    let Some(raw) = raw else {
        return Ok(default.min(max));
    };
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BadLimit(format!("'{raw}' is not a valid limit")))?;
    Ok(if n < 0 {
        default.min(max)
    } else if n == 0 {
        if allow_zero {
            0
        } else {
            default.min(max)
        }
    } else {
        usize::try_from(n).unwrap_or(max).min(max)
    })
}

/// Decoded query parameters, in request order.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parse a raw (percent-encoded) query string.
    pub fn parse(raw: &str) -> Self {
        Query {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether parameter `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }
}

/// The request URL as `self` link: `{base}{path}` plus `?{query}` when there is one.
pub fn self_url(base: &str, path: &str, raw_query: &str) -> String {
    if raw_query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{raw_query}")
    }
}

/// The `next` URL: the request's query with `after` replaced by `cursor` and parameters named in
/// `drop` removed; the other parameters keep their original encoding and order.
pub fn next_url(base: &str, path: &str, raw_query: &str, cursor: &str, drop: &[&str]) -> String {
    let mut q = String::with_capacity(raw_query.len() + cursor.len() + 8);
    for seg in raw_query.split('&').filter(|s| !s.is_empty()) {
        let key = seg.split('=').next().unwrap_or("");
        if key == "after" || drop.contains(&key) {
            continue;
        }
        q.push_str(seg);
        q.push('&');
    }
    q.push_str("after=");
    q.push_str(cursor);
    format!("{base}{path}?{q}")
}

/// A JSON array of pre-serialized objects.
pub fn json_array<'a>(items: impl IntoIterator<Item = &'a [u8]>, size_hint: usize) -> Bytes {
    let mut out = Vec::with_capacity(size_hint + 2);
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_kind_check() {
        let c = encode("users:lastUpdated:asc", 1_700_000_000_123, "00uABC");
        assert!(!c.chars().all(|ch| ch.is_ascii_digit()));
        assert!(!c.contains("00uABC"));
        assert_eq!(
            decode("users:lastUpdated:asc", &c),
            Some(Cursor {
                key: 1_700_000_000_123,
                id: "00uABC".into()
            })
        );
        assert_eq!(decode("users:id:asc", &c), None);
        assert_eq!(decode("users:lastUpdated:asc", "12345"), None);
        assert_eq!(decode("users:lastUpdated:asc", "%%%"), None);
        // ids containing the separator survive
        let c = encode("k", -5, "a|b");
        assert_eq!(decode("k", &c).map(|c| c.id), Some("a|b".to_string()));
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None, 200, 200, false), Ok(200));
        assert_eq!(limit(Some("500"), 200, 200, false), Ok(200));
        assert_eq!(limit(Some("7"), 200, 200, false), Ok(7));
        assert_eq!(limit(Some("-1"), 20, 200, false), Ok(20));
        assert_eq!(limit(Some("0"), 100, 1000, true), Ok(0));
        assert_eq!(limit(Some("0"), 100, 1000, false), Ok(100));
        assert!(limit(Some("ten"), 100, 1000, false).is_err());
    }

    #[test]
    fn next_url_replaces_after_and_keeps_encoding() {
        let u = next_url(
            "http://h",
            "/api/v1/users",
            "limit=2&search=status%20eq%20%22ACTIVE%22&after=old",
            "NEW",
            &[],
        );
        assert_eq!(
            u,
            "http://h/api/v1/users?limit=2&search=status%20eq%20%22ACTIVE%22&after=NEW"
        );
        let u = next_url(
            "http://h",
            "/api/v1/logs",
            "since=x&limit=5",
            "C",
            &["since"],
        );
        assert_eq!(u, "http://h/api/v1/logs?limit=5&after=C");
        assert_eq!(self_url("http://h", "/p", ""), "http://h/p");
    }

    #[test]
    fn array_assembly() {
        let items: Vec<&[u8]> = vec![b"{\"a\":1}", b"{\"b\":2}"];
        assert_eq!(&json_array(items, 16)[..], b"[{\"a\":1},{\"b\":2}]");
        assert_eq!(&json_array(Vec::<&[u8]>::new(), 0)[..], b"[]");
    }
}
