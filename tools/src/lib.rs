//! Serving the Lambda handlers over plain HTTP, the way API Gateway routes to them.
//!
//! The local server and the integration tests both turn each request into an API Gateway event
//! ([`gateway::Event`]), let `lambda_http` decode it as the deployed function does, and call the
//! route's handler through [`dispatch`]. So what the tests exercise is exactly what `scripts/dev`
//! serves: the route table of `shared::http::routes` (checked against template.yaml by a test),
//! the path parameter and query string as the deployed functions see them, and the `$default`
//! not-found function for everything else.

pub mod gateway;
pub mod local_webhooks;
pub mod streams;
pub mod time_zones;

use hyper::body::Incoming;
use lambda_http::{Body, Request, Response};
use shared::AppContext;
use shared::http::routes::{Operation, Resolution, resolve};

pub use futures_util::future::join_all;
pub use gateway::Event;

/// The largest body the local server reads, as API Gateway's HTTP API takes at most 10 MB; the
/// functions themselves refuse much less (`shared::http::request::MAX_BODY_BYTES`).
pub const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

/// Calls the handler of `req`'s route, as API Gateway would, and returns its response.
pub async fn dispatch(ctx: &AppContext, req: Request) -> Response<Body> {
    let operation = match resolve(req.method().as_str(), req.uri().path()) {
        Resolution::Found { operation, .. } => operation,
        Resolution::MethodNotAllowed(_) | Resolution::NotFound => {
            return not_found::not_found(req).await;
        }
    };
    // Each handler boxed: their futures differ widely in size, and unboxed the largest would set
    // this one's, which overflowed test threads' stacks in debug builds.
    match operation {
        Operation::CreateLink => Box::pin(create_link::create_link(ctx, req)).await,
        Operation::ListLinks => Box::pin(list_links::list_links(ctx, req)).await,
        Operation::RetrieveLink => Box::pin(retrieve_link::retrieve_link(ctx, req)).await,
        Operation::DestroyLink => Box::pin(destroy_link::destroy_link(ctx, req)).await,
        Operation::ListLinkCharges => {
            Box::pin(list_link_charges::list_link_charges(ctx, req)).await
        }
        Operation::ListCharges => Box::pin(list_charges::list_charges(ctx, req)).await,
        Operation::RetrieveCharge => Box::pin(retrieve_charge::retrieve_charge(ctx, req)).await,
        Operation::ListEvents => Box::pin(list_events::list_events(ctx, req)).await,
        Operation::RetrieveEvent => Box::pin(retrieve_event::retrieve_event(ctx, req)).await,
        Operation::PaymentPage => Box::pin(payment_page::payment_page(ctx, req)).await,
        Operation::PayLink => Box::pin(pay_link::pay_link(ctx, req)).await,
        Operation::PaymentQr => Box::pin(payment_qr::payment_qr(ctx, req)).await,
        Operation::ApiDocument => api_document::api_document(req).await,
        Operation::PaymentComplete => Box::pin(payment_complete::payment_complete(ctx, req)).await,
        Operation::AuthenticationPage => {
            Box::pin(authentication_page::authentication_page(ctx, req)).await
        }
        Operation::AuthenticatePayment => {
            Box::pin(authenticate_payment::authenticate_payment(ctx, req)).await
        }
        Operation::MarkChargePaid => Box::pin(mark_charge_paid::mark_charge_paid(ctx, req)).await,
        Operation::MarkChargeFailed => {
            Box::pin(mark_charge_failed::mark_charge_failed(ctx, req)).await
        }
        Operation::CreateRefund => Box::pin(create_refund::create_refund(ctx, req)).await,
        Operation::ListRefunds => Box::pin(list_refunds::list_refunds(ctx, req)).await,
        Operation::RetrieveRefund => Box::pin(retrieve_refund::retrieve_refund(ctx, req)).await,
        Operation::OmiseWebhook => Box::pin(omise_webhook::omise_webhook(ctx, req)).await,
    }
}

/// Serves one HTTP request from hyper: as API Gateway, it becomes an event (from `peer`), then a
/// handler's request through [`dispatch`].
pub async fn serve_http(
    ctx: &AppContext,
    peer: std::net::SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    use http_body_util::{BodyExt, Limited};
    let (parts, body) = req.into_parts();
    let response = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
        Ok(collected) => {
            let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut event = Event::routed(parts.method.as_str(), path_and_query)
                .source_ip(&peer.ip().to_string());
            for (name, value) in &parts.headers {
                event = event.header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
            }
            let body = collected.to_bytes();
            if !body.is_empty() {
                event = event.body(body.to_vec());
            }
            dispatch(ctx, event.into_request()).await
        }
        // What API Gateway answers itself, in its own words, for a body over its 10 MB.
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            let mut response = Response::new(Body::Text(
                r#"{"message":"Request Entity Too Large"}"#.into(),
            ));
            *response.status_mut() = lambda_http::http::StatusCode::PAYLOAD_TOO_LARGE;
            // API Gateway labels that body as JSON, and so does this stand-in for it.
            response.headers_mut().insert(
                lambda_http::http::header::CONTENT_TYPE,
                lambda_http::http::HeaderValue::from_static("application/json"),
            );
            response
        }
        // A body that could not be read at all (a malformed chunked encoding, a connection
        // that ended early): no event can be made of it, and the client is told so in the API's
        // own words. (API Gateway answers these before any function runs.)
        Err(_) => shared::http::response::error_response(shared::ApiError::BadRequest(
            "the request body could not be read: it is malformed or was cut short".into(),
        )),
    };
    let (parts, body) = response.into_parts();
    let bytes = hyper::body::Bytes::copy_from_slice(body.as_ref());
    Ok(hyper::Response::from_parts(
        parts,
        http_body_util::Full::new(bytes),
    ))
}
