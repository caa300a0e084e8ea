//! Token amounts: `u128` base units with checked arithmetic and decimal display.

use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

/// The largest token exponent: `10^38` is the largest power of ten that fits in a `u128`.
pub const MAX_DECIMAL_EXPONENT: u8 = 38;

/// An amount of the native token in base units.
///
/// Arithmetic is checked; there is deliberately no `+` or `-`. The token's exponent (how
/// many base units make one token) is a genesis parameter, so decimal conversion takes it
/// as an argument.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Amount(u128);

/// Why an amount operation or parse failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    /// The result exceeds `u128::MAX` base units.
    #[error("amount overflow")]
    Overflow,
    /// The result would be negative.
    #[error("amount underflow")]
    Underflow,
    /// Division by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// The string is not a decimal amount.
    #[error("invalid amount {input:?}: {reason}")]
    Parse {
        /// The rejected input.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The token exponent is above [`MAX_DECIMAL_EXPONENT`].
    #[error("token exponent {0} is above {MAX_DECIMAL_EXPONENT}")]
    Exponent(u8),
}

impl Amount {
    /// Zero base units.
    pub const ZERO: Amount = Amount(0);

    /// The amount of `base_units`.
    pub const fn new(base_units: u128) -> Self {
        Self(base_units)
    }

    /// The amount in base units.
    pub const fn base_units(self) -> u128 {
        self.0
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0.checked_add(other.0).map(Amount).ok_or(AmountError::Overflow)
    }

    /// `self - other`.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0.checked_sub(other.0).map(Amount).ok_or(AmountError::Underflow)
    }

    /// `self × factor`.
    pub fn checked_mul(self, factor: u128) -> Result<Amount, AmountError> {
        self.0.checked_mul(factor).map(Amount).ok_or(AmountError::Overflow)
    }

    /// `self ÷ divisor`, rounded down.
    pub fn checked_div(self, divisor: u128) -> Result<Amount, AmountError> {
        self.0.checked_div(divisor).map(Amount).ok_or(AmountError::DivisionByZero)
    }

    /// Parses a decimal token amount such as `"1.5"` with `exponent` decimals per token.
    ///
    /// More fractional digits than the exponent allows are an error, never rounded away.
    pub fn from_decimal(input: &str, exponent: u8) -> Result<Amount, AmountError> {
        let scale = pow10(exponent)?;
        let fail = |reason| AmountError::Parse { input: input.to_owned(), reason };
        let (whole, fraction) = match input.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (input, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("expected digits before the decimal point"));
        }
        let whole: u128 = whole.parse().map_err(|_| fail("too large"))?;
        let mut units = whole.checked_mul(scale).ok_or_else(|| fail("too large"))?;
        if let Some(fraction) = fraction {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("expected digits after the decimal point"));
            }
            if fraction.len() > usize::from(exponent) {
                return Err(fail("more decimals than the token has"));
            }
            // At most 38 digits, so this fits a u128.
            let digits: u128 = fraction.parse().map_err(|_| fail("too large"))?;
            let padding = exponent - fraction.len() as u8;
            let fraction_units = digits * pow10(padding)?;
            units = units.checked_add(fraction_units).ok_or_else(|| fail("too large"))?;
        }
        Ok(Amount(units))
    }

    /// Formats as a decimal token amount with `exponent` decimals, trailing zeros trimmed
    /// (`1500000000` with exponent 9 is `"1.5"`).
    pub fn to_decimal(self, exponent: u8) -> Result<String, AmountError> {
        let scale = pow10(exponent)?;
        let whole = self.0 / scale;
        let fraction = self.0 % scale;
        if fraction == 0 {
            return Ok(whole.to_string());
        }
        let digits = format!("{fraction:0width$}", width = usize::from(exponent));
        Ok(format!("{whole}.{}", digits.trim_end_matches('0')))
    }
}

fn pow10(exponent: u8) -> Result<u128, AmountError> {
    if exponent > MAX_DECIMAL_EXPONENT {
        return Err(AmountError::Exponent(exponent));
    }
    Ok(10u128.pow(u32::from(exponent)))
}

impl std::fmt::Display for Amount {
    /// Base units; use [`Amount::to_decimal`] for token units.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl std::str::FromStr for Amount {
    type Err = AmountError;

    /// Parses base units (an integer string).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::from_decimal(s, 0)
    }
}

impl From<u128> for Amount {
    fn from(base_units: u128) -> Self {
        Self(base_units)
    }
}

// JSON cannot carry a u128 exactly as a number, so amounts are decimal strings of base units.
impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parse_and_format() {
        assert_eq!(Amount::from_decimal("1.5", 9), Ok(Amount(1_500_000_000)));
        assert_eq!(Amount::from_decimal("0.000000001", 9), Ok(Amount(1)));
        assert_eq!(Amount::from_decimal("42", 9), Ok(Amount(42_000_000_000)));
        assert_eq!(Amount::from_decimal("007", 0), Ok(Amount(7)));
        assert_eq!(Amount(1_500_000_000).to_decimal(9).as_deref(), Ok("1.5"));
        assert_eq!(Amount(1).to_decimal(9).as_deref(), Ok("0.000000001"));
        assert_eq!(Amount(42_000_000_000).to_decimal(9).as_deref(), Ok("42"));
        assert_eq!(Amount(0).to_decimal(18).as_deref(), Ok("0"));
        assert_eq!(Amount(u128::MAX).to_decimal(0), Ok(u128::MAX.to_string()));
    }

    #[test]
    fn decimal_parse_rejects() {
        for bad in ["", ".5", "1.", "1.2.3", "-1", "+1", "1e9", " 1", "1,5", "0x10", "١"] {
            assert!(
                matches!(Amount::from_decimal(bad, 9), Err(AmountError::Parse { .. })),
                "{bad:?} must be rejected"
            );
        }
        assert!(matches!(Amount::from_decimal("0.0000000001", 9), Err(AmountError::Parse { .. })));
        let too_big = format!("{}", u128::MAX);
        assert!(Amount::from_decimal(&too_big, 0).is_ok());
        assert!(Amount::from_decimal(&too_big, 1).is_err());
        assert!(Amount::from_decimal("340282366920938463463374607431768211456", 0).is_err());
        assert_eq!(Amount::from_decimal("1", 39), Err(AmountError::Exponent(39)));
    }

    #[test]
    fn checked_arithmetic() {
        let max = Amount(u128::MAX);
        assert_eq!(max.checked_add(Amount(1)), Err(AmountError::Overflow));
        assert_eq!(Amount(1).checked_sub(Amount(2)), Err(AmountError::Underflow));
        assert_eq!(max.checked_mul(2), Err(AmountError::Overflow));
        assert_eq!(Amount(7).checked_div(0), Err(AmountError::DivisionByZero));
        assert_eq!(Amount(7).checked_div(2), Ok(Amount(3)));
        assert_eq!(Amount(7).checked_add(Amount(3)), Ok(Amount(10)));
    }

    #[test]
    fn serde_is_a_string_of_base_units() {
        let json = serde_json::to_string(&Amount(u128::MAX)).expect("json");
        assert_eq!(json, format!("\"{}\"", u128::MAX));
        assert_eq!(serde_json::from_str::<Amount>(&json).expect("parse"), Amount(u128::MAX));
        assert!(serde_json::from_str::<Amount>("\"1.5\"").is_err());
        assert!(serde_json::from_str::<Amount>("15").is_err());
    }
}
