//! The connector's error type: every fatal condition as a typed variant with its fields, its category,
//! and the words the user sees.
//!
//! Each category maps straight onto Airbyte's `failure_type` in one place, [`Error::failure_type`]: bad
//! config or credentials are `config_error`, retryable conditions that ran out of retries are
//! `transient_error`, the rest `system_error`. Decisions are taken on variants and fields (the HTTP
//! status, Okta's `errorCode`), never on message text.

use airbyte_protocol::FailureType;
use std::fmt;

/// An Okta API answer that was not a success: what the maintainers need to find it in Okta's logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// Okta's `errorCode` (`E0000006`, …), when the body had one.
    pub code: Option<String>,
    pub method: &'static str,
    /// The request path (no query: it may hold filters with customer data).
    pub path: String,
    /// `X-Okta-Request-Id`.
    pub request_id: Option<String>,
    /// Okta's `errorSummary` and `errorCauses`, or that there was no error body.
    pub detail: String,
}

impl fmt::Display for ApiResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} on {} {} (request id {}): {}",
            self.status,
            self.method,
            self.path,
            self.request_id.as_deref().unwrap_or("-"),
            self.detail
        )
    }
}

impl std::error::Error for ApiResponse {}

/// What the last attempt of a retried request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// No connection could be made.
    Connect,
    /// The request timed out.
    Timeout,
    /// The request failed without an answer (reset, protocol error).
    Request,
    /// The answer's body could not be read.
    Body,
    /// A retryable status (408, 5xx).
    Status(u16),
    /// 429 every time.
    RateLimited,
    /// An OAuth or ASA token request failed without an answer.
    TokenRequest,
}

impl Transient {
    /// True when the host never answered at all (the address may be wrong or unreachable from here).
    pub fn is_no_answer(self) -> bool {
        matches!(
            self,
            Transient::Connect | Transient::Timeout | Transient::Request
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is unreadable, malformed, or describes something impossible.
    #[error("{0}")]
    Config(String),

    /// The config file cannot be read at all (missing, unreadable): not a check's failed status but fatal.
    #[error("cannot read the config file {}: {source}", path.display())]
    ConfigUnreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

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
        #[source]
        response: Box<ApiResponse>,
    },

    /// The org lacks the feature behind this endpoint (401 `E0000015`): there is nothing to read.
    #[error("{path} needs a feature this org does not have: {message}")]
    FeatureDisabled {
        path: String,
        message: String,
        #[source]
        response: Box<ApiResponse>,
    },

    /// A child stream's parent list could not be read (completely), so the child cannot be complete.
    #[error("its parent list {parent} could not be read completely: {source}")]
    ParentUnavailable {
        parent: &'static str,
        #[source]
        source: Box<Error>,
    },

    /// The stream was read except for parts the credentials or the org do not allow; its records are
    /// emitted but it is not complete.
    #[error("{0}")]
    Partial(String),

    /// Not one selected stream could be read: the credentials or the address are wrong for all of them.
    #[error("no selected stream could be read ({count} skipped); the first reason: {first}")]
    NothingReadable { count: usize, first: String },

    /// The host cannot be reached at all (no such name, an untrusted or wrong certificate): retrying
    /// cannot help, the configuration must change.
    #[error("cannot connect to {host}: {reason}")]
    Unreachable {
        host: String,
        reason: String,
        hint: String,
    },

    /// Okta asked for a longer wait than the configuration allows.
    #[error("Okta asked to wait {asked_secs}s for the rate-limit window of {bucket} ({path}) to reset, more than max_rate_limit_wait_seconds ({max_secs}s)")]
    RateLimitWait {
        path: String,
        bucket: &'static str,
        asked_secs: u64,
        max_secs: u64,
    },

    /// A response body grew past the configured cap (`max_response_mb`), compressed or not.
    #[error("the response for {path} is larger than max_response_mb ({limit_mb} MB); stopped reading it")]
    TooLarge { path: String, limit_mb: u64 },

    /// A list kept answering pages that add nothing new: a server bug or a hostile server.
    #[error("pagination of {path} made no progress: {reason}")]
    NoProgress { path: String, reason: String },

    /// The endpoint does not exist in this org (404/410 for the whole collection).
    #[error("{path} is not available in this org: {message}")]
    NotFound {
        path: String,
        message: String,
        #[source]
        response: Box<ApiResponse>,
    },

    /// Retries ran out on a condition that may pass (5xx, timeouts, resets, rate limits).
    #[error("gave up on {path} after {attempts} attempts over {elapsed_secs}s: {last}")]
    Exhausted {
        path: String,
        attempts: u32,
        elapsed_secs: u64,
        /// What the last attempt ran into, in words.
        last: String,
        /// What the last attempt ran into, as a type.
        kind: Transient,
    },

    /// Okta refused the request with a status that is neither retried nor one of the above (a 400).
    #[error("unexpected answer from Okta for {path}: {message}")]
    Rejected {
        path: String,
        message: String,
        #[source]
        response: Box<ApiResponse>,
    },

    /// Okta answered something we cannot use (a body that is not what the API documents).
    #[error("unexpected answer from Okta for {path}: {message}")]
    Api {
        path: String,
        message: String,
        internal: String,
    },

    /// A `next` link or a redirect pointed at another origin; following it would send the token (or
    /// take records) elsewhere.
    #[error("Okta returned a {kind} to another origin ({origin}); refusing to follow it")]
    ForeignLink { kind: &'static str, origin: String },

    /// stdout was closed by the reader: end quietly.
    #[error("stdout closed")]
    OutputClosed,

    /// stdout could not be written, or a message not encoded.
    #[error("cannot write output: {0}")]
    Output(String),

    /// A task of the sync panicked or was cancelled.
    #[error("{what} failed: {source}")]
    TaskFailed {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },

    /// The async runtime could not be started.
    #[error(transparent)]
    Runtime(#[from] connector_kit::run::RuntimeError),

    /// A document could not be encoded or decoded as JSON.
    #[error("{what}: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// The HTTP client was shut down while a request waited for a slot.
    #[error("the HTTP client was closed")]
    ClientClosed,

    /// A request ended in a state the client's classification does not allow (a bug).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Error {
    pub fn failure_type(&self) -> FailureType {
        match self {
            Error::Config(_)
            | Error::ConfigUnreadable { .. }
            | Error::Input(_)
            | Error::Auth { .. }
            | Error::Forbidden { .. }
            | Error::FeatureDisabled { .. }
            | Error::NothingReadable { .. }
            | Error::Unreachable { .. } => FailureType::ConfigError,
            Error::ParentUnavailable { source, .. } => source.failure_type(),
            Error::Exhausted { .. } | Error::RateLimitWait { .. } => FailureType::TransientError,
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
            Error::Unreachable { host, reason, hint } => {
                format!("Cannot connect to {host} ({reason}). {hint}")
            }
            Error::RateLimitWait { .. } => format!(
                "{self}. Try again later, or raise max_rate_limit_wait_seconds if such waits are expected."
            ),
            Error::NothingReadable { .. } => format!(
                "{self}. Check `domain`/`base_url` and that the credentials have a read-only admin role and \
                 the okta.*.read scopes."
            ),
            other => other.to_string(),
        }
    }

    /// Details for the maintainers (request ids, raw error bodies with secrets removed).
    pub fn internal_message(&self) -> String {
        match self {
            Error::Auth { internal, .. } | Error::Api { internal, .. } => internal.clone(),
            Error::Forbidden { response, .. }
            | Error::FeatureDisabled { response, .. }
            | Error::NotFound { response, .. }
            | Error::Rejected { response, .. } => response.to_string(),
            Error::ParentUnavailable { source, .. } => source.internal_message(),
            other => format!("{other:?}"),
        }
    }

    /// The Okta answer behind this error, if it was one.
    pub fn response(&self) -> Option<&ApiResponse> {
        match self {
            Error::Forbidden { response, .. }
            | Error::FeatureDisabled { response, .. }
            | Error::NotFound { response, .. }
            | Error::Rejected { response, .. } => Some(response),
            Error::ParentUnavailable { source, .. } => source.response(),
            _ => None,
        }
    }

    /// Whether this error means "this stream cannot be read in this org" rather than "the sync failed".
    pub fn is_stream_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Forbidden { .. }
                | Error::FeatureDisabled { .. }
                | Error::NotFound { .. }
                | Error::ParentUnavailable { .. }
                | Error::Partial(_)
        )
    }

    /// Whether this only means "this part does not exist in this org" (a 404, a type the org does not
    /// know (400), a feature it lacks), as opposed to "the credentials may not read it".
    pub fn is_absent(&self) -> bool {
        match self {
            Error::NotFound { .. } | Error::FeatureDisabled { .. } => true,
            Error::Rejected { response, .. } => response.status == 400,
            _ => false,
        }
    }
}

impl connector_kit::run::OutputClosed for Error {
    fn is_output_closed(&self) -> bool {
        matches!(self, Error::OutputClosed)
    }
}

impl From<airbyte_protocol::WriteError> for Error {
    fn from(e: airbyte_protocol::WriteError) -> Self {
        match e {
            airbyte_protocol::WriteError::Closed => Error::OutputClosed,
            airbyte_protocol::WriteError::Encode(source) => Error::Json {
                what: "cannot encode a message",
                source,
            },
            other => Error::Output(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> Box<ApiResponse> {
        Box::new(ApiResponse {
            status,
            code: Some("E0000001".into()),
            method: "GET",
            path: "/api/v1/users".into(),
            request_id: Some("req-1".into()),
            detail: "Api validation failed (E0000001)".into(),
        })
    }

    #[test]
    fn api_errors_carry_fields_and_a_source_chain() {
        let e = Error::Rejected {
            path: "/api/v1/users".into(),
            message: "Api validation failed (E0000001)".into(),
            response: response(400),
        };
        assert!(e.is_absent());
        assert_eq!(e.failure_type(), FailureType::SystemError);
        assert_eq!(
            e.internal_message(),
            "HTTP 400 on GET /api/v1/users (request id req-1): Api validation failed (E0000001)"
        );
        let r = e.response().expect("an API answer");
        assert_eq!((r.status, r.code.as_deref()), (400, Some("E0000001")));
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.to_string().starts_with("HTTP 400"));
        let other = Error::Rejected {
            path: "/api/v1/users".into(),
            message: "x".into(),
            response: response(405),
        };
        assert!(!other.is_absent());
        let parent = Error::ParentUnavailable {
            parent: "groups",
            source: Box::new(Error::Forbidden {
                path: "/api/v1/groups".into(),
                message: "no".into(),
                response: response(403),
            }),
        };
        assert_eq!(parent.failure_type(), FailureType::ConfigError);
        assert_eq!(parent.response().map(|r| r.status), Some(403));
    }

    #[test]
    fn no_answer_is_typed() {
        assert!(Transient::Connect.is_no_answer());
        assert!(Transient::Timeout.is_no_answer());
        assert!(!Transient::Status(503).is_no_answer());
        assert!(!Transient::TokenRequest.is_no_answer());
        let closed: Error = airbyte_protocol::WriteError::Closed.into();
        assert!(connector_kit::run::OutputClosed::is_output_closed(&closed));
    }
}
