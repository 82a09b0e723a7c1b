//! The payment link and its Omise JSON (API version 2015-11-17).

use super::charge::{Charge, ChargeFacts, ChargeView, Status};
use super::currency::Currency;
use super::ids;
use super::list::{ListObject, ListQuery, Time};
use super::metadata::Metadata;
use super::principal::{Principal, hex};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A validated request to create a link (see `validate::link` for the rules).
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub amount: i64,
    pub currency: &'static Currency,
    pub title: String,
    pub description: String,
    pub multiple: bool,
    /// When the link stops taking payments, if the merchant set it (whole seconds, in the
    /// future, at most [`MAX_EXPIRY_DAYS`] ahead when created). Beyond Omise's link object.
    pub expires_at: Option<DateTime<Utc>>,
    /// Where the receipt offers to take the buyer back to (an `https` URL the merchant set),
    /// with the charge's id added. Beyond Omise's link object.
    pub after_payment_uri: Option<String>,
    /// At most this many successful charges, ever (a multiple-use link only). Beyond Omise's
    /// link object.
    pub usage_limit: Option<u64>,
    /// The merchant's own data (their order number, say), copied onto every charge of the link
    /// and so into its events and webhooks. Never empty when set (see `validate::metadata`).
    /// Beyond Omise's link object.
    pub metadata: Option<Metadata>,
}

/// The furthest ahead a link's `expires_at` may be set.
pub const MAX_EXPIRY_DAYS: i64 = 365;

impl NewLink {
    /// A digest of exactly what this request asks for, whatever encoding carried it (JSON or form,
    /// in any key order): two creates with one `Idempotency-Key` must have equal fingerprints.
    /// Text is length-prefixed so that no two different requests can run together into one.
    pub fn fingerprint(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(self.amount.to_be_bytes());
        digest.update(self.currency.code.as_bytes());
        digest.update([u8::from(self.multiple)]);
        for text in [&self.title, &self.description] {
            digest.update((text.len() as u64).to_be_bytes());
            digest.update(text.as_bytes());
        }
        // Only when set, so that a create without it digests as it always has (idempotency
        // records made before the field existed still match their retries).
        if let Some(at) = self.expires_at {
            digest.update(b"expires_at");
            digest.update(at.timestamp_millis().to_be_bytes());
        }
        if let Some(uri) = &self.after_payment_uri {
            digest.update(b"after_payment_uri");
            digest.update((uri.len() as u64).to_be_bytes());
            digest.update(uri.as_bytes());
        }
        if let Some(limit) = self.usage_limit {
            digest.update(b"usage_limit");
            digest.update(limit.to_be_bytes());
        }
        if let Some(metadata) = &self.metadata {
            // serde_json's map keeps its keys sorted, so the same object in any key order (or
            // the same form fields in any order) digests alike.
            let text = serde_json::Value::Object(metadata.clone()).to_string();
            digest.update(b"metadata");
            digest.update((text.len() as u64).to_be_bytes());
            digest.update(text.as_bytes());
        }
        hex(&digest.finalize())
    }
}

/// A payment link as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: String,
    pub account_id: String,
    pub livemode: bool,
    pub amount: i64,
    pub currency: &'static Currency,
    pub title: String,
    pub description: String,
    pub multiple: bool,
    pub used: bool,
    pub used_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Charges made through the link, failed ones included: the `total` of its `charges`.
    pub charge_count: u64,
    /// Kept to the millisecond (the id's time prefix); written to the second.
    pub created: DateTime<Utc>,
    /// The last path segment of `payment_uri`; the base URL is configuration.
    pub payment_token: String,
    /// A single-use link's hold: the attempt being paid right now (waiting for its processor, its
    /// buyer's bank or a PromptPay payment), which no one else may overtake. Not in the API.
    pub hold: Option<Hold>,
    /// When it stops taking payments, if the merchant set it.
    pub expires_at: Option<DateTime<Utc>>,
    /// Where the receipt offers to take the buyer back to, if the merchant set it.
    pub after_payment_uri: Option<String>,
    /// A multiple-use link's limit of successful charges, if the merchant set one.
    pub usage_limit: Option<u64>,
    /// Of a limited link: its successful charges so far (at most `usage_limit`).
    pub usage_count: u64,
    /// Of a limited link: its places taken, by successful charges and by payments still in
    /// flight (begun, or pending). A payment takes a place as it begins, so a limit is never
    /// overrun, and gives it back if it ends without being paid. Not in the API.
    pub places_taken: u64,
    /// The merchant's own data, if they set any.
    pub metadata: Option<Metadata>,
}

/// A single-use link held by one attempt until it settles (see `payments`).
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    /// The attempt's id.
    pub attempt: String,
    /// The attempt's deadline: after it, whoever finds the link held settles the attempt.
    pub until: DateTime<Utc>,
}

impl Link {
    /// A charge's description, as Omise describes a link's charge: the title, a blank line, the
    /// description (or the title alone).
    pub fn charge_description(&self) -> String {
        if self.description.is_empty() {
            self.title.clone()
        } else {
            format!("{}\n\n{}", self.title, self.description)
        }
    }
    /// A new, unused link owned by `owner`, created at `now`: its id starts with `now`.
    pub fn new(owner: &Principal, new: &NewLink, now: DateTime<Utc>) -> Self {
        Self {
            id: ids::new_link_id(owner.livemode, now),
            account_id: owner.account_id.clone(),
            livemode: owner.livemode,
            amount: new.amount,
            currency: new.currency,
            title: new.title.clone(),
            description: new.description.clone(),
            multiple: new.multiple,
            used: false,
            used_at: None,
            deleted_at: None,
            charge_count: 0,
            created: now,
            payment_token: ids::new_payment_token(),
            hold: None,
            expires_at: new.expires_at,
            after_payment_uri: new.after_payment_uri.clone(),
            usage_limit: new.usage_limit,
            usage_count: 0,
            places_taken: 0,
            metadata: new.metadata.clone(),
        }
    }

    /// A new charge paying this link, as the processor answered it (`facts`), made by the
    /// attempt `attempt` of a buyer at `ip`, who returns to `return_uri` from their bank. (Here
    /// rather than on `Charge`, so that a charge never needs to know what a link is.)
    pub fn charge(
        &self,
        facts: ChargeFacts,
        processor_charge: &str,
        attempt: &str,
        ip: Option<String>,
        return_uri: &str,
        now: DateTime<Utc>,
    ) -> Charge {
        let link = self;
        let mut charge = Charge {
            id: ids::new_charge_id(link.livemode, now),
            livemode: link.livemode,
            link: link.id.clone(),
            amount: link.amount,
            currency: link.currency.code.to_owned(),
            description: link.charge_description(),
            metadata: link.metadata.clone(),
            status: Status::Pending,
            failure_code: None,
            transaction: None,
            card: None,
            source: None,
            ip,
            return_uri: return_uri.to_owned(),
            authorize_uri: None,
            expires_at: None,
            processor_charge: Some(processor_charge.to_owned()),
            attempt: Some(attempt.to_owned()),
            created: now,
            refunded: 0,
            refunds: Vec::new(),
        };
        charge.apply(facts);
        charge
    }

    /// The address the receipt of `charge_id` offers: the merchant's `after_payment_uri` with
    /// `charge=<id>` added to its query (before any fragment), so their shop knows which payment
    /// came back. `None` when the merchant set none.
    pub fn after_payment_uri_for(&self, charge_id: &str) -> Option<String> {
        let uri = self.after_payment_uri.as_deref()?;
        let (before, fragment) = match uri.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (uri, None),
        };
        let joiner = if before.contains('?') { '&' } else { '?' };
        let mut out = format!("{before}{joiner}charge={charge_id}");
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
        Some(out)
    }

    /// Whether the merchant's `expires_at` has come at `now` (at that very instant, it has).
    /// Nothing a buyer does moves it: viewing the page starts no clock.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The `payment_uri` under `payment_base`, the payment page's base URL (no trailing slash).
    pub fn payment_uri(&self, payment_base: &str) -> String {
        format!("{payment_base}/{}", self.payment_token)
    }

    /// Whether a buyer may pay it now: not destroyed, not a single-use link already paid, and
    /// not a limited link with all its successful charges made. (A held link is payable, but
    /// only after its hold settles: see [`Link::held_until`]; likewise a limited link whose
    /// places are all taken by payments in flight: see [`Link::places_full`].)
    pub fn payable(&self) -> bool {
        self.deleted_at.is_none() && (self.multiple || !self.used) && !self.used_up()
    }

    /// Whether a limited link has made all the successful charges it may.
    pub fn used_up(&self) -> bool {
        self.usage_limit
            .is_some_and(|limit| self.usage_count >= limit)
    }

    /// Whether every place of a limited link is taken, some by payments still in flight: no
    /// one else may begin paying it until one of those ends unpaid or it is used up.
    pub fn places_full(&self) -> bool {
        self.usage_limit
            .is_some_and(|limit| self.places_taken >= limit)
    }

    /// Until when another buyer is paying it, if its hold is still within its deadline at `now`.
    /// A hold past its deadline holds no one back: the next buyer settles it first.
    pub fn held_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.hold
            .as_ref()
            .map(|h| h.until)
            .filter(|until| *until >= now)
    }

    /// The Omise JSON view, with no charges embedded (for a link that has none).
    pub fn view<'a>(&'a self, payment_base: &'a str, now: DateTime<Utc>) -> LinkView<'a> {
        self.view_with_charges(payment_base, &[], now)
    }

    /// The Omise JSON view, embedding `charges`: the first page of the link's charges (oldest
    /// first, at most 20, as Omise embeds them), out of [`Link::charge_count`].
    pub fn view_with_charges<'a>(
        &'a self,
        payment_base: &'a str,
        charges: &'a [Charge],
        now: DateTime<Utc>,
    ) -> LinkView<'a> {
        LinkView {
            object: "link",
            id: &self.id,
            livemode: self.livemode,
            location: format!("/links/{}", self.id),
            amount: self.amount,
            currency: self.currency.code,
            used: self.used,
            multiple: self.multiple,
            title: &self.title,
            description: &self.description,
            charges: ListObject::page(
                format!("/links/{}/charges", self.id),
                &ListQuery::default(),
                now,
                charges.iter().map(|c| c.view(now)).collect(),
                self.charge_count,
            ),
            payment_uri: self.payment_uri(payment_base),
            created: Time(self.created),
            deleted: self.deleted_at.is_some(),
            deleted_at: self.deleted_at.map(Time),
            used_at: self.used_at.map(Time),
            expires_at: self.expires_at.map(Time),
            after_payment_uri: self.after_payment_uri.as_deref(),
            usage_limit: self.usage_limit,
            usage_count: self.usage_limit.map(|_| self.usage_count),
            metadata: self.metadata.as_ref(),
        }
    }
}

/// A link as the API returns it, fields in the order Omise writes them.
#[derive(Debug, Serialize)]
pub struct LinkView<'a> {
    pub object: &'static str,
    pub id: &'a str,
    pub livemode: bool,
    pub location: String,
    pub amount: i64,
    pub currency: &'static str,
    pub used: bool,
    pub multiple: bool,
    pub title: &'a str,
    pub description: &'a str,
    /// The first page of charges made through the link.
    pub charges: ListObject<ChargeView<'a>>,
    pub payment_uri: String,
    pub created: Time,
    pub deleted: bool,
    pub deleted_at: Option<Time>,
    pub used_at: Option<Time>,
    /// Only on a link that has one: a link without it is Omise's object exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Likewise only on a link that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_payment_uri: Option<&'a str>,
    /// Likewise; with it, `usage_count`: its successful charges so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_count: Option<u64>,
    /// Likewise only on a link that has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Metadata>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_link() -> NewLink {
        NewLink {
            amount: 10000,
            currency: Currency::find("thb").unwrap(),
            title: "ค่าอาหาร".into(),
            description: "Lunch".into(),
            multiple: false,
            expires_at: None,
            after_payment_uri: None,
            usage_limit: None,
            metadata: None,
        }
    }

    #[test]
    fn the_way_back_carries_the_charge_id_before_any_fragment() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let mut link = Link::new(&owner, &new_link(), Utc::now());
        assert_eq!(link.after_payment_uri_for("chrg_1"), None);
        for (set, offered) in [
            (
                "https://shop.example/thanks",
                "https://shop.example/thanks?charge=chrg_1",
            ),
            (
                "https://shop.example/t?o=9",
                "https://shop.example/t?o=9&charge=chrg_1",
            ),
            (
                "https://shop.example/t#top",
                "https://shop.example/t?charge=chrg_1#top",
            ),
        ] {
            link.after_payment_uri = Some(set.into());
            assert_eq!(
                link.after_payment_uri_for("chrg_1").as_deref(),
                Some(offered)
            );
        }
    }

    #[test]
    fn a_limited_link_is_full_while_its_places_are_taken_and_used_up_at_its_limit() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let mut link = Link::new(&owner, &new_link(), Utc::now());
        link.multiple = true;
        link.usage_count = 1_000;
        link.places_taken = 1_000;
        assert!(link.payable() && !link.places_full(), "no limit: never");
        link.usage_limit = Some(3);
        link.usage_count = 1;
        link.places_taken = 2;
        assert!(link.payable() && !link.places_full());
        link.places_taken = 3;
        assert!(
            link.payable() && link.places_full(),
            "two paid, one in flight"
        );
        link.usage_count = 3;
        assert!(!link.payable() && link.used_up());
    }

    #[test]
    fn a_link_expires_at_its_second_and_not_before() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let now = Utc::now();
        let mut link = Link::new(&owner, &new_link(), now);
        assert!(
            !link.expired(now + chrono::Duration::days(400)),
            "none set: never"
        );
        let at = now + chrono::Duration::seconds(10);
        link.expires_at = Some(at);
        assert!(!link.expired(at - chrono::Duration::milliseconds(1)));
        assert!(link.expired(at));
    }

    #[test]
    fn a_link_serialises_to_the_omise_shape() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let now: DateTime<Utc> = "2026-11-24T06:47:54.123Z".parse().unwrap();
        let link = Link::new(&owner, &new_link(), now);
        let json = serde_json::to_value(link.view("https://pay.example.com", now)).unwrap();
        let id = link.id.as_str();
        assert!(id.starts_with("link_test_"));
        assert_eq!(
            json,
            json!({
                "object": "link", "id": id, "livemode": false, "location": format!("/links/{id}"),
                "amount": 10000, "currency": "thb", "used": false, "multiple": false,
                "title": "ค่าอาหาร", "description": "Lunch",
                "charges": {"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0,
                    "location": format!("/links/{id}/charges"), "order": "chronological",
                    "from": "1970-01-01T00:00:00Z", "to": "2026-11-24T06:47:54Z"},
                "payment_uri": format!("https://pay.example.com/{}", link.payment_token),
                "created": "2026-11-24T06:47:54Z", "deleted": false, "deleted_at": null, "used_at": null,
            })
        );
        let mut destroyed = link.clone();
        destroyed.deleted_at = Some(now);
        destroyed.used_at = Some(now);
        let json = serde_json::to_value(destroyed.view("https://pay.example.com", now)).unwrap();
        assert_eq!(
            (&json["deleted"], &json["deleted_at"], &json["used_at"]),
            (
                &json!(true),
                &json!("2026-11-24T06:47:54Z"),
                &json!("2026-11-24T06:47:54Z")
            )
        );
    }

    #[test]
    fn a_fingerprint_changes_with_every_field_and_only_with_them() {
        let base = new_link();
        assert_eq!(base.fingerprint(), new_link().fingerprint());
        assert_eq!(base.fingerprint().len(), 64);
        let variants = [
            NewLink {
                amount: 10001,
                ..new_link()
            },
            NewLink {
                currency: Currency::find("jpy").unwrap(),
                ..new_link()
            },
            NewLink {
                title: "ค่าอาหาร ".into(),
                ..new_link()
            },
            NewLink {
                description: "lunch".into(),
                ..new_link()
            },
            NewLink {
                multiple: true,
                ..new_link()
            },
            // Moving text between fields must not collide.
            NewLink {
                title: "ค่าอาหารL".into(),
                description: "unch".into(),
                ..new_link()
            },
            NewLink {
                usage_limit: Some(10),
                ..new_link()
            },
            NewLink {
                metadata: Some(json!({"order": "A-1"}).as_object().unwrap().clone()),
                ..new_link()
            },
        ];
        for variant in variants {
            assert_ne!(variant.fingerprint(), base.fingerprint(), "{variant:?}");
        }
    }
}
