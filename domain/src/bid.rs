//! Sealed bids: what a supplier offers for a lot, and the commitment that proves an opened bid is the one received.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    RuleError,
    money::{Quantity, UnitPrice},
    tender::{BiddingPeriod, TenderStatus, check_bidding_open},
};

/// A bid's state: active until withdrawn; a withdrawn bid may be replaced by a new submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BidStatus {
    Active,
    Withdrawn,
}

impl BidStatus {
    pub const ALL: [Self; 2] = [Self::Active, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown bid status {value:?}")))
    }
}

/// An offer as the supplier sends it, before it is checked against its lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposedOffer {
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub lead_time_days: i32,
    pub validity_days: i32,
}

/// What a lot allows an offer to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferTerms {
    pub lot_quantity: Decimal,
    pub partial_bids_allowed: bool,
    pub min_partial_quantity: Option<Decimal>,
}

impl ProposedOffer {
    pub fn check(self, terms: &OfferTerms) -> Result<Offer, RuleError> {
        Offer::parse(
            self.unit_price,
            self.quantity,
            self.lead_time_days,
            self.validity_days,
            terms.lot_quantity,
            terms.partial_bids_allowed,
            terms.min_partial_quantity,
        )
    }
}

/// What a supplier asks of its bid on a lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BidCommand {
    Submit(ProposedOffer),
    Revise(ProposedOffer),
    Withdraw,
}

/// What a stored version of a bid records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionAction {
    Submitted,
    Revised,
    Withdrawn,
}

impl VersionAction {
    pub const ALL: [Self; 3] = [Self::Submitted, Self::Revised, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Revised => "REVISED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
            .ok_or_else(|| RuleError::invalid("action", format!("unknown bid action {value:?}")))
    }

    /// The audit trail's name for it.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Submitted => "bid.submitted",
            Self::Revised => "bid.revised",
            Self::Withdrawn => "bid.withdrawn",
        }
    }

    /// Whether the number of active bids on the tender changes (what the agency's live count follows).
    pub fn changes_count(self) -> bool {
        !matches!(self, Self::Revised)
    }
}

/// The stored bid a command acts on: for a submission, the supplier's earlier bid on the lot, if any; for a revision
/// or a withdrawal, the bid named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBid {
    pub status: BidStatus,
    pub version: u32,
}

/// The tender and lot a bid is for, as a bid sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BiddingTender {
    pub status: TenderStatus,
    pub period: BiddingPeriod,
    pub terms: OfferTerms,
    /// Whether the supplier is verified for the category of the tender's commodity.
    pub supplier_sells: bool,
}

/// What a command does to the bid when the rules allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The new version's number: 1 for a first submission, one more than the stored version otherwise.
    pub version: u32,
    pub action: VersionAction,
    pub status: BidStatus,
    /// The checked offer of a submission or revision; a withdrawal keeps the stored one.
    pub offer: Option<Offer>,
}

/// Whether the supplier may bid on the tender at all: a draft does not exist for suppliers, and only suppliers
/// verified for its category may bid. Judged before a retried request's first answer is looked up.
pub fn check_access(tender: &BiddingTender) -> Result<(), RuleError> {
    if tender.status == TenderStatus::Draft {
        return Err(RuleError::NotFound("lot"));
    }
    if !tender.supplier_sells {
        return Err(RuleError::Forbidden("your organisation is not verified for this commodity's category".into()));
    }
    Ok(())
}

/// The bid lifecycle: given the stored bid (if any), the command, the tender and `now`, the transition or why not.
/// Bidding must be open (from the start, before the deadline); an offer must fit its lot; a supplier has one active
/// bid per lot, which it may revise or withdraw, and after a withdrawal it may submit again (the same bid, a later
/// version). The checks run in that order, so a refusal names the first thing wrong.
pub fn decide(
    stored: Option<StoredBid>,
    command: BidCommand,
    tender: &BiddingTender,
    now: DateTime<Utc>,
) -> Result<Transition, RuleError> {
    check_access(tender)?;
    check_bidding_open(tender.status, &tender.period, now)?;
    let next = |bid: StoredBid| bid.version.saturating_add(1);
    match (command, stored) {
        (BidCommand::Submit(offer), stored) => {
            let offer = offer.check(&tender.terms)?;
            match stored {
                Some(bid) if bid.status == BidStatus::Active => Err(RuleError::InvalidTransition(
                    "you already have a bid on this lot: revise or withdraw it".into(),
                )),
                _ => Ok(Transition {
                    version: stored.map_or(1, next),
                    action: VersionAction::Submitted,
                    status: BidStatus::Active,
                    offer: Some(offer),
                }),
            }
        }
        (BidCommand::Revise(_), Some(bid)) if bid.status == BidStatus::Withdrawn => {
            Err(RuleError::InvalidTransition("a withdrawn bid cannot be revised; submit a new one".into()))
        }
        (BidCommand::Revise(offer), Some(bid)) => Ok(Transition {
            version: next(bid),
            action: VersionAction::Revised,
            status: BidStatus::Active,
            offer: Some(offer.check(&tender.terms)?),
        }),
        (BidCommand::Withdraw, Some(bid)) if bid.status == BidStatus::Withdrawn => {
            Err(RuleError::InvalidTransition("the bid is already withdrawn".into()))
        }
        (BidCommand::Withdraw, Some(bid)) => Ok(Transition {
            version: next(bid),
            action: VersionAction::Withdrawn,
            status: BidStatus::Withdrawn,
            offer: None,
        }),
        (BidCommand::Revise(_) | BidCommand::Withdraw, None) => Err(RuleError::NotFound("bid")),
    }
}

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

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// The scenario's tender: bidding 26 November 08:00 to 28 November 12:00 WIB, 24,000 kg, partial bids from
    /// 5,000 kg.
    fn open_tender() -> BiddingTender {
        BiddingTender {
            status: TenderStatus::Open,
            period: BiddingPeriod::parse(at("2026-11-26T01:00:00Z"), at("2026-11-28T05:00:00Z")).unwrap(),
            terms: OfferTerms {
                lot_quantity: dec!(24000),
                partial_bids_allowed: true,
                min_partial_quantity: Some(dec!(5000)),
            },
            supplier_sells: true,
        }
    }

    fn proposed(quantity: Decimal) -> ProposedOffer {
        ProposedOffer { unit_price: dec!(1620), quantity, lead_time_days: 5, validity_days: 30 }
    }

    const DURING: &str = "2026-11-27T00:00:00Z";

    fn shape(transition: Transition) -> (u32, VersionAction, BidStatus, bool) {
        (transition.version, transition.action, transition.status, transition.offer.is_some())
    }

    #[test]
    fn a_bid_is_submitted_revised_withdrawn_and_submitted_again() {
        let (tender, now, offer) = (open_tender(), at(DURING), proposed(dec!(10000)));
        let first = decide(None, BidCommand::Submit(offer), &tender, now).unwrap();
        assert_eq!(shape(first), (1, VersionAction::Submitted, BidStatus::Active, true));
        assert_eq!(first.offer.unwrap().quantity.value(), dec!(10000));
        let active = |version| Some(StoredBid { status: BidStatus::Active, version });
        let withdrawn = |version| Some(StoredBid { status: BidStatus::Withdrawn, version });
        let revised = decide(active(1), BidCommand::Revise(offer), &tender, now).unwrap();
        assert_eq!(shape(revised), (2, VersionAction::Revised, BidStatus::Active, true));
        let gone = decide(active(2), BidCommand::Withdraw, &tender, now).unwrap();
        assert_eq!(shape(gone), (3, VersionAction::Withdrawn, BidStatus::Withdrawn, false));
        let again = decide(withdrawn(3), BidCommand::Submit(offer), &tender, now).unwrap();
        assert_eq!(shape(again), (4, VersionAction::Submitted, BidStatus::Active, true));
    }

    #[test]
    fn the_tender_decides_before_the_offer_and_the_offer_before_the_bid() {
        let now = at(DURING);
        let submit = BidCommand::Submit(proposed(dec!(10000)));
        let draft = BiddingTender { status: TenderStatus::Draft, ..open_tender() };
        assert_eq!(decide(None, submit, &draft, now), Err(RuleError::NotFound("lot")));
        let not_verified = BiddingTender { supplier_sells: false, ..open_tender() };
        assert!(matches!(decide(None, submit, &not_verified, now), Err(RuleError::Forbidden(_))));
        let late = decide(None, BidCommand::Submit(proposed(dec!(1))), &open_tender(), at("2026-11-28T05:00:00Z"));
        assert!(matches!(late, Err(RuleError::DeadlinePassed(_))), "the deadline before the offer");
        let early = decide(None, submit, &open_tender(), at("2026-11-26T00:59:59Z"));
        assert!(matches!(early, Err(RuleError::InvalidTransition(_))));
        for status in [TenderStatus::Cancelled, TenderStatus::Closed, TenderStatus::Awarded, TenderStatus::Unsuccessful]
        {
            let tender = BiddingTender { status, ..open_tender() };
            assert!(decide(None, submit, &tender, now).is_err(), "{status:?}");
        }
        // A second submission below the minimum: the offer is wrong before the bid is a duplicate.
        let active = Some(StoredBid { status: BidStatus::Active, version: 1 });
        let small = decide(active, BidCommand::Submit(proposed(dec!(4000))), &open_tender(), now);
        assert!(matches!(small, Err(RuleError::InvalidInput { field: "quantity", .. })));
        // A revision of a withdrawn bid: refused for its state before its offer is read.
        let withdrawn = Some(StoredBid { status: BidStatus::Withdrawn, version: 2 });
        let revise = decide(withdrawn, BidCommand::Revise(proposed(dec!(1))), &open_tender(), now);
        assert!(matches!(revise, Err(RuleError::InvalidTransition(_))));
    }

    proptest::proptest! {
        /// Every command from every state, at any instant, with a good or a bad offer: exactly the lifecycle's outcome.
        #[test]
        fn every_command_from_every_state_has_one_outcome(
            stored in proptest::option::of((proptest::bool::ANY, 1_u32..1_000)),
            which in 0_u8..3,
            good_offer in proptest::bool::ANY,
            status in proptest::sample::select(TenderStatus::ALL.to_vec()),
            sells in proptest::bool::ANY,
            seconds in -200_000_i64..400_000,
        ) {
            let stored = stored.map(|(active, version)| StoredBid {
                status: if active { BidStatus::Active } else { BidStatus::Withdrawn },
                version,
            });
            let offer = proposed(if good_offer { dec!(10000) } else { dec!(4000) });
            let command = match which { 0 => BidCommand::Submit(offer), 1 => BidCommand::Revise(offer), _ => BidCommand::Withdraw };
            let tender = BiddingTender { status, supplier_sells: sells, ..open_tender() };
            let now = tender.period.start + chrono::Duration::seconds(seconds);
            let outcome = decide(stored, command, &tender, now);
            let bidding = status == TenderStatus::Open && now >= tender.period.start && now < tender.period.deadline;
            let active = stored.filter(|b| b.status == BidStatus::Active);
            let bad_offer = RuleError::invalid("quantity", "partial bids must offer at least 5000");
            let expected: Result<(u32, VersionAction, BidStatus), RuleError> = if status == TenderStatus::Draft {
                Err(RuleError::NotFound("lot"))
            } else if !sells {
                Err(RuleError::Forbidden("your organisation is not verified for this commodity's category".into()))
            } else if !bidding {
                proptest::prop_assert!(matches!(outcome, Err(RuleError::DeadlinePassed(_) | RuleError::InvalidTransition(_))));
                return Ok(());
            } else {
                match (command, stored) {
                    (BidCommand::Submit(_), _) if !good_offer => Err(bad_offer),
                    (BidCommand::Submit(_), Some(_)) if active.is_some() => {
                        Err(RuleError::InvalidTransition("you already have a bid on this lot: revise or withdraw it".into()))
                    }
                    (BidCommand::Submit(_), b) => Ok((b.map_or(1, |b| b.version + 1), VersionAction::Submitted, BidStatus::Active)),
                    (BidCommand::Revise(_) | BidCommand::Withdraw, None) => Err(RuleError::NotFound("bid")),
                    (BidCommand::Revise(_), Some(_)) if active.is_none() => {
                        Err(RuleError::InvalidTransition("a withdrawn bid cannot be revised; submit a new one".into()))
                    }
                    (BidCommand::Revise(_), Some(_)) if !good_offer => Err(bad_offer),
                    (BidCommand::Revise(_), Some(b)) => Ok((b.version + 1, VersionAction::Revised, BidStatus::Active)),
                    (BidCommand::Withdraw, Some(_)) if active.is_none() => {
                        Err(RuleError::InvalidTransition("the bid is already withdrawn".into()))
                    }
                    (BidCommand::Withdraw, Some(b)) => Ok((b.version + 1, VersionAction::Withdrawn, BidStatus::Withdrawn)),
                }
            };
            proptest::prop_assert_eq!(outcome.map(|t| (t.version, t.action, t.status)), expected);
        }
    }

    #[test]
    fn statuses_and_actions_read_back_as_stored() {
        for status in BidStatus::ALL {
            assert_eq!(BidStatus::parse(status.as_str()), Ok(status));
        }
        for action in VersionAction::ALL {
            assert_eq!(VersionAction::parse(action.as_str()), Ok(action));
        }
        assert!(BidStatus::parse("SUBMITTED").is_err());
        assert!(VersionAction::changes_count(VersionAction::Withdrawn) && !VersionAction::Revised.changes_count());
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
