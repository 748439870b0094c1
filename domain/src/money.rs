//! Exact amounts: Rupiah prices and commodity quantities, never floats.

use rust_decimal::Decimal;

use crate::RuleError;

/// A unit price in Rupiah (IDR): positive, at most 2 decimal places (a price per kg may be Rp1,637.50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPrice(Decimal);

impl UnitPrice {
    pub const MAX_DECIMALS: u32 = 2;

    /// One hundred billion Rupiah per unit: far above any staple, low enough to catch a mistyped price.
    pub fn max() -> Decimal {
        Decimal::from(100_000_000_000_i64)
    }

    pub fn parse(field: &'static str, value: Decimal) -> Result<Self, RuleError> {
        positive_bounded(field, value, Self::MAX_DECIMALS, Self::max()).map(Self)
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// A quantity in its commodity's unit: positive, at most 3 decimal places (grams of a kg, ml of a litre).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(Decimal);

impl Quantity {
    pub const MAX_DECIMALS: u32 = 3;

    /// A thousand million units: above a national season's demand for any commodity.
    pub fn max() -> Decimal {
        Decimal::from(1_000_000_000_i64)
    }

    pub fn parse(field: &'static str, value: Decimal) -> Result<Self, RuleError> {
        positive_bounded(field, value, Self::MAX_DECIMALS, Self::max()).map(Self)
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

fn positive_bounded(
    field: &'static str,
    value: Decimal,
    max_decimals: u32,
    max: Decimal,
) -> Result<Decimal, RuleError> {
    let value = value.normalize();
    if value <= Decimal::ZERO {
        return Err(RuleError::invalid(field, "must be greater than zero"));
    }
    if value.scale() > max_decimals {
        return Err(RuleError::invalid(field, format!("must have at most {max_decimals} decimal places")));
    }
    if value > max {
        return Err(RuleError::invalid(field, format!("must be at most {max}")));
    }
    Ok(value)
}

/// A rupiah amount as surveys write it: `1780`, `1780.50`, or in Indonesian notation `Rp1.780` / `1.780,50`
/// (dots group thousands, a comma starts the decimals).
pub fn parse_rupiah(text: &str) -> Option<Decimal> {
    let text: String = text.trim().trim_start_matches("Rp").chars().filter(|c| !c.is_whitespace()).collect();
    let grouped = text.split('.').skip(1).all(|group| group.len() == 3 && group.chars().all(|c| c.is_ascii_digit()))
        && text.contains('.')
        && !text.contains(',');
    let normalised = if text.contains(',') || grouped { text.replace('.', "").replace(',', ".") } else { text };
    normalised.parse().ok()
}

/// A number as Indonesians write it: dots group thousands, a comma starts the decimals (`16.038.000`, `1.637,5`).
pub fn indonesian_number(value: Decimal) -> String {
    let value = value.normalize();
    let negative = value.is_sign_negative() && !value.is_zero();
    let text = value.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if negative { "-" } else { "" };
    if fraction.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped},{fraction}") }
}

/// A rupiah amount as people write it: `Rp1.620`, `Rp16.038.000`, `Rp1.637,5`.
pub fn format_rupiah(value: Decimal) -> String {
    let text = indonesian_number(value);
    match text.strip_prefix('-') {
        Some(positive) => format!("-Rp{positive}"),
        None => format!("Rp{text}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn survey_prices_read_both_notations() {
        use rust_decimal::dec;
        assert_eq!(parse_rupiah("1780"), Some(dec!(1780)));
        assert_eq!(parse_rupiah("1780.50"), Some(dec!(1780.50)));
        assert_eq!(parse_rupiah("1.780"), Some(dec!(1780)));
        assert_eq!(parse_rupiah("Rp 13.500"), Some(dec!(13500)));
        assert_eq!(parse_rupiah("1.780,5"), Some(dec!(1780.5)));
        assert_eq!(parse_rupiah("abc"), None);
        assert_eq!(parse_rupiah(""), None);
    }

    use super::*;
    use rust_decimal::dec;

    #[test]
    fn rupiah_are_written_as_people_write_them() {
        assert_eq!(format_rupiah(dec!(1620)), "Rp1.620");
        assert_eq!(format_rupiah(dec!(16038000)), "Rp16.038.000");
        assert_eq!(format_rupiah(dec!(1637.50)), "Rp1.637,5");
        assert_eq!(format_rupiah(dec!(950)), "Rp950");
        assert_eq!(format_rupiah(dec!(-2500)), "-Rp2.500");
        assert_eq!(indonesian_number(dec!(1000000.125)), "1.000.000,125");
    }

    proptest::proptest! {
        #[test]
        fn a_written_amount_reads_back_exactly(cents in 0_i64..10_000_000_000_000) {
            let amount = Decimal::new(cents, 2);
            proptest::prop_assert_eq!(parse_rupiah(&format_rupiah(amount)), Some(amount.normalize()));
        }
    }

    #[test]
    fn prices_keep_their_exact_value() {
        assert_eq!(UnitPrice::parse("price", dec!(1637.50)).unwrap().value(), dec!(1637.5));
    }

    #[test]
    fn zero_negative_too_precise_and_huge_values_are_refused() {
        assert!(UnitPrice::parse("price", dec!(0)).is_err());
        assert!(UnitPrice::parse("price", dec!(-1800)).is_err());
        assert!(UnitPrice::parse("price", dec!(1800.001)).is_err());
        assert!(UnitPrice::parse("price", dec!(100000000001)).is_err());
        assert!(Quantity::parse("quantity", dec!(0.0001)).is_err());
        assert!(Quantity::parse("quantity", dec!(1000000001)).is_err());
        assert!(Quantity::parse("quantity", dec!(24000.500)).is_ok());
    }
}
