//! `POST /charges/{id}/refunds` parameters into a refund's amount.

use super::{Params, parse_integer};
use crate::domain::error::ApiError;
use serde_json::Value;

/// The amount a refund asks for: a positive integer in the charge's smallest unit. Whether it
/// fits in what remains of the charge is the charge's to say. Unknown parameters (Omise's
/// `metadata`, `void`) are ignored, as for links: a refund here is never a void.
pub fn parse_refund_amount(params: &Params) -> Result<i64, ApiError> {
    let not_integer = || {
        ApiError::InvalidAmount(
            "amount must be a positive integer in the currency's smallest unit".into(),
        )
    };
    let amount = match params.get("amount") {
        None => return Err(ApiError::BadRequest("amount is required".into())),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(not_integer)?,
        Some(Value::String(s)) => parse_integer(s).ok_or_else(not_integer)?,
        Some(_) => return Err(not_integer()),
    };
    if amount < 1 {
        return Err(not_integer());
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_amount_is_a_positive_integer() {
        let amount = |v: Value| parse_refund_amount(&Params::from_value(json!({"amount": v})));
        assert_eq!(amount(json!(10000)).unwrap(), 10000);
        assert_eq!(amount(json!("250")).unwrap(), 250);
        assert_eq!(amount(json!(1)).unwrap(), 1);
        for bad in [
            json!(0),
            json!(-5),
            json!("1.5"),
            json!(2.5),
            json!(true),
            json!("x"),
        ] {
            assert_eq!(
                amount(bad.clone()).unwrap_err().code(),
                "invalid_amount",
                "{bad}"
            );
        }
        let missing = parse_refund_amount(&Params::from_value(json!({}))).unwrap_err();
        assert_eq!(missing.code(), "bad_request");
    }
}
