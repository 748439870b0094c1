//! Exact storage of money and quantities as integers in ten-thousandths.
//!
//! SQLite has no exact decimal type (its DECIMAL columns hold 8-byte floats) and sea-query binds a `Decimal` there
//! as `f64`, so every amount is stored as `value × 10⁴` in a 64-bit integer on both backends. That keeps amounts
//! exact, sortable and summable in SQL up to ±922 trillion, far above any price or season's quantity here.

use rust_decimal::Decimal;

use crate::ServiceError;

pub const SCALE: u32 = 4;

/// The stored integer for `value`; refuses values with more than four decimal places or out of range.
pub fn to_stored(value: Decimal) -> Result<i64, ServiceError> {
    let normalized = value.normalize();
    if normalized.scale() > SCALE {
        return Err(ServiceError::internal(format!("amount {value} has more than {SCALE} decimal places")));
    }
    let mut scaled = normalized;
    scaled.rescale(SCALE);
    i64::try_from(scaled.mantissa()).map_err(|_| ServiceError::internal(format!("amount {value} is out of range")))
}

/// The exact decimal a stored integer stands for, without trailing zeros.
pub fn from_stored(stored: i64) -> Decimal {
    Decimal::new(stored, SCALE).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn amounts_round_trip_exactly() {
        for value in [dec!(0), dec!(1637.50), dec!(39300000), dec!(24000.125), dec!(-5.0001), dec!(92233720368547.7580)]
        {
            assert_eq!(from_stored(to_stored(value).unwrap()), value.normalize());
        }
    }

    #[test]
    fn too_precise_or_too_large_amounts_are_refused() {
        assert!(to_stored(dec!(0.00001)).is_err());
        assert!(to_stored(dec!(1000000000000000)).is_err());
    }
}
