//! `GET /openapi.yaml`: the API's OpenAPI 3.1 document (docs/openapi.yaml), built into the
//! binary so that what a deploy serves is exactly what its code was tested against. Public (the
//! document describes the API; it holds no secret) and cached: `Cache-Control` for five minutes,
//! and an `ETag` of its content, so a tool that asks again with `If-None-Match` gets a bodiless
//! `304`. Needs no authentication and no database.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The document, as the repository holds it.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.yaml");

/// The media type YAML was registered under (RFC 9512).
pub const CONTENT_TYPE: &str = "application/yaml";

/// The document's `ETag`: the first 128 bits of its SHA-256, computed once per instance.
pub fn etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        let digest = Sha256::digest(DOCUMENT.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    })
}

pub async fn api_document(req: Request) -> Response<Body> {
    let etag = etag();
    let unchanged = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let (status, body) = if unchanged {
        (StatusCode::NOT_MODIFIED, Body::Empty)
    } else {
        (StatusCode::OK, Body::Text(DOCUMENT.to_owned()))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
