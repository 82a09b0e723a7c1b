//! Serving the Lambda handlers over plain HTTP, the way API Gateway routes to them.
//!
//! The local server and the integration tests both go through [`dispatch`], so what the tests
//! exercise is exactly what `scripts/dev` serves: the route table of `shared::routes` (checked
//! against template.yaml by a test), the path parameter and query string as API Gateway fills them,
//! and the `$default` not-found function for everything else.

use hyper::body::Incoming;
use lambda_http::http;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::AppContext;
use shared::error::ApiError;
use shared::routes::{Operation, Resolution, resolve};
use std::collections::HashMap;

/// Routes `req` to its operation's handler, as API Gateway would, and returns its response.
pub async fn dispatch(ctx: &AppContext, req: Request) -> Response<Body> {
    let (operation, id) = match resolve(req.method().as_str(), req.uri().path()) {
        Resolution::Found { operation, id } => (operation, id),
        Resolution::MethodNotAllowed(_) | Resolution::NotFound => {
            return not_found::not_found(req).await;
        }
    };
    let req = match id {
        Some(id) => req.with_path_parameters(HashMap::from([("id".to_owned(), id)])),
        None => req,
    };
    match operation {
        Operation::CreateLink => create_link::create_link(ctx, req).await,
        Operation::ListLinks => list_links::list_links(ctx, req).await,
        Operation::RetrieveLink => retrieve_link::retrieve_link(ctx, req).await,
        Operation::DestroyLink => destroy_link::destroy_link(ctx, req).await,
        Operation::ListLinkCharges => list_link_charges::list_link_charges(ctx, req).await,
    }
}

/// Turns a request as it arrives over HTTP into the request a Lambda handler sees: the body as
/// bytes and the query string decoded into parameters (API Gateway does both before invoking).
pub fn lambda_request(parts: http::request::Parts, body: Vec<u8>) -> Result<Request, ApiError> {
    let query = parts.uri.query().unwrap_or("");
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in shared::http::parse_urlencoded(query.as_bytes())? {
        params.entry(key).or_default().push(value);
    }
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Binary(body)
    };
    Ok(Request::from_parts(parts, body).with_query_string_parameters(params))
}

/// Serves one HTTP request from hyper through [`dispatch`].
pub async fn serve_http(
    ctx: &AppContext,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let response = match body.collect().await {
        Ok(collected) => match lambda_request(parts, collected.to_bytes().to_vec()) {
            Ok(req) => dispatch(ctx, req).await,
            Err(error) => error.into_response(),
        },
        Err(e) => {
            ApiError::BadRequest(format!("the request body could not be read: {e}")).into_response()
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = hyper::body::Bytes::copy_from_slice(body.as_ref());
    Ok(hyper::Response::from_parts(
        parts,
        http_body_util::Full::new(bytes),
    ))
}

/// Drives `futures` concurrently on the current task and returns their outputs in order (what
/// `futures::future::join_all` does, without the dependency).
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}
