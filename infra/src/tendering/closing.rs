//! Closing at the deadline (exactly once, on any number of nodes), evaluation, and the confirmed award: orders,
//! price observations and notices in one transaction.

use super::*;

impl TenderingService {
    /// Closes every tender whose deadline has passed. Safe on any number of nodes: each tender is claimed by one
    /// conditional update, and only the node whose update took effect evaluates it. Returns the tenders this call closed.
    pub async fn close_due(&self) -> ServiceResult<Vec<Uuid>> {
        let now = self.clock.now();
        let due: Vec<Uuid> = tender::Entity::find()
            .select_only()
            .column(tender::Column::Id)
            .filter(tender::Column::Status.eq(TenderStatus::Open.as_str()))
            .filter(tender::Column::DeadlineAt.lte(now))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut closed = Vec::new();
        for tender_id in due {
            if self.close(tender_id).await? {
                closed.push(tender_id);
            }
        }
        Ok(closed)
    }

    /// Closes and evaluates one tender if it is due and still open; false when another caller already did.
    pub async fn close(&self, tender_id: Uuid) -> ServiceResult<bool> {
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let claimed = tender::Entity::update_many()
            .col_expr(tender::Column::Status, Expr::value(TenderStatus::Closed.as_str()))
            .col_expr(tender::Column::ClosedAt, Expr::value(now))
            .col_expr(tender::Column::UpdatedAt, Expr::value(now))
            .filter(tender::Column::Id.eq(tender_id))
            .filter(tender::Column::Status.eq(TenderStatus::Open.as_str()))
            .filter(tender::Column::DeadlineAt.lte(now))
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(false);
        }
        let row = tender::Entity::find_by_id(tender_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("tender".into()))?;
        let lots = lot::Entity::find()
            .filter(lot::Column::TenderId.eq(tender_id))
            .order_by_asc(lot::Column::Number)
            .all(&txn)
            .await?;
        let bids = bid::Entity::find().filter(bid::Column::TenderId.eq(tender_id)).all(&txn).await?;
        let lines = demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(row.pool_id)).all(&txn).await?;
        // Kecamatan only matter when the tender has a lot per kecamatan.
        let points = if lots.iter().any(|l| l.kecamatan.is_some()) {
            delivery_points_of_pool(&txn, row.pool_id).await?
        } else {
            vec![]
        };
        let kecamatan_of: HashMap<Uuid, String> = points.into_iter().map(|p| (p.id, p.kecamatan)).collect();
        let mut any_awarded = false;
        let mut summary_lots = Vec::new();
        for lot_row in &lots {
            let terms = LotTerms {
                quantity: from_stored(lot_row.quantity_e4),
                max_unit_price: from_stored(lot_row.max_unit_price_e4),
                partial_bids_allowed: row.partial_bids_allowed,
                min_partial_quantity: row.min_partial_quantity_e4.map(from_stored),
                min_responsive_bids: u32::try_from(row.min_responsive_bids)
                    .map_err(|_| ServiceError::internal("a stored minimum of responsive bids is negative"))?,
                criterion: criterion_of(&row)?,
            };
            let submitted: Vec<SubmittedBid> = bids
                .iter()
                .filter(|b| b.lot_id == lot_row.id)
                .map(|b| {
                    Ok(SubmittedBid {
                        bid_id: b.id,
                        supplier_id: b.supplier_id,
                        unit_price: from_stored(b.unit_price_e4),
                        quantity: from_stored(b.quantity_e4),
                        lead_time_days: u32::try_from(b.lead_time_days)
                            .map_err(|_| ServiceError::internal("a stored lead time is negative"))?,
                        received_at: b.received_at,
                        withdrawn: BidStatus::parse(&b.status)? == BidStatus::Withdrawn,
                    })
                })
                .collect::<ServiceResult<_>>()?;
            let result = evaluation::evaluate(&terms, &submitted);
            for evaluated in &result.bids {
                bid::Entity::update_many()
                    .col_expr(bid::Column::Rank, Expr::value(evaluated.rank.and_then(|r| i32::try_from(r).ok())))
                    .col_expr(bid::Column::AwardedQuantityE4, Expr::value(to_stored(evaluated.awarded_quantity)?))
                    .col_expr(bid::Column::Rejection, Expr::value(evaluated.rejection.map(|r| r.as_str().to_owned())))
                    .filter(bid::Column::Id.eq(evaluated.bid_id))
                    .exec(&txn)
                    .await?;
            }
            let outcome = if result.unsuccessful { LOT_UNSUCCESSFUL } else { LOT_AWARDED };
            any_awarded |= !result.unsuccessful;
            let mut changed = lot_row.clone().into_active_model();
            changed.outcome = Set(outcome.into());
            changed.awarded_quantity_e4 = Set(Some(to_stored(result.awarded_quantity)?));
            changed.total_cost_e4 = Set(Some(to_stored(result.total_cost)?));
            changed.update(&txn).await?;
            summary_lots.push(json!({ "lot": lot_row.number, "outcome": outcome, "bids": submitted.len() }));
            if result.unsuccessful {
                continue;
            }
            let lot_lines: Vec<DemandLine> = lines
                .iter()
                .filter(|line| {
                    lot_row.kecamatan.as_ref().is_none_or(|k| kecamatan_of.get(&line.delivery_point_id) == Some(k))
                })
                .map(|line| DemandLine {
                    line_id: line.id,
                    cooperative_id: line.cooperative_id,
                    quantity: from_stored(line.quantity_e4),
                })
                .collect();
            let supplies: Vec<AwardedSupply> = result
                .awards()
                .map(|b| AwardedSupply {
                    bid_id: b.bid_id,
                    supplier_id: b.supplier_id,
                    unit_price: b.unit_price,
                    quantity: b.awarded_quantity,
                })
                .collect();
            let rows = allocation::allocate(&lot_lines, &supplies)
                .into_iter()
                .map(|share| {
                    Ok(award_allocation::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        tender_id: Set(tender_id),
                        lot_id: Set(lot_row.id),
                        demand_line_id: Set(share.line_id),
                        cooperative_id: Set(share.cooperative_id),
                        bid_id: Set(share.bid_id),
                        supplier_id: Set(share.supplier_id),
                        unit_price_e4: Set(to_stored(share.unit_price)?),
                        quantity_e4: Set(to_stored(share.quantity)?),
                        created_at: Set(now),
                    })
                })
                .collect::<ServiceResult<Vec<_>>>()?;
            // Ten columns a row: 1,000 rows stay well under both backends' bind-parameter limits.
            for chunk in rows.chunks(1_000) {
                award_allocation::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
            }
        }
        let mut closed_row = row;
        closed_row.status = TenderStatus::Closed.as_str().into();
        if !any_awarded {
            tender::Entity::update_many()
                .col_expr(tender::Column::Status, Expr::value(TenderStatus::Unsuccessful.as_str()))
                .filter(tender::Column::Id.eq(tender_id))
                .exec(&txn)
                .await?;
            closed_row.status = TenderStatus::Unsuccessful.as_str().into();
        }
        self.tender_event(&txn, &closed_row, "CLOSED", now).await?;
        let summary = json!({ "lots": summary_lots, "bids": bids.len() });
        audit::record(&txn, now, AuditRecord::anonymous("tender.closed", "tender", tender_id, summary)).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The agency confirms the proposed award; in the same transaction the allocations become purchase orders.
    pub async fn confirm_award(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<read_models::Tender> {
        actor.require(Permission::ManageTendering)?;
        // A tender past its deadline is closed (and evaluated) first if the background task has not yet done it.
        self.close(tender_id).await?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let row = Self::tender_for_update(&txn, tender_id).await?;
        let status = effective_status(&row, now)?;
        if status != TenderStatus::Closed {
            return Err(ServiceError::Conflict(format!(
                "only a closed tender can be awarded; this one is {}",
                status.as_str()
            )));
        }
        let mut changed = row.into_active_model();
        changed.status = Set(TenderStatus::Awarded.as_str().into());
        changed.awarded_at = Set(Some(now));
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        let orders = crate::ordering::issue_orders(&txn, &self.events, &self.order_prefix, &updated, now).await?;
        self.announce_award(&txn, &updated, &orders, now).await?;
        // Each awarded line is a price observation of the pooled price.
        let whole_lines = |line: &crate::entities::purchase_order_line::Model| from_stored(line.quantity_e4);
        let this_tender = crate::prices::OrdersOf::Tender(tender_id);
        let source = crate::prices::SOURCE_AWARD;
        crate::prices::record_order_prices(&txn, &self.events, source, &updated, this_tender, now, whole_lines).await?;
        self.tender_event(&txn, &updated, "AWARDED", now).await?;
        let summary = json!({ "orders": orders.iter().map(|o| o.number.clone()).collect::<Vec<_>>() });
        audit::record(&txn, now, AuditRecord::by(actor, "tender.awarded", "tender", tender_id, summary)).await?;
        txn.commit().await?;
        updated.try_into()
    }
}
