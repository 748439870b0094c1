//! Allocating a lot's awarded quantities to the cooperatives' demand lines.
//!
//! Cooperatives are taken in a deterministic order (largest total demand first, then by id) and filled from the
//! awarded suppliers in rank order, so each cooperative is served by as few suppliers as possible and at most one
//! cooperative is split at each boundary between suppliers. When the award falls short of the demand, each line gets
//! its pro-rata share, rounded to whole units by the largest-remainder method, so no unit is created or lost.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

/// A cooperative's demand line in the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandLine {
    pub line_id: Uuid,
    pub cooperative_id: Uuid,
    pub quantity: Decimal,
}

/// A supplier's awarded quantity, in rank order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardedSupply {
    pub bid_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price: Decimal,
    pub quantity: Decimal,
}

/// Part of a demand line served by one supplier at its awarded price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub line_id: Uuid,
    pub cooperative_id: Uuid,
    pub bid_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price: Decimal,
    pub quantity: Decimal,
}

/// Orders lines: cooperatives by total demand (largest first, then id), each cooperative's lines by id.
fn ordered(lines: &[DemandLine]) -> Vec<DemandLine> {
    let mut totals: HashMap<Uuid, Decimal> = HashMap::new();
    for line in lines {
        *totals.entry(line.cooperative_id).or_default() += line.quantity;
    }
    // Keys computed once per line: the comparison then costs no hash look-ups.
    let mut keyed: Vec<(std::cmp::Reverse<Decimal>, Uuid, Uuid, &DemandLine)> = lines
        .iter()
        .map(|line| {
            let total = totals.get(&line.cooperative_id).copied().unwrap_or_default();
            (std::cmp::Reverse(total), line.cooperative_id, line.line_id, line)
        })
        .collect();
    keyed.sort_unstable_by_key(|a| (a.0, a.1, a.2));
    keyed.into_iter().map(|(_, _, _, line)| line.clone()).collect()
}

/// Each line's share of `available` when it is less than the total demand: proportional, floored to whole units,
/// then the units left over go one at a time to the largest remainders (ties to the earlier line); any fraction
/// below one unit goes the same way. The shares add up to `available` exactly and none exceeds its line.
pub fn pro_rata(lines: &[DemandLine], available: Decimal) -> Vec<Decimal> {
    let total: Decimal = lines.iter().map(|l| l.quantity).sum();
    if total <= available {
        return lines.iter().map(|l| l.quantity).collect();
    }
    if available <= Decimal::ZERO || total.is_zero() {
        return vec![Decimal::ZERO; lines.len()];
    }
    let exact: Vec<Decimal> = lines.iter().map(|l| l.quantity * available / total).collect();
    let mut shares: Vec<Decimal> = exact.iter().zip(lines).map(|(e, l)| e.floor().min(l.quantity)).collect();
    let mut leftover = available - shares.iter().copied().sum::<Decimal>();
    let mut by_remainder: Vec<usize> = (0..lines.len()).collect();
    by_remainder.sort_by(|&a, &b| (exact[b] - shares[b]).cmp(&(exact[a] - shares[a])).then(a.cmp(&b)));
    for &index in &by_remainder {
        if leftover < Decimal::ONE {
            break;
        }
        if shares[index] + Decimal::ONE <= lines[index].quantity {
            shares[index] += Decimal::ONE;
            leftover -= Decimal::ONE;
        }
    }
    // What is left is less than a unit per line (or lines too small to take a whole one): hand it out in order.
    for &index in &by_remainder {
        if leftover <= Decimal::ZERO {
            break;
        }
        let take = (lines[index].quantity - shares[index]).min(leftover);
        shares[index] += take;
        leftover -= take;
    }
    shares
}

/// Allocates the awarded supplies (in rank order) to the demand lines.
pub fn allocate(lines: &[DemandLine], supplies: &[AwardedSupply]) -> Vec<Allocation> {
    let lines = ordered(lines);
    let available: Decimal = supplies.iter().map(|s| s.quantity).sum();
    let targets = pro_rata(&lines, available);
    let mut allocations = Vec::new();
    let mut supply_index = 0;
    let mut supply_left = supplies.first().map_or(Decimal::ZERO, |s| s.quantity);
    for (line, target) in lines.iter().zip(targets) {
        let mut needed = target;
        while needed > Decimal::ZERO && supply_index < supplies.len() {
            if supply_left <= Decimal::ZERO {
                supply_index += 1;
                supply_left = supplies.get(supply_index).map_or(Decimal::ZERO, |s| s.quantity);
                continue;
            }
            let supply = &supplies[supply_index];
            let take = needed.min(supply_left);
            allocations.push(Allocation {
                line_id: line.line_id,
                cooperative_id: line.cooperative_id,
                bid_id: supply.bid_id,
                supplier_id: supply.supplier_id,
                unit_price: supply.unit_price,
                quantity: take,
            });
            needed -= take;
            supply_left -= take;
        }
    }
    allocations
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;
    use std::collections::HashSet;

    const CEMOROKANDANG: u128 = 1;
    const MADYOPURO: u128 = 2;
    const KEDUNGKANDANG: u128 = 3;

    fn line(id: u128, cooperative: u128, quantity: Decimal) -> DemandLine {
        DemandLine { line_id: Uuid::from_u128(id), cooperative_id: Uuid::from_u128(cooperative), quantity }
    }

    fn supply(id: u128, price: Decimal, quantity: Decimal) -> AwardedSupply {
        AwardedSupply {
            bid_id: Uuid::from_u128(id),
            supplier_id: Uuid::from_u128(100 + id),
            unit_price: price,
            quantity,
        }
    }

    fn scenario_lines() -> Vec<DemandLine> {
        vec![line(11, KEDUNGKANDANG, dec!(4000)), line(12, MADYOPURO, dec!(8000)), line(13, CEMOROKANDANG, dec!(12000))]
    }

    #[test]
    fn whole_units_go_to_the_largest_remainders_even_for_small_lines() {
        // 3 units for lines of 1 and 5: exact shares 0.5 and 2.5; floors 0 and 2; the one unit left goes to the
        // largest remainder (a tie, so the earlier line).
        let lines = [line(1, 1, dec!(1)), line(2, 2, dec!(5))];
        assert_eq!(pro_rata(&lines, dec!(3)), vec![dec!(1), dec!(2)]);
        // 4 units for lines of 1 and 6 (exact 0.571 and 3.429): the small line's larger remainder wins the unit.
        let lines = [line(1, 1, dec!(6)), line(2, 2, dec!(1))];
        assert_eq!(pro_rata(&lines, dec!(4)), vec![dec!(3), dec!(1)]);
    }

    #[test]
    fn the_malang_award_splits_only_cemorokandang() {
        let allocations =
            allocate(&scenario_lines(), &[supply(1, dec!(1620), dec!(10000)), supply(2, dec!(1650), dec!(14000))]);
        let summary: Vec<_> =
            allocations.iter().map(|a| (a.cooperative_id.as_u128(), a.bid_id.as_u128(), a.quantity)).collect();
        assert_eq!(
            summary,
            vec![
                (CEMOROKANDANG, 1, dec!(10000)),
                (CEMOROKANDANG, 2, dec!(2000)),
                (MADYOPURO, 2, dec!(8000)),
                (KEDUNGKANDANG, 2, dec!(4000)),
            ]
        );
    }

    #[test]
    fn a_short_award_gives_each_cooperative_its_pro_rata_share() {
        // Had the bids covered only 18,000 kg: 75% each.
        let allocations =
            allocate(&scenario_lines(), &[supply(1, dec!(1620), dec!(10000)), supply(2, dec!(1650), dec!(8000))]);
        let mut per_cooperative: HashMap<u128, Decimal> = HashMap::new();
        for allocation in &allocations {
            *per_cooperative.entry(allocation.cooperative_id.as_u128()).or_default() += allocation.quantity;
        }
        assert_eq!(per_cooperative[&CEMOROKANDANG], dec!(9000));
        assert_eq!(per_cooperative[&MADYOPURO], dec!(6000));
        assert_eq!(per_cooperative[&KEDUNGKANDANG], dec!(3000));
    }

    #[test]
    fn largest_remainders_get_the_leftover_units() {
        let lines = vec![line(1, 1, dec!(1)), line(2, 2, dec!(1)), line(3, 3, dec!(1))];
        assert_eq!(pro_rata(&lines, dec!(2)), vec![dec!(1), dec!(1), dec!(0)]);
        let lines = vec![line(1, 1, dec!(10)), line(2, 2, dec!(20)), line(3, 3, dec!(30))];
        // Exact shares 1.6667, 3.3333, 5: floors 1, 3, 5 and one unit left for the largest remainder.
        assert_eq!(pro_rata(&lines, dec!(10)), vec![dec!(2), dec!(3), dec!(5)]);
    }

    fn arbitrary_case() -> impl Strategy<Value = (Vec<DemandLine>, Vec<AwardedSupply>)> {
        let lines = prop::collection::vec((0_u128..6, 1_i64..20_000, 0_i64..1000), 1..12);
        let supplies = prop::collection::vec((1_500_i64..1_800, 1_i64..30_000), 0..5);
        (lines, supplies).prop_map(|(lines, supplies)| {
            let lines = lines
                .into_iter()
                .enumerate()
                .map(|(i, (coop, whole, grams))| line(i as u128 + 1, coop, Decimal::new(whole * 1000 + grams, 3)))
                .collect();
            let supplies = supplies
                .into_iter()
                .enumerate()
                .map(|(i, (price, quantity))| supply(i as u128 + 1, Decimal::from(price), Decimal::from(quantity)))
                .collect();
            (lines, supplies)
        })
    }

    proptest! {
        #[test]
        fn allocation_creates_and_loses_nothing_and_splits_little((lines, supplies) in arbitrary_case()) {
            let allocations = allocate(&lines, &supplies);
            let demand: Decimal = lines.iter().map(|l| l.quantity).sum();
            let available: Decimal = supplies.iter().map(|s| s.quantity).sum();
            let allocated: Decimal = allocations.iter().map(|a| a.quantity).sum();
            prop_assert_eq!(allocated, demand.min(available), "no unit created or lost");
            for line in &lines {
                let got: Decimal = allocations.iter().filter(|a| a.line_id == line.line_id).map(|a| a.quantity).sum();
                prop_assert!(got <= line.quantity, "a line never gets more than it asked");
                if available < demand {
                    let exact = line.quantity * available / demand;
                    prop_assert!((got - exact).abs() < Decimal::ONE, "within a unit of the pro-rata share");
                }
            }
            for supply in &supplies {
                let used: Decimal = allocations.iter().filter(|a| a.bid_id == supply.bid_id).map(|a| a.quantity).sum();
                prop_assert!(used <= supply.quantity, "never more than a supplier was awarded");
            }
            // Each boundary between suppliers splits at most one cooperative.
            let cooperatives: HashSet<Uuid> = lines.iter().map(|l| l.cooperative_id).collect();
            let split = cooperatives
                .iter()
                .filter(|c| allocations.iter().filter(|a| a.cooperative_id == **c).map(|a| a.bid_id).collect::<HashSet<_>>().len() > 1)
                .count();
            prop_assert!(split <= supplies.len().saturating_sub(1));
            // Deterministic whatever order the lines arrive in.
            let mut reversed = lines.clone();
            reversed.reverse();
            prop_assert_eq!(allocate(&reversed, &supplies), allocations);
        }
    }
}
