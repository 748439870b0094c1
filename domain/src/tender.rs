//! Tenders: pooled demand offered to suppliers in lots, with a bidding period and an award criterion.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{RuleError, clock::wib};

/// A tender's lifecycle: `DRAFT → OPEN → CLOSED → AWARDED` (or `UNSUCCESSFUL`), or `CANCELLED` before award.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TenderStatus {
    Draft,
    Open,
    Closed,
    Awarded,
    Unsuccessful,
    Cancelled,
}

impl TenderStatus {
    pub const ALL: [Self; 6] =
        [Self::Draft, Self::Open, Self::Closed, Self::Awarded, Self::Unsuccessful, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Open => "OPEN",
            Self::Closed => "CLOSED",
            Self::Awarded => "AWARDED",
            Self::Unsuccessful => "UNSUCCESSFUL",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown tender status {value:?}")))
    }

    /// What a reader sees at `now`: an open tender is closed from its deadline on, even before the closing task
    /// has run.
    pub fn at(self, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if self == Self::Open && now >= deadline { Self::Closed } else { self }
    }

    /// Whether bids are sealed at `now`: until the tender is closed (or was cancelled while open, when they
    /// stay sealed for good).
    pub fn bids_sealed(self) -> bool {
        matches!(self, Self::Draft | Self::Open | Self::Cancelled)
    }
}

/// What became of a lot at the close: `PENDING` until evaluation, then `AWARDED` or `UNSUCCESSFUL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotOutcome {
    Pending,
    Awarded,
    Unsuccessful,
}

impl LotOutcome {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Awarded, Self::Unsuccessful];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Awarded => "AWARDED",
            Self::Unsuccessful => "UNSUCCESSFUL",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == value)
            .ok_or_else(|| RuleError::invalid("outcome", format!("unknown lot outcome {value:?}")))
    }
}

/// How a lot's winning bids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwardCriterion {
    /// Lowest unit price wins.
    LowestPrice,
    /// Highest weighted score of price and delivery lead time; the weights are percentages summing to 100.
    WeightedScore { price_weight: u8, lead_time_weight: u8 },
}

impl AwardCriterion {
    pub fn weighted(price_weight: u8, lead_time_weight: u8) -> Result<Self, RuleError> {
        if u16::from(price_weight) + u16::from(lead_time_weight) != 100 {
            return Err(RuleError::invalid("criterion", "the price and lead-time weights must add up to 100"));
        }
        Ok(Self::WeightedScore { price_weight, lead_time_weight })
    }
}

/// When bids are accepted: from `start` (inclusive) to `deadline` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BiddingPeriod {
    pub start: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

impl BiddingPeriod {
    pub fn parse(start: DateTime<Utc>, deadline: DateTime<Utc>) -> Result<Self, RuleError> {
        if deadline <= start {
            return Err(RuleError::invalid("deadline", "must be after the start of bidding"));
        }
        Ok(Self { start, deadline })
    }
}

/// The terms every lot of a tender shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderTerms {
    pub criterion: AwardCriterion,
    pub partial_bids_allowed: bool,
    pub min_partial_quantity: Option<Decimal>,
    pub min_responsive_bids: u32,
    pub period: BiddingPeriod,
}

impl TenderTerms {
    /// Checks the terms against the smallest lot.
    pub fn check(&self, smallest_lot: Decimal) -> Result<(), RuleError> {
        if self.min_responsive_bids == 0 || self.min_responsive_bids > 100 {
            return Err(RuleError::invalid("minResponsiveBids", "must be between 1 and 100"));
        }
        match (self.partial_bids_allowed, self.min_partial_quantity) {
            (false, Some(_)) => {
                Err(RuleError::invalid("minPartialQuantity", "only applies when partial bids are allowed"))
            }
            (true, Some(minimum)) if minimum <= Decimal::ZERO || minimum > smallest_lot => {
                Err(RuleError::invalid("minPartialQuantity", "must be positive and no more than the smallest lot"))
            }
            _ => Ok(()),
        }
    }
}

/// A lot's maximum unit price: an explicit one (never above the HET where one applies), else the HET, else the
/// reference price plus the agency's margin (0–100 %), rounded to the Rupiah cent.
pub fn ceiling(
    explicit: Option<Decimal>,
    het: Option<Decimal>,
    reference: Option<Decimal>,
    margin_percent: Option<Decimal>,
) -> Result<Decimal, RuleError> {
    match (explicit, het, reference, margin_percent) {
        (Some(explicit), Some(het), _, _) if explicit > het => Err(RuleError::invalid(
            "maxUnitPrice",
            format!("is above the HET of Rp{}", crate::pool::group_thousands(het)),
        )),
        (Some(explicit), _, _, _) => Ok(crate::money::UnitPrice::parse("maxUnitPrice", explicit)?.value()),
        (None, Some(het), _, _) => Ok(het),
        (None, None, Some(reference), Some(margin)) => {
            if margin < Decimal::ZERO || margin > Decimal::ONE_HUNDRED {
                return Err(RuleError::invalid("referenceMarginPercent", "must be between 0 and 100"));
            }
            Ok((reference * (Decimal::ONE_HUNDRED + margin) / Decimal::ONE_HUNDRED).round_dp(2))
        }
        (None, None, Some(_), None) => Err(RuleError::invalid(
            "referenceMarginPercent",
            "this commodity has no HET: give the margin over its reference price, or a maximum price",
        )),
        (None, None, None, _) => Err(RuleError::invalid(
            "maxUnitPrice",
            "this commodity has no HET or reference price here: give a maximum price",
        )),
    }
}

/// The shortest time suppliers must have to price a bid, from when bidding opens (its start, or the publication if
/// later) to the deadline. A very short period is a classic sign of a tender meant for one bidder (Open Contracting's
/// red flag R003); the office sets it (`LUMBUNG_MIN_BIDDING_SECONDS`, 3 days by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumBiddingPeriod(pub chrono::Duration);

impl MinimumBiddingPeriod {
    pub const DEFAULT_SECONDS: i64 = 3 * 24 * 60 * 60;

    /// Whether suppliers get at least the minimum when bidding opens at `opens` and ends at `deadline`.
    pub fn check(self, opens: DateTime<Utc>, deadline: DateTime<Utc>) -> Result<(), RuleError> {
        let given = deadline - opens;
        if given >= self.0 {
            return Ok(());
        }
        Err(RuleError::invalid(
            "deadline",
            format!(
                "the bidding period must be at least {} ({} seconds) from when bidding opens; this one is {}",
                describe_duration(self.0),
                self.0.num_seconds(),
                describe_duration(given.max(chrono::Duration::zero()))
            ),
        ))
    }
}

impl Default for MinimumBiddingPeriod {
    fn default() -> Self {
        Self(chrono::Duration::seconds(Self::DEFAULT_SECONDS))
    }
}

/// "3 days", "2 days 4 hours", "10 seconds": a span as people say it.
fn describe_duration(span: chrono::Duration) -> String {
    let seconds = span.num_seconds();
    let parts = [(seconds / 86_400, "day"), (seconds % 86_400 / 3_600, "hour"), (seconds % 3_600 / 60, "minute")];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() { format!("{seconds} seconds") } else { words.join(" ") }
}

/// Publishing: a draft whose bidding has not yet ended, leaving suppliers at least the minimum bidding period, with
/// at least one lot and a maximum price on each.
pub fn check_publish(
    status: TenderStatus,
    period: &BiddingPeriod,
    lots: &[(Decimal, Decimal)],
    minimum: MinimumBiddingPeriod,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    if status != TenderStatus::Draft {
        return Err(RuleError::InvalidTransition(format!(
            "only a draft can be published; this tender is {}",
            status.as_str()
        )));
    }
    if period.deadline <= now {
        return Err(RuleError::invalid("deadline", "the bidding deadline has already passed"));
    }
    minimum.check(period.start.max(now), period.deadline)?;
    if lots.is_empty() {
        return Err(RuleError::invalid("lots", "a tender needs at least one lot"));
    }
    if lots.iter().any(|(quantity, max_price)| *quantity <= Decimal::ZERO || *max_price <= Decimal::ZERO) {
        return Err(RuleError::invalid("lots", "every lot needs a positive quantity and maximum price"));
    }
    Ok(())
}

/// Whether a bid (or revision or withdrawal) arriving at `now` is in time. The deadline is exclusive: a bid one
/// millisecond before it is in time, one at it is not.
pub fn check_bidding_open(status: TenderStatus, period: &BiddingPeriod, now: DateTime<Utc>) -> Result<(), RuleError> {
    match status.at(period.deadline, now) {
        TenderStatus::Open if now >= period.start => Ok(()),
        TenderStatus::Open => Err(RuleError::InvalidTransition(format!(
            "bidding opens at {}",
            period.start.with_timezone(&wib()).format("%Y-%m-%d %H:%M WIB")
        ))),
        TenderStatus::Closed => Err(RuleError::DeadlinePassed(format!(
            "the bidding deadline passed at {}",
            period.deadline.with_timezone(&wib()).format("%Y-%m-%d %H:%M:%S WIB")
        ))),
        other => Err(RuleError::InvalidTransition(format!("the tender is {}", other.as_str()))),
    }
}

/// Cancelling: at any point before the award.
pub fn check_cancel(status: TenderStatus) -> Result<(), RuleError> {
    match status {
        TenderStatus::Draft | TenderStatus::Open | TenderStatus::Closed => Ok(()),
        other => Err(RuleError::InvalidTransition(format!("a {} tender cannot be cancelled", other.as_str()))),
    }
}

/// A deadline may only move later, while the tender is open and before the current deadline has passed: bidders who
/// already bid keep at least the time they were promised, and a closed tender's bids are never reopened.
///
/// The new deadline also leaves the minimum bidding period from when bidding opened (`opened`).
pub fn check_deadline_extension(
    status: TenderStatus,
    current: DateTime<Utc>,
    proposed: DateTime<Utc>,
    opened: DateTime<Utc>,
    minimum: MinimumBiddingPeriod,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    if status != TenderStatus::Open || current <= now {
        return Err(RuleError::InvalidTransition(format!(
            "only an open tender before its deadline can be extended; this one is {}",
            status.as_str()
        )));
    }
    if proposed <= current {
        return Err(RuleError::invalid("deadline", "the new deadline must be later than the current one"));
    }
    if proposed > current + chrono::Duration::days(60) {
        return Err(RuleError::invalid("deadline", "a deadline can move at most 60 days at a time"));
    }
    minimum.check(opened, proposed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn deadlines_only_move_later_while_open() {
        let now = at("2026-11-28T00:00:00Z");
        let current = at("2026-11-30T00:00:00Z");
        let later = at("2026-12-02T00:00:00Z");
        assert!(check_deadline_extension(TenderStatus::Open, current, later, opened(), short(), now).is_ok());
        assert!(matches!(
            check_deadline_extension(TenderStatus::Open, current, at("2026-11-29T00:00:00Z"), opened(), short(), now),
            Err(RuleError::InvalidInput { field: "deadline", .. })
        ));
        assert!(check_deadline_extension(TenderStatus::Open, current, current, opened(), short(), now).is_err());
        assert!(
            check_deadline_extension(TenderStatus::Open, current, at("2027-03-01T00:00:00Z"), opened(), short(), now)
                .is_err()
        );
        assert!(matches!(
            check_deadline_extension(TenderStatus::Closed, current, later, opened(), short(), now),
            Err(RuleError::InvalidTransition(_))
        ));
        // At the deadline instant bidding is over, even before the closer runs.
        assert!(check_deadline_extension(TenderStatus::Open, current, later, opened(), short(), current).is_err());
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A minimum the scenario's 2-day-4-hour period meets.
    fn short() -> MinimumBiddingPeriod {
        MinimumBiddingPeriod(chrono::Duration::days(1))
    }

    fn opened() -> DateTime<Utc> {
        at("2026-11-26T01:00:00Z")
    }

    #[test]
    fn suppliers_get_at_least_the_minimum_bidding_period() {
        let period = period();
        let before_start = at("2026-11-25T10:00:00Z");
        let lots = [(dec!(24000), dec!(1700))];
        // The default is three days: the scenario's 2 days 4 hours is too short, and the error names the minimum.
        let refused = check_publish(TenderStatus::Draft, &period, &lots, MinimumBiddingPeriod::default(), before_start)
            .unwrap_err();
        assert!(matches!(refused, RuleError::InvalidInput { field: "deadline", .. }));
        let message = refused.to_string();
        assert!(
            message.contains("at least 3 days (259200 seconds)") && message.contains("2 days 4 hours"),
            "{message}"
        );
        // Exactly the minimum is enough; a second less is not.
        let exact = MinimumBiddingPeriod(period.deadline - period.start);
        assert!(check_publish(TenderStatus::Draft, &period, &lots, exact, before_start).is_ok());
        let one_more = MinimumBiddingPeriod(period.deadline - period.start + chrono::Duration::seconds(1));
        assert!(check_publish(TenderStatus::Draft, &period, &lots, one_more, before_start).is_err());
        // Published after the start, the period counts from publication.
        let late = at("2026-11-27T05:00:00Z");
        assert!(check_publish(TenderStatus::Draft, &period, &lots, exact, late).is_err());
        assert!(check_publish(TenderStatus::Draft, &period, &lots, short(), late).is_ok());
        // Ten seconds is refused whatever the start.
        let ten_seconds = BiddingPeriod::parse(before_start, before_start + chrono::Duration::seconds(10)).unwrap();
        let refused = check_publish(TenderStatus::Draft, &ten_seconds, &lots, short(), before_start).unwrap_err();
        assert!(refused.to_string().contains("this one is 10 seconds"), "{refused}");
        // A deadline moved later must still leave the minimum from when bidding opened.
        let current = period.deadline;
        let long = MinimumBiddingPeriod(chrono::Duration::days(5));
        let now = at("2026-11-27T00:00:00Z");
        assert!(
            check_deadline_extension(TenderStatus::Open, current, at("2026-11-30T00:00:00Z"), opened(), long, now)
                .is_err()
        );
        assert!(
            check_deadline_extension(TenderStatus::Open, current, at("2026-12-01T01:00:00Z"), opened(), long, now)
                .is_ok()
        );
    }

    fn period() -> BiddingPeriod {
        // SCENARIOS.md: 26 November 08:00 to 28 November 12:00 WIB.
        BiddingPeriod::parse(at("2026-11-26T01:00:00Z"), at("2026-11-28T05:00:00Z")).unwrap()
    }

    #[test]
    fn a_bid_a_millisecond_before_the_deadline_is_in_time_and_one_at_it_is_not() {
        let period = period();
        assert!(check_bidding_open(TenderStatus::Open, &period, at("2026-11-28T04:59:59.999Z")).is_ok());
        let late = check_bidding_open(TenderStatus::Open, &period, at("2026-11-28T05:00:00Z")).unwrap_err();
        assert!(matches!(late, RuleError::DeadlinePassed(_)));
        assert!(late.to_string().contains("2026-11-28 12:00:00 WIB"), "{late}");
        assert!(check_bidding_open(TenderStatus::Open, &period, at("2026-11-26T00:59:59Z")).is_err());
        assert!(check_bidding_open(TenderStatus::Draft, &period, at("2026-11-27T00:00:00Z")).is_err());
        assert!(check_bidding_open(TenderStatus::Cancelled, &period, at("2026-11-27T00:00:00Z")).is_err());
    }

    #[test]
    fn an_open_tender_reads_closed_from_its_deadline() {
        let deadline = period().deadline;
        assert_eq!(TenderStatus::Open.at(deadline, deadline), TenderStatus::Closed);
        assert_eq!(TenderStatus::Open.at(deadline, at("2026-11-28T04:59:59Z")), TenderStatus::Open);
        assert_eq!(TenderStatus::Awarded.at(deadline, deadline), TenderStatus::Awarded);
        assert!(TenderStatus::Open.bids_sealed());
        assert!(!TenderStatus::Closed.bids_sealed());
    }

    #[test]
    fn publishing_checks_completeness() {
        let now = at("2026-11-25T10:00:00Z");
        let lots = [(dec!(24000), dec!(1700))];
        assert!(check_publish(TenderStatus::Draft, &period(), &lots, short(), now).is_ok());
        assert!(check_publish(TenderStatus::Open, &period(), &lots, short(), now).is_err());
        assert!(check_publish(TenderStatus::Draft, &period(), &[], short(), now).is_err());
        assert!(check_publish(TenderStatus::Draft, &period(), &[(dec!(24000), dec!(0))], short(), now).is_err());
        assert!(check_publish(TenderStatus::Draft, &period(), &lots, short(), at("2026-11-28T05:00:00Z")).is_err());
    }

    #[test]
    fn terms_and_periods_are_validated() {
        assert!(BiddingPeriod::parse(at("2026-11-28T05:00:00Z"), at("2026-11-28T05:00:00Z")).is_err());
        assert!(AwardCriterion::weighted(70, 30).is_ok());
        assert!(AwardCriterion::weighted(70, 20).is_err());
        let mut terms = TenderTerms {
            criterion: AwardCriterion::LowestPrice,
            partial_bids_allowed: true,
            min_partial_quantity: Some(dec!(5000)),
            min_responsive_bids: 2,
            period: period(),
        };
        assert!(terms.check(dec!(24000)).is_ok());
        assert!(terms.check(dec!(4000)).is_err());
        terms.partial_bids_allowed = false;
        assert!(terms.check(dec!(24000)).is_err());
        terms.min_partial_quantity = None;
        terms.min_responsive_bids = 0;
        assert!(terms.check(dec!(24000)).is_err());
    }

    #[test]
    fn the_ceiling_is_the_het_unless_lower_and_the_reference_plus_margin_without_one() {
        // SCENARIOS.md: Rp1,700 under the urea HET of Rp1,800.
        assert_eq!(ceiling(Some(dec!(1700)), Some(dec!(1800)), None, None).unwrap(), dec!(1700));
        assert!(
            ceiling(Some(dec!(1800.01)), Some(dec!(1800)), None, None).unwrap_err().to_string().contains("Rp1,800")
        );
        assert_eq!(ceiling(None, Some(dec!(1800)), Some(dec!(1500)), Some(dec!(10))).unwrap(), dec!(1800));
        // Eggs: reference Rp30,000/kg plus 5 %.
        assert_eq!(ceiling(None, None, Some(dec!(30000)), Some(dec!(5))).unwrap(), dec!(31500));
        assert_eq!(ceiling(None, None, Some(dec!(333)), Some(dec!(3.3))).unwrap(), dec!(343.99));
        assert!(ceiling(None, None, Some(dec!(30000)), None).is_err());
        assert!(ceiling(None, None, Some(dec!(30000)), Some(dec!(101))).is_err());
        assert!(ceiling(None, None, None, Some(dec!(5))).is_err());
        assert!(ceiling(Some(dec!(0)), None, None, None).is_err());
    }

    #[test]
    fn cancelling_is_possible_until_award() {
        for status in TenderStatus::ALL {
            let allowed = matches!(status, TenderStatus::Draft | TenderStatus::Open | TenderStatus::Closed);
            assert_eq!(check_cancel(status).is_ok(), allowed, "{status:?}");
        }
    }
}
