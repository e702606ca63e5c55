//! Shared building blocks of the source, the destination and the simulator: the one `Secret` type, the one
//! retry policy, the one token cache, JWT signing, logging setup, and the `main` wrapper.
//!
//! This is the bottom layer of the workspace: it depends on no other workspace crate, and knows nothing of
//! Okta, BigQuery or the Airbyte protocol.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod jwt;
pub mod log;
pub mod retry;
pub mod run;
pub mod secret;
pub mod token;

pub use retry::RetryPolicy;
pub use secret::Secret;
pub use token::TokenCache;
