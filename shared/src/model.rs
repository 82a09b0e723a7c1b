//! The Link and the Omise list object, as the API writes them (API version 2015-11-17).

use crate::auth::Principal;
use crate::currency::Currency;
use crate::ids;
use crate::validate::{ListParams, NewLink};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

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
    /// Kept to the millisecond in storage (the id's time prefix); written to the second.
    pub created: DateTime<Utc>,
    /// The last path segment of `payment_uri`; the base URL is configuration.
    pub payment_token: String,
}

impl Link {
    /// A new, unused link owned by `owner`, created at `now`.
    pub fn new(owner: &Principal, new: NewLink, now: DateTime<Utc>) -> Self {
        Self {
            id: ids::new_link_id(owner.livemode, now),
            account_id: owner.account_id.clone(),
            livemode: owner.livemode,
            amount: new.amount,
            currency: new.currency,
            title: new.title,
            description: new.description,
            multiple: new.multiple,
            used: false,
            used_at: None,
            deleted_at: None,
            created: now,
            payment_token: ids::new_payment_token(),
        }
    }

    /// The Omise JSON view. `payment_base` is the payment page's base URL, without trailing slash.
    pub fn view<'a>(&'a self, payment_base: &'a str, now: DateTime<Utc>) -> LinkView<'a> {
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
            charges: ListObject::empty(format!("/links/{}/charges", self.id), now),
            payment_uri: format!("{payment_base}/{}", self.payment_token),
            created: Time(self.created),
            deleted: self.deleted_at.is_some(),
            deleted_at: self.deleted_at.map(Time),
            used_at: self.used_at.map(Time),
        }
    }
}

/// A time written as `YYYY-MM-DDThh:mm:ssZ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time(pub DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
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
    /// Charges made through the link. Always empty until payments exist.
    pub charges: ListObject<()>,
    pub payment_uri: String,
    pub created: Time,
    pub deleted: bool,
    pub deleted_at: Option<Time>,
    pub used_at: Option<Time>,
}

/// The Omise list object.
#[derive(Debug, Serialize)]
pub struct ListObject<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub limit: u32,
    pub offset: u64,
    pub total: u64,
    pub location: String,
    pub order: Option<String>,
    pub from: Time,
    pub to: Time,
}

impl<T> ListObject<T> {
    /// A page of `data` out of `total`, echoing the request's paging and filters.
    pub fn page(location: String, params: &ListParams, data: Vec<T>, total: u64) -> Self {
        Self {
            object: "list",
            data,
            limit: params.limit,
            offset: params.offset,
            total,
            location,
            order: params.order_given.clone(),
            from: Time(params.from),
            to: Time(params.to),
        }
    }

    /// An empty list with default paging, as embedded in a link.
    pub fn empty(location: String, now: DateTime<Utc>) -> Self {
        Self {
            object: "list",
            data: Vec::new(),
            limit: crate::validate::DEFAULT_LIMIT,
            offset: 0,
            total: 0,
            location,
            order: None,
            from: Time(DateTime::UNIX_EPOCH),
            to: Time(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_link_serialises_to_the_omise_shape() {
        let owner = Principal {
            account_id: "acct_1".into(),
            livemode: false,
        };
        let new = NewLink {
            amount: 10000,
            currency: Currency::find("thb").unwrap(),
            title: "ค่าอาหาร".into(),
            description: "Lunch".into(),
            multiple: false,
        };
        let now: DateTime<Utc> = "2026-11-24T06:47:54.123Z".parse().unwrap();
        let link = Link::new(&owner, new, now);
        let json = serde_json::to_value(link.view("https://pay.example.com", now)).unwrap();
        let id = link.id.as_str();
        assert_eq!(
            json,
            json!({
                "object": "link", "id": id, "livemode": false, "location": format!("/links/{id}"),
                "amount": 10000, "currency": "thb", "used": false, "multiple": false,
                "title": "ค่าอาหาร", "description": "Lunch",
                "charges": {"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0,
                    "location": format!("/links/{id}/charges"), "order": null,
                    "from": "1970-01-01T00:00:00Z", "to": "2026-11-24T06:47:54Z"},
                "payment_uri": format!("https://pay.example.com/{}", link.payment_token),
                "created": "2026-11-24T06:47:54Z", "deleted": false, "deleted_at": null, "used_at": null,
            })
        );
    }
}
