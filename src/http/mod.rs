//! HTTP: the one paced, retrying client, `Link` header parsing, and rate-limit pacing.

pub mod client;
pub mod link;
pub mod pacing;
