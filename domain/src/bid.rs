//! Sealed bids: what a supplier offers for a lot, and the commitment that proves an opened bid is the one received.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    RuleError,
    money::{Quantity, UnitPrice},
};

/// A bid's offer, validated against its lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub unit_price: UnitPrice,
    pub quantity: Quantity,
    pub lead_time_days: u32,
    pub validity_days: u32,
}

impl Offer {
    /// Checks an offer for a lot of `lot_quantity`: the whole lot, or at least the minimum when partial bids are
    /// allowed; a lead time of at most a year; valid for 1 to 365 days. The price ceiling is checked at evaluation,
    /// where a bid above it becomes non-responsive with that reason.
    pub fn parse(
        unit_price: Decimal,
        quantity: Decimal,
        lead_time_days: i32,
        validity_days: i32,
        lot_quantity: Decimal,
        partial_bids_allowed: bool,
        min_partial_quantity: Option<Decimal>,
    ) -> Result<Self, RuleError> {
        let unit_price = UnitPrice::parse("unitPrice", unit_price)?;
        let quantity = Quantity::parse("quantity", quantity)?;
        let lead_time_days = u32::try_from(lead_time_days)
            .ok()
            .filter(|days| *days <= 365)
            .ok_or_else(|| RuleError::invalid("leadTimeDays", "must be between 0 and 365"))?;
        let validity_days = u32::try_from(validity_days)
            .ok()
            .filter(|days| (1..=365).contains(days))
            .ok_or_else(|| RuleError::invalid("validityDays", "must be between 1 and 365"))?;
        if quantity.value() > lot_quantity {
            return Err(RuleError::invalid("quantity", "is more than the lot's quantity"));
        }
        if !partial_bids_allowed && quantity.value() != lot_quantity {
            return Err(RuleError::invalid("quantity", "this tender takes bids for the whole lot only"));
        }
        if let Some(minimum) = min_partial_quantity
            && quantity.value() < minimum
        {
            return Err(RuleError::invalid("quantity", format!("partial bids must offer at least {minimum}")));
        }
        Ok(Self { unit_price, quantity, lead_time_days, validity_days })
    }
}

impl Offer {
    /// An offer as it was recorded: the amounts and day counts are checked again, the lot's rules are not (they
    /// were checked when it was received, against the lot as it was then). For withdrawals and for re-deriving the
    /// canonical encoding of a stored bid.
    pub fn recorded(
        unit_price: Decimal,
        quantity: Decimal,
        lead_time_days: i32,
        validity_days: i32,
    ) -> Result<Self, RuleError> {
        Self::parse(unit_price, quantity, lead_time_days, validity_days, quantity, true, None)
    }
}

/// Everything the commitment hash covers.
pub struct CommittedBid<'a> {
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub supplier_id: Uuid,
    pub version: u32,
    pub offer: &'a Offer,
    pub received_at: DateTime<Utc>,
    /// A secret the server keeps with the bid and reveals with it after opening.
    pub nonce: &'a str,
}

/// The canonical text of a bid: one `key=value` per line in a fixed order, decimals normalised, the instant in
/// RFC 3339 UTC with milliseconds. Anyone who sees the opened bid can rebuild it and recompute the hash.
pub fn canonical_encoding(bid: &CommittedBid<'_>) -> String {
    format!(
        "lumbung-bid-v1\ntender={}\nlot={}\nsupplier={}\nversion={}\nunit_price={}\nquantity={}\nlead_time_days={}\nvalidity_days={}\nreceived_at={}\nnonce={}\n",
        bid.tender_id,
        bid.lot_id,
        bid.supplier_id,
        bid.version,
        bid.offer.unit_price.value().normalize(),
        bid.offer.quantity.value().normalize(),
        bid.offer.lead_time_days,
        bid.offer.validity_days,
        bid.received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        bid.nonce,
    )
}

/// SHA-256 of the canonical encoding, hex.
pub fn commitment_hash(bid: &CommittedBid<'_>) -> String {
    hex::encode(Sha256::digest(canonical_encoding(bid).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn offer(quantity: Decimal) -> Result<Offer, RuleError> {
        Offer::parse(dec!(1620), quantity, 5, 30, dec!(24000), true, Some(dec!(5000)))
    }

    #[test]
    fn offers_respect_the_lot() {
        assert!(offer(dec!(10000)).is_ok());
        assert!(offer(dec!(24000)).is_ok());
        assert!(offer(dec!(4999)).is_err());
        assert!(offer(dec!(24001)).is_err());
        assert!(Offer::parse(dec!(1620), dec!(10000), 5, 30, dec!(24000), false, None).is_err());
        assert!(Offer::parse(dec!(1620), dec!(24000), -1, 30, dec!(24000), false, None).is_err());
        assert!(Offer::parse(dec!(1620), dec!(24000), 5, 0, dec!(24000), false, None).is_err());
        assert!(Offer::parse(dec!(0), dec!(24000), 5, 30, dec!(24000), false, None).is_err());
    }

    #[test]
    fn the_commitment_changes_with_any_field_and_not_with_decimal_notation() {
        let received_at: DateTime<Utc> = "2026-11-27T03:00:00.123Z".parse().unwrap();
        let a = offer(dec!(10000)).unwrap();
        let same_value = Offer::parse(dec!(1620.00), dec!(10000.0), 5, 30, dec!(24000), true, None).unwrap();
        let cheaper = Offer::parse(dec!(1619), dec!(10000), 5, 30, dec!(24000), true, None).unwrap();
        let ids = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let hash = |offer: &Offer, nonce: &str| {
            commitment_hash(&CommittedBid {
                tender_id: ids.0,
                lot_id: ids.1,
                supplier_id: ids.2,
                version: 1,
                offer,
                received_at,
                nonce,
            })
        };
        assert_eq!(hash(&a, "n"), hash(&same_value, "n"));
        assert_ne!(hash(&a, "n"), hash(&cheaper, "n"));
        assert_ne!(hash(&a, "n"), hash(&a, "m"));
        assert_eq!(hash(&a, "n").len(), 64);
    }
}
