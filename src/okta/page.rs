//! Okta pagination: `Link rel="next"` headers, body `_links.next.href`, wrapped lists (`{"roles":[…]}`),
//! singletons; and the loop guard: a list ends on a missing `next`, `next == self` or an empty page, and
//! fails after a few pages in a row that add no new record or hand out a cursor seen before.

use crate::error::{Error, Result};
use crate::http::client::OktaClient;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::ops::Range;
use url::Url;

/// How many times a 200 answer whose body is not the JSON we expect is fetched again.
pub const MALFORMED_BODY_RETRIES: u32 = 3;
/// Hard cap on pages of one list, a last guard against a server that never stops.
pub const MAX_PAGES_PER_LIST: u64 = 10_000_000;
/// Pages in a row that add no new record (or repeat a cursor) before a list fails as making no progress.
pub const NO_PROGRESS_LIMIT: u32 = 3;
/// Record keys remembered per list (as 64-bit hashes); past it the memory starts over, so a list of
/// millions stays within a few tens of MB and a short cycle is still caught.
pub const KEY_MEMORY: usize = 1 << 21;

pub use okta_manifest::Extract;

/// One page of records, each kept as its raw JSON text.
#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub items: Items,
    pub next: Option<Url>,
}

/// Fetches one page and extracts its records; a malformed body is fetched again a few times.
pub async fn fetch(client: &OktaClient, url: &Url, extract: Extract) -> Result<Page> {
    let mut attempt = 0;
    loop {
        let resp = client.get(url).await?;
        let size = resp.body.len();
        let preview = String::from_utf8_lossy(&resp.body[..size.min(200)]).into_owned();
        match parse(resp.body, extract) {
            Ok((items, body_next)) => {
                let next = match (resp.next, body_next) {
                    (Some(n), _) => Some(n),
                    (None, Some(href)) => {
                        let n = url.join(&href).map_err(|e| Error::Api {
                            path: url.path().into(),
                            message: format!("bad _links.next.href: {e}"),
                            internal: href.clone(),
                        })?;
                        client.check_origin(&n)?;
                        Some(n)
                    }
                    (None, None) => None,
                };
                return Ok(Page {
                    url: url.clone(),
                    items,
                    next,
                });
            }
            Err(e) if attempt < MALFORMED_BODY_RETRIES => {
                attempt += 1;
                let delay = client.backoff(attempt);
                tracing::warn!(path = url.path(), attempt, error = %e, "Okta answered 200 with a body that is not the expected JSON; fetching again");
                tokio::time::sleep(delay).await;
            }
            Err(e) => {
                return Err(Error::Api {
                    path: url.path().into(),
                    message: format!("the response body is not the expected JSON ({e})"),
                    internal: format!("{size} bytes: {preview}"),
                })
            }
        }
    }
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<Href>,
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

/// Splits a body into raw records and the body's own next link, if any.
pub fn parse(
    body: bytes::Bytes,
    extract: Extract,
) -> Result<(Items, Option<String>), serde_json::Error> {
    // One buffer per page; records are spans of it (no copy, no allocation per record).
    let text = String::from_utf8(Vec::from(body))
        .map_err(|e| serde::de::Error::custom(format!("not UTF-8: {e}")))?;
    let base = text.as_ptr() as usize;
    let span = |raw: &RawValue| {
        let start = raw.get().as_ptr() as usize - base;
        start..start + raw.get().len()
    };
    let (spans, next) = match extract {
        Extract::Array => {
            let items: Vec<&RawValue> = serde_json::from_str(&text)?;
            (items.into_iter().map(span).collect(), None)
        }
        Extract::Object => {
            let one: &RawValue = serde_json::from_str(&text)?;
            if !one.get().trim_start().starts_with('{') {
                return Err(serde::de::Error::custom("expected a JSON object"));
            }
            (vec![span(one)], None)
        }
        Extract::Field(name) => {
            let mut map: HashMap<&str, &RawValue> = serde_json::from_str(&text)?;
            let spans: Vec<Range<usize>> = match map.remove(name) {
                Some(raw) if raw.get() == "null" => Vec::new(),
                Some(raw) => serde_json::from_str::<Vec<&RawValue>>(raw.get())?
                    .into_iter()
                    .map(span)
                    .collect(),
                None => {
                    return Err(serde::de::Error::custom(format!(
                        "no `{name}` array in the body"
                    )))
                }
            };
            let next = match map.remove("_links") {
                Some(raw) => serde_json::from_str::<Option<Links>>(raw.get())?
                    .and_then(|l| l.next)
                    .map(|h| h.href),
                None => None,
            };
            (spans, next)
        }
    };
    Ok((Items { text, spans }, next))
}

/// The records of a page: one JSON text and the span of each record in it.
#[derive(Debug, Default)]
pub struct Items {
    text: String,
    spans: Vec<Range<usize>>,
}

/// One record of a page, as raw JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a>(&'a str);

impl<'a> Item<'a> {
    pub fn get(&self) -> &'a str {
        self.0
    }
}

impl Items {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn iter(&self) -> ItemsIter<'_> {
        ItemsIter {
            text: &self.text,
            spans: self.spans.iter(),
        }
    }

    pub fn first(&self) -> Option<Item<'_>> {
        self.iter().next()
    }

    /// The whole response body the records were taken from (for page-level fields such as ASA's
    /// `related_objects`).
    pub fn body(&self) -> &str {
        &self.text
    }
}

pub struct ItemsIter<'a> {
    text: &'a str,
    spans: std::slice::Iter<'a, Range<usize>>,
}

impl<'a> Iterator for ItemsIter<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        self.spans.next().map(|r| Item(&self.text[r.clone()]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for ItemsIter<'_> {}

impl<'a> IntoIterator for &'a Items {
    type Item = Item<'a>;
    type IntoIter = ItemsIter<'a>;

    fn into_iter(self) -> ItemsIter<'a> {
        self.iter()
    }
}

/// The key of a record for the progress check: its `id` when it has a string one, else its whole text.
fn record_key(raw: &str) -> u64 {
    #[derive(Deserialize)]
    struct KeyProbe<'a> {
        #[serde(borrow, default)]
        id: Option<Cow<'a, str>>,
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match serde_json::from_str::<KeyProbe<'_>>(raw) {
        Ok(KeyProbe { id: Some(id) }) => id.hash(&mut h),
        _ => raw.hash(&mut h),
    }
    h.finish()
}

/// Remembers the records and cursors of one list, and says when pages stop bringing anything new.
#[derive(Default)]
pub struct Progress {
    keys: HashSet<u64>,
    cursors: HashSet<String>,
    stalled: u32,
}

impl Progress {
    /// Notes a page; fails once [`NO_PROGRESS_LIMIT`] pages in a row added no new record or handed out
    /// a cursor seen before.
    pub fn note<'a>(
        &mut self,
        url: &Url,
        items: impl IntoIterator<Item = &'a str>,
        next: Option<&Url>,
    ) -> Result<()> {
        self.cursors.insert(url.as_str().to_string());
        if self.keys.len() > KEY_MEMORY {
            self.keys.clear();
        }
        let (mut any, mut fresh) = (false, false);
        for raw in items {
            any = true;
            fresh |= self.keys.insert(record_key(raw));
        }
        let repeated = next.is_some_and(|n| n != url && self.cursors.contains(n.as_str()));
        if !any {
            return Ok(());
        }
        if fresh && !repeated {
            self.stalled = 0;
            return Ok(());
        }
        self.stalled += 1;
        let why = if repeated {
            "a next link seen before"
        } else {
            "only records already read"
        };
        tracing::warn!(
            path = url.path(),
            pages = self.stalled,
            "Okta answered a page with {why}"
        );
        if self.stalled >= NO_PROGRESS_LIMIT {
            return Err(Error::NoProgress {
                path: url.path().to_string(),
                reason: format!(
                    "{} pages in a row brought {why}; stopping rather than looping forever",
                    self.stalled
                ),
            });
        }
        Ok(())
    }
}

/// Walks the pages of one list, guarding against loops.
pub struct Pager {
    next: Option<Url>,
    extract: Extract,
    progress: Progress,
    pages: u64,
}

impl Pager {
    pub fn new(first: Url, extract: Extract) -> Self {
        Self {
            next: Some(first),
            extract,
            progress: Progress::default(),
            pages: 0,
        }
    }

    /// The pager of a list whose first page was fetched elsewhere (prefetched), continuing after it.
    pub fn after(first: &Page, extract: Extract) -> Result<Self> {
        let mut progress = Progress::default();
        progress.note(
            &first.url,
            first.items.iter().map(|i| i.get()),
            first.next.as_ref(),
        )?;
        let next = match &first.next {
            _ if first.items.is_empty() => None,
            Some(n) if n == &first.url => None,
            other => other.clone(),
        };
        Ok(Self {
            next,
            extract,
            progress,
            pages: 1,
        })
    }

    /// The next page, or `None` once the list is done.
    pub async fn next_page(&mut self, client: &OktaClient) -> Result<Option<Page>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if self.pages >= MAX_PAGES_PER_LIST {
            return Err(Error::NoProgress {
                path: url.path().into(),
                reason: format!("more than {MAX_PAGES_PER_LIST} pages"),
            });
        }
        let page = fetch(client, &url, self.extract).await?;
        self.pages += 1;
        self.progress
            .note(&url, page.items.iter().map(|i| i.get()), page.next.as_ref())?;
        self.next = match &page.next {
            _ if page.items.is_empty() => None,
            Some(n) if n == &url => None,
            other => other.clone(),
        };
        Ok(Some(page))
    }

    /// The URL that would be fetched next (for resumable state).
    pub fn pending(&self) -> Option<&Url> {
        self.next.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> bytes::Bytes {
        bytes::Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn extracts_each_shape() {
        let (items, next) = parse(b(r#"[{"id":"1"},{"id":"2"}]"#), Extract::Array).unwrap();
        assert_eq!((items.len(), next), (2, None));
        let (items, next) = parse(
            b(r#"{"roles":[{"id":"r"}],"_links":{"next":{"href":"/api/v1/iam/roles?after=r"}}}"#),
            Extract::Field("roles"),
        )
        .unwrap();
        assert_eq!(items.first().unwrap().get(), r#"{"id":"r"}"#);
        assert_eq!(next.as_deref(), Some("/api/v1/iam/roles?after=r"));
        let (items, _) = parse(b(r#"{"id":"org"}"#), Extract::Object).unwrap();
        assert_eq!(items.len(), 1);
        assert!(parse(b("<html>"), Extract::Array).is_err());
        assert!(parse(b(r#"{"other":[]}"#), Extract::Field("roles")).is_err());
        assert!(parse(b(r#"[1]"#), Extract::Object).is_err());
    }

    #[test]
    fn pages_without_progress_fail_after_a_few() {
        let u =
            |s: &str| Url::parse(&format!("https://acme.okta.com/api/v1/users?after={s}")).unwrap();
        let mut p = Progress::default();
        p.note(&u("0"), [r#"{"id":"a"}"#, r#"{"id":"b"}"#], Some(&u("1")))
            .unwrap();
        // Same records under new cursors: two are tolerated, the third fails.
        p.note(&u("1"), [r#"{"id":"a"}"#], Some(&u("2"))).unwrap();
        p.note(&u("2"), [r#"{"id":"b"}"#], Some(&u("3"))).unwrap();
        let err = p
            .note(&u("3"), [r#"{"id":"a"}"#], Some(&u("4")))
            .unwrap_err();
        assert!(matches!(err, Error::NoProgress { .. }), "{err}");
        // A new record resets the count; a cursor seen before counts as no progress.
        let mut p = Progress::default();
        p.note(&u("0"), [r#"{"id":"a"}"#], Some(&u("1"))).unwrap();
        p.note(&u("1"), [r#"{"id":"b"}"#], Some(&u("0"))).unwrap();
        p.note(&u("0"), [r#"{"id":"a"}"#], Some(&u("1"))).unwrap();
        assert!(p.note(&u("1"), [r#"{"id":"b"}"#], Some(&u("0"))).is_err());
    }
}
