//! The one error type of the API: what went wrong, as data. The HTTP edge
//! ([`crate::http::response`]) turns it into an Omise error object; nothing here knows about HTTP
//! beyond the status number each variant answers with.

use std::fmt;

/// A cause kept for the logs and never sent to the client.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

pub enum ApiError {
    /// Missing, malformed, unknown or revoked secret key.
    AuthenticationFailure,
    /// Too many failed authentications from one source; carries the seconds until it may retry.
    TooManyRequests { retry_after: u64 },
    /// The object does not exist, or belongs to another account or mode. The string names it.
    NotFound(String),
    /// A parameter is missing or breaks a rule. The message names both.
    BadRequest(String),
    /// `amount` is not an integer, or outside the currency's range.
    InvalidAmount(String),
    /// A list filter (`from`, `to`, `order`) is invalid.
    InvalidFilters(String),
    /// A paging parameter (`offset`, `limit`) is invalid.
    InvalidPage(String),
    /// The request did not come the only way the API may be reached (through its CloudFront
    /// distribution, when the WAF fronts it).
    Forbidden(String),
    /// The path exists, the method does not. Carries the allowed methods.
    MethodNotAllowed(&'static [&'static str]),
    /// The body is larger than the API accepts.
    PayloadTooLarge(String),
    /// The body's Content-Type or Content-Encoding is not one the API reads.
    UnsupportedMediaType(String),
    /// An `Idempotency-Key` already used, within its lifetime, for a request with other parameters.
    IdempotencyKeyReused(String),
    /// The request is well formed, but what it asks cannot be done to the object as it is (a
    /// refund of a charge that was not paid, a charge marked paid that is not pending): Omise's
    /// code for the refusal, and why.
    Refused { code: &'static str, message: String },
    /// DynamoDB throttled us, timed out, or could not be reached: the request may be retried.
    ServiceUnavailable(Cause),
    /// Anything else. The cause is logged, never sent.
    Internal(Cause),
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::AuthenticationFailure => 401,
            Self::TooManyRequests { .. } => 429,
            Self::NotFound(_) => 404,
            Self::BadRequest(_)
            | Self::InvalidAmount(_)
            | Self::InvalidFilters(_)
            | Self::InvalidPage(_)
            | Self::Refused { .. } => 400,
            Self::Forbidden(_) => 403,
            Self::MethodNotAllowed(_) => 405,
            Self::PayloadTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::IdempotencyKeyReused(_) => 422,
            Self::ServiceUnavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The Omise error `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AuthenticationFailure => "authentication_failure",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::InvalidAmount(_) => "invalid_amount",
            Self::InvalidFilters(_) => "invalid_filters",
            Self::InvalidPage(_) => "invalid_page",
            Self::Forbidden(_) => "forbidden",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::IdempotencyKeyReused(_) => "idempotency_key_reused",
            Self::Refused { code, .. } => code,
            Self::ServiceUnavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The message sent to the client: never a server-side cause.
    pub fn message(&self) -> String {
        match self {
            Self::AuthenticationFailure => "authentication failed".into(),
            Self::TooManyRequests { retry_after } => format!(
                "too many failed authentications from this address; retry in {retry_after} s"
            ),
            Self::NotFound(what) => format!("{what} was not found"),
            Self::BadRequest(m)
            | Self::InvalidAmount(m)
            | Self::InvalidFilters(m)
            | Self::InvalidPage(m)
            | Self::PayloadTooLarge(m)
            | Self::UnsupportedMediaType(m)
            | Self::IdempotencyKeyReused(m)
            | Self::Forbidden(m)
            | Self::Refused { message: m, .. } => m.clone(),
            Self::MethodNotAllowed(allowed) => format!(
                "method not allowed; this path accepts {}",
                allowed.join(", ")
            ),
            Self::ServiceUnavailable(_) => "the service is busy; retry the request shortly (a \
                create retried with the same Idempotency-Key is never made twice)"
                .into(),
            Self::Internal(_) => "an internal error occurred; the request may be retried (a \
                create retried with the same Idempotency-Key is never made twice)"
                .into(),
        }
    }

    /// Seconds the client should wait before retrying, for the errors that invite a retry.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after } => Some(*retry_after),
            Self::ServiceUnavailable(_) => Some(1),
            _ => None,
        }
    }

    /// Whether the fault is the service's (logged as an error or warning) rather than the
    /// client's (logged as information).
    pub fn is_server_side(&self) -> bool {
        matches!(self, Self::ServiceUnavailable(_) | Self::Internal(_))
    }

    /// An internal error from anything printable: a broken invariant, a corrupt item.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }
}

/// Prints the code, the message and the whole cause chain, for logs.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())?;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = match self {
            Self::ServiceUnavailable(e) | Self::Internal(e) => Some(e.as_ref()),
            _ => None,
        };
        while let Some(e) = cause {
            write!(f, "\n  caused by: {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::AuthenticationFailure,
                401,
                "authentication_failure",
            ),
            (
                ApiError::TooManyRequests { retry_after: 7 },
                429,
                "too_many_requests",
            ),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::BadRequest("x".into()), 400, "bad_request"),
            (ApiError::InvalidAmount("x".into()), 400, "invalid_amount"),
            (ApiError::InvalidFilters("x".into()), 400, "invalid_filters"),
            (ApiError::InvalidPage("x".into()), 400, "invalid_page"),
            (
                ApiError::MethodNotAllowed(&["GET"]),
                405,
                "method_not_allowed",
            ),
            (
                ApiError::PayloadTooLarge("x".into()),
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType("x".into()),
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::IdempotencyKeyReused("x".into()),
                422,
                "idempotency_key_reused",
            ),
            (
                ApiError::ServiceUnavailable("x".into()),
                503,
                "service_unavailable",
            ),
            (ApiError::internal("x"), 500, "internal_error"),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.status(), error.code()), (status, code), "{error:?}");
        }
    }

    #[test]
    fn only_retryable_errors_say_when_to_retry() {
        assert_eq!(
            ApiError::TooManyRequests { retry_after: 7 }.retry_after(),
            Some(7)
        );
        assert_eq!(
            ApiError::ServiceUnavailable("x".into()).retry_after(),
            Some(1)
        );
        assert_eq!(ApiError::internal("x").retry_after(), None);
        assert_eq!(ApiError::AuthenticationFailure.retry_after(), None);
        assert!(ApiError::internal("x").is_server_side());
        assert!(ApiError::ServiceUnavailable("x".into()).is_server_side());
        assert!(!ApiError::BadRequest("x".into()).is_server_side());
    }

    #[test]
    fn messages_name_what_the_client_sent_but_never_a_cause() {
        assert_eq!(
            ApiError::NotFound("link x".into()).message(),
            "link x was not found"
        );
        assert_eq!(
            ApiError::MethodNotAllowed(&["GET", "POST"]).message(),
            "method not allowed; this path accepts GET, POST"
        );
        assert!(
            ApiError::TooManyRequests { retry_after: 7 }
                .message()
                .contains("7 s")
        );
        let hidden = ApiError::internal("table arn:aws:dynamodb:secret missing");
        assert!(!hidden.message().contains("arn:aws"));
        assert!(format!("{hidden:?}").contains("caused by: table arn:aws"));
        assert!(!format!("{hidden}").contains("arn:aws"));
        assert_eq!(
            ApiError::NotFound("link x".into()).to_string(),
            "not_found: link x was not found"
        );
    }
}
