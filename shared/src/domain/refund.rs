//! Refunds: money given back from a successful charge, in Omise's 2015-11-17 refund shape.
//!
//! Omise's rules, with one bound of ours: only a successful charge is refunded; a refund is
//! partial or whole but never more than what remains; at most [`MAX_REFUNDS_PER_CHARGE`] per
//! charge; within [`REFUND_WINDOW_DAYS`] of the charge (fewer for JCB and American Express).

use super::list::Time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most refunds one charge takes. Omise allows fewer than 15; this service allows 20, so
/// that an order of twenty items can be refunded item by item. Each refund is kept inside the
/// charge's item (about 300 bytes), which bounds its size.
pub const MAX_REFUNDS_PER_CHARGE: u32 = 20;
/// How long after the charge a refund may be made, as Omise documents.
pub const REFUND_WINDOW_DAYS: i64 = 365;
/// The shorter window Omise documents for JCB and American Express cards.
pub const SHORT_REFUND_WINDOW_DAYS: i64 = 160;

/// The brands whose charges may be refunded for [`SHORT_REFUND_WINDOW_DAYS`] only.
pub fn refund_window_days(brand: Option<&str>) -> i64 {
    match brand {
        Some("JCB" | "American Express") => SHORT_REFUND_WINDOW_DAYS,
        _ => REFUND_WINDOW_DAYS,
    }
}

/// A refund as stored, inside its charge's item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// `rfnd_test_…` or `rfnd_…`.
    pub id: String,
    /// The charge it refunds.
    pub charge: String,
    pub amount: i64,
    /// Lowercase ISO 4217 code, the charge's.
    pub currency: String,
    /// The processor's transaction that gave the money back.
    pub transaction: Option<String>,
    pub created: DateTime<Utc>,
}

impl Refund {
    /// The Omise JSON view.
    pub fn view(&self) -> RefundView<'_> {
        RefundView {
            object: "refund",
            id: &self.id,
            location: format!("/charges/{}/refunds/{}", self.charge, self.id),
            amount: self.amount,
            currency: &self.currency,
            charge: &self.charge,
            transaction: self.transaction.as_deref(),
            created: Time(self.created),
        }
    }
}

/// A refund as the API returns it, fields in the order Omise writes them (2015 shape, as the
/// official clients' recorded refunds have it).
#[derive(Debug, Serialize)]
pub struct RefundView<'a> {
    pub object: &'static str,
    pub id: &'a str,
    pub location: String,
    pub amount: i64,
    pub currency: &'a str,
    pub charge: &'a str,
    pub transaction: Option<&'a str>,
    pub created: Time,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refund_has_omises_shape() {
        let refund = Refund {
            id: "rfnd_test_1".into(),
            charge: "chrg_test_2".into(),
            amount: 10000,
            currency: "thb".into(),
            transaction: Some("trxn_test_3".into()),
            created: "2026-12-04T07:23:45.5Z".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(refund.view()).unwrap(),
            json!({"object": "refund", "id": "rfnd_test_1",
                   "location": "/charges/chrg_test_2/refunds/rfnd_test_1", "amount": 10000,
                   "currency": "thb", "charge": "chrg_test_2", "transaction": "trxn_test_3",
                   "created": "2026-12-04T07:23:45Z"})
        );
        let text = serde_json::to_string(&refund).unwrap();
        assert_eq!(serde_json::from_str::<Refund>(&text).unwrap(), refund);
    }

    #[test]
    fn jcb_and_amex_refund_for_a_shorter_time() {
        assert_eq!(refund_window_days(Some("Visa")), 365);
        assert_eq!(refund_window_days(None), 365);
        assert_eq!(refund_window_days(Some("JCB")), 160);
        assert_eq!(refund_window_days(Some("American Express")), 160);
    }
}
