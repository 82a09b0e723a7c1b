//! A buyer's browser, as the tests play it: the payment page's forms posted from the page's own
//! origin, and redirects followed to the pages they name.

use crate::{PAYMENT_BASE, TestApp, TestResponse, attempt_key};
use serde_json::Value;

/// The payment page's own origin, which browsers send with its form posts.
pub const ORIGIN: &str = "https://pay.test.example";
pub const GOOD_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4111111111140011";

/// The path of a link's payment page (`/pay/<token>`), from the link as the API answered it.
pub fn page_path(link: &Value) -> String {
    let uri = link["payment_uri"].as_str().expect("a payment_uri");
    uri.strip_prefix(PAYMENT_BASE)
        .map(|rest| format!("/pay{rest}"))
        .expect("a payment_uri under the test base")
}

/// The card form of the page at `path`, paying with `number`, in English.
pub fn card_form(path: &str, number: &str) -> String {
    card_form_with_key(&attempt_key(path), number)
}

/// The card form posted with attempt key `key`.
pub fn card_form_with_key(key: &str, number: &str) -> String {
    format!(
        "attempt={key}&lang=en&name=Somchai+Jaidee&number={number}&expiration_month=12\
         &expiration_year=2031&security_code=123"
    )
}

/// The PromptPay form of the page at `path`, in English.
pub fn promptpay_form(path: &str) -> String {
    format!(
        "attempt={}&lang=en&source_type=promptpay",
        attempt_key(path)
    )
}

/// A form posted to `path` as the page's own, from `ip` when given.
pub async fn post(app: &TestApp, path: &str, form: &str) -> TestResponse {
    app.call("POST", path)
        .header("origin", ORIGIN)
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
}

/// The same, from the client address `ip`.
pub async fn post_from(app: &TestApp, ip: &str, path: &str, form: &str) -> TestResponse {
    app.call("POST", path)
        .header("origin", ORIGIN)
        .header("sec-fetch-site", "same-origin")
        .from_ip(ip)
        .form(form)
        .send()
        .await
}

/// Where a redirect sends the browser, as a path of this API.
pub fn location(response: &TestResponse) -> String {
    let to = response
        .headers
        .get("location")
        .unwrap_or_else(|| panic!("no redirect ({}): {}", response.status, response.text))
        .to_str()
        .unwrap();
    to.strip_prefix(PAYMENT_BASE)
        .map(|rest| format!("/pay{rest}"))
        .unwrap_or_else(|| panic!("a redirect away from the service: {to}"))
}

/// The page at `path`, in English, as a browser opens it.
pub async fn open(app: &TestApp, path: &str) -> TestResponse {
    app.call("GET", path)
        .header("accept-language", "en")
        .send()
        .await
}

/// Follows the redirect `response` answered with, as a browser does after a post.
pub async fn follow(app: &TestApp, response: &TestResponse) -> TestResponse {
    assert_eq!(response.status, 303, "{}", response.text);
    open(app, &location(response)).await
}

/// The value of the query parameter `name` of a path.
pub fn query_param(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// The first hidden field `name`'s value on a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    Some(page[start..].split('"').next()?.to_owned())
}
