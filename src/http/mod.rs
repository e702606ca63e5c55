//! HTTP: the one paced, retrying client, `Link` header parsing, rate-limit pacing and URL helpers. The
//! transport knows nothing of Okta's credentials: it asks a [`RequestAuth`] for each request's headers.

pub mod client;
pub mod link;
pub mod pacing;
pub mod url;

use crate::error::Result;
use futures_util::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};

/// The headers that authenticate one request.
pub type AuthHeaders = Vec<(HeaderName, HeaderValue)>;

/// Adds credentials to the client's requests.
pub trait RequestAuth: Send + Sync {
    /// The headers for one request of `method` to `url` (may fetch a token through `http`).
    fn headers<'a>(
        &'a self,
        http: &'a reqwest::Client,
        method: &'a str,
        url: &'a ::url::Url,
    ) -> BoxFuture<'a, Result<AuthHeaders>>;

    /// Forgets a cached token after the server rejected it, so the next request gets a new one.
    /// Returns false when there is nothing to renew: the rejection is final.
    fn invalidate(&self) -> BoxFuture<'_, bool>;
}
