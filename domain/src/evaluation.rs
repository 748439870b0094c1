//! Evaluation and award of a lot at closing: which bids are responsive, how they rank, who supplies how much.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::tender::AwardCriterion;

/// What the evaluation needs to know about a lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotTerms {
    pub quantity: Decimal,
    pub max_unit_price: Decimal,
    pub partial_bids_allowed: bool,
    pub min_partial_quantity: Option<Decimal>,
    pub min_responsive_bids: u32,
    pub criterion: AwardCriterion,
}

/// The latest version of one supplier's bid on the lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedBid {
    pub bid_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub lead_time_days: u32,
    pub received_at: DateTime<Utc>,
    pub withdrawn: bool,
}

/// Why a bid takes no part in the award.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Withdrawn,
    AboveMaximumPrice,
    BelowMinimumQuantity,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Withdrawn => "WITHDRAWN",
            Self::AboveMaximumPrice => "ABOVE_MAXIMUM_PRICE",
            Self::BelowMinimumQuantity => "BELOW_MINIMUM_QUANTITY",
        }
    }
}

/// One bid after evaluation: ranked and possibly awarded, or rejected with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluatedBid {
    pub bid_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price: Decimal,
    pub offered_quantity: Decimal,
    pub lead_time_days: u32,
    /// 1 for the best responsive bid; `None` for a rejected one.
    pub rank: Option<u32>,
    pub rejection: Option<Rejection>,
    pub awarded_quantity: Decimal,
}

/// The outcome of a lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotEvaluation {
    /// Responsive bids in rank order, then rejected ones.
    pub bids: Vec<EvaluatedBid>,
    pub awarded_quantity: Decimal,
    /// What the bids could not cover.
    pub shortfall: Decimal,
    pub total_cost: Decimal,
    /// Fewer responsive bids than the tender requires: nothing is awarded.
    pub unsuccessful: bool,
}

impl LotEvaluation {
    /// The awarded bids in rank order.
    pub fn awards(&self) -> impl Iterator<Item = &EvaluatedBid> {
        self.bids.iter().filter(|bid| bid.awarded_quantity > Decimal::ZERO)
    }
}

fn rejection(terms: &LotTerms, bid: &SubmittedBid) -> Option<Rejection> {
    if bid.withdrawn {
        return Some(Rejection::Withdrawn);
    }
    if bid.unit_price > terms.max_unit_price {
        return Some(Rejection::AboveMaximumPrice);
    }
    let minimum = if terms.partial_bids_allowed { terms.min_partial_quantity } else { Some(terms.quantity) };
    if minimum.is_some_and(|minimum| bid.quantity < minimum) {
        return Some(Rejection::BelowMinimumQuantity);
    }
    None
}

/// Weighted score in [0, 1] (higher is better): each part compares the bid with the best responsive one.
fn score(criterion: AwardCriterion, bid: &SubmittedBid, best_price: Decimal, best_lead_time: u32) -> Decimal {
    match criterion {
        AwardCriterion::LowestPrice => Decimal::ZERO,
        AwardCriterion::WeightedScore { price_weight, lead_time_weight } => {
            let price_part = if bid.unit_price.is_zero() { Decimal::ONE } else { best_price / bid.unit_price };
            let lead_part = Decimal::from(best_lead_time + 1) / Decimal::from(bid.lead_time_days + 1);
            (Decimal::from(price_weight) * price_part + Decimal::from(lead_time_weight) * lead_part)
                / Decimal::ONE_HUNDRED
        }
    }
}

/// Ranks the responsive bids by the criterion (ties: shorter lead time, then earlier receipt) and covers the lot
/// in rank order, splitting across bidders where partial bids are allowed. With the lowest-price criterion this is
/// cheapest first, which no other split of the same bids beats: cost is linear in quantity, so any quantity moved
/// from a cheaper bid to a dearer one can only add cost.
pub fn evaluate(terms: &LotTerms, bids: &[SubmittedBid]) -> LotEvaluation {
    let mut responsive: Vec<&SubmittedBid> = Vec::new();
    let mut rejected: Vec<(&SubmittedBid, Rejection)> = Vec::new();
    for bid in bids {
        match rejection(terms, bid) {
            Some(reason) => rejected.push((bid, reason)),
            None => responsive.push(bid),
        }
    }
    let best_price = responsive.iter().map(|b| b.unit_price).min().unwrap_or(Decimal::ONE);
    let best_lead_time = responsive.iter().map(|b| b.lead_time_days).min().unwrap_or(0);
    let order = |a: &&SubmittedBid, b: &&SubmittedBid| -> Ordering {
        let primary = match terms.criterion {
            AwardCriterion::LowestPrice => a.unit_price.cmp(&b.unit_price),
            criterion => {
                score(criterion, b, best_price, best_lead_time).cmp(&score(criterion, a, best_price, best_lead_time))
            }
        };
        primary
            .then(a.lead_time_days.cmp(&b.lead_time_days))
            .then(a.received_at.cmp(&b.received_at))
            .then(a.bid_id.cmp(&b.bid_id))
    };
    responsive.sort_by(order);
    rejected.sort_by(|(a, _), (b, _)| a.received_at.cmp(&b.received_at).then(a.bid_id.cmp(&b.bid_id)));

    let unsuccessful = responsive.is_empty() || (responsive.len() as u64) < u64::from(terms.min_responsive_bids);
    let mut remaining = terms.quantity;
    let mut evaluated = Vec::with_capacity(bids.len());
    for (index, bid) in responsive.iter().enumerate() {
        let awarded = if unsuccessful || remaining <= Decimal::ZERO {
            Decimal::ZERO
        } else if terms.partial_bids_allowed {
            bid.quantity.min(remaining)
        } else if index == 0 {
            terms.quantity
        } else {
            Decimal::ZERO
        };
        remaining -= awarded;
        evaluated.push(EvaluatedBid {
            bid_id: bid.bid_id,
            supplier_id: bid.supplier_id,
            unit_price: bid.unit_price,
            offered_quantity: bid.quantity,
            lead_time_days: bid.lead_time_days,
            rank: u32::try_from(index + 1).ok(),
            rejection: None,
            awarded_quantity: awarded,
        });
    }
    evaluated.extend(rejected.into_iter().map(|(bid, reason)| EvaluatedBid {
        bid_id: bid.bid_id,
        supplier_id: bid.supplier_id,
        unit_price: bid.unit_price,
        offered_quantity: bid.quantity,
        lead_time_days: bid.lead_time_days,
        rank: None,
        rejection: Some(reason),
        awarded_quantity: Decimal::ZERO,
    }));
    let awarded_quantity: Decimal = evaluated.iter().map(|b| b.awarded_quantity).sum();
    let total_cost = evaluated.iter().map(|b| b.awarded_quantity * b.unit_price).sum();
    LotEvaluation {
        bids: evaluated,
        awarded_quantity,
        shortfall: terms.quantity - awarded_quantity,
        total_cost,
        unsuccessful,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn instant(second: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_795_000_000 + second)
    }

    fn bid(n: u128, price: Decimal, quantity: Decimal, lead: u32, second: i64) -> SubmittedBid {
        SubmittedBid {
            bid_id: Uuid::from_u128(n),
            supplier_id: Uuid::from_u128(100 + n),
            unit_price: price,
            quantity,
            lead_time_days: lead,
            received_at: instant(second),
            withdrawn: false,
        }
    }

    fn scenario_terms() -> LotTerms {
        LotTerms {
            quantity: dec!(24000),
            max_unit_price: dec!(1700),
            partial_bids_allowed: true,
            min_partial_quantity: Some(dec!(5000)),
            min_responsive_bids: 2,
            criterion: AwardCriterion::LowestPrice,
        }
    }

    #[test]
    fn a_bid_at_the_ceiling_is_responsive_and_one_rupiah_above_is_not() {
        let bids = [bid(1, dec!(1700), dec!(10000), 5, 1), bid(2, dec!(1701), dec!(24000), 5, 2)];
        let result = evaluate(&scenario_terms(), &bids);
        let verdicts: Vec<_> = result.bids.iter().map(|b| (b.bid_id.as_u128(), b.rejection)).collect();
        assert!(verdicts.contains(&(1, None)), "{verdicts:?}");
        assert!(verdicts.contains(&(2, Some(Rejection::AboveMaximumPrice))), "{verdicts:?}");
        // A fraction of a rupiah above is above too.
        let result = evaluate(&scenario_terms(), &[bid(3, dec!(1700.01), dec!(24000), 5, 1)]);
        assert_eq!(result.bids[0].rejection, Some(Rejection::AboveMaximumPrice));
    }

    #[test]
    fn the_malang_urea_tender_awards_as_the_scenario_says() {
        let bids = [
            bid(1, dec!(1620), dec!(10000), 5, 1), // Supplier A
            bid(2, dec!(1650), dec!(24000), 7, 2), // BUMN
            bid(3, dec!(1690), dec!(24000), 4, 3), // Supplier B
            bid(4, dec!(1750), dec!(24000), 3, 4), // Supplier C: above the maximum
        ];
        let result = evaluate(&scenario_terms(), &bids);
        assert!(!result.unsuccessful);
        let ranked: Vec<_> =
            result.bids.iter().map(|b| (b.bid_id.as_u128(), b.rank, b.awarded_quantity, b.rejection)).collect();
        assert_eq!(
            ranked,
            vec![
                (1, Some(1), dec!(10000), None),
                (2, Some(2), dec!(14000), None),
                (3, Some(3), dec!(0), None),
                (4, None, dec!(0), Some(Rejection::AboveMaximumPrice)),
            ]
        );
        assert_eq!(result.total_cost, dec!(39300000));
        assert_eq!(result.awarded_quantity, dec!(24000));
        assert_eq!(result.shortfall, dec!(0));
    }

    #[test]
    fn too_few_responsive_bids_make_the_lot_unsuccessful() {
        let bids = [bid(1, dec!(1620), dec!(10000), 5, 1), bid(2, dec!(1800), dec!(24000), 5, 2)];
        let result = evaluate(&scenario_terms(), &bids);
        assert!(result.unsuccessful);
        assert_eq!(result.awarded_quantity, dec!(0));
        assert!(evaluate(&scenario_terms(), &[]).unsuccessful);
    }

    #[test]
    fn a_short_lot_is_awarded_in_part_and_the_shortfall_reported() {
        let mut terms = scenario_terms();
        terms.min_responsive_bids = 1;
        let result = evaluate(&terms, &[bid(1, dec!(1620), dec!(10000), 5, 1), bid(2, dec!(1650), dec!(8000), 7, 2)]);
        assert_eq!(result.awarded_quantity, dec!(18000));
        assert_eq!(result.shortfall, dec!(6000));
    }

    #[test]
    fn ties_go_to_the_shorter_lead_time_then_the_earlier_receipt() {
        let mut terms = scenario_terms();
        terms.partial_bids_allowed = false;
        terms.min_partial_quantity = None;
        let result = evaluate(
            &terms,
            &[
                bid(1, dec!(1650), dec!(24000), 7, 1),
                bid(2, dec!(1650), dec!(24000), 4, 3),
                bid(3, dec!(1650), dec!(24000), 4, 2),
            ],
        );
        let order: Vec<_> = result.bids.iter().map(|b| b.bid_id.as_u128()).collect();
        assert_eq!(order, vec![3, 2, 1]);
        assert_eq!(result.bids[0].awarded_quantity, dec!(24000), "whole lot to the winner only");
        assert_eq!(result.bids[1].awarded_quantity, dec!(0));
    }

    #[test]
    fn withdrawn_and_too_small_bids_are_non_responsive_with_a_reason() {
        let mut withdrawn = bid(1, dec!(1600), dec!(24000), 5, 1);
        withdrawn.withdrawn = true;
        let small = bid(2, dec!(1600), dec!(4000), 5, 2);
        let result = evaluate(&scenario_terms(), &[withdrawn, small, bid(3, dec!(1650), dec!(24000), 5, 3)]);
        let reasons: Vec<_> = result.bids.iter().filter_map(|b| b.rejection).collect();
        assert_eq!(reasons, vec![Rejection::Withdrawn, Rejection::BelowMinimumQuantity]);
    }

    #[test]
    fn a_weighted_score_can_prefer_a_faster_dearer_bid() {
        let mut terms = scenario_terms();
        terms.criterion = AwardCriterion::WeightedScore { price_weight: 50, lead_time_weight: 50 };
        let result = evaluate(&terms, &[bid(1, dec!(1620), dec!(24000), 14, 1), bid(2, dec!(1690), dec!(24000), 2, 2)]);
        assert_eq!(result.bids[0].bid_id.as_u128(), 2);
    }

    fn arbitrary_bids() -> impl Strategy<Value = Vec<SubmittedBid>> {
        prop::collection::vec((1_500_i64..1_800, 1_i64..30, 0_u32..15, any::<bool>()), 0..8).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (price, thousands, lead, withdrawn))| {
                    let mut b =
                        bid(i as u128 + 1, Decimal::from(price), Decimal::from(thousands * 1000), lead, i as i64);
                    b.withdrawn = withdrawn && i % 3 == 0;
                    b
                })
                .collect()
        })
    }

    /// The cost of covering the lot by filling bids in `order`: every vertex of the feasible splits is such a fill.
    fn cost_in_order(terms: &LotTerms, bids: &[&EvaluatedBid], quantity: Decimal) -> Decimal {
        let mut remaining = quantity;
        let mut cost = Decimal::ZERO;
        for bid in bids {
            let take = bid.offered_quantity.min(remaining).min(terms.quantity);
            cost += take * bid.unit_price;
            remaining -= take;
        }
        cost
    }

    proptest! {
        #[test]
        fn awards_never_exceed_offers_or_the_lot_and_are_deterministic(bids in arbitrary_bids(), reversed in any::<bool>()) {
            let terms = LotTerms { min_responsive_bids: 1, ..scenario_terms() };
            let result = evaluate(&terms, &bids);
            for bid in &result.bids {
                prop_assert!(bid.awarded_quantity <= bid.offered_quantity);
                prop_assert!(bid.awarded_quantity >= Decimal::ZERO);
            }
            prop_assert!(result.awarded_quantity <= terms.quantity);
            prop_assert_eq!(result.awarded_quantity + result.shortfall, terms.quantity);
            let mut shuffled = bids.clone();
            if reversed { shuffled.reverse(); } else { shuffled.rotate_left(bids.len() / 2); }
            prop_assert_eq!(evaluate(&terms, &shuffled), result);
        }

        #[test]
        fn cheapest_first_is_never_beaten_by_another_split(bids in arbitrary_bids(), seed in any::<u64>()) {
            let terms = LotTerms { min_responsive_bids: 1, ..scenario_terms() };
            let result = evaluate(&terms, &bids);
            let responsive: Vec<&EvaluatedBid> = result.bids.iter().filter(|b| b.rank.is_some()).collect();
            // Another order of the same bids covering the same quantity.
            let mut other = responsive.clone();
            let len = other.len().max(1);
            for i in 0..other.len() {
                let j = (seed as usize).wrapping_mul(i + 7) % len;
                other.swap(i, j);
            }
            prop_assert!(result.total_cost <= cost_in_order(&terms, &other, result.awarded_quantity));
        }
    }
}
