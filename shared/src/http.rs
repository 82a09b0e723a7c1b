//! Reading parameters out of a request and writing JSON responses.
//!
//! Omise clients send parameters in three ways and all must work: a JSON body (Python, Node), a
//! form body (Ruby, PHP, curl `-d`; every value a string), and for `GET /links` the query string or
//! a JSON body on the GET itself (the Python client). [`Params`] is the one view over all of them;
//! typed parsing happens in [`crate::validate`].

use crate::error::ApiError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// The `{id}` path parameter. A value that cannot be one of the caller's link ids is answered
/// `not_found` at once, without a database read.
pub fn link_id<'r>(req: &'r Request, owner: &crate::auth::Principal) -> Result<&'r str, ApiError> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or("");
    if crate::ids::is_link_id(id, owner.livemode) {
        Ok(id)
    } else {
        let shown: String = id.chars().take(64).collect();
        Err(ApiError::NotFound(format!("link {shown}")))
    }
}

/// Serialises `body` as a JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    // Serialising our own plain structs cannot fail; if it somehow did, answer a bare 500.
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, r#"{"object":"error","location":"https://docs.omise.co/api/errors#internal-error","code":"internal_error","message":"an internal error occurred"}"#.to_owned()),
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Turns the outcome of an operation into the response: errors become Omise error objects.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

/// The parameters of one request. A JSON `null` counts as "not given".
#[derive(Debug, Default)]
pub struct Params(Map<String, Value>);

impl Params {
    /// The body's parameters, from JSON or a form. An empty body has none, whatever its
    /// Content-Type says (clients send `Content-Type: application/json` on bodiless requests).
    pub fn from_body(req: &Request) -> Result<Self, ApiError> {
        let body: &[u8] = req.body().as_ref();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/json" => Self::from_json(body),
            "application/x-www-form-urlencoded" => Self::from_form(body),
            "" => Err(ApiError::UnsupportedMediaType(
                "the request has a body but no Content-Type; send application/json or application/x-www-form-urlencoded".into(),
            )),
            other => Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type {other} is not supported; send application/json or application/x-www-form-urlencoded"
            ))),
        }
    }

    fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::BadRequest(
                "the JSON body must be an object".into(),
            )),
            Err(e) => Err(ApiError::BadRequest(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    }

    fn from_form(body: &[u8]) -> Result<Self, ApiError> {
        let mut map = Map::new();
        for (key, value) in parse_urlencoded(body)? {
            if map.insert(key.clone(), Value::String(value)).is_some() {
                return Err(ApiError::BadRequest(format!(
                    "{key} is given more than once"
                )));
            }
        }
        Ok(Self(map))
    }

    /// The body's parameters overlaid with the query string's: the query string wins.
    pub fn from_query_and_body(req: &Request) -> Result<Self, ApiError> {
        let mut params = Self::from_body(req)?;
        if let Some(query) = req.query_string_parameters_ref() {
            for (key, value) in query.iter() {
                params
                    .0
                    .insert(key.to_owned(), Value::String(value.to_owned()));
            }
        }
        Ok(params)
    }

    /// The value of `name`, if given and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    #[cfg(test)]
    pub(crate) fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            _ => Self::default(),
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text strictly: unlike lossy decoders, a value that
/// is not valid UTF-8 is refused rather than silently altered, so Thai text is stored exactly.
pub fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let key = percent_decode(parts.next().unwrap_or_default())?;
            let value = percent_decode(parts.next().unwrap_or_default())?;
            Ok((key, value))
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Result<String, ApiError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => {
                        return Err(ApiError::BadRequest(
                            "the form body has a malformed %-escape".into(),
                        ));
                    }
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::BadRequest("the form body is not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/links");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn form_values_decode_to_exact_utf8() {
        let pairs = parse_urlencoded(
            "title=%E0%B8%AA%E0%B8%A7%E0%B8%B1%E0%B8%AA%E0%B8%94%E0%B8%B5&a+b=c+d&e=".as_bytes(),
        )
        .unwrap();
        assert_eq!(pairs[0], ("title".into(), "สวัสดี".into()));
        assert_eq!(pairs[1], ("a b".into(), "c d".into()));
        assert_eq!(pairs[2], ("e".into(), "".into()));
    }

    #[test]
    fn form_rejects_bad_escapes_and_invalid_utf8() {
        assert!(parse_urlencoded(b"a=%E0%B8").is_err());
        assert!(parse_urlencoded(b"a=%zz").is_err());
        assert!(parse_urlencoded(b"a=%4").is_err());
    }

    #[test]
    fn json_with_surrogate_pairs_decodes() {
        let p = Params::from_body(&request(
            Some("application/json; charset=utf-8"),
            r#"{"t":"\u0e2a\ud83d\ude00"}"#,
        ))
        .unwrap();
        assert_eq!(p.get("t").unwrap(), "ส😀");
    }

    #[test]
    fn empty_body_is_no_params_whatever_the_content_type() {
        assert!(
            Params::from_body(&request(Some("application/json"), ""))
                .unwrap()
                .0
                .is_empty()
        );
        assert!(Params::from_body(&request(None, "")).unwrap().0.is_empty());
    }

    #[test]
    fn unsupported_bodies_are_refused() {
        assert_eq!(
            Params::from_body(&request(Some("text/plain"), "x"))
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(
            Params::from_body(&request(None, "x=1"))
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(
            Params::from_body(&request(Some("application/json"), "[1]"))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            Params::from_body(&request(Some("application/json"), "{"))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            Params::from_body(&request(
                Some("application/x-www-form-urlencoded"),
                "a=1&a=2"
            ))
            .unwrap_err()
            .status(),
            400
        );
    }

    #[test]
    fn null_is_not_given() {
        let p = Params::from_body(&request(Some("application/json"), r#"{"from":null}"#)).unwrap();
        assert!(p.get("from").is_none());
    }
}
