//! HTML for hostile territory: escaping, money as buyers read it, and the headers every page
//! carries.

use crate::domain::currency::Currency;
use base64::Engine;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::sync::LazyLock;

/// `text` made safe for HTML text and for double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An amount as a buyer reads it: the currency's symbol, thousands separators, and its decimals
/// (`฿1,234.00`, `¥1,234`, `S$12.00`).
pub fn money(currency: &Currency, amount: i64) -> String {
    let symbol = match currency.code {
        "thb" => "฿",
        "jpy" => "¥",
        "sgd" => "S$",
        "myr" => "RM",
        "usd" => "$",
        "eur" => "€",
        "gbp" => "£",
        other => other,
    };
    let decimal = currency.format_amount(amount);
    let (whole, fraction) = decimal.split_once('.').unwrap_or((&decimal, ""));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction.is_empty() {
        format!("{symbol}{grouped}")
    } else {
        format!("{symbol}{grouped}.{fraction}")
    }
}

/// The page's one stylesheet, inline so that a page is one request, and allowed by its hash.
pub const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans Thai',sans-serif;color:#1a1a1a;background:#f4f5f7}\
main{max-width:28rem;margin:0 auto;padding:1rem}\
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12);margin-bottom:1rem}\
h1{font-size:1.35rem;margin:0 0 .25rem;overflow-wrap:anywhere}\
.desc{white-space:pre-wrap;overflow-wrap:anywhere;color:#444;margin:0 0 .75rem}\
.amount{font-size:2rem;font-weight:700;margin:0}\
label,legend{display:block;font-weight:600;margin:.75rem 0 .25rem;padding:0}legend+.row label{font-weight:400;margin-top:0}\
input{width:100%;font:inherit;padding:.65rem;border:1px solid #8a8f98;border-radius:8px;background:#fff;color:#1a1a1a}\
input[aria-invalid=true]{border-color:#b00020}\
fieldset{border:0;padding:0;margin:.75rem 0 0}legend{margin-top:0}.sub{margin:.25rem 0 0}\
.row{display:flex;gap:.75rem}.row>div{flex:1}\
button,.button{display:block;box-sizing:border-box;width:100%;margin-top:1.25rem;padding:.85rem;font:inherit;font-weight:700;color:#fff;background:#1d4ed8;border:0;border-radius:8px;text-align:center;text-decoration:none}\
.secondary{color:#1d4ed8;background:#fff;border:2px solid #1d4ed8;margin-top:.75rem}\
h2{font-size:1.1rem;margin:0 0 .5rem}.expires{font-weight:600;color:#1a1a1a}\
.err{color:#b00020;margin:.25rem 0 0}\
.notice{background:#fff4e5;border-left:4px solid #b45309;padding:.75rem;margin:0 0 1rem}\
.ok{background:#e7f6ec;border-left:4px solid #15803d;padding:.75rem;margin:0 0 1rem}\
.bad{background:#fdecee;border-left:4px solid #b00020;padding:.75rem;margin:0 0 1rem}\
.test{background:#fff4e5;color:#7c2d12;text-align:center;padding:.4rem;font-size:.9rem;margin:0}\
.lang{text-align:right;margin:0 0 .5rem}a{color:#1d4ed8}\
dl{margin:0}dt{color:#555;font-size:.9rem}dd{margin:0 0 .5rem;font-weight:600;overflow-wrap:anywhere}\
.qr{text-align:center;color:#555;font-size:.9rem}.qr svg,.qr img{width:11rem;height:11rem;display:block;margin:0 auto .25rem}\
@media (max-width:360px){.row{flex-direction:column;gap:0}}";

/// The stylesheet's CSP source, `'sha256-…'`.
static STYLE_SOURCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE))
    )
});

/// The `Content-Security-Policy` of every page: nothing may load or run but the page's own
/// hashed stylesheet and its inline QR image; no script at all; forms post only to the service
/// itself; no page may frame it.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; img-src data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        *STYLE_SOURCE
    )
}

/// The script of a tokenized card form: on submit, hands the card to the gateway's script
/// (`Omise.createToken`), then posts only the token (the card inputs have no `name`, so the
/// browser never sends them; they are emptied before the post). Served inline and allowed by
/// its hash alone.
pub const TOKENIZE_SCRIPT: &str = r#"(function () {
  var form = document.getElementById("card");
  if (!form || !window.Omise) { return; }
  var status = document.getElementById("card-status");
  var value = function (id) { return document.getElementById(id).value; };
  form.addEventListener("submit", function (event) {
    var token = document.getElementById("omise_token");
    if (token.value) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "";
    Omise.setPublicKey(form.getAttribute("data-omise-key"));
    Omise.createToken("card", {
      name: value("name"),
      number: value("number"),
      expiration_month: value("expiration_month"),
      expiration_year: value("expiration_year"),
      security_code: value("security_code")
    }, function (code, response) {
      if (code === 200 && response && typeof response.id === "string") {
        document.getElementById("number").value = "";
        document.getElementById("security_code").value = "";
        token.value = response.id;
        form.submit();
        return;
      }
      button.disabled = false;
      var said = response && typeof response.message === "string" ? " " + response.message : "";
      status.textContent = status.getAttribute("data-failed") + said;
    });
  });
})();"#;

static TOKENIZE_SOURCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(TOKENIZE_SCRIPT))
    )
});

/// Where a tokenized card form's gateway lives, as origins (`https://host[:port]`).
#[derive(Debug, Clone, Copy)]
pub struct GatewayOrigins<'a> {
    /// The gateway's script (Omise.js).
    pub script: &'a str,
    /// Its card vault, which the script posts the card to.
    pub vault: &'a str,
    /// Its API, whose 3-D Secure page a payment post may be sent on to.
    pub api: &'a str,
}

/// The policy of a page with a tokenized card form: as [`content_security_policy`], and
/// besides exactly the page's own hashed script, the gateway's script, its vault for the
/// script's requests and frames, and its API for the post's redirect to 3-D Secure.
pub fn tokenized_content_security_policy(gateway: GatewayOrigins<'_>) -> String {
    format!(
        "default-src 'none'; style-src {style}; img-src data:; script-src {own} {script}; \
         connect-src {vault}; frame-src {vault} {script}; form-action 'self' {api}; \
         frame-ancestors 'none'; base-uri 'none'",
        style = *STYLE_SOURCE,
        own = *TOKENIZE_SOURCE,
        script = gateway.script,
        vault = gateway.vault,
        api = gateway.api,
    )
}

/// An HTML response with the headers hostile territory calls for.
pub fn html_response(status: StatusCode, lang: &str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // Browsers remember to come back over HTTPS only (ignored on plain-HTTP local runs).
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::VARY, "Accept-Language"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if let Ok(lang) = HeaderValue::from_str(lang) {
        headers.insert(header::CONTENT_LANGUAGE, lang);
    }
    response
}

/// Appends `<tag attrs>escaped text</tag>`.
pub fn element(out: &mut String, tag: &str, attrs: &str, text: &str) {
    let _ = write!(out, "<{tag}{attrs}>{}</{tag}>", escape(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("ค่าอาหาร"), "ค่าอาหาร");
    }

    #[test]
    fn money_reads_as_buyers_expect() {
        let c = |code| Currency::find(code).unwrap();
        assert_eq!(money(c("thb"), 123_400), "฿1,234.00");
        assert_eq!(money(c("thb"), 2_000), "฿20.00");
        assert_eq!(money(c("thb"), 100_000_000), "฿1,000,000.00");
        assert_eq!(money(c("jpy"), 1_234), "¥1,234");
        assert_eq!(money(c("jpy"), 100), "¥100");
        assert_eq!(money(c("sgd"), 1_200), "S$12.00");
        assert_eq!(money(c("usd"), 123_456_789), "$1,234,567.89");
    }

    #[test]
    fn a_tokenized_page_allows_its_gateway_and_nothing_more() {
        let csp = tokenized_content_security_policy(GatewayOrigins {
            script: "https://cdn.omise.co",
            vault: "https://vault.omise.co",
            api: "https://api.omise.co",
        });
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe"));
        assert!(csp.contains(&format!(
            "script-src {} https://cdn.omise.co;",
            *TOKENIZE_SOURCE
        )));
        assert!(csp.contains("connect-src https://vault.omise.co;"));
        assert!(csp.contains("form-action 'self' https://api.omise.co;"));
        assert!(!csp.contains('*'));
    }

    #[test]
    fn pages_carry_a_strict_policy() {
        let r = html_response(StatusCode::OK, "th", "<p>x</p>".into());
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"));
        assert!(csp.contains(&*STYLE_SOURCE));
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["content-language"], "th");
    }
}
