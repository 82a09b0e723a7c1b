//! The currencies a link may be priced in.
//!
//! Amounts are integers in the currency's smallest unit (satang for THB, cents for USD, yen for
//! JPY). The minimums follow what card acquirers in the region accept; the maximums are this
//! service's own ceiling, set so that a typo (an extra zero or two) is refused rather than sent to
//! a buyer. Both are documented in the validation table of docs/api.md.

/// One supported currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code, lowercase as API version 2015-11-17 writes it.
    pub code: &'static str,
    /// Digits after the decimal point: 2 for THB (satang), 0 for JPY.
    pub decimals: u8,
    /// Smallest amount accepted, in the smallest unit.
    pub min_amount: i64,
    /// Largest amount accepted, in the smallest unit.
    pub max_amount: i64,
}

/// Every supported currency, THB first.
pub const CURRENCIES: &[Currency] = &[
    Currency {
        code: "thb",
        decimals: 2,
        min_amount: 2_000,
        max_amount: 100_000_000,
    },
    Currency {
        code: "jpy",
        decimals: 0,
        min_amount: 100,
        max_amount: 10_000_000,
    },
    Currency {
        code: "sgd",
        decimals: 2,
        min_amount: 100,
        max_amount: 5_000_000,
    },
    Currency {
        code: "myr",
        decimals: 2,
        min_amount: 200,
        max_amount: 15_000_000,
    },
    Currency {
        code: "usd",
        decimals: 2,
        min_amount: 200,
        max_amount: 5_000_000,
    },
    Currency {
        code: "eur",
        decimals: 2,
        min_amount: 200,
        max_amount: 5_000_000,
    },
    Currency {
        code: "gbp",
        decimals: 2,
        min_amount: 200,
        max_amount: 5_000_000,
    },
];

impl Currency {
    /// Finds a currency by its ISO code, in any letter case.
    pub fn find(code: &str) -> Option<&'static Currency> {
        CURRENCIES
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code))
    }

    /// Formats an amount in the smallest unit as a decimal, for error messages (`2000` → `20.00`).
    pub fn format_amount(&self, amount: i64) -> String {
        if self.decimals == 0 {
            return amount.to_string();
        }
        let scale = 10_i64.pow(u32::from(self.decimals));
        format!(
            "{}.{:0width$}",
            amount / scale,
            amount % scale,
            width = usize::from(self.decimals)
        )
    }
}

/// The supported codes joined for an error message: `thb, jpy, …`.
pub fn supported_codes() -> String {
    CURRENCIES
        .iter()
        .map(|c| c.code)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_is_case_insensitive() {
        assert_eq!(Currency::find("THB").map(|c| c.code), Some("thb"));
        assert_eq!(Currency::find("Jpy").map(|c| c.code), Some("jpy"));
        assert_eq!(Currency::find("xyz"), None);
        assert_eq!(Currency::find(""), None);
    }

    #[test]
    fn jpy_has_no_decimals_and_thb_two() {
        assert_eq!(Currency::find("jpy").unwrap().format_amount(100), "100");
        assert_eq!(Currency::find("thb").unwrap().format_amount(2_000), "20.00");
        assert_eq!(Currency::find("thb").unwrap().format_amount(2_005), "20.05");
    }

    #[test]
    fn every_minimum_is_below_its_maximum() {
        for c in CURRENCIES {
            assert!(
                c.min_amount > 0 && c.min_amount < c.max_amount,
                "{}",
                c.code
            );
            assert_eq!(c.code.len(), 3);
            assert_eq!(c.code, c.code.to_ascii_lowercase());
        }
    }
}
