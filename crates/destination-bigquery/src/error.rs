//! Typed errors of the destination, each with a category that maps onto Airbyte's `failure_type`.

use airbyte_protocol::FailureType;

/// Where a failure comes from; decides the TRACE `failure_type` and whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The user's configuration or catalog is wrong (bad key, unknown stream, wrong location).
    Config,
    /// Credentials were refused or lack a permission.
    Auth,
    /// A quota or rate limit that survived every retry.
    RateLimit,
    /// A network failure or 5xx that survived every retry.
    Transient,
    /// The data cannot be loaded as is (incompatible schema change, rejected rows).
    Data,
    /// A bug or an unexpected answer.
    Internal,
}

impl Category {
    pub fn failure_type(self) -> FailureType {
        match self {
            Category::Config | Category::Auth | Category::Data => FailureType::ConfigError,
            Category::RateLimit | Category::Transient => FailureType::TransientError,
            Category::Internal => FailureType::SystemError,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid catalog: {0}")]
    Catalog(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("BigQuery refused the request ({status} {reason}): {message}")]
    Api {
        status: u16,
        reason: String,
        message: String,
        retryable: bool,
    },
    #[error("BigQuery job {job_id} failed ({reason}): {message}")]
    Job {
        job_id: String,
        reason: String,
        message: String,
        retryable: bool,
    },
    #[error("cannot reach BigQuery: {0}")]
    Network(String),
    #[error("gave up after {attempts} attempts in {elapsed_s:.1}s: {last}")]
    RetriesExhausted {
        attempts: u32,
        elapsed_s: f64,
        last: Box<Error>,
    },
    #[error("incompatible schema change in {table}.{column}: the table has {existing}, the stream now declares {wanted}. {hint}")]
    SchemaChange {
        table: String,
        column: String,
        existing: String,
        wanted: String,
        hint: String,
    },
    /// A bad input line. The message names what was wrong, never the record's content.
    #[error("invalid input on line {line}{}: {message}; the sync stopped there and acknowledged no state from that line on", stream.as_ref().map(|s| format!(" (stream {s:?})")).unwrap_or_default())]
    Input {
        line: u64,
        stream: Option<String>,
        message: String,
        /// `Config` when the catalog or config does not fit the input (an unconfigured stream), `Internal`
        /// when the input itself is broken (a truncated line, a record without its key).
        category: Category,
    },
    /// A record the sink cannot take (no primary key value); the caller adds the line number.
    #[error("{message}")]
    Record { stream: String, message: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write to stdout: {0}")]
    Output(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn category(&self) -> Category {
        match self {
            Error::Config(_) | Error::Catalog(_) => Category::Config,
            Error::Input { category, .. } => *category,
            Error::Record { .. } => Category::Internal,
            Error::Auth(_) => Category::Auth,
            Error::Api { status, reason, .. } => api_category(*status, reason),
            Error::Job { reason, .. } => api_category(400, reason),
            Error::Network(_) => Category::Transient,
            Error::RetriesExhausted { last, .. } => last.category(),
            Error::SchemaChange { .. } => Category::Data,
            Error::Io { .. } | Error::Output(_) | Error::Internal(_) => Category::Internal,
        }
    }

    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { retryable, .. } | Error::Job { retryable, .. } => *retryable,
            Error::Network(_) => true,
            _ => false,
        }
    }

    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}

fn api_category(status: u16, reason: &str) -> Category {
    match reason {
        "rateLimitExceeded" | "quotaExceeded" => Category::RateLimit,
        "backendError" | "internalError" => Category::Transient,
        "accessDenied" | "authError" | "forbidden" => Category::Auth,
        "invalid" | "invalidQuery" => Category::Data,
        "notFound" => Category::Config,
        _ => match status {
            401 | 403 => Category::Auth,
            429 => Category::RateLimit,
            500..=599 => Category::Transient,
            400..=499 => Category::Config,
            _ => Category::Internal,
        },
    }
}

/// Whether a BigQuery error `reason` (in an HTTP error body or a job's `errorResult`) is worth retrying.
pub fn retryable_reason(reason: &str) -> bool {
    matches!(
        reason,
        "rateLimitExceeded"
            | "backendError"
            | "internalError"
            | "jobBackendError"
            | "jobInternalError"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_map_to_failure_types() {
        let e = Error::Api {
            status: 403,
            reason: "accessDenied".into(),
            message: "no".into(),
            retryable: false,
        };
        assert_eq!(e.category(), Category::Auth);
        assert_eq!(e.category().failure_type(), FailureType::ConfigError);
        let e = Error::Api {
            status: 503,
            reason: String::new(),
            message: "x".into(),
            retryable: true,
        };
        assert_eq!(e.category().failure_type(), FailureType::TransientError);
        assert!(retryable_reason("rateLimitExceeded"));
        assert!(!retryable_reason("invalid"));
    }
}
