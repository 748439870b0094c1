//! Demand pools: an open call per commodity and area into which cooperatives put demand lines until a cut-off.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{RuleError, clock::wib};

/// Where a pool stands. `Frozen` is never stored: an open pool is frozen from its cut-off instant on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolStatus {
    /// Cooperatives add, change and remove demand until the cut-off.
    Open,
    /// The cut-off has passed; the pooled demand is fixed and waits for a tender.
    Frozen,
    /// A tender has been created from it.
    Tendered,
    /// Called off by the agency, with a reason.
    Cancelled,
}

impl PoolStatus {
    pub const STORED: [Self; 3] = [Self::Open, Self::Tendered, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Frozen => "FROZEN",
            Self::Tendered => "TENDERED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        [Self::Open, Self::Frozen, Self::Tendered, Self::Cancelled]
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown pool status {value:?}")))
    }

    /// The status a reader sees at `now`: an open pool whose cut-off has passed is frozen.
    pub fn at(self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if self == Self::Open && now >= cutoff { Self::Frozen } else { self }
    }
}

/// The delivery window of a pool: the first and last day (inclusive) goods may be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryWindow {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl DeliveryWindow {
    pub fn parse(first_day: NaiveDate, last_day: NaiveDate) -> Result<Self, RuleError> {
        if last_day < first_day {
            return Err(RuleError::invalid("deliveryWindow", "the last day is before the first"));
        }
        if (last_day - first_day).num_days() > 366 {
            return Err(RuleError::invalid("deliveryWindow", "a delivery window spans at most a year"));
        }
        Ok(Self { first_day, last_day })
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.first_day <= day && day <= self.last_day
    }
}

/// Checks a new pool's cut-off: in the future, and before deliveries start.
pub fn check_new_cutoff(cutoff: DateTime<Utc>, window: &DeliveryWindow, now: DateTime<Utc>) -> Result<(), RuleError> {
    if cutoff <= now {
        return Err(RuleError::invalid("cutoff", "must be in the future"));
    }
    if cutoff.with_timezone(&wib()).date_naive() >= window.first_day {
        return Err(RuleError::invalid("cutoff", "must fall before the first delivery day"));
    }
    Ok(())
}

/// Whether demand may change now: only while the pool is open and before its cut-off.
pub fn check_demand_open(status: PoolStatus, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), RuleError> {
    match status.at(cutoff, now) {
        PoolStatus::Open => Ok(()),
        PoolStatus::Frozen => Err(RuleError::DeadlinePassed(format!(
            "the pool's cut-off passed at {}; demand can no longer change",
            cutoff.with_timezone(&wib()).format("%Y-%m-%d %H:%M WIB")
        ))),
        other => Err(RuleError::InvalidTransition(format!("the pool is {}", other.as_str()))),
    }
}

/// Extending a cut-off: only while the pool is still open, and only later.
pub fn check_extension(
    status: PoolStatus,
    cutoff: DateTime<Utc>,
    new_cutoff: DateTime<Utc>,
    window: &DeliveryWindow,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    check_demand_open(status, cutoff, now)?;
    if new_cutoff <= cutoff {
        return Err(RuleError::invalid("cutoff", "an extension must move the cut-off later"));
    }
    check_new_cutoff(new_cutoff, window, now)
}

/// Cancelling: before a tender is made from the pool.
pub fn check_cancel(status: PoolStatus) -> Result<(), RuleError> {
    match status {
        PoolStatus::Open | PoolStatus::Frozen => Ok(()),
        other => Err(RuleError::InvalidTransition(format!("a {} pool cannot be cancelled", other.as_str()))),
    }
}

/// Subsidised fertiliser: demand beyond what remains of the cooperative's RDKK allocation is refused.
/// `already_requested` is the cooperative's other demand against the same allocation.
pub fn check_allocation(
    allocated: Decimal,
    already_requested: Decimal,
    requested: Decimal,
    unit: &str,
) -> Result<(), RuleError> {
    let remaining = (allocated - already_requested).max(Decimal::ZERO);
    if requested > remaining {
        return Err(RuleError::invalid(
            "quantity",
            format!("exceeds the remaining allocation: {} {unit} remain", group_thousands(remaining)),
        ));
    }
    Ok(())
}

/// `4000` → `4,000`; `1637.5` → `1,637.5`.
pub fn group_thousands(value: Decimal) -> String {
    let text = value.normalize().to_string();
    let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |rest| ("-", rest));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_open_pool_freezes_at_its_cutoff_instant() {
        let cutoff = at("2026-11-25T10:00:00Z");
        assert_eq!(PoolStatus::Open.at(cutoff, at("2026-11-25T09:59:59.999Z")), PoolStatus::Open);
        assert_eq!(PoolStatus::Open.at(cutoff, cutoff), PoolStatus::Frozen);
        assert!(check_demand_open(PoolStatus::Open, cutoff, at("2026-11-25T09:59:59.999Z")).is_ok());
        assert!(matches!(check_demand_open(PoolStatus::Open, cutoff, cutoff), Err(RuleError::DeadlinePassed(_))));
        assert!(matches!(
            check_demand_open(PoolStatus::Cancelled, cutoff, at("2026-11-20T00:00:00Z")),
            Err(RuleError::InvalidTransition(_))
        ));
    }

    #[test]
    fn the_allocation_message_says_how_much_remains() {
        // SCENARIOS.md: Kedungkandang has 4,000 kg of RDKK allocation and asks for 5,000 kg.
        let error = check_allocation(dec!(4000), dec!(0), dec!(5000), "kg").unwrap_err();
        assert_eq!(error.to_string(), "quantity: exceeds the remaining allocation: 4,000 kg remain");
        assert!(check_allocation(dec!(4000), dec!(0), dec!(4000), "kg").is_ok());
        assert!(check_allocation(dec!(15000), dec!(12000), dec!(3000), "kg").is_ok());
        assert!(check_allocation(dec!(15000), dec!(12000), dec!(3000.5), "kg").is_err());
    }

    #[test]
    fn cutoffs_fall_before_deliveries_and_extensions_only_move_later() {
        let window = DeliveryWindow::parse("2026-12-01".parse().unwrap(), "2026-12-15".parse().unwrap()).unwrap();
        let now = at("2026-11-20T00:00:00Z");
        let cutoff = at("2026-11-25T10:00:00Z");
        assert!(check_new_cutoff(cutoff, &window, now).is_ok());
        assert!(check_new_cutoff(at("2026-11-30T17:00:00Z"), &window, now).is_err(), "1 December in WIB");
        assert!(check_new_cutoff(at("2026-11-19T00:00:00Z"), &window, now).is_err());
        assert!(check_extension(PoolStatus::Open, cutoff, at("2026-11-26T10:00:00Z"), &window, now).is_ok());
        assert!(check_extension(PoolStatus::Open, cutoff, at("2026-11-24T10:00:00Z"), &window, now).is_err());
        assert!(check_extension(PoolStatus::Open, cutoff, at("2026-11-26T10:00:00Z"), &window, cutoff).is_err());
        assert!(DeliveryWindow::parse("2026-12-15".parse().unwrap(), "2026-12-01".parse().unwrap()).is_err());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(dec!(4000)), "4,000");
        assert_eq!(group_thousands(dec!(39300000)), "39,300,000");
        assert_eq!(group_thousands(dec!(1637.50)), "1,637.5");
        assert_eq!(group_thousands(dec!(999)), "999");
        assert_eq!(group_thousands(dec!(0)), "0");
    }
}
