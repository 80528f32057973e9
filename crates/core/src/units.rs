//! Quantities: [`Amount`] (coins in the smallest unit, checked arithmetic, capped) and [`Height`].
//!
//! Amounts are unsigned integers of the smallest unit. The chain spec names the unit and how many decimals it
//! shows; [`Amount::parse_units`] and [`Amount::format_units`] convert between what people type and the integer.
//! No amount can exceed [`Amount::MAX`] = 2^53 − 1, so every amount is exact as a JSON/JavaScript number and the
//! sum of any two amounts fits in a `u64` (`docs/protocol.md` §5).

use std::fmt;
use std::str::FromStr;

/// An amount of coins in the smallest unit. Always `<=` [`Amount::MAX`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Amount(u64);

/// Why an amount could not be built, added or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The value is larger than [`Amount::MAX`].
    #[error("amount {0} is larger than the largest possible amount {max}", max = Amount::MAX.0)]
    TooLarge(u128),
    /// A subtraction would go below zero.
    #[error("amount would be negative")]
    Negative,
    /// The text is not a non-negative decimal number.
    #[error("{0:?} is not an amount: use digits with at most one decimal point, e.g. 12 or 0.5")]
    Invalid(String),
    /// The text has more decimal places than the unit has.
    #[error("{text:?} has more than {decimals} decimal places")]
    TooPrecise {
        /// What was typed.
        text: String,
        /// How many decimals the unit allows.
        decimals: u8,
    },
}

impl Amount {
    /// Zero coins.
    pub const ZERO: Amount = Amount(0);
    /// The largest amount that can exist: 2^53 − 1 smallest units (exact in JSON numbers).
    pub const MAX: Amount = Amount((1 << 53) - 1);

    /// Builds an amount from smallest units.
    ///
    /// # Errors
    /// [`AmountError::TooLarge`] above [`Amount::MAX`].
    pub const fn from_units(units: u64) -> Result<Amount, AmountError> {
        if units > Amount::MAX.0 {
            Err(AmountError::TooLarge(units as u128))
        } else {
            Ok(Amount(units))
        }
    }

    /// Returns the value in smallest units.
    pub const fn to_units(self) -> u64 {
        self.0
    }

    /// Adds, failing above [`Amount::MAX`].
    ///
    /// # Errors
    /// [`AmountError::TooLarge`].
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        // Both are < 2^53, so the u64 sum cannot overflow.
        Amount::from_units(self.0 + other.0)
    }

    /// Subtracts, failing below zero.
    ///
    /// # Errors
    /// [`AmountError::Negative`].
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Negative)
    }

    /// Sums amounts, failing above [`Amount::MAX`].
    ///
    /// # Errors
    /// [`AmountError::TooLarge`].
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Result<Amount, AmountError> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, Amount::checked_add)
    }

    /// Reads an amount typed in whole units with up to `decimals` decimal places ("12", "0.5", "1.25").
    ///
    /// # Errors
    /// [`AmountError::Invalid`] for anything but digits with one optional point, [`AmountError::TooPrecise`]
    /// for too many decimals, [`AmountError::TooLarge`] above [`Amount::MAX`].
    pub fn parse_units(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        let t = text.trim();
        let invalid = || AmountError::Invalid(text.to_string());
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t, ""),
        };
        if (whole.is_empty() && frac.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (t.contains('.') && frac.is_empty() && whole.is_empty())
        {
            return Err(invalid());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > usize::from(decimals) {
            return Err(AmountError::TooPrecise {
                text: text.to_string(),
                decimals,
            });
        }
        // Digit by digit: the whole part, then the fraction padded to `decimals` digits. Stops as soon as the
        // value passes the maximum, so any number of decimals works without overflow.
        let digits = whole.bytes().chain(frac.bytes()).chain(std::iter::repeat_n(
            b'0',
            usize::from(decimals) - frac.len(),
        ));
        let mut total: u128 = 0;
        for d in digits {
            total = total * 10 + u128::from(d - b'0');
            if total > u128::from(Amount::MAX.0) {
                return Err(AmountError::TooLarge(total));
            }
        }
        Ok(Amount(total as u64))
    }

    /// Shows the amount in whole units with the unit's decimals, trailing zeros removed ("12", "0.5").
    pub fn format_units(self, decimals: u8) -> String {
        let scale = 10u64.pow(u32::from(decimals.min(19)));
        let whole = self.0 / scale;
        let frac = self.0 % scale;
        if frac == 0 {
            whole.to_string()
        } else {
            let digits = format!("{frac:0width$}", width = usize::from(decimals));
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    /// Parses smallest units (an integer).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: u64 = s
            .trim()
            .parse()
            .map_err(|_| AmountError::Invalid(s.to_string()))?;
        Amount::from_units(v)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(deserializer)?;
        Amount::from_units(v).map_err(serde::de::Error::custom)
    }
}

/// The height of a block: its distance from genesis (genesis is height 0).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Height(pub u64);

impl Height {
    /// The genesis block's height.
    pub const GENESIS: Height = Height(0);

    /// The next height, or `None` at `u64::MAX`.
    pub fn next(self) -> Option<Height> {
        self.0.checked_add(1).map(Height)
    }

    /// The previous height, or `None` at genesis.
    pub fn prev(self) -> Option<Height> {
        self.0.checked_sub(1).map(Height)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Height({})", self.0)
    }
}

impl FromStr for Height {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(Height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_capped_and_checked() {
        assert!(Amount::from_units(1 << 53).is_err());
        assert_eq!(
            Amount::MAX.checked_add(Amount::from_units(1).expect("small")),
            Err(AmountError::TooLarge(1 << 53))
        );
        assert_eq!(
            Amount::ZERO.checked_sub(Amount::from_units(1).expect("small")),
            Err(AmountError::Negative)
        );
        assert!(serde_json::from_str::<Amount>("9007199254740992").is_err());
        assert!(serde_json::from_str::<Amount>("-7").is_err());
    }

    #[test]
    fn parsing_what_people_type() {
        let p = |s| Amount::parse_units(s, 8);
        assert_eq!(p("12").map(Amount::to_units), Ok(1_200_000_000));
        assert_eq!(p("0.5").map(Amount::to_units), Ok(50_000_000));
        assert_eq!(p(".5").map(Amount::to_units), Ok(50_000_000));
        assert_eq!(p("1.").map(Amount::to_units), Ok(100_000_000));
        assert_eq!(p(" 3 ").map(Amount::to_units), Ok(300_000_000));
        assert_eq!(p("0.00000001").map(Amount::to_units), Ok(1));
        assert!(matches!(
            p("0.000000001"),
            Err(AmountError::TooPrecise { .. })
        ));
        for bad in [
            "-7abc", "-7", "", ".", "1.2.3", "1e5", "abc", "+1", "0x10", "１",
        ] {
            assert!(
                matches!(p(bad), Err(AmountError::Invalid(_))),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(p("90071993"), Err(AmountError::TooLarge(_))));
        assert!(matches!(p(&"9".repeat(40)), Err(AmountError::TooLarge(_))));
        assert_eq!(Amount::parse_units("7", 0).map(Amount::to_units), Ok(7));
    }

    #[test]
    fn formatting() {
        let a = |u| Amount::from_units(u).expect("small");
        assert_eq!(a(1_200_000_000).format_units(8), "12");
        assert_eq!(a(50_000_000).format_units(8), "0.5");
        assert_eq!(a(1).format_units(8), "0.00000001");
        assert_eq!(a(7).format_units(0), "7");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(units in 0u64..=Amount::MAX.to_units(), decimals in 0u8..=10) {
            let a = Amount::from_units(units).expect("in range");
            prop_assert_eq!(Amount::parse_units(&a.format_units(decimals), decimals), Ok(a));
        }
    }
}
