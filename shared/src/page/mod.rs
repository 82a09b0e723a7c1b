//! The payment page: server-rendered HTML a buyer opens from a link's `payment_uri`, in Thai or
//! English, with one state per situation (payable, paid, receipt, declined, withdrawn, unknown).
//!
//! Hostile territory: every merchant text is escaped ([`html::escape`]), the page runs no script
//! and loads nothing (its stylesheet is inline and allowed by hash, its QR code inline SVG), and
//! its headers forbid framing, caching and referrers ([`html::html_response`]).
//!
//! Showing a page writes nothing: its form carries a fresh random attempt key, held by no one but
//! the form, which the payment's transaction records (see `store::charges`). Cross-site posts are
//! refused by the browser's own `Origin` and `Sec-Fetch-Site` headers (see [`same_origin`]), so no
//! per-view token needs storing either.

pub mod html;
pub mod lang;
pub mod qr;

use crate::domain::charge::Charge;
use crate::domain::ids;
use crate::domain::link::Link;
use crate::validate::CardProblem;
use html::{element, escape, html_response, money};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
pub use lang::Lang;
use std::fmt::Write;

/// A payment page for one link, in one language.
pub struct Page<'a> {
    pub lang: Lang,
    pub link: &'a Link,
    pub payment_uri: &'a str,
    /// The inline QR code of `payment_uri` (SVG markup this service drew), if shown.
    pub qr: Option<&'a str>,
}

/// A notice shown above the card form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Test mode was given a number that is not a test card. Nothing was done with it.
    NotATestCard,
    /// DynamoDB was unavailable or too busy: nothing was charged.
    Busy,
}

/// What the card form shows when it is shown again: the problems with what was posted, and the
/// fields a buyer need not type again (never the number or the security code).
#[derive(Default)]
pub struct Form<'a> {
    pub problems: &'a [CardProblem],
    pub notice: Option<Notice>,
    /// The charge that just failed, whose reason is shown.
    pub declined: Option<&'a Charge>,
    pub name: &'a str,
    pub expiration_month: &'a str,
    pub expiration_year: &'a str,
}

/// The state a page shows.
pub enum State<'a> {
    /// The card form.
    Payable(Form<'a>),
    /// A single-use link that was paid.
    Paid,
    /// The charge that just paid the link.
    Receipt(&'a Charge),
    /// The merchant destroyed the link.
    Gone,
    /// A live link: payments are not enabled yet.
    LiveDisabled,
}

/// The name of the form field carrying the attempt key.
pub const ATTEMPT_FIELD: &str = "attempt";
/// The name of the form field carrying the page's language.
pub const LANG_FIELD: &str = "lang";

impl Page<'_> {
    /// The page in `state`, answered with `status`.
    pub fn render(&self, status: StatusCode, state: &State<'_>) -> Response<Body> {
        let t = self.lang.t();
        let link = self.link;
        let amount = money(link.currency, link.amount);
        let mut out = String::with_capacity(8 * 1024);
        self.head(&mut out, &amount);
        out.push_str("<body>");
        if !link.livemode {
            element(&mut out, "p", " class=\"test\"", t.test_mode);
        }
        out.push_str("<main>");
        self.language_switch(&mut out);
        out.push_str("<section class=\"card\">");
        element(&mut out, "h1", "", &link.title);
        if !link.description.is_empty() {
            element(&mut out, "p", " class=\"desc\"", &link.description);
        }
        element(&mut out, "p", " class=\"amount\"", &amount);
        out.push_str("</section>");
        match state {
            State::Payable(form) => self.form(&mut out, &amount, form),
            State::Paid => notice(&mut out, "ok", t.paid_title, t.paid_body),
            State::Receipt(charge) => self.receipt(&mut out, &amount, charge),
            State::Gone => notice(&mut out, "bad", t.gone_title, t.gone_body),
            State::LiveDisabled => notice(&mut out, "notice", t.live_disabled, ""),
        }
        if let (Some(svg), State::Payable(_)) = (self.qr, state) {
            out.push_str("<section class=\"card qr\">");
            out.push_str(svg);
            element(&mut out, "p", "", t.qr_caption);
            out.push_str("</section>");
        }
        out.push_str("</main></body></html>");
        html_response(status, self.lang.code(), out)
    }

    /// `<head>`: the title, and the Open Graph and Twitter card tags that chat apps read to show
    /// a preview of a pasted link (title, amount, description).
    fn head(&self, out: &mut String, amount: &str) {
        let link = self.link;
        let summary = if link.description.is_empty() {
            amount.to_owned()
        } else {
            let description: String = link.description.chars().take(200).collect();
            format!("{amount} · {description}")
        };
        let title = escape(&link.title);
        let summary = escape(&summary);
        let uri = escape(self.payment_uri);
        let _ = write!(
            out,
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <meta name=\"robots\" content=\"noindex,nofollow\">\
             <meta name=\"referrer\" content=\"no-referrer\">\
             <title>{title} · {amount_text}</title>\
             <meta name=\"description\" content=\"{summary}\">\
             <meta property=\"og:type\" content=\"website\">\
             <meta property=\"og:title\" content=\"{title}\">\
             <meta property=\"og:description\" content=\"{summary}\">\
             <meta property=\"og:url\" content=\"{uri}\">\
             <meta name=\"twitter:card\" content=\"summary\">\
             <meta name=\"twitter:title\" content=\"{title}\">\
             <meta name=\"twitter:description\" content=\"{summary}\">\
             <style>{style}</style></head>",
            lang = self.lang.code(),
            amount_text = escape(amount),
            style = html::STYLE,
        );
    }

    fn language_switch(&self, out: &mut String) {
        let other = self.lang.other();
        let _ = write!(
            out,
            "<p class=\"lang\"><a href=\"?lang={code}\" hreflang=\"{code}\" lang=\"{code}\">{name}</a></p>",
            code = other.code(),
            name = other.t().language_name,
        );
    }

    fn form(&self, out: &mut String, amount: &str, form: &Form<'_>) {
        let t = self.lang.t();
        if let Some(charge) = form.declined {
            let reason = charge.failure().map_or("", |code| t.failure(code));
            notice(out, "bad", t.declined_title, reason);
            element(out, "p", "", t.try_again);
        }
        match form.notice {
            Some(Notice::NotATestCard) => notice(out, "notice", t.not_test_card, ""),
            Some(Notice::Busy) => notice(out, "notice", t.busy, ""),
            None => {}
        }
        if !form.problems.is_empty() {
            notice(out, "bad", t.fix_below, "");
        }
        if !self.link.livemode {
            element(out, "p", " class=\"notice\"", t.test_cards_hint);
        }
        let error_for = |field: &str| {
            form.problems
                .iter()
                .find(|p| p.field() == field)
                .map(|p| t.problem(*p))
        };
        let _ = write!(
            out,
            "<form class=\"card\" method=\"post\" autocomplete=\"on\" novalidate>\
             <input type=\"hidden\" name=\"{ATTEMPT_FIELD}\" value=\"{attempt}\">\
             <input type=\"hidden\" name=\"{LANG_FIELD}\" value=\"{lang}\">",
            attempt = ids::new_attempt_key(),
            lang = self.lang.code(),
        );
        let field = |out: &mut String, name: &str, label: &str, attrs: &str, value: &str| {
            let error = error_for(name);
            let _ = write!(
                out,
                "<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" {attrs} value=\"{value}\"{invalid}>",
                label = escape(label),
                value = escape(value),
                invalid = if error.is_some() {
                    format!(" aria-invalid=\"true\" aria-describedby=\"{name}-error\"")
                } else {
                    String::new()
                },
            );
            if let Some(message) = error {
                element(
                    out,
                    "p",
                    &format!(" class=\"err\" id=\"{name}-error\""),
                    message,
                );
            }
        };
        field(
            out,
            "name",
            t.name,
            "autocomplete=\"cc-name\" maxlength=\"100\" required",
            form.name,
        );
        field(
            out,
            "number",
            t.number,
            "autocomplete=\"cc-number\" inputmode=\"numeric\" maxlength=\"23\" required",
            "",
        );
        // The month and year are one answer: the legend names it for screen readers. The row is
        // a div of its own, since a legend does not sit well in a flex fieldset.
        out.push_str("<fieldset>");
        element(out, "legend", "", t.expiry);
        out.push_str("<div class=\"row\"><div>");
        field(
            out,
            "expiration_month",
            t.month,
            "autocomplete=\"cc-exp-month\" inputmode=\"numeric\" maxlength=\"2\" required",
            form.expiration_month,
        );
        out.push_str("</div><div>");
        field(
            out,
            "expiration_year",
            t.year,
            "autocomplete=\"cc-exp-year\" inputmode=\"numeric\" maxlength=\"4\" required",
            form.expiration_year,
        );
        out.push_str("</div></div></fieldset>");
        field(
            out,
            "security_code",
            t.security_code,
            "autocomplete=\"cc-csc\" inputmode=\"numeric\" maxlength=\"4\" required",
            "",
        );
        let _ = write!(
            out,
            "<button type=\"submit\">{} {}</button></form>",
            escape(t.pay),
            escape(amount)
        );
    }

    fn receipt(&self, out: &mut String, amount: &str, charge: &Charge) {
        let t = self.lang.t();
        notice(out, "ok", t.receipt_title, t.receipt_body);
        out.push_str("<section class=\"card\"><dl>");
        let card = format!("{} •••• {}", charge.card.brand, charge.card.last_digits);
        let created = charge.created.format("%Y-%m-%d %H:%M UTC").to_string();
        for (term, value) in [
            (t.receipt_amount, amount),
            (t.receipt_charge, charge.id.as_str()),
            (t.receipt_card, card.as_str()),
            (t.receipt_date, created.as_str()),
        ] {
            element(out, "dt", "", term);
            element(out, "dd", "", value);
        }
        out.push_str("</dl></section>");
    }
}

/// A boxed message: a bold title and an optional body.
fn notice(out: &mut String, class: &str, title: &str, body: &str) {
    let _ = write!(
        out,
        "<div class=\"{class}\" role=\"status\"><strong>{}</strong>",
        escape(title)
    );
    if !body.is_empty() {
        element(out, "p", " class=\"sub\"", body);
    }
    out.push_str("</div>");
}

/// A page with no link behind it: an unknown token (404), or a refused cross-site post (403).
pub fn plain_page(status: StatusCode, lang: Lang, title: &str, body: &str) -> Response<Body> {
    let mut out = String::with_capacity(4 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex,nofollow\"><title>{title}</title>\
         <style>{style}</style></head><body><main>",
        lang = lang.code(),
        title = escape(title),
        style = html::STYLE,
    );
    notice(&mut out, "bad", title, body);
    out.push_str("</main></body></html>");
    html_response(status, lang.code(), out)
}

/// Runs a page's work under the request deadline, as `http::response::answer` does for the API,
/// but answers failures as HTML pages in `lang`: a buyer never sees JSON. The failure is logged
/// (and its status chosen) by the API's own `error_response`.
pub async fn answer_page(
    lang: Lang,
    work: impl std::future::Future<Output = Result<Response<Body>, crate::ApiError>>,
) -> Response<Body> {
    use crate::http::response::{REQUEST_DEADLINE, error_response};
    let error = match tokio::time::timeout(REQUEST_DEADLINE, work).await {
        Ok(Ok(response)) => return response,
        Ok(Err(error)) => error,
        Err(elapsed) => crate::ApiError::ServiceUnavailable(Box::new(elapsed)),
    };
    let status = error_response(error).status();
    let t = lang.t();
    let body = if status == StatusCode::SERVICE_UNAVAILABLE {
        t.busy
    } else {
        t.broken
    };
    let mut response = plain_page(status, lang, t.page_title, body);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            lambda_http::http::header::RETRY_AFTER,
            lambda_http::http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// Whether `token` has the shape of a payment token (19 digits and capitals), so that anything
/// else is answered 404 without a database read.
pub fn is_payment_token(token: &str) -> bool {
    token.len() == 19
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// The 404 page for a token no link has.
pub fn unknown_link(lang: Lang) -> Response<Body> {
    let t = lang.t();
    plain_page(StatusCode::NOT_FOUND, lang, t.unknown_title, t.unknown_body)
}

/// Whether a form post comes from the service's own page, by the headers browsers set and page
/// script cannot forge: `Sec-Fetch-Site` must say `same-origin` when sent, and `Origin` must be
/// `origin` (the payment page's own, scheme, host and port) when sent; and one of the two must
/// be sent, as every current browser does for a form post. A post from another site (a hidden
/// form on an attacker's page) therefore never pays, and a missing header is refused rather than
/// trusted.
///
/// `Origin: null` says nothing: browsers send it for a form post from a page whose referrer policy
/// is `no-referrer`, as this page's is, so the page's own posts carry it, and then
/// `Sec-Fetch-Site` decides (a browser that sends neither is refused).
pub fn same_origin(
    sec_fetch_site: Option<&str>,
    origin_header: Option<&str>,
    origin: &str,
) -> bool {
    let fetch_ok = sec_fetch_site.map(|s| s.eq_ignore_ascii_case("same-origin"));
    let origin_ok = origin_header
        .filter(|o| *o != "null")
        .map(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin));
    match (fetch_ok, origin_ok) {
        (None, None) => false,
        (f, o) => f.unwrap_or(true) && o.unwrap_or(true),
    }
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
pub fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_posts_are_trusted() {
        let own = "https://pay.example.com";
        assert!(same_origin(Some("same-origin"), Some(own), own));
        assert!(same_origin(None, Some("https://pay.example.com"), own));
        assert!(same_origin(Some("same-origin"), None, own));
        assert!(!same_origin(Some("cross-site"), Some(own), own));
        assert!(!same_origin(Some("same-site"), None, own));
        assert!(!same_origin(None, Some("https://evil.example"), own));
        assert!(
            !same_origin(None, Some("null"), own),
            "null alone proves nothing"
        );
        assert!(
            same_origin(Some("same-origin"), Some("null"), own),
            "the page's own post, under its no-referrer policy"
        );
        assert!(!same_origin(Some("cross-site"), Some("null"), own));
        assert!(!same_origin(None, None, own), "no evidence is no trust");
    }

    #[test]
    fn payment_tokens_are_19_digits_and_capitals() {
        assert!(is_payment_token("0123456789ABCDEFGHZ"));
        for not in [
            "",
            "0123456789ABCDEFGH",
            "0123456789ABCDEFGHZZ",
            "0123456789abcdefghz",
            "0123456789ABCDEFGH-",
            "0123456789ABCDEFGH/",
            "0123456789ABCDEFGÅ", // 19 bytes, not all ASCII
        ] {
            assert!(!is_payment_token(not), "{not}");
        }
    }

    #[test]
    fn origins_come_from_base_urls() {
        assert_eq!(
            origin_of("https://pay.example.com/pay"),
            "https://pay.example.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000/pay"),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            origin_of("https://pay.example.com"),
            "https://pay.example.com"
        );
        // A host shorter than its scheme: the path is looked for right after "://".
        assert_eq!(origin_of("https://a.b/pay"), "https://a.b");
    }
}
