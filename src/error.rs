//! The connector's error type: every fatal condition, its category, and the words the user sees.
//!
//! Each category maps straight onto Airbyte's `failure_type`: bad config or credentials are
//! `config_error`, retryable conditions that ran out of retries are `transient_error`, the rest
//! `system_error`.

use airbyte_protocol::FailureType;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is unreadable, malformed, or describes something impossible.
    #[error("{0}")]
    Config(String),

    /// A catalog or state file given on the command line is unreadable or invalid.
    #[error("{0}")]
    Input(String),

    /// Okta rejected the credentials (revoked or expired token, bad client assertion).
    #[error("Okta rejected the credentials: {message}")]
    Auth { message: String, internal: String },

    /// The credentials are valid but lack a scope or role for this endpoint, or the org lacks the feature.
    #[error("no access to {path}: {message}")]
    Forbidden {
        path: String,
        message: String,
        internal: String,
    },

    /// The endpoint does not exist in this org (404/410 for the whole collection).
    #[error("{path} is not available in this org: {message}")]
    NotFound {
        path: String,
        message: String,
        internal: String,
    },

    /// Retries ran out on a condition that may pass (5xx, timeouts, resets, rate limits).
    #[error("gave up on {path} after {attempts} attempts over {elapsed_secs}s: {last}")]
    Exhausted {
        path: String,
        attempts: u32,
        elapsed_secs: u64,
        last: String,
    },

    /// Okta answered something we cannot use (a 400, a body that is not what the API documents).
    #[error("unexpected answer from Okta for {path}: {message}")]
    Api {
        path: String,
        message: String,
        internal: String,
    },

    /// A `next` link pointed at another origin; following it would send the token elsewhere.
    #[error("Okta returned a next link to another origin ({origin}); refusing to send credentials there")]
    ForeignLink { origin: String },

    /// stdout was closed by the reader: end quietly.
    #[error("stdout closed")]
    OutputClosed,

    #[error("cannot write output: {0}")]
    Output(String),
}

impl Error {
    pub fn failure_type(&self) -> FailureType {
        match self {
            Error::Config(_) | Error::Input(_) | Error::Auth { .. } | Error::Forbidden { .. } => {
                FailureType::ConfigError
            }
            Error::Exhausted { .. } => FailureType::TransientError,
            _ => FailureType::SystemError,
        }
    }

    /// A one-line message for people: what went wrong and what to do.
    pub fn user_message(&self) -> String {
        match self {
            Error::Auth { message, .. } => format!(
                "Okta rejected the credentials ({message}). Check that the API token or OAuth app is still \
                 valid (SSWS tokens expire after 30 days without use and are revoked with their creator) and \
                 update the configuration."
            ),
            Error::Forbidden { path, message, .. } => format!(
                "The credentials may not read {path} ({message}). Grant the okta.*.read scope and a read-only \
                 admin role to the token's owner or OAuth app."
            ),
            Error::Exhausted { .. } => format!("Okta did not answer successfully in time: {self}. Try again later."),
            other => other.to_string(),
        }
    }

    /// Details for the maintainers (request ids, raw error bodies with secrets removed).
    pub fn internal_message(&self) -> String {
        match self {
            Error::Auth { internal, .. }
            | Error::Forbidden { internal, .. }
            | Error::NotFound { internal, .. } => internal.clone(),
            Error::Api { internal, .. } => internal.clone(),
            other => format!("{other:?}"),
        }
    }

    /// Whether this error means "this stream cannot be read in this org" rather than "the sync failed".
    pub fn is_stream_unavailable(&self) -> bool {
        matches!(self, Error::Forbidden { .. } | Error::NotFound { .. })
    }
}

impl From<airbyte_protocol::WriteError> for Error {
    fn from(e: airbyte_protocol::WriteError) -> Self {
        match e {
            airbyte_protocol::WriteError::Closed => Error::OutputClosed,
            other => Error::Output(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
