//! Warning signs in tenders, following the Open Contracting Partnership's Cardinal indicators where they apply, plus
//! Lumbung's own. Each flag is computed per tender (or per supplier) and reports whether it could be computed at all,
//! so that coverage and firing rate can be shown side by side: a flag that fires on everything stands out.
//!
//! Definitions (also in `docs/PRICE_MONITORING.md`; Cardinal's are in `open-contracting/cardinal-rs`,
//! `src/indicators/`):
//! - **R018 single responsive bid**: a lot of a closed tender had exactly one responsive bid. Computable once closed.
//! - **R028 identical bid prices**: two different suppliers bid the same unit price on a lot. Needs two bids.
//! - **R024 price close to winning bid / R058 heavily discounted bid**: the gap between the winning and the
//!   second-lowest responsive price, (second − first) ÷ first, is a low (R024) or high (R058) outlier among all
//!   tenders in scope, by the 1.5 × IQR rule Cardinal uses. Needs two responsive bids, and four tenders with a gap.
//! - **R036 lowest bid disqualified**: the lowest-priced submitted bid of a lot was disqualified. Needs two bids.
//! - **R035 all except winner disqualified** (as Cardinal): exactly one supplier had a valid (responsive) bid, it
//!   won, and at least one other supplier's bid was disqualified. Withdrawn bids count for nothing. Needs an award.
//! - **R038 excessive disqualified bids** (per supplier, and per buyer): the ratio of disqualified to submitted bids
//!   reaches the upper fence (Q3 + 1.5 × IQR) of all ratios, and that fence is above zero (as Cardinal: when three
//!   quarters have no disqualified bid, nothing is flagged). Needs four suppliers (buyers) with two submitted bids.
//! - **R048 heterogeneous supplier** (per supplier): the number of commodity categories a supplier won reaches the
//!   upper fence among suppliers that won at least the configured number of tenders (Cardinal: 20). Needs four such
//!   suppliers.
//! - **R025 excessive unsuccessful bids** (per supplier): a supplier's share of lost bids is a high outlier among
//!   suppliers. Needs four suppliers with bids.
//! - **Award above HET**: a lot was awarded at a unit price above the HET. Needs an HET and an award.
//! - **Award near the maximum price**: a lot was awarded within 1 % of its maximum price. Needs an award.
//! - **R003 short submission period**: the time suppliers had (from when bidding opened to the deadline) was shorter
//!   than the office's threshold for the tender's procurement method. Needs the period and a threshold.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidFacts {
    pub supplier_id: Uuid,
    pub unit_price: Decimal,
    pub withdrawn: bool,
    /// Rejected at evaluation for a reason other than withdrawal (e.g. above the maximum price).
    pub disqualified: bool,
    pub awarded_quantity: Decimal,
}

impl BidFacts {
    fn submitted(&self) -> bool {
        !self.withdrawn
    }

    fn responsive(&self) -> bool {
        !self.withdrawn && !self.disqualified
    }

    fn won(&self) -> bool {
        self.awarded_quantity > Decimal::ZERO
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotFacts {
    pub max_unit_price: Decimal,
    pub het: Option<Decimal>,
    pub bids: Vec<BidFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderFacts {
    pub tender_id: Uuid,
    /// Closed and evaluated: bids may be read.
    pub evaluated: bool,
    pub lots: Vec<LotFacts>,
    /// How long suppliers had to bid: from when bidding opened (its start, or the publication if later) to the
    /// deadline.
    pub submission_period: Option<chrono::Duration>,
    /// R003's threshold for the tender's procurement method: a shorter submission period fires.
    pub short_period_threshold: Option<chrono::Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    SingleResponsiveBid,
    IdenticalBidPrices,
    CloseToWinningBid,
    HeavilyDiscountedBid,
    LowestBidDisqualified,
    AllButWinnerDisqualified,
    AwardAboveHet,
    AwardNearMaximumPrice,
    ShortSubmissionPeriod,
}

impl Flag {
    pub const ALL: [Self; 9] = [
        Self::SingleResponsiveBid,
        Self::IdenticalBidPrices,
        Self::CloseToWinningBid,
        Self::HeavilyDiscountedBid,
        Self::LowestBidDisqualified,
        Self::AllButWinnerDisqualified,
        Self::AwardAboveHet,
        Self::AwardNearMaximumPrice,
        Self::ShortSubmissionPeriod,
    ];

    /// The Cardinal indicator code, or Lumbung's own code.
    pub fn code(self) -> &'static str {
        match self {
            Self::SingleResponsiveBid => "R018",
            Self::IdenticalBidPrices => "R028",
            Self::CloseToWinningBid => "R024",
            Self::HeavilyDiscountedBid => "R058",
            Self::LowestBidDisqualified => "R036",
            Self::AllButWinnerDisqualified => "R035",
            Self::AwardAboveHet => "LMB-HET",
            Self::AwardNearMaximumPrice => "LMB-MAX",
            Self::ShortSubmissionPeriod => "R003",
        }
    }
}

/// The outcome of one flag on one tender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagResult {
    /// The data needed is not there (e.g. fewer than two bids): the tender does not count towards coverage.
    NotComputable,
    Clear,
    Fired,
}

impl FlagResult {
    fn from(fired: bool) -> Self {
        if fired { Self::Fired } else { Self::Clear }
    }
}

/// The winning-to-second gap of each lot with two responsive bids: (second − first) ÷ first.
pub fn winning_gaps(tender: &TenderFacts) -> Vec<Decimal> {
    if !tender.evaluated {
        return vec![];
    }
    tender
        .lots
        .iter()
        .filter_map(|lot| {
            let mut prices: Vec<Decimal> = lot.bids.iter().filter(|b| b.responsive()).map(|b| b.unit_price).collect();
            prices.sort_unstable();
            match prices.as_slice() {
                [first, second, ..] if *first > Decimal::ZERO => Some(((*second - *first) / *first).round_dp(6)),
                _ => None,
            }
        })
        .collect()
}

/// Tukey's fences (Q1 − 1.5 IQR, Q3 + 1.5 IQR) with linearly interpolated quartiles; none under four values.
pub fn outlier_fences(values: &[Decimal]) -> Option<(Decimal, Decimal)> {
    if values.len() < 4 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let quartile = |q: Decimal| {
        let position = q * Decimal::from(sorted.len() - 1);
        let lower = position.floor();
        let index = usize::try_from(lower.mantissa() / 10_i128.pow(lower.scale())).unwrap_or(0);
        let fraction = position - lower;
        let next = sorted.get(index + 1).copied().unwrap_or(sorted[index]);
        sorted[index] + (next - sorted[index]) * fraction
    };
    let (q1, q3) = (quartile(Decimal::new(25, 2)), quartile(Decimal::new(75, 2)));
    let reach = (q3 - q1) * Decimal::new(15, 1);
    Some((q1 - reach, q3 + reach))
}

/// Every tender flag of one tender. `gap_fences` are the outlier fences of the winning gaps of all tenders in scope.
pub fn tender_flags(tender: &TenderFacts, gap_fences: Option<(Decimal, Decimal)>) -> Vec<(Flag, FlagResult)> {
    Flag::ALL.into_iter().map(|flag| (flag, evaluate(flag, tender, gap_fences))).collect()
}

fn evaluate(flag: Flag, tender: &TenderFacts, gap_fences: Option<(Decimal, Decimal)>) -> FlagResult {
    if !tender.evaluated {
        return FlagResult::NotComputable;
    }
    let lots = &tender.lots;
    let with_two_bids: Vec<&LotFacts> =
        lots.iter().filter(|l| l.bids.iter().filter(|b| b.submitted()).count() >= 2).collect();
    let awarded: Vec<&LotFacts> = lots.iter().filter(|l| l.bids.iter().any(BidFacts::won)).collect();
    match flag {
        Flag::SingleResponsiveBid => {
            if lots.is_empty() {
                return FlagResult::NotComputable;
            }
            FlagResult::from(lots.iter().any(|l| l.bids.iter().filter(|b| b.responsive()).count() == 1))
        }
        Flag::IdenticalBidPrices => {
            if with_two_bids.is_empty() {
                return FlagResult::NotComputable;
            }
            FlagResult::from(with_two_bids.iter().any(|lot| {
                let submitted: Vec<&BidFacts> = lot.bids.iter().filter(|b| b.submitted()).collect();
                submitted.iter().enumerate().any(|(i, a)| {
                    submitted[i + 1..].iter().any(|b| a.supplier_id != b.supplier_id && a.unit_price == b.unit_price)
                })
            }))
        }
        Flag::CloseToWinningBid | Flag::HeavilyDiscountedBid => {
            let gaps = winning_gaps(tender);
            let Some((low, high)) = gap_fences else { return FlagResult::NotComputable };
            if gaps.is_empty() {
                return FlagResult::NotComputable;
            }
            FlagResult::from(if flag == Flag::CloseToWinningBid {
                gaps.iter().any(|gap| *gap < low)
            } else {
                gaps.iter().any(|gap| *gap > high)
            })
        }
        Flag::LowestBidDisqualified => {
            if with_two_bids.is_empty() {
                return FlagResult::NotComputable;
            }
            FlagResult::from(with_two_bids.iter().any(|lot| {
                let lowest = lot.bids.iter().filter(|b| b.submitted()).map(|b| b.unit_price).min();
                lot.bids.iter().any(|b| b.submitted() && b.disqualified && Some(b.unit_price) == lowest)
            }))
        }
        Flag::AllButWinnerDisqualified => {
            if awarded.is_empty() {
                return FlagResult::NotComputable;
            }
            // Over the whole tender, by supplier, as Cardinal reads an OCDS process: withdrawn bids are neither valid
            // nor disqualified.
            let bids = || lots.iter().flat_map(|lot| lot.bids.iter());
            let valid: BTreeSet<Uuid> = bids().filter(|b| b.responsive()).map(|b| b.supplier_id).collect();
            let winners: BTreeSet<Uuid> = bids().filter(|b| b.won()).map(|b| b.supplier_id).collect();
            let disqualified: BTreeSet<Uuid> =
                bids().filter(|b| b.submitted() && b.disqualified).map(|b| b.supplier_id).collect();
            FlagResult::from(valid.len() == 1 && valid == winners && disqualified.difference(&valid).next().is_some())
        }
        Flag::AwardAboveHet => {
            let with_het: Vec<&&LotFacts> = awarded.iter().filter(|l| l.het.is_some()).collect();
            if with_het.is_empty() {
                return FlagResult::NotComputable;
            }
            FlagResult::from(
                with_het
                    .iter()
                    .any(|lot| lot.bids.iter().any(|b| b.won() && lot.het.is_some_and(|het| b.unit_price > het))),
            )
        }
        Flag::ShortSubmissionPeriod => match (tender.submission_period, tender.short_period_threshold) {
            (Some(period), Some(threshold)) => FlagResult::from(period < threshold),
            _ => FlagResult::NotComputable,
        },
        Flag::AwardNearMaximumPrice => {
            if awarded.is_empty() {
                return FlagResult::NotComputable;
            }
            FlagResult::from(awarded.iter().any(|lot| {
                let near = lot.max_unit_price * Decimal::new(99, 2);
                lot.bids.iter().any(|b| b.won() && b.unit_price >= near)
            }))
        }
    }
}

/// A market is highly concentrated above this Herfindahl–Hirschman index (the usual competition-law threshold).
pub fn is_concentrated(hhi: Decimal) -> bool {
    hhi > Decimal::from(2_500)
}

/// A supplier delivers late when fewer than 80 % of its deliveries arrive by their due date.
pub fn delivers_late(on_time_rate: Decimal) -> bool {
    on_time_rate < Decimal::new(8, 1)
}

/// A supplier delivers short when it is accepted for less than 90 % of what it was ordered.
pub fn delivers_short(fill_rate: Decimal) -> bool {
    fill_rate < Decimal::new(9, 1)
}

/// R025: suppliers whose share of lost bids is a high outlier among suppliers. Input: (supplier, bids, bids won).
pub fn frequent_losers(record: &[(Uuid, u32, u32)]) -> Option<Vec<Uuid>> {
    let ratios: Vec<(Uuid, Decimal)> = record
        .iter()
        .filter(|(_, bids, _)| *bids > 0)
        .map(|(supplier, bids, won)| (*supplier, Decimal::from(bids.saturating_sub(*won)) / Decimal::from(*bids)))
        .collect();
    let (_, high) = outlier_fences(&ratios.iter().map(|(_, r)| *r).collect::<Vec<_>>())?;
    Some(ratios.into_iter().filter(|(_, ratio)| *ratio > high).map(|(supplier, _)| supplier).collect())
}

/// R038: whose ratio of disqualified to submitted bids reaches the upper fence. Input: (supplier or buyer, submitted
/// bids, disqualified bids). Only those with at least `minimum_submitted` bids are compared (Cardinal: 2); none when
/// fewer than four are (no fence). Returns (how many were compared, who is flagged).
pub fn excessive_disqualifications(record: &[(Uuid, u32, u32)], minimum_submitted: u32) -> Option<(u64, Vec<Uuid>)> {
    let ratios: Vec<(Uuid, Decimal)> = record
        .iter()
        .filter(|(_, submitted, _)| *submitted > 0 && *submitted >= minimum_submitted)
        .map(|(id, submitted, disqualified)| (*id, Decimal::from(*disqualified) / Decimal::from(*submitted)))
        .collect();
    let (_, high) = outlier_fences(&ratios.iter().map(|(_, r)| *r).collect::<Vec<_>>())?;
    // When three quarters had no disqualified bid the fence is zero, and every ratio would reach it.
    let flagged = if high > Decimal::ZERO {
        ratios.iter().filter(|(_, ratio)| *ratio >= high).map(|(id, _)| *id).collect()
    } else {
        vec![]
    };
    Some((ratios.len() as u64, flagged))
}

/// R048: suppliers whose number of commodity categories won reaches the upper fence. Input: (supplier, tenders won,
/// distinct categories won). Only suppliers with at least `minimum_tenders` tenders won are compared; none when fewer
/// than four are. Returns (how many were compared, who is flagged).
pub fn heterogeneous_suppliers(record: &[(Uuid, u32, u32)], minimum_tenders: u32) -> Option<(u64, Vec<Uuid>)> {
    let compared: Vec<(Uuid, Decimal)> = record
        .iter()
        .filter(|(_, tenders, _)| *tenders > 0 && *tenders >= minimum_tenders)
        .map(|(id, _, categories)| (*id, Decimal::from(*categories)))
        .collect();
    let (_, high) = outlier_fences(&compared.iter().map(|(_, n)| *n).collect::<Vec<_>>())?;
    Some((compared.len() as u64, compared.iter().filter(|(_, n)| *n >= high).map(|(id, _)| *id).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn supplier(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn bid(n: u128, price: Decimal, awarded: Decimal) -> BidFacts {
        BidFacts {
            supplier_id: supplier(n),
            unit_price: price,
            withdrawn: false,
            disqualified: false,
            awarded_quantity: awarded,
        }
    }

    fn tender(bids: Vec<BidFacts>) -> TenderFacts {
        TenderFacts {
            tender_id: Uuid::nil(),
            evaluated: true,
            lots: vec![LotFacts { max_unit_price: dec!(1700), het: Some(dec!(1800)), bids }],
            // The scenario's 26 November 08:00 to 28 November 12:00 WIB.
            submission_period: Some(chrono::Duration::hours(52)),
            short_period_threshold: Some(chrono::Duration::days(2)),
        }
    }

    #[test]
    fn a_submission_period_shorter_than_the_threshold_fires_r003() {
        let mut season = tender(vec![bid(1, dec!(1620), dec!(24000))]);
        assert_eq!(result(&season, Flag::ShortSubmissionPeriod), FlagResult::Clear);
        season.short_period_threshold = Some(chrono::Duration::hours(52));
        assert_eq!(result(&season, Flag::ShortSubmissionPeriod), FlagResult::Clear, "exactly the threshold is enough");
        season.short_period_threshold = Some(chrono::Duration::hours(52) + chrono::Duration::seconds(1));
        assert_eq!(result(&season, Flag::ShortSubmissionPeriod), FlagResult::Fired);
        season.short_period_threshold = None;
        assert_eq!(result(&season, Flag::ShortSubmissionPeriod), FlagResult::NotComputable);
    }

    fn result(facts: &TenderFacts, flag: Flag) -> FlagResult {
        evaluate(flag, facts, None)
    }

    #[test]
    fn the_season_tender_is_clean() {
        let season =
            tender(vec![bid(1, dec!(1620), dec!(10000)), bid(2, dec!(1650), dec!(14000)), bid(3, dec!(1690), dec!(0))]);
        for flag in [
            Flag::SingleResponsiveBid,
            Flag::IdenticalBidPrices,
            Flag::LowestBidDisqualified,
            Flag::AllButWinnerDisqualified,
            Flag::AwardAboveHet,
        ] {
            assert_eq!(result(&season, flag), FlagResult::Clear, "{flag:?}");
        }
        // 1,690 ≥ 0.99 × 1,700 = 1,683 but it did not win; the winners are well below.
        assert_eq!(result(&season, Flag::AwardNearMaximumPrice), FlagResult::Clear);
        assert_eq!(winning_gaps(&season), vec![dec!(0.018519)]);
    }

    #[test]
    fn nothing_is_computable_before_evaluation_or_without_bids() {
        let mut open = tender(vec![bid(1, dec!(1620), dec!(0))]);
        open.evaluated = false;
        assert!(tender_flags(&open, None).iter().all(|(_, r)| *r == FlagResult::NotComputable));
        let empty = tender(vec![]);
        assert_eq!(result(&empty, Flag::IdenticalBidPrices), FlagResult::NotComputable);
        assert_eq!(result(&empty, Flag::SingleResponsiveBid), FlagResult::Clear);
        assert_eq!(result(&empty, Flag::AwardAboveHet), FlagResult::NotComputable);
    }

    #[test]
    fn a_single_responsive_bid_fires_r018() {
        let mut above = bid(2, dec!(1750), dec!(0));
        above.disqualified = true;
        let single = tender(vec![bid(1, dec!(1690), dec!(24000)), above]);
        assert_eq!(result(&single, Flag::SingleResponsiveBid), FlagResult::Fired);
        // The only other bid was disqualified: R035 fires; the lowest was not disqualified: R036 stays clear.
        assert_eq!(result(&single, Flag::AllButWinnerDisqualified), FlagResult::Fired);
        assert_eq!(result(&single, Flag::LowestBidDisqualified), FlagResult::Clear);
        // 1,690 is within 1 % of 1,700.
        assert_eq!(result(&single, Flag::AwardNearMaximumPrice), FlagResult::Fired);
    }

    #[test]
    fn r035_follows_cardinal_one_valid_winner_and_others_disqualified() {
        let disqualified = |n: u128| {
            let mut b = bid(n, dec!(1750), dec!(0));
            b.disqualified = true;
            b
        };
        let withdrawn = |n: u128| {
            let mut b = bid(n, dec!(1600), dec!(0));
            b.withdrawn = true;
            b
        };
        // Two winners and one disqualified bid: not one valid winner, so clear (it fired before).
        let two_winners =
            tender(vec![bid(1, dec!(1620), dec!(10000)), bid(2, dec!(1650), dec!(14000)), disqualified(3)]);
        assert_eq!(result(&two_winners, Flag::AllButWinnerDisqualified), FlagResult::Clear);
        // One winner, and the other bid withdrawn: a withdrawn bid is not a disqualified one.
        let with_withdrawn = tender(vec![bid(1, dec!(1620), dec!(24000)), withdrawn(2)]);
        assert_eq!(result(&with_withdrawn, Flag::AllButWinnerDisqualified), FlagResult::Clear);
        // One winner, one withdrawn and one disqualified: fires.
        let fires = tender(vec![bid(1, dec!(1620), dec!(24000)), withdrawn(2), disqualified(3)]);
        assert_eq!(result(&fires, Flag::AllButWinnerDisqualified), FlagResult::Fired);
        // A valid bid that did not win: clear.
        let valid_loser = tender(vec![bid(1, dec!(1620), dec!(24000)), bid(2, dec!(1690), dec!(0)), disqualified(3)]);
        assert_eq!(result(&valid_loser, Flag::AllButWinnerDisqualified), FlagResult::Clear);
        // No award: not computable.
        let none = tender(vec![bid(1, dec!(1620), dec!(0)), disqualified(3)]);
        assert_eq!(result(&none, Flag::AllButWinnerDisqualified), FlagResult::NotComputable);
    }

    #[test]
    fn r038_flags_ratios_at_the_upper_fence_above_zero() {
        // Ratios 0, 0.1, 0.2, 0.2, 0.8: Q1 0.1, Q3 0.2, fence 0.2 + 1.5 × 0.1 = 0.35; only 0.8 reaches it.
        let record = [
            (supplier(1), 10, 0),
            (supplier(2), 10, 1),
            (supplier(3), 10, 2),
            (supplier(4), 10, 2),
            (supplier(5), 10, 8),
            (supplier(6), 1, 1), // one bid: not compared
        ];
        assert_eq!(excessive_disqualifications(&record, 2), Some((5, vec![supplier(5)])));
        // Three quarters without a disqualified bid: the fence is zero and nothing is flagged.
        let mostly_clean =
            [(supplier(1), 4, 0), (supplier(2), 4, 0), (supplier(3), 4, 0), (supplier(4), 4, 0), (supplier(5), 4, 3)];
        assert_eq!(excessive_disqualifications(&mostly_clean, 2), Some((5, vec![])));
        // Fewer than four compared: no fence.
        assert_eq!(excessive_disqualifications(&record[..3], 2), None);
    }

    #[test]
    fn r048_flags_suppliers_winning_across_many_categories() {
        // Categories 1, 1, 1, 2, 5 among suppliers with 20 tenders won: Q1 1, Q3 2, fence 3.5; only 5 reaches it.
        let record = [
            (supplier(1), 20, 1),
            (supplier(2), 25, 1),
            (supplier(3), 30, 1),
            (supplier(4), 20, 2),
            (supplier(5), 40, 5),
            (supplier(6), 19, 9), // too few tenders to compare
        ];
        assert_eq!(heterogeneous_suppliers(&record, 20), Some((5, vec![supplier(5)])));
        assert_eq!(heterogeneous_suppliers(&record, 30), None);
    }

    #[test]
    fn identical_prices_fire_only_across_suppliers() {
        let tied = tender(vec![bid(1, dec!(1650), dec!(12000)), bid(2, dec!(1650), dec!(12000))]);
        assert_eq!(result(&tied, Flag::IdenticalBidPrices), FlagResult::Fired);
        let mut withdrawn = bid(2, dec!(1650), dec!(0));
        withdrawn.withdrawn = true;
        let apart = tender(vec![bid(1, dec!(1650), dec!(24000)), withdrawn, bid(3, dec!(1660), dec!(0))]);
        assert_eq!(result(&apart, Flag::IdenticalBidPrices), FlagResult::Clear);
    }

    #[test]
    fn a_disqualified_lowest_bid_fires_r036() {
        let mut lowest = bid(1, dec!(1500), dec!(0));
        lowest.disqualified = true;
        let facts = tender(vec![lowest, bid(2, dec!(1650), dec!(24000)), bid(3, dec!(1660), dec!(0))]);
        assert_eq!(result(&facts, Flag::LowestBidDisqualified), FlagResult::Fired);
        assert_eq!(result(&facts, Flag::AllButWinnerDisqualified), FlagResult::Clear);
    }

    #[test]
    fn an_award_above_the_het_fires() {
        let mut facts = tender(vec![bid(1, dec!(1850), dec!(24000)), bid(2, dec!(1900), dec!(0))]);
        facts.lots[0].max_unit_price = dec!(2000);
        assert_eq!(result(&facts, Flag::AwardAboveHet), FlagResult::Fired);
        facts.lots[0].het = None;
        assert_eq!(result(&facts, Flag::AwardAboveHet), FlagResult::NotComputable);
    }

    #[test]
    fn gaps_are_outliers_by_tukeys_fences() {
        assert_eq!(outlier_fences(&[dec!(1), dec!(2), dec!(3)]), None);
        // Quartiles of 1..=8: Q1 = 2.75, Q3 = 6.25, IQR 3.5: fences −2.5 and 11.5.
        let values: Vec<Decimal> = (1..=8).map(Decimal::from).collect();
        assert_eq!(outlier_fences(&values), Some((dec!(-2.5), dec!(11.5))));
        let facts = tender(vec![bid(1, dec!(1000), dec!(24000)), bid(2, dec!(1600), dec!(0))]);
        // Gap 0.6, above the high fence 0.1: heavily discounted; not close.
        assert_eq!(evaluate(Flag::HeavilyDiscountedBid, &facts, Some((dec!(0.001), dec!(0.1)))), FlagResult::Fired);
        assert_eq!(evaluate(Flag::CloseToWinningBid, &facts, Some((dec!(0.001), dec!(0.1)))), FlagResult::Clear);
        assert_eq!(evaluate(Flag::CloseToWinningBid, &facts, None), FlagResult::NotComputable);
    }

    #[test]
    fn thresholds_are_strict() {
        assert!(!is_concentrated(dec!(2500)) && is_concentrated(dec!(2500.01)));
        assert!(!delivers_late(dec!(0.8)) && delivers_late(dec!(0.79)));
        assert!(!delivers_short(dec!(0.9)) && delivers_short(dec!(0.89)));
    }

    #[test]
    fn a_supplier_that_always_loses_among_winners_is_a_frequent_loser() {
        let record = [
            (supplier(1), 10, 5),
            (supplier(2), 10, 6),
            (supplier(3), 10, 5),
            (supplier(4), 10, 4),
            (supplier(5), 10, 0),
        ];
        assert_eq!(frequent_losers(&record), Some(vec![supplier(5)]));
        assert_eq!(frequent_losers(&record[..3]), None, "too few suppliers to tell");
    }
}
