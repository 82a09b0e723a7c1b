//! The one error type of the API and its Omise error object.
//!
//! Every expected failure becomes an `Ok` HTTP response carrying
//! `{"object":"error","location","code","message"}`: an `Err` out of a lambda_http handler would be
//! an invocation failure that API Gateway turns into its own bare 500.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use std::fmt;

/// Base of the `location` of every error object, as Omise writes it.
const ERRORS_DOC: &str = "https://docs.omise.co/api/errors";

pub enum ApiError {
    /// Missing, malformed, unknown or revoked secret key.
    AuthenticationFailure,
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
    /// The path exists, the method does not. Carries the allowed methods.
    MethodNotAllowed(&'static [&'static str]),
    /// The body's Content-Type is neither JSON nor a form.
    UnsupportedMediaType(String),
    /// DynamoDB throttled us: the client may retry.
    ServiceUnavailable(Box<dyn std::error::Error + Send + Sync>),
    /// Anything else. The cause is logged, never sent.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    object: &'static str,
    location: String,
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::AuthenticationFailure => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_)
            | Self::InvalidAmount(_)
            | Self::InvalidFilters(_)
            | Self::InvalidPage(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::AuthenticationFailure => "authentication_failure",
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::InvalidAmount(_) => "invalid_amount",
            Self::InvalidFilters(_) => "invalid_filters",
            Self::InvalidPage(_) => "invalid_page",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::ServiceUnavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::AuthenticationFailure => "authentication failed".into(),
            Self::NotFound(what) => format!("{what} was not found"),
            Self::BadRequest(m)
            | Self::InvalidAmount(m)
            | Self::InvalidFilters(m)
            | Self::InvalidPage(m) => m.clone(),
            Self::UnsupportedMediaType(m) => m.clone(),
            Self::MethodNotAllowed(allowed) => format!(
                "method not allowed; this path accepts {}",
                allowed.join(", ")
            ),
            Self::ServiceUnavailable(_) => "the service is busy; retry the request shortly".into(),
            Self::Internal(_) => "an internal error occurred; the request may be retried".into(),
        }
    }

    /// The Omise error object as an HTTP response. Server-side causes are logged here, once.
    pub fn into_response(self) -> Response<Body> {
        match &self {
            Self::Internal(_) => tracing::error!(error = ?self, "request failed"),
            Self::ServiceUnavailable(_) => tracing::warn!(error = ?self, "request throttled"),
            _ => tracing::info!(
                status = self.status().as_u16(),
                code = self.code(),
                "request refused"
            ),
        }
        let code = self.code();
        let message = self.message();
        let body = ErrorObject {
            object: "error",
            location: format!("{ERRORS_DOC}#{}", code.replace('_', "-")),
            code,
            message: &message,
        };
        let mut response = crate::http::json_response(self.status(), &body);
        let headers = response.headers_mut();
        match self {
            Self::AuthenticationFailure => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"Links API\""),
                );
            }
            Self::MethodNotAllowed(allowed) => {
                if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
                    headers.insert(header::ALLOW, value);
                }
            }
            Self::ServiceUnavailable(_) => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// Prints the variant and the whole cause chain, for logs.
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

    fn body(e: ApiError) -> (u16, serde_json::Value) {
        let r = e.into_response();
        (
            r.status().as_u16(),
            serde_json::from_slice(r.body().as_ref()).unwrap(),
        )
    }

    #[test]
    fn not_found_names_the_object() {
        let (status, json) = body(ApiError::NotFound("link link_test_x".into()));
        assert_eq!(status, 404);
        assert_eq!(json["object"], "error");
        assert_eq!(json["code"], "not_found");
        assert_eq!(
            json["location"],
            "https://docs.omise.co/api/errors#not-found"
        );
        assert_eq!(json["message"], "link link_test_x was not found");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let cause: Box<dyn std::error::Error + Send + Sync> =
            "table arn:aws:dynamodb:secret missing".into();
        let (status, json) = body(ApiError::Internal(cause));
        assert_eq!(status, 500);
        assert!(!json.to_string().contains("arn:aws"), "{json}");
    }
}
