//! Money as the lists of the notice write it: amounts in 万元 (ten thousand yuan),
//! kept exactly as whole fen (0.01 yuan). One 万元 is 1,000,000 fen, so six decimal
//! places of 万元 are exact.

use std::fmt;

use serde::{Deserialize, Serialize};

const FEN_PER_WAN: i64 = 1_000_000;
/// Largest amount accepted: 999,999,999 万元, far beyond any penalty, and far
/// below where `i64` fen would overflow.
const MAX_WAN_DIGITS: usize = 9;

/// A non-negative amount of money in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Fen(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("金额应为以万元计的非负数，最多 6 位小数，例如 1.25")]
    Format,
    #[error("金额不能为负数")]
    Negative,
}

impl MoneyError {
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Format => "amount_format",
            MoneyError::Negative => "amount_negative",
        }
    }
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn new(fen: i64) -> Result<Fen, MoneyError> {
        if fen < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Fen(fen))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// Parses an amount in 万元 as typed: ASCII digits, an optional point and at
    /// most six decimals (`1.25`, `0.000001`, `3`). Surrounding spaces are allowed;
    /// signs, exponents, full-width digits and empty parts are not.
    pub fn parse_wan(input: &str) -> Result<Fen, MoneyError> {
        let s = input.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty()
            || (s.contains('.') && frac.is_empty())
            || int.len() > MAX_WAN_DIGITS
            || frac.len() > 6
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::Format);
        }
        let int: i64 = int.parse().map_err(|_| MoneyError::Format)?;
        let mut frac_fen: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_fen += i64::from(b - b'0') * 10_i64.pow(5 - i as u32);
        }
        Ok(Fen(int * FEN_PER_WAN + frac_fen))
    }

    /// An optional amount from a form field: empty is `None`.
    pub fn parse_wan_opt(input: &str) -> Result<Option<Fen>, MoneyError> {
        if input.trim().is_empty() {
            Ok(None)
        } else {
            Fen::parse_wan(input).map(Some)
        }
    }

    /// The amount in 万元 without trailing zeros: `1.25`, `3`, `0.000001`.
    pub fn wan(self) -> String {
        self.wan_with_decimals(0)
    }

    /// The amount in 万元 with at least `min` decimals and no float rounding, as
    /// the notice's lists print money: `wan_with_decimals(2)` gives `0.50`, `1.00`,
    /// `12.345678`.
    pub fn wan_with_decimals(self, min: usize) -> String {
        let frac = format!("{:06}", self.0 % FEN_PER_WAN);
        let frac = frac.trim_end_matches('0');
        let whole = self.0 / FEN_PER_WAN;
        match (frac.len(), min) {
            (0, 0) => whole.to_string(),
            (n, _) if n >= min => format!("{whole}.{frac}"),
            _ => format!("{whole}.{frac:0<min$}"),
        }
    }

    /// The amount in 万元 as a number, for spreadsheets: exact to the fen within
    /// f64's 15 significant digits.
    pub fn wan_number(self) -> f64 {
        self.0 as f64 / FEN_PER_WAN as f64
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wan())
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Fen::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_exactly_in_wan_yuan() {
        let f = |fen| Fen::new(fen).unwrap();
        assert_eq!(f(0).wan_with_decimals(2), "0.00");
        assert_eq!(f(500_000).wan_with_decimals(2), "0.50");
        assert_eq!(f(1_000_000).wan_with_decimals(2), "1.00");
        assert_eq!(f(12_345_678).wan_with_decimals(2), "12.345678");
        assert_eq!(f(1).wan_with_decimals(2), "0.000001");
        assert_eq!(f(3_000_000).wan(), "3");
        assert_eq!(f(0).wan(), "0");
        assert_eq!(f(1_250_000).wan(), "1.25");
        assert_eq!(f(1_250_000).wan_number(), 1.25);
    }

    #[test]
    fn wan_amounts_parse_to_fen_and_back() {
        assert_eq!(Fen::parse_wan("1.25").unwrap().get(), 1_250_000);
        assert_eq!(Fen::parse_wan("0.000001").unwrap().get(), 1);
        assert_eq!(Fen::parse_wan(" 3 ").unwrap().get(), 3_000_000);
        assert_eq!(
            Fen::parse_wan("999999999.999999").unwrap().get(),
            999_999_999_999_999
        );
        assert_eq!(Fen::parse_wan_opt("  ").unwrap(), None);
        for bad in [
            "",
            "-1",
            "+1",
            "1.2345678",
            "1e3",
            "１",
            "1.",
            ".5",
            "abc",
            "1..2",
            "1.-2",
            "1234567890",
        ] {
            assert_eq!(Fen::parse_wan(bad), Err(MoneyError::Format), "{bad}");
        }
        assert_eq!(Fen::new(1_250_000).unwrap().wan(), "1.25");
        assert_eq!(Fen::new(3_000_000).unwrap().to_string(), "3");
        assert_eq!(Fen::new(1).unwrap().wan(), "0.000001");
        assert_eq!(Fen::new(0).unwrap().wan(), "0");
        assert!(Fen::new(-1).is_err());
        assert!(serde_json::from_str::<Fen>("-5").is_err());
    }
}
