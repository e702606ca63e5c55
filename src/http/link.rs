//! RFC 8288 `Link` header parsing: finds `rel="next"` across several header lines or one comma-joined line.

use reqwest::header::HeaderMap;
use url::Url;

/// The `rel="next"` target of a response, resolved against the request URL.
pub fn next_link(headers: &HeaderMap, request_url: &Url) -> Option<Url> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_links)
        .find_map(|(target, params)| {
            has_rel(params, "next")
                .then(|| request_url.join(target).ok())
                .flatten()
        })
}

/// Splits one header value into `(target, params)` entries on commas outside `<…>` and quotes.
fn split_links(value: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' if !quoted => depth += 1,
            b'>' if !quoted => depth = depth.saturating_sub(1),
            b'"' => quoted = !quoted,
            b',' if depth == 0 && !quoted => {
                out.extend(parse_entry(&value[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(parse_entry(&value[start..]));
    out
}

fn parse_entry(entry: &str) -> Option<(&str, &str)> {
    let entry = entry.trim();
    let open = entry.find('<')?;
    let close = entry[open..].find('>')? + open;
    Some((entry[open + 1..close].trim(), &entry[close + 1..]))
}

fn has_rel(params: &str, rel: &str) -> bool {
    params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .any(|(k, v)| {
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(rel))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LINK};

    fn url() -> Url {
        Url::parse("https://acme.okta.com/api/v1/users?limit=200").unwrap()
    }

    #[test]
    fn separate_lines() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\"",
            ),
        );
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h, &url()).unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?after=00u1&limit=200"
        );
    }

    #[test]
    fn one_joined_line_and_commas_inside_urls() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static("<https://a.okta.com/x?f=a,b>; rel=\"self\", <https://a.okta.com/x?after=2&f=a,b>; rel=next"),
        );
        assert_eq!(
            next_link(&h, &url()).unwrap().as_str(),
            "https://a.okta.com/x?after=2&f=a,b"
        );
    }

    #[test]
    fn no_next_and_relative_targets() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static("<https://acme.okta.com/api/v1/users>; rel=\"self\""),
        );
        assert!(next_link(&h, &url()).is_none());
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static("</api/v1/users?after=9>; rel=\"next prev\""),
        );
        assert_eq!(
            next_link(&h, &url()).unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?after=9"
        );
    }
}
