//! Lumbung's business rules.
//!
//! Everything here takes plain values (including the current instant) and returns decisions or typed errors.
//! No async runtime, no database, no web types: the rules are tested in microseconds and shared by every entry point.

pub mod access;
pub mod allocation;
pub mod bid;
pub mod clock;
pub mod commodity;
pub mod error;
pub mod evaluation;
pub mod identity;
pub mod login_throttle;
pub mod money;
pub mod notification;
pub mod organisation;
pub mod pool;
pub mod price_stats;
pub mod purchase_order;
pub mod red_flags;
pub mod tender;

pub use error::RuleError;

/// Every parser of outside input, fed arbitrary values: it answers with a value or a typed error, never a panic, and
/// what it accepts satisfies the rule it stands for.
#[cfg(test)]
mod parser_properties {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use crate::{bid::Offer, commodity, identity, money, organisation};

    fn decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<i64>(), 0_u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
            Just(Decimal::MAX),
            Just(Decimal::MIN),
            Just(Decimal::ZERO),
            (any::<i32>(), 0_u32..6).prop_map(|(m, s)| Decimal::new(i64::from(m), s)),
        ]
    }

    proptest! {
        #[test]
        fn text_parsers_never_panic_and_keep_their_promises(text in any::<String>()) {
            if let Ok(email) = identity::Email::parse(&text) {
                prop_assert!(email.as_str().contains('@'));
                prop_assert_eq!(email.as_str(), email.as_str().to_lowercase());
            }
            if let Ok(name) = identity::bounded_text("name", &text, 1, 20) {
                prop_assert!((1..=20).contains(&name.chars().count()));
                prop_assert!(!name.chars().any(char::is_control));
            }
            if let Ok(code) = commodity::commodity_code(&text) {
                prop_assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'));
            }
            let _ = identity::Password::parse(&text, &[]);
            let _ = organisation::OrganisationKind::parse(&text);
            let _ = organisation::organisation_name(&text);
            let _ = commodity::Unit::parse(&text);
        }

        #[test]
        fn amounts_are_accepted_only_when_positive_in_range_and_not_too_precise(value in decimal()) {
            if let Ok(price) = money::UnitPrice::parse("price", value) {
                prop_assert!(price.value() > Decimal::ZERO && price.value() <= money::UnitPrice::max());
                prop_assert!(price.value().scale() <= money::UnitPrice::MAX_DECIMALS);
            }
            if let Ok(quantity) = money::Quantity::parse("quantity", value) {
                prop_assert!(quantity.value() > Decimal::ZERO && quantity.value() <= money::Quantity::max());
                prop_assert!(quantity.value().scale() <= money::Quantity::MAX_DECIMALS);
            }
        }

        #[test]
        fn offers_never_exceed_their_lot(price in decimal(), quantity in decimal(), lead in any::<i32>(), validity in any::<i32>(), partial in any::<bool>()) {
            let lot = Decimal::from(24_000);
            if let Ok(offer) = Offer::parse(price, quantity, lead, validity, lot, partial, Some(Decimal::from(5_000))) {
                prop_assert!(offer.quantity.value() <= lot);
                prop_assert!(offer.quantity.value() >= Decimal::from(5_000));
                prop_assert!(offer.lead_time_days <= 365 && (1..=365).contains(&offer.validity_days));
                prop_assert!(partial || offer.quantity.value() == lot);
            }
        }
    }
}
