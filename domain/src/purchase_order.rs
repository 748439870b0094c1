//! Purchase orders: what a cooperative owes a supplier after an award, and how goods move against it.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::{RuleError, clock::date_in_wib, pool::group_thousands};

/// `ISSUED → ACCEPTED` (or `DECLINED`) `→ PARTIALLY_DELIVERED → DELIVERED → CLOSED`; `CANCELLED` by the agency
/// while nothing has been delivered; short-closed (`CLOSED` with the rest recorded) when it will not be completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Issued,
    Accepted,
    Declined,
    PartiallyDelivered,
    Delivered,
    Closed,
    Cancelled,
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The supplier accepts.
    Accept,
    /// The supplier declines, with a reason.
    Decline,
    /// A delivery was confirmed; `fully_accepted` when the accepted total now equals the ordered total.
    DeliveryConfirmed { fully_accepted: bool },
    /// The cooperative or the agency ends an order that will not be completed.
    ShortClose,
    /// The agency cancels an order from which nothing has been delivered.
    Cancel,
    /// A delivered order is closed.
    Close,
}

impl OrderStatus {
    pub const ALL: [Self; 7] = [
        Self::Issued,
        Self::Accepted,
        Self::Declined,
        Self::PartiallyDelivered,
        Self::Delivered,
        Self::Closed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "ISSUED",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::PartiallyDelivered => "PARTIALLY_DELIVERED",
            Self::Delivered => "DELIVERED",
            Self::Closed => "CLOSED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown order status {value:?}")))
    }

    /// The status after `event`, or why the event does not apply.
    pub fn apply(self, event: OrderEvent) -> Result<Self, RuleError> {
        use OrderEvent::*;
        use OrderStatus::*;
        match (self, event) {
            (Issued, Accept) => Ok(Accepted),
            (Issued, Decline) => Ok(Declined),
            (Issued | Accepted, Cancel) => Ok(Cancelled),
            (Accepted | PartiallyDelivered, DeliveryConfirmed { fully_accepted: true }) => Ok(Delivered),
            (Accepted | PartiallyDelivered, DeliveryConfirmed { fully_accepted: false }) => Ok(PartiallyDelivered),
            (Accepted | PartiallyDelivered, ShortClose) => Ok(Closed),
            (Delivered, Close) => Ok(Closed),
            (from, event) => Err(RuleError::InvalidTransition(format!(
                "an order that is {} cannot {}",
                from.as_str(),
                describe(event)
            ))),
        }
    }

    /// Whether the order is part of the award that stands: it counts in what was awarded and ordered, in amounts due,
    /// in performance and in price figures. A declined or cancelled order does not: its goods will never come from
    /// that supplier at that price (a re-award gives them to another).
    pub fn counts(self) -> bool {
        !matches!(self, Self::Declined | Self::Cancelled)
    }

    /// The statuses of orders that do not count (for a database filter).
    pub fn not_counting() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|status| !status.counts())
    }

    /// Whether goods may be dispatched against the order.
    pub fn accepts_dispatch(self) -> bool {
        matches!(self, Self::Accepted | Self::PartiallyDelivered)
    }
}

fn describe(event: OrderEvent) -> &'static str {
    match event {
        OrderEvent::Accept => "be accepted",
        OrderEvent::Decline => "be declined",
        OrderEvent::DeliveryConfirmed { .. } => "take a delivery",
        OrderEvent::ShortClose => "be short-closed",
        OrderEvent::Cancel => "be cancelled (goods have been delivered, or it is finished)",
        OrderEvent::Close => "be closed",
    }
}

/// Why received goods were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    Damaged,
    ShortWeight,
    WrongProduct,
    Quality,
    Expired,
    Other,
}

impl RejectionReason {
    pub const ALL: [Self; 6] =
        [Self::Damaged, Self::ShortWeight, Self::WrongProduct, Self::Quality, Self::Expired, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Damaged => "DAMAGED",
            Self::ShortWeight => "SHORT_WEIGHT",
            Self::WrongProduct => "WRONG_PRODUCT",
            Self::Quality => "QUALITY",
            Self::Expired => "EXPIRED",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == value)
            .ok_or_else(|| RuleError::invalid("rejectionReason", format!("unknown reason {value:?}")))
    }
}

/// What has moved on one order line so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineProgress {
    pub ordered: Decimal,
    pub dispatched: Decimal,
    pub received: Decimal,
    pub accepted: Decimal,
    pub rejected: Decimal,
}

impl LineProgress {
    /// What may still be dispatched: the ordered quantity less what is on its way or accepted. Rejected goods
    /// may be sent again.
    pub fn open_for_dispatch(&self) -> Decimal {
        (self.ordered - self.dispatched + self.rejected).max(Decimal::ZERO)
    }

    /// What may still be accepted.
    pub fn open_for_acceptance(&self) -> Decimal {
        (self.ordered - self.accepted).max(Decimal::ZERO)
    }
}

/// Checks a dispatch of `quantity` on a line.
pub fn check_dispatch(progress: &LineProgress, quantity: Decimal) -> Result<(), RuleError> {
    if quantity <= Decimal::ZERO {
        return Err(RuleError::invalid("quantity", "must be greater than zero"));
    }
    let open = progress.open_for_dispatch();
    if quantity > open {
        return Err(RuleError::invalid(
            "quantity",
            format!("is more than is still open for dispatch: {} remain", group_thousands(open)),
        ));
    }
    Ok(())
}

/// A cooperative's receipt of one line of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub received: Decimal,
    pub accepted: Decimal,
    pub rejected: Decimal,
    pub reason: Option<RejectionReason>,
}

impl Receipt {
    /// Accepted + rejected = received; rejections say why; nothing negative; accepting no more than is still open.
    pub fn parse(
        received: Decimal,
        accepted: Decimal,
        rejected: Decimal,
        reason: Option<RejectionReason>,
        progress: &LineProgress,
    ) -> Result<Self, RuleError> {
        if received < Decimal::ZERO || accepted < Decimal::ZERO || rejected < Decimal::ZERO {
            return Err(RuleError::invalid("received", "quantities cannot be negative"));
        }
        if received.is_zero() {
            return Err(RuleError::invalid("received", "must be greater than zero"));
        }
        if accepted + rejected != received {
            return Err(RuleError::invalid("accepted", "accepted and rejected must add up to received"));
        }
        if rejected > Decimal::ZERO && reason.is_none() {
            return Err(RuleError::invalid("rejectionReason", "say why goods were rejected"));
        }
        if accepted > progress.open_for_acceptance() {
            return Err(RuleError::invalid(
                "accepted",
                format!(
                    "is more than was ordered: {} remain to accept",
                    group_thousands(progress.open_for_acceptance())
                ),
            ));
        }
        Ok(Self { received, accepted, rejected, reason: if rejected > Decimal::ZERO { reason } else { None } })
    }
}

/// Whether an order may be re-awarded at `now`: the supplier declined it, or did not accept it by `accept_by`.
/// Returns whether it is the overdue case (the old order is then cancelled).
pub fn check_re_award(status: OrderStatus, accept_by: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, RuleError> {
    match status {
        OrderStatus::Declined => Ok(false),
        OrderStatus::Issued if now >= accept_by => Ok(true),
        _ => Err(RuleError::InvalidTransition(
            "only a declined order, or one not accepted in time, can be re-awarded".into(),
        )),
    }
}

/// A responsive bid of the lot that could take over a re-awarded order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandbyBid<Id> {
    pub id: Id,
    pub rank: u32,
    pub offered: Decimal,
    pub already_awarded: Decimal,
    pub valid_until: DateTime<Utc>,
}

/// The next-ranked bid whose offer is still valid at `now` and has room for the whole `quantity`.
pub fn next_bid_for_re_award<Id: Clone>(
    standby: &[StandbyBid<Id>],
    quantity: Decimal,
    now: DateTime<Utc>,
) -> Option<Id> {
    let mut ranked: Vec<&StandbyBid<Id>> = standby.iter().collect();
    ranked.sort_by_key(|bid| bid.rank);
    ranked
        .into_iter()
        .find(|bid| bid.valid_until >= now && bid.offered - bid.already_awarded >= quantity)
        .map(|bid| bid.id.clone())
}

/// What is owed for what arrived: accepted quantity × unit price over the lines; rejected goods do not count.
pub fn amount_due(lines: impl IntoIterator<Item = (Decimal, Decimal)>) -> Decimal {
    lines.into_iter().map(|(accepted, unit_price)| accepted * unit_price).sum()
}

/// Days a delivery received at `received_at` was late for `due` (0 when on time), counted in Jakarta days.
pub fn days_late(due: NaiveDate, received_at: DateTime<Utc>) -> i64 {
    (date_in_wib(received_at) - due).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn events() -> [OrderEvent; 7] {
        [
            OrderEvent::Accept,
            OrderEvent::Decline,
            OrderEvent::DeliveryConfirmed { fully_accepted: false },
            OrderEvent::DeliveryConfirmed { fully_accepted: true },
            OrderEvent::ShortClose,
            OrderEvent::Cancel,
            OrderEvent::Close,
        ]
    }

    #[test]
    fn only_declined_and_cancelled_orders_stop_counting() {
        use OrderStatus::*;
        let counting: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.counts()).collect();
        assert_eq!(counting, vec![Issued, Accepted, PartiallyDelivered, Delivered, Closed]);
        assert_eq!(OrderStatus::not_counting().collect::<Vec<_>>(), vec![Declined, Cancelled]);
        // Once an order stops counting, nothing brings it back.
        for status in OrderStatus::not_counting() {
            for event in events() {
                assert!(status.apply(event).is_err(), "{status:?} {event:?}");
            }
        }
    }

    #[test]
    fn every_state_and_event_has_a_defined_outcome() {
        use OrderStatus::*;
        let expected = |from: OrderStatus, event: OrderEvent| -> Option<OrderStatus> {
            match (from, event) {
                (Issued, OrderEvent::Accept) => Some(Accepted),
                (Issued, OrderEvent::Decline) => Some(Declined),
                (Issued | Accepted, OrderEvent::Cancel) => Some(Cancelled),
                (Accepted | PartiallyDelivered, OrderEvent::DeliveryConfirmed { fully_accepted }) => {
                    Some(if fully_accepted { Delivered } else { PartiallyDelivered })
                }
                (Accepted | PartiallyDelivered, OrderEvent::ShortClose) => Some(Closed),
                (Delivered, OrderEvent::Close) => Some(Closed),
                _ => None,
            }
        };
        let mut allowed = 0;
        for from in OrderStatus::ALL {
            for event in events() {
                let outcome = from.apply(event).ok();
                assert_eq!(outcome, expected(from, event), "{from:?} + {event:?}");
                allowed += usize::from(outcome.is_some());
            }
        }
        assert_eq!(allowed, 11);
        for terminal in [Declined, Closed, Cancelled] {
            assert!(events().into_iter().all(|event| terminal.apply(event).is_err()), "{terminal:?} is final");
        }
    }

    #[test]
    fn the_scenario_delivery_with_torn_sacks() {
        // Supplier A dispatches 6,000 kg; Cemorokandang receives it, accepts 5,900 and rejects 100 (damaged).
        let mut line = LineProgress { ordered: dec!(10000), ..Default::default() };
        check_dispatch(&line, dec!(6000)).unwrap();
        line.dispatched += dec!(6000);
        let receipt = Receipt::parse(dec!(6000), dec!(5900), dec!(100), Some(RejectionReason::Damaged), &line).unwrap();
        line.received += receipt.received;
        line.accepted += receipt.accepted;
        line.rejected += receipt.rejected;
        // 4,000 are still open plus the 100 rejected, which may be sent again.
        assert_eq!(line.open_for_dispatch(), dec!(4100));
        assert!(check_dispatch(&line, dec!(4101)).is_err());
        check_dispatch(&line, dec!(4000)).unwrap();
        line.dispatched += dec!(4000);
        Receipt::parse(dec!(4000), dec!(4000), dec!(0), None, &line).unwrap();
        line.accepted += dec!(4000);
        assert_eq!(line.accepted * dec!(1620), dec!(16038000), "amount due for 9,900 kg at Rp1,620");
    }

    #[test]
    fn receipts_must_add_up_and_say_why() {
        let line = LineProgress { ordered: dec!(100), ..Default::default() };
        assert!(Receipt::parse(dec!(10), dec!(8), dec!(1), None, &line).is_err());
        assert!(Receipt::parse(dec!(10), dec!(8), dec!(2), None, &line).is_err());
        assert!(Receipt::parse(dec!(10), dec!(-1), dec!(11), Some(RejectionReason::Other), &line).is_err());
        assert!(Receipt::parse(dec!(0), dec!(0), dec!(0), None, &line).is_err());
        assert!(Receipt::parse(dec!(101), dec!(101), dec!(0), None, &line).is_err(), "more than ordered");
        assert!(Receipt::parse(dec!(10), dec!(8), dec!(2), Some(RejectionReason::ShortWeight), &line).is_ok());
    }

    #[test]
    fn lateness_is_counted_in_jakarta_days() {
        let due: NaiveDate = "2026-12-03".parse().unwrap();
        assert_eq!(days_late(due, "2026-12-03T16:59:00Z".parse().unwrap()), 0);
        assert_eq!(days_late(due, "2026-12-03T17:00:00Z".parse().unwrap()), 1);
        assert_eq!(days_late(due, "2026-12-01T00:00:00Z".parse().unwrap()), 0);
    }

    #[test]
    fn re_award_goes_to_the_next_valid_bid_with_room() {
        let now: DateTime<Utc> = "2026-11-29T00:00:00Z".parse().unwrap();
        let bid = |id: u8, rank: u32, offered: Decimal, awarded: Decimal, valid_hours: i64| StandbyBid {
            id,
            rank,
            offered,
            already_awarded: awarded,
            valid_until: now + chrono::Duration::hours(valid_hours),
        };
        let standby = [
            bid(3, 3, dec!(24000), dec!(0), 24),
            bid(2, 2, dec!(10000), dec!(10000), 24), // no room left
            bid(4, 4, dec!(24000), dec!(0), -1),     // offer expired
        ];
        assert_eq!(next_bid_for_re_award(&standby, dec!(8000), now), Some(3));
        assert_eq!(next_bid_for_re_award(&standby, dec!(30000), now), None);
        assert_eq!(check_re_award(OrderStatus::Declined, now, now), Ok(false));
        assert_eq!(check_re_award(OrderStatus::Issued, now, now), Ok(true));
        assert!(check_re_award(OrderStatus::Issued, now + chrono::Duration::seconds(1), now).is_err());
        assert!(check_re_award(OrderStatus::Accepted, now, now).is_err());
    }

    proptest! {
        /// Whatever sequence of dispatches and receipts the rules let through, nothing is accepted beyond the
        /// order and accepted + rejected always equals received.
        #[test]
        fn accepted_never_exceeds_ordered(steps in prop::collection::vec((1_i64..5_000, 0_i64..100, any::<bool>()), 1..30)) {
            let mut line = LineProgress { ordered: dec!(10000), ..Default::default() };
            for (quantity, reject_percent, dispatch) in steps {
                let quantity = Decimal::from(quantity);
                if dispatch {
                    if check_dispatch(&line, quantity).is_ok() {
                        line.dispatched += quantity;
                    }
                } else {
                    let rejected = (quantity * Decimal::from(reject_percent) / dec!(100)).floor();
                    let accepted = quantity - rejected;
                    if let Ok(receipt) = Receipt::parse(quantity, accepted, rejected, Some(RejectionReason::Quality), &line) {
                        line.received += receipt.received;
                        line.accepted += receipt.accepted;
                        line.rejected += receipt.rejected;
                    }
                }
                prop_assert!(line.accepted <= line.ordered);
                prop_assert_eq!(line.accepted + line.rejected, line.received);
                prop_assert!(line.open_for_dispatch() >= Decimal::ZERO);
            }
        }
    }
}
