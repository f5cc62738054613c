//! Exact money: integer minor units of an ISO 4217 currency.
//!
//! Bidders trust the numbers on the screen, so no float ever touches an
//! amount: `0.1 + 0.2` must not become `0.30000000000000004` on a paddle.
//! Amounts travel and are stored as integer minor units ([`Money`]); a
//! decimal string appears only at the API edge, through [`Currency::parse`]
//! and [`Currency::format`], which know how many decimals the currency has.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in minor units (cents for EUR, yen for JPY, fils for BHD).
///
/// The currency is not carried: every amount inside a sale is in the sale's
/// currency, and repeating it in every bid would only add a way to be wrong.
/// Serialized as a plain integer. Never negative, never above [`Money::MAX`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// The largest amount Paddle represents: 2^53 − 1 minor units, the
    /// largest integer a browser's JavaScript number holds exactly, so JSON
    /// never rounds an amount on its way to a page.
    pub const MAX: Money = Money(9_007_199_254_740_991);

    /// An amount from minor units, refusing negatives and values over
    /// [`Money::MAX`].
    pub const fn from_minor(minor: i64) -> Result<Money, MoneyError> {
        if minor < 0 {
            Err(MoneyError::Negative)
        } else if minor > Self::MAX.0 {
            Err(MoneyError::Overflow)
        } else {
            Ok(Money(minor))
        }
    }

    /// An amount from minor units, clamped into `0..=MAX`: for constants
    /// and for bounds, where an error would have nowhere to go.
    pub const fn clamped(minor: i64) -> Money {
        if minor < 0 {
            Money(0)
        } else if minor > Self::MAX.0 {
            Self::MAX
        } else {
            Money(minor)
        }
    }

    /// The amount in minor units.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Sum, or `None` past [`Money::MAX`].
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        match self.0.checked_add(other.0) {
            Some(v) if v <= Self::MAX.0 => Some(Money(v)),
            _ => None,
        }
    }

    /// Sum capped at [`Money::MAX`]: a minimum next bid past the top of the
    /// range stays at the top instead of wrapping.
    pub const fn saturating_add(self, other: Money) -> Money {
        match self.checked_add(other) {
            Some(v) => v,
            None => Self::MAX,
        }
    }

    /// Difference, or `None` below zero.
    pub const fn checked_sub(self, other: Money) -> Option<Money> {
        if other.0 > self.0 {
            None
        } else {
            Some(Money(self.0 - other.0))
        }
    }

    /// Difference floored at zero.
    pub const fn saturating_sub(self, other: Money) -> Money {
        match self.checked_sub(other) {
            Some(v) => v,
            None => Self::ZERO,
        }
    }

    /// `self × bp / 10 000`, rounded half up, computed in 128 bits so it
    /// cannot overflow. Used for the buyer's premium. `None` when the result
    /// is not representable.
    pub fn basis_points(self, bp: u32) -> Option<Money> {
        let v = (self.0 as i128 * bp as i128 + 5_000) / 10_000;
        i64::try_from(v)
            .ok()
            .and_then(|v| Money::from_minor(v).ok())
    }
}

impl TryFrom<i64> for Money {
    type Error = MoneyError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Money::from_minor(v)
    }
}

impl From<Money> for i64 {
    fn from(m: Money) -> i64 {
        m.0
    }
}

impl fmt::Display for Money {
    /// Minor units, for logs. Use [`Currency::format`] for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a decimal string is not an amount. Every variant is a user mistake
/// the API can explain, never a reason to guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty")]
    Empty,
    #[error("amount is longer than {max} characters")]
    TooLong { max: usize },
    #[error("amount cannot be negative")]
    Negative,
    #[error("amount has an unexpected character {found:?} at position {position}")]
    InvalidCharacter { found: char, position: usize },
    #[error("amount is not a decimal number of the form 123 or 123.45")]
    Malformed,
    #[error("amount has more decimals than the currency's {exponent}")]
    TooManyDecimals { exponent: u8 },
    #[error("amount is too large")]
    Overflow,
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
}

/// An ISO 4217 currency: its code and how many decimals its minor unit has.
///
/// Only currencies from the table below exist, so an exponent can never be
/// made up. Serialized as its code (`"EUR"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

const fn cur(code: &'static str, exponent: u8) -> Currency {
    Currency { code, exponent }
}

/// The currencies Paddle knows (ISO 4217, with their minor-unit exponents).
static CURRENCIES: &[Currency] = &[
    cur("AED", 2),
    cur("AUD", 2),
    cur("BHD", 3),
    cur("BRL", 2),
    cur("CAD", 2),
    cur("CHF", 2),
    cur("CLF", 4),
    cur("CLP", 0),
    cur("CNY", 2),
    cur("CZK", 2),
    cur("DKK", 2),
    cur("EUR", 2),
    cur("GBP", 2),
    cur("HKD", 2),
    cur("HUF", 2),
    cur("IDR", 2),
    cur("ILS", 2),
    cur("INR", 2),
    cur("IQD", 3),
    cur("ISK", 0),
    cur("JOD", 3),
    cur("JPY", 0),
    cur("KRW", 0),
    cur("KWD", 3),
    cur("LYD", 3),
    cur("MXN", 2),
    cur("NOK", 2),
    cur("NZD", 2),
    cur("OMR", 3),
    cur("PLN", 2),
    cur("PYG", 0),
    cur("SEK", 2),
    cur("SGD", 2),
    cur("TND", 3),
    cur("TRY", 2),
    cur("UGX", 0),
    cur("USD", 2),
    cur("UYW", 4),
    cur("VND", 0),
    cur("XAF", 0),
    cur("XOF", 0),
    cur("ZAR", 2),
];

/// Longest decimal string [`Currency::parse`] looks at; anything longer is
/// refused before any arithmetic.
pub const MAX_AMOUNT_CHARS: usize = 32;

impl Currency {
    /// US dollar (2 decimals).
    pub const USD: Currency = cur("USD", 2);
    /// Euro (2 decimals).
    pub const EUR: Currency = cur("EUR", 2);
    /// Pound sterling (2 decimals).
    pub const GBP: Currency = cur("GBP", 2);
    /// Yen (no minor unit).
    pub const JPY: Currency = cur("JPY", 0);
    /// Bahraini dinar (3 decimals).
    pub const BHD: Currency = cur("BHD", 3);

    /// Look a currency up by its ISO code (exact, upper case).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        CURRENCIES
            .binary_search_by(|c| c.code.cmp(code))
            .map(|i| CURRENCIES[i])
            .map_err(|_| MoneyError::UnknownCurrency(code.to_string()))
    }

    /// Every known currency, sorted by code, for pickers in the UI.
    pub fn all() -> &'static [Currency] {
        CURRENCIES
    }

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit (JPY 0, EUR 2, BHD 3).
    pub const fn exponent(self) -> u8 {
        self.exponent
    }

    /// Parse a decimal string exactly: `"12.50"` in EUR is 1250 minor units.
    ///
    /// Only `digits` or `digits.digits` is accepted: no sign, no spaces, no
    /// exponent, no thousands separator, and never more decimals than the
    /// currency has (`"12.500"` in EUR is refused rather than silently
    /// rounded, and so is `"100.0"` in JPY).
    pub fn parse(self, s: &str) -> Result<Money, MoneyError> {
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.len() > MAX_AMOUNT_CHARS {
            return Err(MoneyError::TooLong {
                max: MAX_AMOUNT_CHARS,
            });
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        for (position, found) in s.char_indices() {
            if !(found.is_ascii_digit() || found == '.') {
                return Err(MoneyError::InvalidCharacter { found, position });
            }
        }
        if int.is_empty() || frac.is_some_and(|f| f.is_empty() || f.contains('.')) {
            return Err(MoneyError::Malformed);
        }
        let frac = frac.unwrap_or("");
        if frac.len() > self.exponent as usize {
            return Err(MoneyError::TooManyDecimals {
                exponent: self.exponent,
            });
        }
        let mut v: i64 = 0;
        let pad = self.exponent as usize - frac.len();
        let digits = int
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', pad));
        for d in digits {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((d - b'0') as i64))
                .ok_or(MoneyError::Overflow)?;
        }
        Money::from_minor(v)
    }

    /// Format an amount with exactly the currency's decimals: 1250 in EUR is
    /// `"12.50"`, 1250 in JPY is `"1250"`, 1250 in BHD is `"1.250"`.
    pub fn format(self, m: Money) -> String {
        let exp = self.exponent as u32;
        if exp == 0 {
            return m.0.to_string();
        }
        let scale = 10i64.pow(exp);
        format!(
            "{}.{:0width$}",
            m.0 / scale,
            m.0 % scale,
            width = exp as usize
        )
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].code < w[1].code));
        for c in CURRENCIES {
            assert_eq!(Currency::from_code(c.code), Ok(*c));
        }
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::from_code("KRW").unwrap().exponent(), 0);
        assert!(Currency::from_code("eur").is_err());
        assert!(Currency::from_code("XXX").is_err());
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(Currency::EUR.parse("12.50"), Ok(Money(1250)));
        assert_eq!(Currency::EUR.parse("12.5"), Ok(Money(1250)));
        assert_eq!(Currency::EUR.parse("12"), Ok(Money(1200)));
        assert_eq!(Currency::EUR.parse("0.01"), Ok(Money(1)));
        assert_eq!(Currency::EUR.parse("007.10"), Ok(Money(710)));
        assert_eq!(Currency::JPY.parse("1500"), Ok(Money(1500)));
        assert_eq!(Currency::BHD.parse("1.005"), Ok(Money(1005)));
        assert_eq!(Currency::USD.parse("0.1"), Ok(Money(10)));
    }

    #[test]
    fn refuses_what_it_cannot_represent_exactly() {
        use MoneyError::*;
        let eur = Currency::EUR;
        assert_eq!(eur.parse(""), Err(Empty));
        assert_eq!(eur.parse("-1"), Err(Negative));
        assert_eq!(eur.parse("12.505"), Err(TooManyDecimals { exponent: 2 }));
        assert_eq!(eur.parse("12.500"), Err(TooManyDecimals { exponent: 2 }));
        assert_eq!(
            Currency::JPY.parse("100.0"),
            Err(TooManyDecimals { exponent: 0 })
        );
        assert_eq!(
            eur.parse("1e5"),
            Err(InvalidCharacter {
                found: 'e',
                position: 1
            })
        );
        assert_eq!(
            eur.parse(" 12"),
            Err(InvalidCharacter {
                found: ' ',
                position: 0
            })
        );
        assert_eq!(
            eur.parse("12 "),
            Err(InvalidCharacter {
                found: ' ',
                position: 2
            })
        );
        assert_eq!(
            eur.parse("+12"),
            Err(InvalidCharacter {
                found: '+',
                position: 0
            })
        );
        assert_eq!(
            eur.parse("1,000"),
            Err(InvalidCharacter {
                found: ',',
                position: 1
            })
        );
        assert!(matches!(eur.parse("NaN"), Err(InvalidCharacter { .. })));
        assert!(matches!(eur.parse("１２"), Err(InvalidCharacter { .. })));
        assert_eq!(eur.parse("."), Err(Malformed));
        assert_eq!(eur.parse(".5"), Err(Malformed));
        assert_eq!(eur.parse("5."), Err(Malformed));
        assert_eq!(eur.parse("1.2.3"), Err(Malformed));
        assert_eq!(eur.parse("90071992547409.92"), Err(Overflow));
        assert_eq!(eur.parse("9999999999999999999999"), Err(Overflow));
        assert_eq!(eur.parse(&"1".repeat(40)), Err(TooLong { max: 32 }));
        assert_eq!(eur.parse("90071992547409.91"), Ok(Money::MAX));
    }

    #[test]
    fn formats_with_the_currency_exponent() {
        assert_eq!(Currency::EUR.format(Money(1250)), "12.50");
        assert_eq!(Currency::EUR.format(Money(5)), "0.05");
        assert_eq!(Currency::EUR.format(Money(0)), "0.00");
        assert_eq!(Currency::JPY.format(Money(1250)), "1250");
        assert_eq!(Currency::BHD.format(Money(1250)), "1.250");
        assert_eq!(
            Currency::from_code("CLF").unwrap().format(Money(12345)),
            "1.2345"
        );
    }

    #[test]
    fn serde_keeps_integers_inside_and_codes_for_currencies() {
        assert_eq!(serde_json::to_string(&Money(1250)).unwrap(), "1250");
        assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"JPY\"").unwrap(),
            Currency::JPY
        );
        assert!(serde_json::from_str::<Currency>("\"ZZZ\"").is_err());
        assert!(serde_json::from_str::<Money>("-1").is_err());
        assert!(serde_json::from_str::<Money>("9007199254740992").is_err());
        let bytes = crate::codec::encode(&(Currency::BHD, Money(7))).unwrap();
        assert_eq!(
            crate::codec::decode::<(Currency, Money)>(&bytes).unwrap(),
            (Currency::BHD, Money(7))
        );
    }

    #[test]
    fn premium_rounds_half_up_without_overflow() {
        assert_eq!(Money(1000).basis_points(2500), Some(Money(250)));
        assert_eq!(Money(3).basis_points(5000), Some(Money(2)));
        assert_eq!(Money(1).basis_points(4999), Some(Money(0)));
        assert_eq!(Money::MAX.basis_points(10_000), Some(Money::MAX));
        assert_eq!(Money::MAX.basis_points(20_000), None);
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(v in 0i64..=Money::MAX.0, i in 0usize..CURRENCIES.len()) {
            let c = CURRENCIES[i];
            prop_assert_eq!(c.parse(&c.format(Money(v))), Ok(Money(v)));
        }

        #[test]
        fn parse_never_panics_and_round_trips(s in "\\PC{0,40}", i in 0usize..CURRENCIES.len()) {
            let c = CURRENCIES[i];
            if let Ok(m) = c.parse(&s) {
                prop_assert_eq!(c.parse(&c.format(m)), Ok(m));
                prop_assert!(m <= Money::MAX);
            }
        }

        #[test]
        fn integer_strings_scale_by_the_exponent(v in 0i64..1_000_000_000, i in 0usize..CURRENCIES.len()) {
            let c = CURRENCIES[i];
            prop_assert_eq!(c.parse(&v.to_string()), Ok(Money(v * 10i64.pow(c.exponent as u32))));
        }
    }
}
