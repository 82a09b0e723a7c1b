//! The payment page's card form into [`CardDetails`], or every problem with it at once (the page
//! shows them all beside their fields, in the buyer's language).
//!
//! Rules: a name (1–100 characters, no control characters); a number of 13–19 digits (spaces and
//! dashes, as buyers type them, are dropped) that passes the Luhn check and belongs to a brand
//! the page takes (Visa, MasterCard, JCB, American Express, UnionPay) with that brand's length; an
//! expiry month 1–12 and year (two or four digits) from this month up to 20 years ahead; a
//! security code of the brand's length (4 digits for American Express, 3 for the rest).

use super::text::is_blank;
use crate::domain::card::{Brand, CardDetails, luhn};
use chrono::{DateTime, Datelike, Utc};

/// The most characters a cardholder name may have.
pub const MAX_NAME_CHARS: usize = 100;

/// What is wrong with one field of the card form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardProblem {
    NameMissing,
    NameInvalid,
    NumberInvalid,
    BrandUnsupported,
    ExpiryInvalid,
    Expired,
    SecurityCodeInvalid,
}

impl CardProblem {
    /// The form field the problem is about (Omise's card field names).
    pub fn field(self) -> &'static str {
        match self {
            Self::NameMissing | Self::NameInvalid => "name",
            Self::NumberInvalid | Self::BrandUnsupported => "number",
            Self::ExpiryInvalid | Self::Expired => "expiration_month",
            Self::SecurityCodeInvalid => "security_code",
        }
    }
}

/// The card form's fields as posted, each `None` when missing.
#[derive(Default)]
pub struct CardForm<'a> {
    pub name: Option<&'a str>,
    pub number: Option<&'a str>,
    pub expiration_month: Option<&'a str>,
    pub expiration_year: Option<&'a str>,
    pub security_code: Option<&'a str>,
}

/// Validates the card form as of `now`.
pub fn parse_card(
    form: &CardForm<'_>,
    now: DateTime<Utc>,
) -> Result<CardDetails, Vec<CardProblem>> {
    let mut problems = Vec::new();

    let name = form.name.map(str::trim).unwrap_or_default();
    if is_blank(name) {
        problems.push(CardProblem::NameMissing);
    } else if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        problems.push(CardProblem::NameInvalid);
    }

    let number: String = form
        .number
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    let brand = if !(13..=19).contains(&number.len())
        || !number.bytes().all(|b| b.is_ascii_digit())
        || !luhn(&number)
    {
        problems.push(CardProblem::NumberInvalid);
        None
    } else {
        let brand = Brand::of(&number);
        if brand.is_none() {
            problems.push(CardProblem::BrandUnsupported);
        }
        brand
    };

    let month = digits(form.expiration_month, 1, 2).filter(|m| (1..=12).contains(m));
    let year = digits(form.expiration_year, 2, 4).and_then(|y| match y {
        0..=99 => Some(2000 + y as i32),
        1000..=9999 => Some(y as i32),
        _ => None,
    });
    let this_year = now.year();
    let expiry = match (month, year) {
        (Some(m), Some(y)) if y <= this_year + 20 => {
            if (y, m) < (this_year, now.month()) {
                problems.push(CardProblem::Expired);
            }
            Some((m, y))
        }
        _ => {
            problems.push(CardProblem::ExpiryInvalid);
            None
        }
    };

    let code = form.security_code.map(str::trim).unwrap_or_default();
    let code_ok = code.bytes().all(|b| b.is_ascii_digit())
        && match brand {
            Some(b) => code.len() == b.security_code_len(),
            None => (3..=4).contains(&code.len()),
        };
    if !code_ok {
        problems.push(CardProblem::SecurityCodeInvalid);
    }

    match (brand, expiry) {
        (Some(brand), Some((expiration_month, expiration_year))) if problems.is_empty() => {
            Ok(CardDetails {
                name: name.to_owned(),
                number,
                brand,
                expiration_month,
                expiration_year,
                security_code: code.to_owned(),
            })
        }
        _ => Err(problems),
    }
}

/// A run of `min..=max` ASCII digits (surrounding spaces allowed) as a number.
fn digits(text: Option<&str>, min: usize, max: usize) -> Option<u32> {
    let text = text?.trim();
    ((min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-26T10:00:00Z".parse().unwrap()
    }

    fn form<'a>(number: &'a str, month: &'a str, year: &'a str, code: &'a str) -> CardForm<'a> {
        CardForm {
            name: Some("Somchai Jaidee"),
            number: Some(number),
            expiration_month: Some(month),
            expiration_year: Some(year),
            security_code: Some(code),
        }
    }

    #[test]
    fn a_good_card_is_accepted_with_its_brand() {
        let card = parse_card(&form("4242 4242 4242 4242", "11", "2026", "123"), now()).unwrap();
        assert_eq!(
            (
                card.brand,
                card.last_digits(),
                card.expiration_month,
                card.expiration_year
            ),
            (Brand::Visa, "4242", 11, 2026)
        );
        assert_eq!(card.number, "4242424242424242");
        let amex = parse_card(&form("3782-822463-10005", "1", "31", "1234"), now()).unwrap();
        assert_eq!(
            (amex.brand, amex.expiration_year),
            (Brand::AmericanExpress, 2031)
        );
        for number in ["5555555555554444", "3530111333300000", "6250947000000006"] {
            assert!(
                parse_card(&form(number, "12", "2030", "123"), now()).is_ok(),
                "{number}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let empty = CardForm::default();
        assert_eq!(
            parse_card(&empty, now()).unwrap_err(),
            vec![
                CardProblem::NameMissing,
                CardProblem::NumberInvalid,
                CardProblem::ExpiryInvalid,
                CardProblem::SecurityCodeInvalid
            ]
        );
    }

    #[test]
    fn numbers_must_pass_luhn_and_belong_to_a_brand() {
        let problem = |number| parse_card(&form(number, "12", "2030", "123"), now()).unwrap_err();
        assert_eq!(
            problem("4242424242424241"),
            vec![CardProblem::NumberInvalid]
        );
        assert_eq!(problem("42424242424"), vec![CardProblem::NumberInvalid]);
        assert_eq!(
            problem("4242x42424242424"),
            vec![CardProblem::NumberInvalid]
        );
        // Luhn-valid, but no brand the page takes (a Diners Club number).
        assert_eq!(
            problem("30569309025904"),
            vec![CardProblem::BrandUnsupported]
        );
    }

    #[test]
    fn expiry_is_this_month_or_later() {
        let problems = |m, y| parse_card(&form("4242424242424242", m, y, "123"), now()).err();
        assert_eq!(problems("11", "2026"), None, "this month still works");
        assert_eq!(problems("10", "2026"), Some(vec![CardProblem::Expired]));
        assert_eq!(problems("12", "2025"), Some(vec![CardProblem::Expired]));
        assert_eq!(
            problems("13", "2030"),
            Some(vec![CardProblem::ExpiryInvalid])
        );
        assert_eq!(
            problems("0", "2030"),
            Some(vec![CardProblem::ExpiryInvalid])
        );
        assert_eq!(
            problems("12", "2047"),
            Some(vec![CardProblem::ExpiryInvalid])
        );
        assert_eq!(problems("12", "2046"), None);
        assert_eq!(
            problems("12", "203"),
            Some(vec![CardProblem::ExpiryInvalid])
        );
    }

    #[test]
    fn security_codes_have_the_brands_length() {
        let problems = |n, code| parse_card(&form(n, "12", "2030", code), now()).err();
        assert_eq!(
            problems("4242424242424242", "1234"),
            Some(vec![CardProblem::SecurityCodeInvalid])
        );
        assert_eq!(
            problems("4242424242424242", "12a"),
            Some(vec![CardProblem::SecurityCodeInvalid])
        );
        assert_eq!(
            problems("378282246310005", "123"),
            Some(vec![CardProblem::SecurityCodeInvalid])
        );
    }

    #[test]
    fn names_are_required_and_plain() {
        let with_name = |name| CardForm {
            name: Some(name),
            ..form("4242424242424242", "12", "2030", "123")
        };
        assert!(parse_card(&with_name("สมชาย ใจดี"), now()).is_ok());
        assert_eq!(
            parse_card(&with_name(" \u{200b} "), now()).unwrap_err(),
            vec![CardProblem::NameMissing]
        );
        assert_eq!(
            parse_card(&with_name("a\u{7}b"), now()).unwrap_err(),
            vec![CardProblem::NameInvalid]
        );
        let long = "ก".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            parse_card(&with_name(&long), now()).unwrap_err(),
            vec![CardProblem::NameInvalid]
        );
    }

    #[test]
    fn the_details_never_print_the_number_or_code() {
        let card = parse_card(&form("4242424242424242", "12", "2030", "987"), now()).unwrap();
        let printed = format!("{card:?}");
        assert!(
            !printed.contains("42424242") && !printed.contains("987"),
            "{printed}"
        );
        assert!(printed.contains("4242"));
    }
}
