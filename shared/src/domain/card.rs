//! Cards: what a buyer types ([`CardDetails`], held only for the one request that pays), and what
//! may be kept of it ([`Card`]: brand, last four digits, expiry, name and a fingerprint).
//!
//! The full number and the security code exist only inside [`CardDetails`], whose `Debug` prints
//! neither, and which is never serialised: nothing can store, log or return them by accident.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The card networks the payment page accepts, with the names Omise writes in `brand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brand {
    Visa,
    MasterCard,
    Jcb,
    AmericanExpress,
    UnionPay,
}

impl Brand {
    /// The name Omise gives the brand.
    pub fn name(self) -> &'static str {
        match self {
            Self::Visa => "Visa",
            Self::MasterCard => "MasterCard",
            Self::Jcb => "JCB",
            Self::AmericanExpress => "American Express",
            Self::UnionPay => "UnionPay",
        }
    }

    /// The brand of a card number (digits only) by its leading digits and length, or `None`.
    pub fn of(number: &str) -> Option<Self> {
        let prefix = |n: usize| number.get(..n).and_then(|p| p.parse::<u32>().ok());
        let len = number.len();
        let brand = match (prefix(1), prefix(2), prefix(4)) {
            (Some(4), _, _) => Self::Visa,
            (_, Some(34 | 37), _) => Self::AmericanExpress,
            (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => Self::MasterCard,
            (_, _, Some(3528..=3589)) => Self::Jcb,
            (_, Some(62), _) => Self::UnionPay,
            _ => return None,
        };
        let lengths: &[usize] = match brand {
            Self::Visa => &[13, 16, 19],
            Self::MasterCard => &[16],
            Self::AmericanExpress => &[15],
            Self::Jcb | Self::UnionPay => &[16, 17, 18, 19],
        };
        lengths.contains(&len).then_some(brand)
    }

    /// Digits in this brand's security code: four on the front of an Amex, three elsewhere.
    pub fn security_code_len(self) -> usize {
        if self == Self::AmericanExpress { 4 } else { 3 }
    }
}

/// Whether `digits` (ASCII digits only) pass the Luhn check every card number carries.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// A card as the buyer typed it, already validated (see `validate::card`). Lives for one request.
pub struct CardDetails {
    pub name: String,
    /// Digits only.
    pub number: String,
    pub brand: Brand,
    pub expiration_month: u32,
    pub expiration_year: i32,
    /// Digits only.
    pub security_code: String,
}

impl CardDetails {
    /// The last four digits, the only part of the number that is ever kept.
    pub fn last_digits(&self) -> &str {
        &self.number[self.number.len().saturating_sub(4)..]
    }
}

/// Never the number or the security code, so that no log line can hold them.
impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardDetails")
            .field("brand", &self.brand)
            .field("last_digits", &self.last_digits())
            .field("expiration_month", &self.expiration_month)
            .field("expiration_year", &self.expiration_year)
            .finish_non_exhaustive()
    }
}

/// What is kept of a card with the charge it paid: Omise's card object, less what it cannot know
/// here (issuing bank, country, billing address: always empty or null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: String,
    pub brand: String,
    pub last_digits: String,
    pub expiration_month: u32,
    pub expiration_year: i32,
    pub name: String,
    /// The processor's fingerprint of the number: the same card gives the same fingerprint.
    pub fingerprint: String,
    pub security_code_check: bool,
}
