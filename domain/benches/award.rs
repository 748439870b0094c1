//! Evaluation and allocation of one lot at national scale: 80,000 cooperatives' demand lines and 1,000 bids.
//!
//!     cargo bench -p lumbung-domain --bench award

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use lumbung_domain::{
    allocation::{AwardedSupply, DemandLine, allocate},
    evaluation::{LotTerms, SubmittedBid, evaluate},
    tender::AwardCriterion,
};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A small deterministic generator, so every run measures the same lot.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

fn national_lot() -> (LotTerms, Vec<SubmittedBid>, Vec<DemandLine>) {
    let mut random = Lcg(2026);
    let lines: Vec<DemandLine> = (0..80_000_u128)
        .map(|i| DemandLine {
            line_id: Uuid::from_u128(1_000_000 + i),
            cooperative_id: Uuid::from_u128(i),
            quantity: Decimal::from(500 + random.next(20_000)),
        })
        .collect();
    let total: Decimal = lines.iter().map(|l| l.quantity).sum();
    let start = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
    let bids: Vec<SubmittedBid> = (0..1_000_u128)
        .map(|i| SubmittedBid {
            bid_id: Uuid::from_u128(10_000_000 + i),
            supplier_id: Uuid::from_u128(20_000_000 + i),
            unit_price: Decimal::new(150_000 + random.next(30_000) as i64, 2),
            quantity: Decimal::from(50_000 + random.next(2_000_000)),
            lead_time_days: random.next(14) as u32,
            received_at: start + Duration::milliseconds(random.next(86_400_000) as i64),
            withdrawn: random.next(50) == 0,
        })
        .collect();
    let terms = LotTerms {
        quantity: total,
        max_unit_price: Decimal::from(1_750),
        partial_bids_allowed: true,
        min_partial_quantity: Some(Decimal::from(10_000)),
        min_responsive_bids: 2,
        criterion: AwardCriterion::LowestPrice,
    };
    (terms, bids, lines)
}

fn award(c: &mut Criterion) {
    let (terms, bids, lines) = national_lot();
    let mut group = c.benchmark_group("national lot (80,000 demand lines, 1,000 bids)");
    group.sample_size(20);
    group.bench_function("evaluate", |b| b.iter(|| evaluate(black_box(&terms), black_box(&bids))));
    let evaluation = evaluate(&terms, &bids);
    let supplies: Vec<AwardedSupply> = evaluation
        .awards()
        .map(|bid| AwardedSupply {
            bid_id: bid.bid_id,
            supplier_id: bid.supplier_id,
            unit_price: bid.unit_price,
            quantity: bid.awarded_quantity,
        })
        .collect();
    group.bench_function("allocate", |b| b.iter(|| allocate(black_box(&lines), black_box(&supplies))));
    group.bench_function("evaluate and allocate", |b| {
        b.iter(|| {
            let evaluation = evaluate(black_box(&terms), black_box(&bids));
            let supplies: Vec<AwardedSupply> = evaluation
                .awards()
                .map(|bid| AwardedSupply {
                    bid_id: bid.bid_id,
                    supplier_id: bid.supplier_id,
                    unit_price: bid.unit_price,
                    quantity: bid.awarded_quantity,
                })
                .collect();
            allocate(black_box(&lines), &supplies)
        })
    });
    group.finish();
}

criterion_group!(benches, award);
criterion_main!(benches);
