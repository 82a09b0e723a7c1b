//! The bench: the real handlers over one DynamoDB Local, each call measured, and links
//! imported in bulk.

use crate::PAYMENT_BASE_URL;
use crate::measure::{Cost, Flights, Heap};
use lambda_http::{Body, Response};
use shared::AppContext;
use shared::chrono::{DateTime, Duration as Span, Utc};
use shared::domain::currency::Currency;
use shared::domain::link::{Link, NewLink};
use shared::domain::principal::Principal;
use shared::store::Store;
use std::sync::Arc;
use std::time::Instant;

pub(crate) struct Bench {
    pub(crate) ctx: AppContext,
    pub(crate) flights: Arc<Flights>,
}

impl Bench {
    pub(crate) fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Runs `work`, measuring what it costs.
    pub(crate) async fn cost<T>(&self, work: impl std::future::Future<Output = T>) -> (T, Cost) {
        self.flights.take();
        let (read, write) = (
            self.store().usage().read_units(),
            self.store().usage().write_units(),
        );
        let base = Heap::reset();
        let started = Instant::now();
        let out = work.await;
        let time = started.elapsed();
        let heap = Heap::peak_above(base);
        let (requests, trips) = self.flights.take();
        let cost = Cost {
            requests,
            trips,
            read: self.store().usage().read_units() - read,
            write: self.store().usage().write_units() - write,
            heap,
            time,
        };
        (out, cost)
    }

    /// One API call through the handlers, with its cost; asserts success.
    pub(crate) async fn call(
        &self,
        key: &str,
        method: &str,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (serde_json::Value, Cost) {
        let mut event = tools::Event::routed(method, uri).key(key);
        for (name, value) in headers {
            event = event.header(name, value);
        }
        if let Some(json) = body {
            event = event
                .header("content-type", "application/json")
                .body(json.as_bytes().to_vec());
        }
        let request = event.into_request();
        let (response, cost): (Response<Body>, Cost) =
            self.cost(tools::dispatch(&self.ctx, request)).await;
        assert!(
            response.status().is_success(),
            "{method} {uri}: {} {:?}",
            response.status(),
            response.body()
        );
        let json = serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
        (json, cost)
    }

    /// One public call (the payment page: no key), with its cost: the status and the body.
    pub(crate) async fn public(
        &self,
        method: &str,
        uri: &str,
        form: Option<&str>,
    ) -> (u16, String, Cost) {
        let (status, text, _, cost) = self.public_with_location(method, uri, form).await;
        (status, text, cost)
    }

    /// [`Bench::public`], with where a redirect sends the browser (a path of this service).
    pub(crate) async fn public_with_location(
        &self,
        method: &str,
        uri: &str,
        form: Option<&str>,
    ) -> (u16, String, Option<String>, Cost) {
        let mut event = tools::Event::routed(method, uri).header("accept-language", "th");
        if let Some(form) = form {
            event = event
                .header("origin", "https://pay.example.com")
                .header("sec-fetch-site", "same-origin")
                .form(form);
        }
        let request = event.into_request();
        let (response, cost): (Response<Body>, Cost) =
            self.cost(tools::dispatch(&self.ctx, request)).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.strip_prefix(PAYMENT_BASE_URL))
            .map(|rest| format!("/pay{rest}"));
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        (status, text, location, cost)
    }

    /// Stores `n` links for `owner`, created one every `every` from `start`, with the minute
    /// within each hour varying so that hours hold different numbers of links.
    pub(crate) async fn import(
        &self,
        owner: &Principal,
        n: usize,
        start: DateTime<Utc>,
        every: Span,
    ) -> Vec<Link> {
        let thb = Currency::find("thb").unwrap();
        let mut links = Vec::with_capacity(n);
        for i in 0..n {
            let wobble =
                Span::milliseconds(((i as i64 * 7_919) % 1_000) * every.num_milliseconds() / 2_000);
            let new = NewLink {
                amount: 10_000 + (i as i64 % 900) * 100,
                currency: thb,
                title: format!("ค่าสินค้า #{i}"),
                description: "สั่งซื้อทางไลน์ ส่งฟรี".into(),
                multiple: i % 10 == 0,
                expires_at: None,
                after_payment_uri: None,
                usage_limit: None,
                metadata: None,
            };
            links.push(Link::new(owner, &new, start + every * i as i32 + wobble));
        }
        for chunk in links.chunks(5_000) {
            self.store()
                .import_links(chunk)
                .await
                .expect("import links");
        }
        links.sort_by(|a, b| a.id.cmp(&b.id));
        links
    }

    /// Walks every page of `uri_base` with limit 100 as the Omise clients iterate, returning the
    /// links seen and the walk's total cost.
    pub(crate) async fn walk(&self, key: &str, uri_base: &str) -> (usize, Cost) {
        let mut total = Cost::default();
        let mut seen = 0;
        loop {
            let (page, cost) = self
                .call(
                    key,
                    "GET",
                    &format!("{uri_base}limit=100&offset={seen}"),
                    None,
                    &[],
                )
                .await;
            total += cost;
            let n = page["data"].as_array().map_or(0, Vec::len);
            if n == 0 {
                return (seen, total);
            }
            seen += n;
        }
    }
}
