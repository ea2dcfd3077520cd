//! Model client errors, each with a message a user can act on.

use warden_protocol::ErrorCode;

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot reach the model endpoint {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the model endpoint {url} rejected the API key (HTTP {status}): {body}")]
    Unauthorized {
        url: String,
        status: u16,
        body: String,
    },
    #[error(
        "the model endpoint {url} was not found (HTTP 404); check model.base_url and model.name: {body}"
    )]
    NotFound { url: String, body: String },
    #[error("the model endpoint {url} is rate limiting (HTTP 429): {body}")]
    RateLimited {
        url: String,
        body: String,
        retry_after: Option<Duration>,
    },
    #[error("the model endpoint {url} failed (HTTP {status}): {body}")]
    Server {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the model endpoint {url} refused the request (HTTP {status}): {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the model sent a malformed response: {0}")]
    BadResponse(String),
    #[error("the model stream broke: {0}")]
    Stream(String),
    #[error("the model reported an error: {0}")]
    Reported(String),
}

impl ModelError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Client(_) => ErrorCode::ModelClient,
            Self::Unreachable { .. } => ErrorCode::ModelUnreachable,
            Self::Unauthorized { .. } => ErrorCode::ModelUnauthorized,
            Self::NotFound { .. } => ErrorCode::ModelNotFound,
            Self::RateLimited { .. } => ErrorCode::ModelRateLimited,
            Self::Server { .. } => ErrorCode::ModelServerError,
            Self::Rejected { .. } => ErrorCode::ModelRejected,
            Self::BadResponse(_) => ErrorCode::ModelBadResponse,
            Self::Stream(_) => ErrorCode::ModelStream,
            Self::Reported(_) => ErrorCode::ModelReportedError,
        }
    }

    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::RateLimited { .. } | Self::Server { .. }
        )
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => {
                retry_after.map(|d| d.min(Duration::from_secs(30)))
            }
            _ => None,
        }
    }

    pub(crate) fn from_send(url: &str, e: &reqwest::Error) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            message = format!("{message}: {inner}");
            source = inner.source();
        }
        Self::Unreachable {
            url: url.to_string(),
            message,
        }
    }

    pub(crate) fn from_status(
        url: &str,
        status: u16,
        body: &str,
        retry_after: Option<Duration>,
    ) -> Self {
        let url = url.to_string();
        let body: String = body.chars().take(500).collect();
        match status {
            401 | 403 => Self::Unauthorized { url, status, body },
            404 => Self::NotFound { url, body },
            429 => Self::RateLimited {
                url,
                body,
                retry_after,
            },
            500..=599 => Self::Server { url, status, body },
            _ => Self::Rejected { url, status, body },
        }
    }
}

impl warden_protocol::Coded for ModelError {
    fn code(&self) -> ErrorCode {
        ModelError::code(self)
    }
}
