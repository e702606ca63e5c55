//! Injected faults: errors, connection resets, delays, throttling, garbage bodies and rewritten
//! `next` links, each hitting a number of matching requests and then used up.

use std::sync::Mutex;
use std::time::Duration;

/// A fault that hits the next `times` requests matching `method` (any when `None`) and
/// `path_prefix`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// HTTP method to match (case-insensitive); `None` matches every method.
    pub method: Option<String>,
    /// The request path must start with this (the query string is not part of it).
    pub path_prefix: String,
    /// What happens to a matching request.
    pub kind: FaultKind,
    /// How many matching requests it hits before it is used up.
    pub times: usize,
}

impl Fault {
    /// A fault of `kind` on the next request whose path starts with `path_prefix`.
    pub fn new(path_prefix: impl Into<String>, kind: FaultKind) -> Self {
        Fault {
            method: None,
            path_prefix: path_prefix.into(),
            kind,
            times: 1,
        }
    }

    /// Hit `n` matching requests instead of one.
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }

    /// Match only requests with this method.
    pub fn method(mut self, m: impl Into<String>) -> Self {
        self.method = Some(m.into());
        self
    }
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this status and an Okta error body (500 → `E0000009`, 503 → `E0000100`,
    /// 403 → `E0000006`, 401 → `E0000015`, 404 → `E0000007`, 400 → `E0000001`, 429 → `E0000047`).
    Status(u16),
    /// Close the connection without any response.
    Reset,
    /// Wait, then answer normally.
    Delay(Duration),
    /// 429 `E0000047` with rate-limit headers, `X-Rate-Limit-Reset` two seconds ahead.
    RateLimited,
    /// 200 with `Content-Type: application/json` and a body that is not JSON.
    Garbage,
    /// Answer normally but with this URL as `rel="next"` (added when the page had none).
    NextLink(String),
}

/// The Okta error code and summary served for a faulted status.
pub fn status_error(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("E0000001", "Api validation failed"),
        401 => (
            "E0000015",
            "You do not have permission to access the feature you are requesting",
        ),
        403 => (
            "E0000006",
            "You do not have permission to perform the requested action",
        ),
        404 => ("E0000007", "Not found: Resource not found"),
        405 => (
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        ),
        429 => (
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        ),
        503 => (
            "E0000100",
            "Search is temporarily unavailable. Please try again later.",
        ),
        _ => ("E0000009", "Internal Server Error"),
    }
}

/// The active faults, in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Add a fault (a fault with `times == 0` never hits).
    pub fn add(&self, f: Fault) {
        if f.times == 0 {
            return;
        }
        self.lock().push(f);
    }

    /// The first fault matching this request, using up one of its hits.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut list = self.lock();
        let i = list.iter().position(|f| {
            path.starts_with(&f.path_prefix)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let kind = list[i].kind.clone();
        list[i].times -= 1;
        if list[i].times == 0 {
            list.remove(i);
        }
        Some(kind)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        match self.list.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up_in_order() {
        let f = Faults::default();
        f.add(Fault::new("/api/v1/users", FaultKind::Status(500)).times(2));
        f.add(Fault::new("/api/v1", FaultKind::Reset).method("post"));
        assert_eq!(f.take("GET", "/api/v1/groups"), None);
        assert_eq!(f.take("GET", "/api/v1/users"), Some(FaultKind::Status(500)));
        assert_eq!(f.take("POST", "/api/v1/groups"), Some(FaultKind::Reset));
        assert_eq!(f.take("POST", "/api/v1/groups"), None);
        assert_eq!(
            f.take("GET", "/api/v1/users/x"),
            Some(FaultKind::Status(500))
        );
        assert_eq!(f.take("GET", "/api/v1/users"), None);
    }
}
