//! Price-stability indicators, as Diskopindag reads them.
//!
//! Definitions (written for analysts in `docs/PRICE_MONITORING.md`):
//! - **mean** is the plain mean of observed unit prices; the **weighted mean** weighs each by its quantity.
//! - **coefficient of variation (CV)**: the sample standard deviation divided by the mean, in percent, as the trade
//!   ministry computes price disparity and stability (up to 9 % counts as stable; the threshold is configurable).
//! - **disparity between areas**: how far apart the mean prices of the kecamatan are: (highest − lowest) ÷ mean of
//!   the area means, and the CV of the area means.
//! - **change**: (this period − previous period) ÷ previous period, in percent.
//! - **position against the ceiling**: mean ÷ HET (or reference price), and the share of observations above the HET.
//! - **savings**: (market or reference price − price paid) × quantity.
//! - **Herfindahl–Hirschman index (HHI)**: the sum of squared volume shares in percent (0–10,000); above 2,500 a
//!   market counts as highly concentrated.
//!
//! Sums are kept so that any period's indicators combine from stored daily rollups without reading every
//! observation: [`Moments`] merges exactly (the sum of squares is a float: it only feeds the standard deviation).

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::{Decimal, prelude::ToPrimitive};

/// The running sums of a set of price observations. Merging two gives the sums of their union.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    pub count: u64,
    pub sum_price: Decimal,
    pub sum_price_squared: f64,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub sum_quantity: Decimal,
    /// Σ price × quantity: the amount paid.
    pub sum_amount: Decimal,
    /// Observations above the ceiling that applied when they were made.
    pub count_above_ceiling: u64,
}

impl Moments {
    pub fn of(observations: &[(Decimal, Decimal)]) -> Self {
        let mut moments = Self::default();
        for (price, quantity) in observations {
            moments.add(*price, *quantity, false);
        }
        moments
    }

    pub fn add(&mut self, price: Decimal, quantity: Decimal, above_ceiling: bool) {
        self.merge(&Self {
            count: 1,
            sum_price: price,
            sum_price_squared: price.to_f64().unwrap_or(0.0).powi(2),
            min_price: Some(price),
            max_price: Some(price),
            sum_quantity: quantity,
            sum_amount: price * quantity,
            count_above_ceiling: u64::from(above_ceiling),
        });
    }

    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum_price += other.sum_price;
        self.sum_price_squared += other.sum_price_squared;
        self.min_price = lesser(self.min_price, other.min_price);
        self.max_price = greater(self.max_price, other.max_price);
        self.sum_quantity += other.sum_quantity;
        self.sum_amount += other.sum_amount;
        self.count_above_ceiling += other.count_above_ceiling;
    }

    pub fn mean(&self) -> Option<Decimal> {
        (self.count > 0).then(|| round_price(self.sum_price / Decimal::from(self.count)))
    }

    pub fn weighted_mean(&self) -> Option<Decimal> {
        (!self.sum_quantity.is_zero()).then(|| round_price(self.sum_amount / self.sum_quantity))
    }

    /// The sample standard deviation (n − 1); none for fewer than two observations.
    pub fn standard_deviation(&self) -> Option<f64> {
        if self.count < 2 {
            return None;
        }
        let n = self.count as f64;
        let sum = self.sum_price.to_f64()?;
        let variance = ((self.sum_price_squared - sum * sum / n) / (n - 1.0)).max(0.0);
        Some(variance.sqrt())
    }

    /// Standard deviation ÷ mean × 100, to two decimals.
    pub fn coefficient_of_variation(&self) -> Option<Decimal> {
        let deviation = self.standard_deviation()?;
        let mean = self.mean()?.to_f64()?;
        if mean <= 0.0 {
            return None;
        }
        Decimal::from_f64_retain(deviation / mean * 100.0).map(|cv| cv.round_dp(2))
    }

    /// The share of observations above the ceiling, in percent.
    pub fn share_above_ceiling(&self) -> Option<Decimal> {
        (self.count > 0).then(|| {
            (Decimal::from(self.count_above_ceiling) * Decimal::ONE_HUNDRED / Decimal::from(self.count)).round_dp(2)
        })
    }

    /// (reference − price) × quantity over these observations: what buying at the pooled price saved against
    /// buying at `reference`. Negative when the pool paid more.
    pub fn savings_against(&self, reference: Decimal) -> Decimal {
        (reference * self.sum_quantity - self.sum_amount).round_dp(2)
    }
}

fn lesser(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn greater(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Prices are shown to two decimals (rupiah and sen).
fn round_price(value: Decimal) -> Decimal {
    value.round_dp(2)
}

/// The median of `prices` (the mean of the middle two for an even count).
pub fn median(prices: &mut [Decimal]) -> Option<Decimal> {
    if prices.is_empty() {
        return None;
    }
    prices.sort_unstable();
    let middle = prices.len() / 2;
    Some(if prices.len() % 2 == 1 {
        prices[middle]
    } else {
        round_price((prices[middle - 1] + prices[middle]) / Decimal::TWO)
    })
}

/// (current − previous) ÷ previous × 100, to two decimals.
pub fn percent_change(previous: Decimal, current: Decimal) -> Option<Decimal> {
    (!previous.is_zero()).then(|| ((current - previous) / previous * Decimal::ONE_HUNDRED).round_dp(2))
}

/// `value` ÷ `ceiling`, to four decimals: 1 means at the ceiling.
pub fn ratio_to_ceiling(value: Decimal, ceiling: Decimal) -> Option<Decimal> {
    (ceiling > Decimal::ZERO).then(|| (value / ceiling).round_dp(4))
}

/// How far apart the mean prices of several areas are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Disparity {
    pub areas: usize,
    pub lowest_mean: Decimal,
    pub highest_mean: Decimal,
    /// (highest − lowest) ÷ mean of the area means × 100.
    pub spread_percent: Decimal,
    /// The CV of the area means; none for a single area.
    pub coefficient_of_variation: Option<Decimal>,
}

pub fn disparity(area_means: &[Decimal]) -> Option<Disparity> {
    let lowest = *area_means.iter().min()?;
    let highest = *area_means.iter().max()?;
    let moments = Moments::of(&area_means.iter().map(|m| (*m, Decimal::ONE)).collect::<Vec<_>>());
    let mean = moments.sum_price / Decimal::from(area_means.len());
    let spread_percent =
        if mean.is_zero() { Decimal::ZERO } else { ((highest - lowest) / mean * Decimal::ONE_HUNDRED).round_dp(2) };
    Some(Disparity {
        areas: area_means.len(),
        lowest_mean: lowest,
        highest_mean: highest,
        spread_percent,
        coefficient_of_variation: moments.coefficient_of_variation(),
    })
}

/// The Herfindahl–Hirschman index of the given volumes (one per supplier), 0–10,000, to two decimals.
pub fn herfindahl_hirschman(volumes: &[Decimal]) -> Option<Decimal> {
    let total: Decimal = volumes.iter().filter(|v| **v > Decimal::ZERO).sum();
    if total.is_zero() {
        return None;
    }
    let index: Decimal = volumes
        .iter()
        .filter(|v| **v > Decimal::ZERO)
        .map(|v| {
            let share = *v / total * Decimal::ONE_HUNDRED;
            share * share
        })
        .sum();
    Some(index.round_dp(2))
}

/// Whether a CV (percent) exceeds the stability threshold (the ministry's 9 % by default).
pub fn is_unstable(coefficient_of_variation: Option<Decimal>, threshold_percent: Decimal) -> bool {
    coefficient_of_variation.is_some_and(|cv| cv > threshold_percent)
}

/// The length of a period indicators are cut into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// The first day of the period holding `day` (weeks start on Monday).
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period before the one starting at `start`.
    pub fn previous(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start - Duration::days(1),
            Self::Week => start - Duration::days(7),
            Self::Month => self.start_of(start - Duration::days(1)),
        }
    }

    /// The first day of the period after the one starting at `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start + Duration::days(1),
            Self::Week => start + Duration::days(7),
            Self::Month => (start + Duration::days(32)).with_day(1).unwrap_or(start),
        }
    }

    /// The last day of the period starting at `start`.
    pub fn last_day(self, start: NaiveDate) -> NaiveDate {
        self.next(start) - Duration::days(1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn periods_start_on_mondays_and_first_days() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(Period::Week.start_of(day).to_string(), "2026-11-23");
        assert_eq!(Period::Month.start_of(day).to_string(), "2026-11-01");
        assert_eq!(Period::Month.previous(Period::Month.start_of(day)).to_string(), "2026-10-01");
        assert_eq!(Period::Month.next(Period::Month.start_of(day)).to_string(), "2026-12-01");
        assert_eq!(Period::Month.last_day(Period::Month.start_of(day)).to_string(), "2026-11-30");
        assert_eq!(Period::Week.last_day(Period::Week.start_of(day)).to_string(), "2026-11-29");
        let february = NaiveDate::from_ymd_opt(2028, 2, 1).unwrap();
        assert_eq!(Period::Month.last_day(february).to_string(), "2028-02-29");
    }

    use super::*;
    use rust_decimal::dec;

    #[test]
    fn an_empty_set_has_no_indicators() {
        let empty = Moments::default();
        assert_eq!(empty.count, 0);
        assert_eq!(empty.mean(), None);
        assert_eq!(empty.weighted_mean(), None);
        assert_eq!(empty.coefficient_of_variation(), None);
        assert_eq!(empty.share_above_ceiling(), None);
        assert_eq!(median(&mut []), None);
        assert_eq!(disparity(&[]), None);
        assert_eq!(herfindahl_hirschman(&[]), None);
    }

    #[test]
    fn a_single_observation_has_a_mean_but_no_spread() {
        let one = Moments::of(&[(dec!(1620), dec!(10000))]);
        assert_eq!(one.mean(), Some(dec!(1620)));
        assert_eq!(one.weighted_mean(), Some(dec!(1620)));
        assert_eq!((one.min_price, one.max_price), (Some(dec!(1620)), Some(dec!(1620))));
        assert_eq!(one.coefficient_of_variation(), None);
        assert_eq!(median(&mut [dec!(1620)]), Some(dec!(1620)));
    }

    #[test]
    fn the_season_award_by_hand() {
        // Supplier A 10,000 kg at 1,620 and BUMN 14,000 kg at 1,650 (SCENARIOS.md).
        let award = Moments::of(&[(dec!(1620), dec!(10000)), (dec!(1650), dec!(14000))]);
        assert_eq!(award.mean(), Some(dec!(1635)));
        // (16,200,000 + 23,100,000) ÷ 24,000 = 1,637.5
        assert_eq!(award.weighted_mean(), Some(dec!(1637.5)));
        // Sample SD of {1620, 1650} = 21.2132…; ÷ 1635 = 1.2974…%
        assert_eq!(award.coefficient_of_variation(), Some(dec!(1.30)));
        // Against the HET of 1,800: (1,800 × 24,000) − 39,300,000 = 3,900,000.
        assert_eq!(award.savings_against(dec!(1800)), dec!(3900000));
        assert_eq!(ratio_to_ceiling(award.mean().unwrap(), dec!(1800)), Some(dec!(0.9083)));
    }

    #[test]
    fn merged_rollups_equal_the_whole() {
        let prices = [(dec!(14000), dec!(5)), (dec!(14500), dec!(10)), (dec!(15200), dec!(2)), (dec!(13900), dec!(8))];
        let whole = Moments::of(&prices);
        let mut parts = Moments::of(&prices[..1]);
        parts.merge(&Moments::of(&prices[1..]));
        assert_eq!(parts.count, whole.count);
        assert_eq!(parts.mean(), whole.mean());
        assert_eq!(parts.weighted_mean(), whole.weighted_mean());
        assert_eq!(parts.coefficient_of_variation(), whole.coefficient_of_variation());
        assert_eq!((parts.min_price, parts.max_price), (Some(dec!(13900)), Some(dec!(15200))));
    }

    #[test]
    fn tied_prices_have_no_variation() {
        let tied = Moments::of(&[(dec!(15000), dec!(1)), (dec!(15000), dec!(3))]);
        assert_eq!(tied.coefficient_of_variation(), Some(dec!(0)));
        assert_eq!(median(&mut [dec!(15000), dec!(15000)]), Some(dec!(15000)));
        assert!(!is_unstable(tied.coefficient_of_variation(), dec!(9)));
    }

    #[test]
    fn medians_take_the_middle() {
        assert_eq!(median(&mut [dec!(3), dec!(1), dec!(2)]), Some(dec!(2)));
        assert_eq!(median(&mut [dec!(4), dec!(1), dec!(3), dec!(2)]), Some(dec!(2.5)));
    }

    #[test]
    fn changes_disparities_and_concentration_by_hand() {
        assert_eq!(percent_change(dec!(14000), dec!(15400)), Some(dec!(10)));
        assert_eq!(percent_change(dec!(0), dec!(1)), None);
        let areas = disparity(&[dec!(14000), dec!(15000), dec!(16000)]).unwrap();
        assert_eq!((areas.lowest_mean, areas.highest_mean), (dec!(14000), dec!(16000)));
        // 2,000 ÷ 15,000 = 13.33 %
        assert_eq!(areas.spread_percent, dec!(13.33));
        // SD 1,000 ÷ 15,000 = 6.67 %
        assert_eq!(areas.coefficient_of_variation, Some(dec!(6.67)));
        assert_eq!(disparity(&[dec!(15000)]).unwrap().coefficient_of_variation, None);
        // One supplier: 10,000. Two equal: 5,000. 10,000 vs 14,000 kg: 41.67² + 58.33² = 5,138.89.
        assert_eq!(herfindahl_hirschman(&[dec!(24000)]), Some(dec!(10000)));
        assert_eq!(herfindahl_hirschman(&[dec!(1), dec!(1)]), Some(dec!(5000)));
        assert_eq!(herfindahl_hirschman(&[dec!(10000), dec!(14000)]), Some(dec!(5138.89)));
    }

    #[test]
    fn the_stability_threshold_is_strict() {
        assert!(!is_unstable(Some(dec!(9)), dec!(9)));
        assert!(is_unstable(Some(dec!(9.01)), dec!(9)));
        assert!(!is_unstable(None, dec!(9)));
    }

    #[test]
    fn the_share_above_the_ceiling_counts_observations() {
        let mut moments = Moments::default();
        moments.add(dec!(1900), dec!(1), true);
        moments.add(dec!(1700), dec!(1), false);
        moments.add(dec!(1750), dec!(1), false);
        moments.add(dec!(1800), dec!(1), false);
        assert_eq!(moments.share_above_ceiling(), Some(dec!(25)));
    }
}
