//! Okta specifics: authentication (SSWS, OAuth with DPoP), signed JWTs, and pagination.

pub mod auth;
pub mod jwt;
pub mod page;
