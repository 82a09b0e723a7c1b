//! The `$default` route: every request no other route takes. Answers an Omise `not_found` error
//! object, or `method_not_allowed` when the path exists with other methods, instead of API
//! Gateway's own `{"message":"Not Found"}`. Needs no authentication and no database.

use lambda_http::{Body, Request, Response};
use shared::ApiError;
use shared::http::response::error_response;
use shared::http::routes::{Resolution, resolve};

pub async fn not_found(req: Request) -> Response<Body> {
    let path = req.uri().path();
    let error = match resolve(req.method().as_str(), path) {
        Resolution::MethodNotAllowed(allowed) => ApiError::MethodNotAllowed(allowed),
        // A route that API Gateway should have sent elsewhere still gets an honest 404 here.
        Resolution::Found { .. } | Resolution::NotFound => {
            let shown: String = path.chars().take(128).collect();
            ApiError::NotFound(format!("path {shown}"))
        }
    };
    error_response(error)
}
