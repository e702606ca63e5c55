//! Okta pagination: `Link rel="next"` headers, body `_links.next.href`, wrapped lists (`{"roles":[…]}`),
//! singletons; and the loop guard that stops on a missing `next`, `next == self`, an empty page or a
//! cursor seen before.

use crate::error::{Error, Result};
use crate::http::client::OktaClient;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use url::Url;

/// How many times a 200 answer whose body is not the JSON we expect is fetched again.
pub const MALFORMED_BODY_RETRIES: u32 = 3;
/// Hard cap on pages of one list, a last guard against a server that never stops.
pub const MAX_PAGES_PER_LIST: u64 = 10_000_000;

/// Where the records are in a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extract {
    /// The body is a JSON array of records.
    Array,
    /// The body is an object whose named field holds the array; `_links.next.href` pages it.
    Field(&'static str),
    /// The body is one record.
    Object,
}

/// One page of records, each kept as its raw JSON text.
#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub items: Vec<Box<RawValue>>,
    pub next: Option<Url>,
}

/// Fetches one page and extracts its records; a malformed body is fetched again a few times.
pub async fn fetch(client: &OktaClient, url: &Url, extract: Extract) -> Result<Page> {
    let mut attempt = 0;
    loop {
        let resp = client.get(url).await?;
        match parse(&resp.body, extract) {
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
                    internal: format!(
                        "{} bytes: {}",
                        resp.body.len(),
                        String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)])
                    ),
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
    body: &[u8],
    extract: Extract,
) -> Result<(Vec<Box<RawValue>>, Option<String>), serde_json::Error> {
    match extract {
        Extract::Array => Ok((serde_json::from_slice(body)?, None)),
        Extract::Object => {
            let one: Box<RawValue> = serde_json::from_slice(body)?;
            if !one.get().trim_start().starts_with('{') {
                return Err(serde::de::Error::custom("expected a JSON object"));
            }
            Ok((vec![one], None))
        }
        Extract::Field(name) => {
            let mut map: HashMap<String, Box<RawValue>> = serde_json::from_slice(body)?;
            let items = match map.remove(name) {
                Some(raw) if raw.get() == "null" => Vec::new(),
                Some(raw) => serde_json::from_str(raw.get())?,
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
            Ok((items, next))
        }
    }
}

/// Walks the pages of one list, guarding against loops.
pub struct Pager {
    next: Option<Url>,
    extract: Extract,
    seen: HashSet<String>,
    pages: u64,
}

impl Pager {
    pub fn new(first: Url, extract: Extract) -> Self {
        Self {
            next: Some(first),
            extract,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// The next page, or `None` once the list is done.
    pub async fn next_page(&mut self, client: &OktaClient) -> Result<Option<Page>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if self.pages >= MAX_PAGES_PER_LIST {
            return Err(Error::Api {
                path: url.path().into(),
                message: format!("more than {MAX_PAGES_PER_LIST} pages; stopping"),
                internal: String::new(),
            });
        }
        self.seen.insert(url.as_str().to_string());
        let page = fetch(client, &url, self.extract).await?;
        self.pages += 1;
        self.next = match &page.next {
            _ if page.items.is_empty() => None,
            Some(n) if n == &url => None,
            Some(n) if self.seen.contains(n.as_str()) => {
                tracing::warn!(
                    path = url.path(),
                    "Okta handed out a next link seen before; stopping this list"
                );
                None
            }
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

    #[test]
    fn extracts_each_shape() {
        let (items, next) = parse(br#"[{"id":"1"},{"id":"2"}]"#, Extract::Array).unwrap();
        assert_eq!((items.len(), next), (2, None));
        let (items, next) = parse(
            br#"{"roles":[{"id":"r"}],"_links":{"next":{"href":"/api/v1/iam/roles?after=r"}}}"#,
            Extract::Field("roles"),
        )
        .unwrap();
        assert_eq!(items[0].get(), r#"{"id":"r"}"#);
        assert_eq!(next.as_deref(), Some("/api/v1/iam/roles?after=r"));
        let (items, _) = parse(br#"{"id":"org"}"#, Extract::Object).unwrap();
        assert_eq!(items.len(), 1);
        assert!(parse(b"<html>", Extract::Array).is_err());
        assert!(parse(br#"{"other":[]}"#, Extract::Field("roles")).is_err());
        assert!(parse(br#"[1]"#, Extract::Object).is_err());
    }
}
