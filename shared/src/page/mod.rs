//! The payment page: server-rendered HTML a buyer opens from a link's `payment_uri`, in Thai or
//! English, with one state per situation (payable, held by another buyer, waiting for a bank or
//! a PromptPay payment, paid, receipt, declined, expired, withdrawn, unconfirmed, paused,
//! unknown), and the test processor's stand-in 3-D Secure page.
//!
//! Hostile territory: every merchant text is escaped ([`html::escape`]), the page runs no script
//! and loads nothing (its stylesheet is inline and allowed by hash, its QR codes inline SVG), and
//! its headers forbid framing, caching and referrers and ask for HTTPS
//! ([`html::html_response`]). A page waiting for a PromptPay payment refreshes itself with an
//! HTTP `Refresh` header, which needs no script, and offers a link that stops it (WCAG 2.2.1: a
//! buyer using a screen reader, or simply reading, must be able to turn a time limit off).
//!
//! Showing a page writes nothing: its forms carry fresh attempt keys signed by the service (see
//! `domain::attempt`), held by no one but the form. Cross-site posts are refused by the
//! browser's own `Origin` and `Sec-Fetch-Site` headers (see [`same_origin`]), so no per-view
//! token needs storing either.

pub mod html;
pub mod lang;
pub mod qr;

use crate::domain::attempt::AttemptKeys;
use crate::domain::charge::{Charge, Status};
use crate::domain::link::Link;
use crate::domain::time_zone::TimeZone;
use crate::payments::{Nothing, Standing};
use crate::validate::CardProblem;
use chrono::{DateTime, Utc};
use html::{element, escape, html_response, money};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
pub use lang::Lang;
use std::borrow::Cow;
use std::fmt::Write;

/// A payment page for one link, in one language.
pub struct Page<'a> {
    pub lang: Lang,
    pub link: &'a Link,
    pub payment_uri: &'a str,
    /// The inline QR code of `payment_uri` (SVG markup this service drew), if shown.
    pub qr: Option<&'a str>,
    /// Signs the attempt keys of the forms the page shows; `None` for a page that shows none
    /// (the stand-in bank page), which then has no need to read the secret.
    pub keys: Option<&'a AttemptKeys>,
    pub now: DateTime<Utc>,
    /// What the page's own address says beside `lang` (`attempt=…` on a return page), kept by
    /// its language switch.
    pub query: &'a str,
    /// Set when the account's card payments go through Omise: the card form is tokenized in
    /// the buyer's browser and posts only the token.
    pub tokenized: Option<Tokenized<'a>>,
    /// The account's time zone: every time on the page is shown in it, labelled.
    pub zone: &'a TimeZone,
}

/// A tokenized card form's gateway: its public key and where the browser finds it.
#[derive(Debug, Clone, Copy)]
pub struct Tokenized<'a> {
    pub public_key: &'a str,
    pub browser: &'a crate::processor::OmiseBrowser,
}

impl<'a> Tokenized<'a> {
    /// The form for an account whose settings say Omise, if they do.
    pub fn of(
        settings: &'a crate::store::settings::Settings,
        browser: &'a crate::processor::OmiseBrowser,
    ) -> Option<Self> {
        match &settings.gateway {
            crate::store::settings::Gateway::Omise(keys) => Some(Self {
                public_key: &keys.public_key,
                browser,
            }),
            _ => None,
        }
    }
}

/// A notice shown above the payment forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Test mode was given a number that is not a test card. Nothing was done with it.
    NotATestCard,
    /// DynamoDB was unavailable or too busy before anything was asked of the processor: nothing
    /// was charged.
    Busy,
    /// The form was older than an attempt is remembered: nothing was charged.
    FormExpired,
    /// The buyer's pending payment (an abandoned 3-D Secure page, a QR code not paid) expired.
    Expired,
    /// The buyer's payment was reversed.
    Reversed,
    /// The buyer's attempt never reached the processor, or the processor refused it.
    NotCharged,
}

/// What the card form shows when it is shown again: the problems with what was posted, and the
/// fields a buyer need not type again (never the number or the security code).
#[derive(Default)]
pub struct Form<'a> {
    pub problems: &'a [CardProblem],
    pub notice: Option<Notice>,
    /// The charge that just failed, whose reason is shown.
    pub declined: Option<&'a Charge>,
    pub name: Cow<'a, str>,
    pub expiration_month: Cow<'a, str>,
    pub expiration_year: Cow<'a, str>,
}

impl<'a> Form<'a> {
    /// The form again after `charge` was declined: its reason, and the card's name and expiry.
    pub fn declined(charge: &'a Charge) -> Self {
        let card = charge.card.as_ref();
        Self {
            declined: Some(charge),
            name: card.map_or(Cow::Borrowed(""), |c| Cow::Borrowed(c.name.as_str())),
            expiration_month: card.map_or(Cow::Borrowed(""), |c| {
                Cow::Owned(c.expiration_month.to_string())
            }),
            expiration_year: card.map_or(Cow::Borrowed(""), |c| {
                Cow::Owned(c.expiration_year.to_string())
            }),
            ..Self::default()
        }
    }
}

/// The state a page shows.
pub enum State<'a> {
    /// The payment forms.
    Payable(Form<'a>),
    /// A single-use link that was paid.
    Paid,
    /// The charge that just paid the link.
    Receipt(&'a Charge),
    /// The merchant destroyed the link; `nothing_charged` when the buyer's own payment was undone
    /// for it.
    Gone { nothing_charged: bool },
    /// A live link: payments are not enabled yet.
    LiveDisabled,
    /// The merchant's `expires_at` has passed: no payment is taken any more.
    LinkExpired,
    /// Another buyer is paying this single-use link, until this time at the latest.
    Held(DateTime<Utc>),
    /// Every place of this limited link is taken, some by payments in flight.
    Full,
    /// The buyer's charge waits: for their bank (3-D Secure) or their PromptPay payment. `check`
    /// is the URL that shows it again.
    Pending {
        charge: &'a Charge,
        attempt: &'a str,
        check: &'a str,
        /// The QR code of a PromptPay charge (SVG), drawn by the caller.
        qr: Option<&'a str>,
    },
    /// The outcome of the buyer's payment is not known yet: asked again with `attempt_key` (a
    /// form posted again) or at `check` (the return page), it is known.
    Unconfirmed {
        attempt_key: Option<&'a str>,
        check: &'a str,
    },
    /// Too many failed payments: paused for this many seconds.
    TooMany(u64),
}

/// The names of the form fields the pages post.
pub const ATTEMPT_FIELD: &str = "attempt";
/// The card token Omise.js made in the buyer's browser (a tokenized card form's only card field).
pub const OMISE_TOKEN_FIELD: &str = "omise_token";
pub const LANG_FIELD: &str = "lang";
/// `promptpay` on the PromptPay form.
pub const SOURCE_FIELD: &str = "source_type";
/// `1` on the form that asks how an unconfirmed payment ended.
pub const CHECK_FIELD: &str = "check";
/// The attempt whose pending payment the buyer cancels ("pay another way").
pub const CANCEL_FIELD: &str = "cancel";

/// How often a page waiting for a PromptPay payment refreshes itself, in seconds.
pub const REFRESH_SECS: u32 = 5;

impl Page<'_> {
    /// The page in `state`, answered with `status`.
    pub fn render(&self, status: StatusCode, state: &State<'_>) -> Response<Body> {
        let t = self.lang.t();
        let link = self.link;
        let amount = money(link.currency, link.amount);
        let mut out = String::with_capacity(8 * 1024);
        let refresh = self.refreshes(state);
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
            State::Payable(form) => self.forms(&mut out, &amount, form),
            // A limited link (always multiple-use) stops taking payments at its limit only.
            State::Paid => match link.usage_limit {
                Some(limit) => notice(
                    &mut out,
                    "bad",
                    t.used_up_title,
                    &t.used_up_body.replace("{limit}", &limit.to_string()),
                ),
                None => notice(&mut out, "ok", t.paid_title, t.paid_body),
            },
            State::Full => notice(&mut out, "notice", t.full_title, t.full_body),
            State::Receipt(charge) => self.receipt(&mut out, &amount, charge),
            State::Gone { nothing_charged } => {
                let body = if *nothing_charged {
                    format!("{} {}", t.gone_body, t.nothing_charged)
                } else {
                    t.gone_body.to_owned()
                };
                notice(&mut out, "bad", t.gone_title, &body)
            }
            State::LinkExpired => {
                notice(&mut out, "bad", t.link_expired_title, t.link_expired_body)
            }
            State::LiveDisabled => {
                let promptpay = if link.currency.code == "thb" {
                    t.promptpay_not_enabled
                } else {
                    ""
                };
                notice(&mut out, "notice", t.live_disabled, promptpay)
            }
            State::Held(until) => notice(
                &mut out,
                "notice",
                t.held_title,
                &t.held_body.replace("{time}", &self.zone.clock(*until)),
            ),
            State::Pending {
                charge,
                attempt,
                check,
                qr,
            } => self.pending(&mut out, &amount, charge, attempt, check, *qr),
            State::Unconfirmed { attempt_key, check } => {
                self.unconfirmed(&mut out, *attempt_key, check)
            }
            State::TooMany(secs) => notice(
                &mut out,
                "bad",
                t.too_many_title,
                &t.too_many_body
                    .replace("{minutes}", &secs.div_ceil(60).to_string()),
            ),
        }
        if let (Some(svg), State::Payable(_)) = (self.qr, state) {
            out.push_str("<section class=\"card qr\">");
            out.push_str(svg);
            element(&mut out, "p", "", t.qr_caption);
            out.push_str("</section>");
        }
        out.push_str("</main></body></html>");
        let mut response = html_response(status, self.lang.code(), out);
        if let (Some(tokenized), State::Payable(_)) = (self.tokenized, state) {
            let policy = html::tokenized_content_security_policy(tokenized.browser.origins());
            if let Ok(value) = lambda_http::http::HeaderValue::from_str(&policy) {
                response
                    .headers_mut()
                    .insert(lambda_http::http::header::CONTENT_SECURITY_POLICY, value);
            }
        }
        if refresh {
            response.headers_mut().insert(
                lambda_http::http::header::REFRESH,
                lambda_http::http::HeaderValue::from(REFRESH_SECS),
            );
        }
        // When a page that turns the buyer away will say otherwise.
        let wait = match state {
            State::Held(until) => Some((*until - self.now).num_seconds().max(1) as u64),
            State::TooMany(secs) => Some(*secs),
            State::Unconfirmed {
                attempt_key: Some(_),
                ..
            } => Some(5),
            _ => None,
        };
        if let Some(value) =
            wait.and_then(|w| lambda_http::http::HeaderValue::from_str(&w.to_string()).ok())
        {
            response
                .headers_mut()
                .insert(lambda_http::http::header::RETRY_AFTER, value);
        }
        response
    }

    /// Whether the page in `state` refreshes itself: one waiting for a PromptPay payment, unless
    /// its buyer turned that off (`refresh=off` in its address).
    fn refreshes(&self, state: &State<'_>) -> bool {
        matches!(state, State::Pending { charge, .. } if charge.source.is_some())
            && !self.query.split('&').any(|p| p == "refresh=off")
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
        let keep = if self.query.is_empty() {
            String::new()
        } else {
            format!("{}&amp;", escape(self.query))
        };
        let _ = write!(
            out,
            "<p class=\"lang\"><a href=\"?{keep}lang={code}\" hreflang=\"{code}\" lang=\"{code}\">{name}</a></p>",
            code = other.code(),
            name = other.t().language_name,
        );
    }

    /// The hidden fields every payment form of the page carries: a fresh attempt key and the
    /// language. (Without keys there is no key: such a form is refused when posted.)
    fn hidden_fields(&self, out: &mut String) {
        let attempt = self
            .keys
            .map(|keys| keys.issue(&self.link.payment_token, self.now))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{ATTEMPT_FIELD}\" value=\"{attempt}\">\
             <input type=\"hidden\" name=\"{LANG_FIELD}\" value=\"{lang}\">",
            lang = self.lang.code(),
        );
    }

    /// The payment forms: PromptPay (for a THB link) and the card form.
    fn forms(&self, out: &mut String, amount: &str, form: &Form<'_>) {
        let t = self.lang.t();
        if let Some(charge) = form.declined {
            let reason = charge.failure().map_or("", |code| t.failure(code));
            notice(out, "bad", t.declined_title, reason);
            element(out, "p", "", t.try_again);
        }
        match form.notice {
            Some(Notice::NotATestCard) => notice(out, "notice", t.not_test_card, ""),
            Some(Notice::Busy) => notice(out, "notice", t.busy, ""),
            Some(Notice::FormExpired) => notice(out, "notice", t.form_expired, ""),
            Some(Notice::Expired) => notice(out, "notice", t.expired_title, t.nothing_charged),
            Some(Notice::Reversed) => notice(out, "notice", t.reversed_title, t.nothing_charged),
            Some(Notice::NotCharged) => notice(out, "notice", t.abandoned_title, t.nothing_charged),
            None => {}
        }
        if !form.problems.is_empty() {
            notice(out, "bad", t.fix_below, "");
        }
        if self.link.currency.code == "thb" {
            out.push_str("<section class=\"card\">");
            element(out, "h2", "", t.promptpay_heading);
            // Offered wherever a gateway takes it: the built-in test processor, or Omise (its
            // QR image fetched and redrawn by the service, see `qr::scannable`).
            if self.link.livemode && self.tokenized.is_none() {
                element(out, "p", " class=\"sub\"", t.promptpay_not_enabled);
            } else {
                let _ = write!(
                    out,
                    "<form id=\"promptpay\" method=\"post\" action=\"{}\">",
                    escape(self.payment_uri)
                );
                self.hidden_fields(out);
                let _ = write!(
                    out,
                    "<input type=\"hidden\" name=\"{SOURCE_FIELD}\" value=\"promptpay\">\
                     <button type=\"submit\">{}</button></form>",
                    escape(t.promptpay_pay)
                );
            }
            out.push_str("</section>");
        }
        self.card_form(out, amount, form);
    }

    fn card_form(&self, out: &mut String, amount: &str, form: &Form<'_>) {
        let t = self.lang.t();
        let error_for = |field: &str| {
            form.problems
                .iter()
                .find(|p| p.field() == field)
                .map(|p| t.problem(*p))
        };
        // Every form posts to the payment page itself, wherever it is shown (a return page too).
        // A tokenized form names the gateway's public key for its script.
        let key = self.tokenized.map_or(String::new(), |t| {
            format!(" data-omise-key=\"{}\"", escape(t.public_key))
        });
        let _ = write!(
            out,
            "<form id=\"card\" class=\"card\" method=\"post\" action=\"{}\" autocomplete=\"on\" novalidate{key}>",
            escape(self.payment_uri)
        );
        element(out, "h2", "", t.card_heading);
        if !self.link.livemode && self.tokenized.is_none() {
            element(out, "p", " class=\"notice\"", t.test_cards_hint);
        }
        if self.tokenized.is_some() {
            out.push_str("<noscript>");
            element(out, "p", " class=\"notice\"", t.card_needs_script);
            out.push_str("</noscript>");
            let _ = write!(
                out,
                "<input type=\"hidden\" id=\"{OMISE_TOKEN_FIELD}\" name=\"{OMISE_TOKEN_FIELD}\" value=\"\">"
            );
        }
        self.hidden_fields(out);
        // A tokenized form's card inputs have no `name`: the browser never posts them; the
        // gateway's script reads them by id and sends them to its vault.
        let tokenized = self.tokenized.is_some();
        let field = |out: &mut String, name: &str, label: &str, attrs: &str, value: &str| {
            let error = error_for(name);
            let _ = write!(
                out,
                "<label for=\"{name}\">{label}</label><input id=\"{name}\"{named} {attrs} value=\"{value}\"{invalid}>",
                named = if tokenized {
                    String::new()
                } else {
                    format!(" name=\"{name}\"")
                },
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
            &form.name,
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
            &form.expiration_month,
        );
        out.push_str("</div><div>");
        field(
            out,
            "expiration_year",
            t.year,
            "autocomplete=\"cc-exp-year\" inputmode=\"numeric\" maxlength=\"4\" required",
            &form.expiration_year,
        );
        out.push_str("</div></div></fieldset>");
        field(
            out,
            "security_code",
            t.security_code,
            "autocomplete=\"cc-csc\" inputmode=\"numeric\" maxlength=\"4\" required",
            "",
        );
        if let Some(tokenized) = self.tokenized {
            let _ = write!(
                out,
                "<p id=\"card-status\" class=\"err\" role=\"alert\" data-failed=\"{}\"></p>",
                escape(t.card_token_failed)
            );
            let _ = write!(
                out,
                "<button type=\"submit\">{} {}</button></form><script src=\"{}\"></script><script>{}</script>",
                escape(t.pay),
                escape(amount),
                escape(&tokenized.browser.js_url),
                html::TOKENIZE_SCRIPT
            );
        } else {
            let _ = write!(
                out,
                "<button type=\"submit\">{} {}</button></form>",
                escape(t.pay),
                escape(amount)
            );
        }
    }

    fn receipt(&self, out: &mut String, amount: &str, charge: &Charge) {
        let t = self.lang.t();
        notice(out, "ok", t.receipt_title, t.receipt_body);
        out.push_str("<section class=\"card\"><dl>");
        let method = match &charge.card {
            Some(card) => format!("{} •••• {}", card.brand, card.last_digits),
            None => t.promptpay_name.to_owned(),
        };
        let created = self.zone.date_time(charge.created);
        for (term, value) in [
            (t.receipt_amount, amount),
            (t.receipt_charge, charge.id.as_str()),
            (t.receipt_method, method.as_str()),
            (t.receipt_date, created.as_str()),
        ] {
            element(out, "dt", "", term);
            element(out, "dd", "", value);
        }
        out.push_str("</dl></section>");
        // Back to the merchant's shop, if they asked for it: a link the buyer sees (its host
        // named) and follows, never a redirect.
        if let Some(back) = self.link.after_payment_uri_for(&charge.id) {
            let host = back
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split(['/', '?', '#']).next())
                .unwrap_or_default();
            let _ = write!(
                out,
                "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                escape(&back),
                escape(&t.back_to_shop.replace("{host}", host))
            );
        }
    }

    /// A charge waiting for the buyer: the way to their bank, or the QR code to pay; a way to
    /// check; a way to give up and pay otherwise.
    fn pending(
        &self,
        out: &mut String,
        amount: &str,
        charge: &Charge,
        attempt: &str,
        check: &str,
        qr: Option<&str>,
    ) {
        let t = self.lang.t();
        let until = charge.expires_at.unwrap_or(self.now);
        if charge.source.is_some() {
            notice(
                out,
                "notice",
                t.promptpay_title,
                &t.promptpay_body.replace("{amount}", amount),
            );
            out.push_str("<section class=\"card qr\">");
            match qr {
                Some(svg) => out.push_str(svg),
                None => element(out, "p", "", t.promptpay_qr_unavailable),
            }
            let minutes = (until - self.now).num_seconds().max(0).div_euclid(60) + 1;
            element(
                out,
                "p",
                " class=\"expires\"",
                &t.promptpay_expires
                    .replace("{time}", &self.zone.clock(until))
                    .replace("{minutes}", &minutes.to_string()),
            );
            if !self.link.livemode {
                element(out, "p", " class=\"sub\"", t.promptpay_test_qr);
            }
            out.push_str("</section>");
            // Refreshing by itself, with the way to stop it; or stopped, with the way to check.
            if self.query.split('&').any(|p| p == "refresh=off") {
                element(out, "p", "", t.checking_off);
            } else {
                let _ = write!(
                    out,
                    "<p>{} <a href=\"{}&amp;refresh=off\">{}</a></p>",
                    escape(&t.auto_check.replace("{seconds}", &REFRESH_SECS.to_string())),
                    escape(check),
                    escape(t.stop_checking)
                );
            }
        } else {
            notice(out, "notice", t.pending_title, t.pending_body);
            if let Some(uri) = &charge.authorize_uri {
                let _ = write!(
                    out,
                    "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                    escape(uri),
                    escape(t.continue_to_bank)
                );
            }
        }
        let _ = write!(
            out,
            "<p><a class=\"button secondary\" href=\"{}\">{}</a></p>",
            escape(check),
            escape(t.check_payment)
        );
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"{CANCEL_FIELD}\" value=\"{}\">\
             <input type=\"hidden\" name=\"{LANG_FIELD}\" value=\"{}\">\
             <button class=\"secondary\" type=\"submit\">{}</button></form>",
            escape(self.payment_uri),
            escape(attempt),
            self.lang.code(),
            escape(t.cancel_payment)
        );
    }

    /// The test processor's stand-in for a card's bank: the 3-D Secure page a pending card
    /// charge's `authorize_uri` opens (test mode only), with the card it is for (`card`, brand
    /// and last four digits) and two answers, posted back to the same page for `payment` (the
    /// processor's charge).
    pub fn authentication(&self, card: &str, payment: &str) -> Response<Body> {
        let t = self.lang.t();
        let amount = money(self.link.currency, self.link.amount);
        let mut out = String::with_capacity(6 * 1024);
        self.head(&mut out, &amount);
        out.push_str("<body>");
        element(&mut out, "p", " class=\"test\"", t.test_mode);
        out.push_str("<main>");
        self.language_switch(&mut out);
        out.push_str("<section class=\"card\">");
        element(&mut out, "h1", "", t.bank_title);
        element(&mut out, "p", " class=\"desc\"", t.bank_body);
        out.push_str("<dl>");
        for (term, value) in [
            (t.bank_merchant, self.link.title.as_str()),
            (t.receipt_amount, amount.as_str()),
            (t.receipt_card, card),
        ] {
            element(&mut out, "dt", "", term);
            element(&mut out, "dd", "", value);
        }
        out.push_str("</dl>");
        let _ = write!(
            out,
            "<form method=\"post\"><input type=\"hidden\" name=\"payment\" value=\"{}\">\
             <input type=\"hidden\" name=\"{LANG_FIELD}\" value=\"{}\">\
             <button type=\"submit\" name=\"action\" value=\"authenticate\">{}</button>\
             <button class=\"secondary\" type=\"submit\" name=\"action\" value=\"fail\">{}</button>\
             </form></section></main></body></html>",
            escape(payment),
            self.lang.code(),
            escape(t.bank_authenticate),
            escape(t.bank_fail),
        );
        html_response(StatusCode::OK, self.lang.code(), out)
    }

    /// The payment's outcome is not known yet: a form that asks again under the same attempt key,
    /// or a link to the page that shows it.
    fn unconfirmed(&self, out: &mut String, attempt_key: Option<&str>, check: &str) {
        let t = self.lang.t();
        notice(out, "notice", t.unconfirmed_title, t.unconfirmed_body);
        match attempt_key {
            Some(key) => check_form(out, self.lang, self.payment_uri, key),
            None => {
                let _ = write!(
                    out,
                    "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                    escape(check),
                    escape(t.check_again)
                );
            }
        }
    }

    /// The page for where a buyer's attempt `attempt` stands. `attempt_key` is the key of the
    /// form that was posted, if one was (it asks again when the outcome is not known yet).
    /// After a post, a charge that waits for the buyer is answered with a redirect (to their
    /// bank, or to the page that waits for their PromptPay payment), and a decline with `402`;
    /// on the return page, every state that exists is a `200`.
    ///
    /// `code` is a waiting PromptPay charge's QR code, as its gateway gave it (see
    /// [`qr::scannable`]).
    pub fn standing(
        &self,
        standing: &Standing,
        attempt: &str,
        attempt_key: Option<&str>,
        code: Option<&crate::processor::ScannableCode>,
    ) -> Response<Body> {
        let after_post = attempt_key.is_some();
        let check = format!("{}/complete?attempt={attempt}", self.payment_uri);
        // The link as read before this attempt settled may still show its own hold.
        let held_by_another = self.link.held_until(self.now).filter(|_| {
            self.link
                .hold
                .as_ref()
                .is_some_and(|h| h.attempt != attempt)
        });
        let payable =
            self.link.payable() && held_by_another.is_none() && !self.link.expired(self.now);
        let link_state = |nothing_charged: bool| -> (StatusCode, State<'_>) {
            if self.link.deleted_at.is_some() {
                (StatusCode::GONE, State::Gone { nothing_charged })
            } else if self.link.payable() && self.link.expired(self.now) {
                (StatusCode::GONE, State::LinkExpired)
            } else if let Some(until) = held_by_another {
                (StatusCode::CONFLICT, State::Held(until))
            } else {
                (StatusCode::CONFLICT, State::Paid)
            }
        };
        let notice_form = |notice: Notice| -> (StatusCode, State<'_>) {
            if payable {
                (
                    StatusCode::OK,
                    State::Payable(Form {
                        notice: Some(notice),
                        ..Form::default()
                    }),
                )
            } else {
                link_state(true)
            }
        };
        let qr_svg;
        let (status, state) = match standing {
            Standing::Charged(charge) if charge.status == Status::Pending => {
                if after_post {
                    let to = match (&charge.authorize_uri, &charge.source) {
                        (Some(uri), None) => uri.as_str(),
                        _ => check.as_str(),
                    };
                    // The gateway's own page (Omise's 3-D Secure) is left as it gave it.
                    if !to.starts_with(self.payment_uri) {
                        return redirect(to);
                    }
                    // This service's addresses carry a query already; the buyer's language
                    // goes along.
                    return redirect(&format!("{to}&lang={}", self.lang.code()));
                }
                qr_svg =
                    code.and_then(|code| qr::scannable(code, self.lang.t().promptpay_qr_label));
                (
                    StatusCode::OK,
                    State::Pending {
                        charge,
                        attempt,
                        check: &check,
                        qr: qr_svg.as_deref(),
                    },
                )
            }
            Standing::Charged(charge) => {
                let (status, state) = charge_state(charge, attempt, &check, None);
                let status = if after_post { status } else { StatusCode::OK };
                match state {
                    State::Payable(_) if !payable => {
                        let (status, state) = link_state(true);
                        (status, state)
                    }
                    state => (status, state),
                }
            }
            Standing::Nothing(Nothing::Abandoned) => notice_form(Notice::NotCharged),
            Standing::Nothing(Nothing::LinkWithdrawn) => (
                StatusCode::GONE,
                State::Gone {
                    nothing_charged: true,
                },
            ),
            Standing::Nothing(Nothing::LinkTaken) => (StatusCode::CONFLICT, State::Paid),
            Standing::Unconfirmed => (
                if after_post {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                },
                State::Unconfirmed {
                    attempt_key,
                    check: &check,
                },
            ),
            Standing::Held(until) => (StatusCode::CONFLICT, State::Held(*until)),
            Standing::Full => (StatusCode::CONFLICT, State::Full),
            Standing::NotPayable(link) => {
                let page = Page { link, ..*self };
                let (status, state) = if link.deleted_at.is_some() {
                    (
                        StatusCode::GONE,
                        State::Gone {
                            nothing_charged: false,
                        },
                    )
                } else if link.payable() && link.expired(self.now) {
                    (StatusCode::GONE, State::LinkExpired)
                } else {
                    (StatusCode::CONFLICT, State::Paid)
                };
                return page.render(status, &state);
            }
        };
        self.render(status, &state)
    }
}

/// A `303 See Other` to `to`: after a post, the browser fetches the next page with a GET, so a
/// reload never posts the form again.
pub fn redirect(to: &str) -> Response<Body> {
    let mut response = html_response(StatusCode::SEE_OTHER, "en", String::new());
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(to) {
        response
            .headers_mut()
            .insert(lambda_http::http::header::LOCATION, value);
    }
    response
}

/// What state a charge puts its buyer's page in, for a link as it is now: its receipt, its
/// pending page, or the forms again with why it did not go through.
pub fn charge_state<'a>(
    charge: &'a Charge,
    attempt: &'a str,
    check: &'a str,
    qr: Option<&'a str>,
) -> (StatusCode, State<'a>) {
    match charge.status {
        Status::Successful => (StatusCode::OK, State::Receipt(charge)),
        Status::Pending => (
            StatusCode::OK,
            State::Pending {
                charge,
                attempt,
                check,
                qr,
            },
        ),
        Status::Failed => (
            StatusCode::PAYMENT_REQUIRED,
            State::Payable(Form::declined(charge)),
        ),
        Status::Expired => (
            StatusCode::OK,
            State::Payable(Form {
                notice: Some(Notice::Expired),
                ..Form::default()
            }),
        ),
        Status::Reversed => (
            StatusCode::OK,
            State::Payable(Form {
                notice: Some(Notice::Reversed),
                ..Form::default()
            }),
        ),
    }
}

/// The form that asks how a payment whose outcome was not known ended: its attempt key posted
/// again (to `action`, the payment page, or where the page came from when empty).
fn check_form(out: &mut String, lang: Lang, action: &str, attempt_key: &str) {
    let action = if action.is_empty() {
        String::new()
    } else {
        format!(" action=\"{}\"", escape(action))
    };
    let _ = write!(
        out,
        "<form method=\"post\"{action}><input type=\"hidden\" name=\"{ATTEMPT_FIELD}\" value=\"{}\">\
         <input type=\"hidden\" name=\"{LANG_FIELD}\" value=\"{}\">\
         <input type=\"hidden\" name=\"{CHECK_FIELD}\" value=\"1\">\
         <button type=\"submit\">{}</button></form>",
        escape(attempt_key),
        lang.code(),
        escape(lang.t().check_again)
    );
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
    plain_head(&mut out, lang, title);
    notice(&mut out, "bad", title, body);
    out.push_str("</main></body></html>");
    html_response(status, lang.code(), out)
}

/// The head of a page with no link behind it, and the start of its body.
fn plain_head(out: &mut String, lang: Lang, title: &str) {
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
}

/// Runs a page's work under the request deadline, as `http::response::answer` does for the API,
/// but answers failures as HTML pages in `lang`: a buyer never sees JSON. The failure is logged
/// (and its status chosen) by the API's own `error_response`. The page says nothing of charges:
/// see [`answer_payment`] for pages that take payments.
pub async fn answer_page(
    lang: Lang,
    work: impl std::future::Future<Output = Result<Response<Body>, crate::ApiError>>,
) -> Response<Body> {
    let t = lang.t();
    answer_within_deadline(work, |status| {
        let body = if status == StatusCode::SERVICE_UNAVAILABLE {
            t.busy
        } else {
            t.broken
        };
        plain_page(status, lang, t.page_title, body)
    })
    .await
}

/// [`answer_page`] for a payment: a failure before the processor was asked (`progress`) is
/// answered "nothing was charged"; after, the buyer is told the payment could not be confirmed
/// yet, with a form that asks again under the same attempt key (`attempt_key`), which shows
/// the truth once the attempt is settled.
pub async fn answer_payment(
    lang: Lang,
    progress: &crate::payments::Progress,
    attempt_key: Option<&str>,
    work: impl std::future::Future<Output = Result<Response<Body>, crate::ApiError>>,
) -> Response<Body> {
    let t = lang.t();
    answer_within_deadline(work, |status| match attempt_key {
        Some(key) if progress.processor_asked() => unconfirmed_page(lang, key),
        _ => {
            let body = if status == StatusCode::SERVICE_UNAVAILABLE {
                t.busy_not_charged
            } else {
                t.broken_not_charged
            };
            plain_page(status, lang, t.page_title, body)
        }
    })
    .await
}

async fn answer_within_deadline(
    work: impl std::future::Future<Output = Result<Response<Body>, crate::ApiError>>,
    page: impl FnOnce(StatusCode) -> Response<Body>,
) -> Response<Body> {
    use crate::http::response::{REQUEST_DEADLINE, error_response};
    let error = match tokio::time::timeout(REQUEST_DEADLINE, work).await {
        Ok(Ok(response)) => return response,
        Ok(Err(error)) => error,
        Err(elapsed) => crate::ApiError::ServiceUnavailable(Box::new(elapsed)),
    };
    let status = error_response(error).status();
    let mut response = page(status);
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(lambda_http::http::header::RETRY_AFTER)
            .or_insert(lambda_http::http::HeaderValue::from_static("1"));
    }
    response
}

/// The page of a payment whose outcome is not known yet, with no link to show (the failure that
/// cut it short may have been reading it): what happened, and a form that asks again.
pub fn unconfirmed_page(lang: Lang, attempt_key: &str) -> Response<Body> {
    let t = lang.t();
    let mut out = String::with_capacity(4 * 1024);
    plain_head(&mut out, lang, t.unconfirmed_title);
    notice(&mut out, "notice", t.unconfirmed_title, t.unconfirmed_body);
    // Posted back where it came from: this page only answers a payment's own post.
    check_form(&mut out, lang, "", attempt_key);
    out.push_str("</main></body></html>");
    let mut response = html_response(StatusCode::SERVICE_UNAVAILABLE, lang.code(), out);
    // Long enough for the attempt to be settled, as a buyer's "check again" would ask.
    response.headers_mut().insert(
        lambda_http::http::header::RETRY_AFTER,
        lambda_http::http::HeaderValue::from_static("5"),
    );
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

/// The `403` page for a form post that did not come from the payment page at `base` (see
/// [`same_origin`]), or `None` for one that did. `what` names the form in the warning logged.
pub fn refuse_cross_site(
    req: &lambda_http::Request,
    base: &str,
    lang: Lang,
    what: &str,
) -> Option<Response<Body>> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if same_origin(header("sec-fetch-site"), header("origin"), origin_of(base)) {
        return None;
    }
    tracing::warn!("{what} refused: not posted from the payment page");
    let t = lang.t();
    Some(plain_page(
        StatusCode::FORBIDDEN,
        lang,
        t.page_title,
        t.cross_site,
    ))
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
