//! Okta specifics: authentication (SSWS, OAuth with DPoP), signed JWTs, and pagination.

pub mod auth;
pub mod jwt;
pub mod page;

use crate::config::Settings;
use crate::error::Result;
use crate::http::client::OktaClient;

impl OktaClient {
    /// The client of the Okta org, authenticated with the configured credentials.
    pub fn new(settings: &Settings) -> Result<Self> {
        Self::with(
            settings,
            settings.base_url.clone(),
            auth::Authenticator::new(&settings.auth, &settings.base_url)?,
        )
    }
}
