//! Writing a response: JSON bodies, and every [`ApiError`] as an Omise error object.
//!
//! Every expected failure becomes an `Ok` HTTP response carrying
//! `{"object":"error","location","code","message"}`: an `Err` out of a lambda_http handler would be
//! an invocation failure that API Gateway turns into its own bare 500.

use crate::domain::error::ApiError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

/// The most a request may take before it answers `503` on its own. Under the functions' 10 s
/// timeout, so that a slow DynamoDB ends in an Omise error with `Retry-After`, never in a Lambda
/// timeout that API Gateway answers with its own body.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(8);

/// Base of the `location` of every error object, as Omise writes it.
const ERRORS_DOC: &str = "https://docs.omise.co/api/errors";

#[derive(Serialize)]
struct ErrorObject<'a> {
    object: &'static str,
    location: String,
    code: &'a str,
    message: &'a str,
}

/// `body`, already JSON text, as a response with `status`.
pub fn json_text_response(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Serialises `body` as a JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => json_text_response(status, text),
        // Serialising our own plain structs cannot fail; if it somehow did, say so honestly.
        Err(e) => error_response(ApiError::internal(e)),
    }
}

/// The Omise error object for `error`, with the headers its status calls for. Server-side
/// causes are logged here, once.
pub fn error_response(error: ApiError) -> Response<Body> {
    let status = error.status();
    match &error {
        ApiError::Internal(_) => tracing::error!(error = ?error, "request failed"),
        ApiError::ServiceUnavailable(_) => tracing::warn!(error = ?error, "request unavailable"),
        _ => tracing::info!(status, code = error.code(), "request refused"),
    }
    let code = error.code();
    let message = error.message();
    let body = ErrorObject {
        object: "error",
        location: format!("{ERRORS_DOC}#{}", code.replace('_', "-")),
        code,
        message: &message,
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_text_response(status, text);
    let headers = response.headers_mut();
    if let Some(seconds) = error.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    match error {
        ApiError::AuthenticationFailure => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Links API\""),
            );
        }
        ApiError::MethodNotAllowed(allowed) => {
            if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                headers.insert(header::ALLOW, value);
            }
        }
        _ => {}
    }
    response
}

/// Runs a handler's work under [`REQUEST_DEADLINE`] and turns its outcome into the response:
/// errors become Omise error objects, and running out of time a `503`. Every function's handler
/// answers through this, so the local server and the Lambdas behave alike.
pub async fn answer(
    work: impl Future<Output = Result<Response<Body>, ApiError>>,
) -> Response<Body> {
    answer_within(REQUEST_DEADLINE, work).await
}

/// [`answer`] with another deadline (for tests of the deadline itself).
pub async fn answer_within(
    deadline: Duration,
    work: impl Future<Output = Result<Response<Body>, ApiError>>,
) -> Response<Body> {
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result.unwrap_or_else(error_response),
        Err(elapsed) => error_response(ApiError::ServiceUnavailable(Box::new(elapsed))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(r: Response<Body>) -> (u16, lambda_http::http::HeaderMap, serde_json::Value) {
        let (parts, body) = r.into_parts();
        (
            parts.status.as_u16(),
            parts.headers,
            serde_json::from_slice(body.as_ref()).unwrap(),
        )
    }

    #[test]
    fn an_error_is_an_omise_error_object() {
        let (status, headers, json) = parts(error_response(ApiError::NotFound("link x".into())));
        assert_eq!(status, 404);
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        assert_eq!(
            json,
            serde_json::json!({"object": "error",
                "location": "https://docs.omise.co/api/errors#not-found",
                "code": "not_found", "message": "link x was not found"})
        );
    }

    #[test]
    fn each_error_carries_the_headers_its_status_calls_for() {
        let (_, headers, _) = parts(error_response(ApiError::AuthenticationFailure));
        assert_eq!(headers["www-authenticate"], "Basic realm=\"Links API\"");
        let (_, headers, _) = parts(error_response(ApiError::MethodNotAllowed(&["GET", "POST"])));
        assert_eq!(headers["allow"], "GET, POST");
        let (status, headers, _) = parts(error_response(ApiError::ServiceUnavailable("x".into())));
        assert_eq!(
            (status, &headers["retry-after"]),
            (503, &HeaderValue::from(1))
        );
        let (status, headers, _) =
            parts(error_response(ApiError::TooManyRequests { retry_after: 3 }));
        assert_eq!(
            (status, &headers["retry-after"]),
            (429, &HeaderValue::from(3))
        );
        let (_, headers, _) = parts(error_response(ApiError::BadRequest("x".into())));
        assert!(!headers.contains_key("retry-after") && !headers.contains_key("allow"));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let (status, _, json) = parts(error_response(ApiError::internal(
            "table arn:aws:dynamodb:secret missing",
        )));
        assert_eq!(status, 500);
        assert!(!json.to_string().contains("arn:aws"), "{json}");
    }

    /// What `error_response` logs for `error`, as the functions' formatter writes it.
    fn logged(error: ApiError) -> String {
        #[derive(Clone, Default)]
        struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = lambda_http::tracing::subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || error_response(error));
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    // Server-side failures are what an operator is paged for: logged once, at a level an alarm
    // can filter on, with the whole cause chain the response body hides.
    #[test]
    fn server_side_failures_are_logged_with_their_causes() {
        let internal = logged(ApiError::internal("table arn:aws:dynamodb:x missing"));
        assert!(internal.starts_with("ERROR"), "{internal}");
        assert!(
            internal.contains("caused by: table arn:aws:dynamodb:x missing"),
            "{internal}"
        );
        let unavailable = logged(ApiError::ServiceUnavailable("throttled".into()));
        assert!(unavailable.starts_with(" WARN"), "{unavailable}");
        assert!(
            unavailable.contains("caused by: throttled"),
            "{unavailable}"
        );
        let refused = logged(ApiError::BadRequest("no".into()));
        assert!(refused.starts_with(" INFO"), "{refused}");
        assert!(refused.contains("code=\"bad_request\""), "{refused}");
        assert_eq!(internal.lines().filter(|l| l.contains("ERROR")).count(), 1);
    }

    #[tokio::test]
    async fn work_past_the_deadline_answers_503() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(json_response(StatusCode::OK, &1))
        };
        let (status, headers, json) = parts(answer_within(Duration::from_millis(20), slow).await);
        assert_eq!(
            (status, json["code"].as_str()),
            (503, Some("service_unavailable"))
        );
        assert!(headers.contains_key("retry-after"));
        let quick = async { Ok(json_response(StatusCode::OK, &1)) };
        assert_eq!(parts(answer(quick).await).0, 200);
        let failing = async { Err(ApiError::BadRequest("no".into())) };
        assert_eq!(parts(answer(failing).await).0, 400);
    }
}
