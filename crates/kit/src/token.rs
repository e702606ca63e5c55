//! The one token cache: an access token kept until a margin before it expires, fetched by one caller at a
//! time however many requests need it at once.

use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A cached value with an expiry. The lock is held while fetching, so concurrent callers wait for the one
/// fetch instead of each starting their own.
pub struct TokenCache<T> {
    margin: Duration,
    slot: Mutex<Option<(T, Instant)>>,
}

impl<T: Clone> TokenCache<T> {
    /// A cache renewing its token `margin` before it expires.
    pub fn new(margin: Duration) -> Self {
        Self {
            margin,
            slot: Mutex::new(None),
        }
    }

    /// The cached token while it has more than the margin left; otherwise the one `fetch` returns
    /// (a token and how long it is valid), which is then cached.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Duration), E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((token, expires_at)) = slot.as_ref() {
            if Instant::now() + self.margin < *expires_at {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = fetch().await?;
        let expires_at = Instant::now()
            .checked_add(lifetime)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        *slot = Some((token.clone(), expires_at));
        Ok(token)
    }

    /// Forgets the cached token (after the server rejected it), so the next `get` fetches a new one.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn one_fetch_under_concurrency_and_renewal_before_expiry() {
        let cache = Arc::new(TokenCache::<String>::new(Duration::from_secs(300)));
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        let n = fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>((format!("t{n}"), Duration::from_secs(3600)))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok("t0".to_string()));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // A token inside the margin is renewed; an invalidated one too.
        let short = TokenCache::<u32>::new(Duration::from_secs(300));
        let got = short
            .get(|| async { Ok::<_, ()>((1, Duration::from_secs(200))) })
            .await;
        assert_eq!(got, Ok(1));
        let got = short
            .get(|| async { Ok::<_, ()>((2, Duration::from_secs(3600))) })
            .await;
        assert_eq!(got, Ok(2));
        let got = short
            .get(|| async { Ok::<_, ()>((3, Duration::from_secs(3600))) })
            .await;
        assert_eq!(got, Ok(2));
        short.invalidate().await;
        let got = short
            .get(|| async { Ok::<_, ()>((4, Duration::from_secs(3600))) })
            .await;
        assert_eq!(got, Ok(4));
        let failed = short.get(|| async { Err::<(u32, Duration), _>("down") });
        assert_eq!(failed.await, Ok(4));
    }
}
