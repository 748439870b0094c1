//! Orders from a confirmed award, and the award that stands following them: a re-award moves an order's quantity to
//! the next-ranked bid, a cancellation takes it back.

use super::*;

/// The next human-readable order number, e.g. `KMP-MLG-2026-000123`: unique and sortable within a prefix.
pub(super) async fn next_order_number(
    connection: &impl ConnectionTrait,
    prefix: &str,
    now: DateTime<Utc>,
) -> ServiceResult<String> {
    let year = date_in_wib(now).year();
    let current =
        order_sequence::Entity::find_by_id((prefix.to_owned(), year)).lock_exclusive().one(connection).await?;
    let number = match current {
        Some(row) => {
            let next = row.last_number + 1;
            let mut changed = row.into_active_model();
            changed.last_number = Set(next);
            changed.update(connection).await?;
            next
        }
        None => {
            order_sequence::ActiveModel { prefix: Set(prefix.to_owned()), year: Set(year), last_number: Set(1) }
                .insert(connection)
                .await?;
            1
        }
    };
    Ok(format!("{prefix}-{year}-{number:06}"))
}

/// One new order's line before it is stored.
pub(super) struct NewLine {
    demand_line_id: Uuid,
    delivery_point_id: Uuid,
    quantity: Decimal,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_order(
    connection: &WriteTransaction,
    events: &EventBus,
    prefix: &str,
    tender_row: &tender::Model,
    winning_bid: &bid::Model,
    cooperative_id: Uuid,
    lines: &[NewLine],
    now: DateTime<Utc>,
    replaces: Option<(Uuid, String)>,
) -> ServiceResult<purchase_order::Model> {
    let unit_price = from_stored(winning_bid.unit_price_e4);
    let total: Decimal = lines.iter().map(|l| l.quantity * unit_price).sum();
    let order = purchase_order::ActiveModel {
        id: Set(Uuid::now_v7()),
        number: Set(next_order_number(connection, prefix, now).await?),
        tender_id: Set(tender_row.id),
        lot_id: Set(winning_bid.lot_id),
        bid_id: Set(winning_bid.id),
        cooperative_id: Set(cooperative_id),
        supplier_id: Set(winning_bid.supplier_id),
        status: Set(OrderStatus::Issued.as_str().into()),
        total_e4: Set(to_stored(total)?),
        issued_at: Set(now),
        accept_by: Set(now + Duration::days(i64::from(tender_row.acceptance_days))),
        accepted_at: Set(None),
        decline_reason: Set(None),
        cancel_reason: Set(None),
        close_reason: Set(None),
        closed_at: Set(None),
        replaces_order_id: Set(replaces.as_ref().map(|(id, _)| *id)),
        replaced_by_order_id: Set(None),
        replacement_reason: Set(replaces.map(|(_, reason)| reason)),
        updated_at: Set(now),
    }
    .insert(connection)
    .await?;
    // Due date: the award day (WIB) plus the winning bid's lead time.
    let due_date = date_in_wib(now) + Duration::days(i64::from(winning_bid.lead_time_days));
    for line in lines {
        purchase_order_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            demand_line_id: Set(line.demand_line_id),
            commodity_id: Set(tender_row.commodity_id),
            delivery_point_id: Set(line.delivery_point_id),
            quantity_e4: Set(to_stored(line.quantity)?),
            unit_price_e4: Set(winning_bid.unit_price_e4),
            line_total_e4: Set(to_stored(line.quantity * unit_price)?),
            due_date: Set(due_date),
            dispatched_e4: Set(0),
            received_e4: Set(0),
            accepted_e4: Set(0),
            rejected_e4: Set(0),
        }
        .insert(connection)
        .await?;
    }
    let notice = Notice::OrderIssued {
        order_number: order.number.clone(),
        total: from_stored(order.total_e4),
        accept_by: order.accept_by,
    };
    order_changed(connection, events, &order, "ISSUED", Some((notice, Parties::Both)), now).await?;
    Ok(order)
}

/// Issues the purchase orders of a confirmed award, in the award's transaction: one per cooperative and supplier,
/// a line per allocation.
pub async fn issue_orders(
    connection: &WriteTransaction,
    events: &EventBus,
    prefix: &str,
    tender_row: &tender::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<purchase_order::Model>> {
    let allocations = award_allocation::Entity::find()
        .filter(award_allocation::Column::TenderId.eq(tender_row.id))
        .order_by_asc(award_allocation::Column::Id)
        .all(connection)
        .await?;
    let demand_lines =
        demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(tender_row.pool_id)).all(connection).await?;
    let delivery_point_of: std::collections::HashMap<Uuid, Uuid> =
        demand_lines.iter().map(|line| (line.id, line.delivery_point_id)).collect();
    let bids = bid::Entity::find().filter(bid::Column::TenderId.eq(tender_row.id)).all(connection).await?;
    // BTreeMap: orders are numbered in a deterministic order.
    let mut grouped: BTreeMap<(Uuid, Uuid), Vec<&award_allocation::Model>> = BTreeMap::new();
    for allocation in &allocations {
        grouped.entry((allocation.cooperative_id, allocation.bid_id)).or_default().push(allocation);
    }
    let mut orders = Vec::new();
    for ((cooperative_id, bid_id), shares) in grouped {
        let winning_bid =
            bids.iter().find(|b| b.id == bid_id).ok_or_else(|| ServiceError::internal("allocation without bid"))?;
        let lines: Vec<NewLine> = shares
            .iter()
            .map(|share| NewLine {
                demand_line_id: share.demand_line_id,
                delivery_point_id: delivery_point_of.get(&share.demand_line_id).copied().unwrap_or_default(),
                quantity: from_stored(share.quantity_e4),
            })
            .collect();
        let order =
            insert_order(connection, events, prefix, tender_row, winning_bid, cooperative_id, &lines, now, None)
                .await?;
        audit::record(
            connection,
            now,
            AuditRecord::anonymous(
                "order.issued",
                "purchase_order",
                order.id,
                json!({ "number": order.number, "tender": tender_row.id, "total": from_stored(order.total_e4).to_string() }),
            ),
        )
        .await?;
        orders.push(order);
    }
    Ok(orders)
}

/// Moves a lot's award records with its orders, in the caller's transaction, when an order stops counting
/// (`stopped`: declined or cancelled) or a replacement starts (`started`: a re-award). The orders are the truth of who
/// supplies what at which price: the order's quantity and cost leave (or join) its bid's awarded quantity, the lot's
/// awarded quantity and cost, and the allocations of its demand lines; its award price observations are taken back
/// (or recorded). Only the order's own rows are touched, so a decline costs the same on a national lot as on a small
/// one, and no read can count a declined quantity, or a re-awarded one twice.
pub(super) async fn award_follows_orders(
    txn: &WriteTransaction,
    events: &EventBus,
    tender_row: &tender::Model,
    stopped: Option<&purchase_order::Model>,
    started: Option<&purchase_order::Model>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    for (order, joins) in stopped.map(|o| (o, false)).into_iter().chain(started.map(|o| (o, true))) {
        let lines = OrderingService::lines_of(txn, order.id).await?;
        let sign = if joins { 1 } else { -1 };
        let quantity: i64 = lines.iter().map(|l| l.quantity_e4).sum::<i64>() * sign;
        let cost: i64 = lines.iter().map(|l| l.line_total_e4).sum::<i64>() * sign;
        let plus = |column: sea_orm::sea_query::Expr, delta: i64| {
            use sea_orm::sea_query::ExprTrait;
            sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::coalesce([column, 0_i64.into()])).add(delta)
        };
        bid::Entity::update_many()
            .col_expr(bid::Column::AwardedQuantityE4, plus(bid::Column::AwardedQuantityE4.into_expr(), quantity))
            .filter(bid::Column::Id.eq(order.bid_id))
            .exec(txn)
            .await?;
        lot::Entity::update_many()
            .col_expr(lot::Column::AwardedQuantityE4, plus(lot::Column::AwardedQuantityE4.into_expr(), quantity))
            .col_expr(lot::Column::TotalCostE4, plus(lot::Column::TotalCostE4.into_expr(), cost))
            .filter(lot::Column::Id.eq(order.lot_id))
            .exec(txn)
            .await?;
        for line in &lines {
            // An allocation is a demand line's share from one bid: the order's line adds to it or leaves it.
            let existing = award_allocation::Entity::find()
                .filter(award_allocation::Column::LotId.eq(order.lot_id))
                .filter(award_allocation::Column::DemandLineId.eq(line.demand_line_id))
                .filter(award_allocation::Column::BidId.eq(order.bid_id))
                .one(txn)
                .await?;
            let remaining = existing.as_ref().map_or(0, |a| a.quantity_e4) + line.quantity_e4 * sign;
            match existing {
                Some(allocation) if remaining <= 0 => {
                    award_allocation::Entity::delete_by_id(allocation.id).exec(txn).await?;
                }
                Some(allocation) => {
                    let mut changed = allocation.into_active_model();
                    changed.quantity_e4 = Set(remaining);
                    changed.update(txn).await?;
                }
                None if remaining > 0 => {
                    award_allocation::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        tender_id: Set(order.tender_id),
                        lot_id: Set(order.lot_id),
                        demand_line_id: Set(line.demand_line_id),
                        cooperative_id: Set(order.cooperative_id),
                        bid_id: Set(order.bid_id),
                        supplier_id: Set(order.supplier_id),
                        unit_price_e4: Set(line.unit_price_e4),
                        quantity_e4: Set(remaining),
                        created_at: Set(now),
                    }
                    .insert(txn)
                    .await?;
                }
                None => return Err(ServiceError::internal("an order line without its allocation")),
            }
        }
        if joins {
            let whole_lines = |line: &purchase_order_line::Model| from_stored(line.quantity_e4);
            let source = crate::prices::SOURCE_AWARD;
            crate::prices::record_order_prices(
                txn,
                events,
                source,
                tender_row,
                OrdersOf::Order(order.id),
                now,
                whole_lines,
            )
            .await?;
        } else {
            crate::prices::retract_order(txn, tender_row.id, order.id, crate::prices::SOURCE_AWARD).await?;
        }
    }
    Ok(())
}

impl OrderingService {
    /// The agency cancels an order from which nothing has been delivered.
    pub async fn cancel(
        &self,
        actor: &Actor,
        order_id: Uuid,
        reason: &str,
    ) -> ServiceResult<read_models::PurchaseOrder> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let lines = Self::lines_of(&txn, order.id).await?;
        if lines.iter().any(|l| l.received_e4 > 0) {
            return Err(ServiceError::Conflict(
                "goods have been delivered against this order; short-close it instead".into(),
            ));
        }
        let to = status_of(&order)?.apply(OrderEvent::Cancel)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.cancel_reason = Set(Some(reason.clone()))).await?;
        let tender_row = Self::tender_of(&txn, &updated).await?;
        award_follows_orders(&txn, &self.events, &tender_row, Some(&updated), None, now).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "order.cancelled", "purchase_order", order_id, json!({ "reason": reason })),
        )
        .await?;
        order_changed(&txn, &self.events, &updated, "CANCELLED", None, now).await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// The agency re-awards a declined order, or one not accepted in time, to the next-ranked responsive bid of the
    /// same lot whose offer is still valid and has capacity left. Returns the new order.
    pub async fn re_award(
        &self,
        actor: &Actor,
        order_id: Uuid,
        reason: &str,
    ) -> ServiceResult<read_models::PurchaseOrder> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let status = status_of(&order)?;
        let expired = rules::check_re_award(status, order.accept_by, now)?;
        if order.replaced_by_order_id.is_some() {
            return Err(ServiceError::Conflict("this order has already been re-awarded".into()));
        }
        let lines = Self::lines_of(&txn, order.id).await?;
        let quantity: Decimal = lines.iter().map(|l| from_stored(l.quantity_e4)).sum();
        let tender_row = Self::tender_of(&txn, &order).await?;
        let candidates = bid::Entity::find()
            .filter(bid::Column::LotId.eq(order.lot_id))
            .filter(bid::Column::Rank.is_not_null())
            .filter(bid::Column::SupplierId.ne(order.supplier_id))
            .all(&txn)
            .await?;
        let standby: Vec<rules::StandbyBid<Uuid>> = candidates
            .iter()
            .map(|b| rules::StandbyBid {
                id: b.id,
                rank: b.rank.and_then(|r| u32::try_from(r).ok()).unwrap_or(u32::MAX),
                offered: from_stored(b.quantity_e4),
                already_awarded: from_stored(b.awarded_quantity_e4.unwrap_or(0)),
                valid_until: b.received_at + Duration::days(i64::from(b.validity_days)),
            })
            .collect();
        let next = rules::next_bid_for_re_award(&standby, quantity, now)
            .and_then(|id| candidates.into_iter().find(|b| b.id == id));
        let Some(next) = next else {
            return Err(ServiceError::Conflict(
                "no other responsive bid is still valid with capacity for this quantity".into(),
            ));
        };
        let new_lines: Vec<NewLine> = lines
            .iter()
            .map(|l| NewLine {
                demand_line_id: l.demand_line_id,
                delivery_point_id: l.delivery_point_id,
                quantity: from_stored(l.quantity_e4),
            })
            .collect();
        let replacement = insert_order(
            &txn,
            &self.events,
            &self.prefix,
            &tender_row,
            &next,
            order.cooperative_id,
            &new_lines,
            now,
            Some((order.id, reason.clone())),
        )
        .await?;
        let replacement_id = replacement.id;
        let old_status = if expired { OrderStatus::Issued.apply(OrderEvent::Cancel)? } else { status };
        let replaced = Self::set_status(&txn, order, old_status, now, |o| {
            o.replaced_by_order_id = Set(Some(replacement_id));
            o.replacement_reason = Set(Some(reason.clone()));
            if expired {
                o.cancel_reason = Set(Some("not accepted in time; re-awarded".into()));
            }
        })
        .await?;
        // An order that was only overdue stops counting now; a declined one stopped when it was declined.
        let stopped = expired.then_some(&replaced);
        award_follows_orders(&txn, &self.events, &tender_row, stopped, Some(&replacement), now).await?;
        let summary = json!({ "replacedBy": replacement.id, "number": replacement.number, "toSupplier": next.supplier_id, "reason": reason });
        audit::record(&txn, now, AuditRecord::by(actor, "order.re_awarded", "purchase_order", order_id, summary))
            .await?;
        let notice = Notice::OrderReAwarded {
            order_number: replaced.number.clone(),
            replacement_number: replacement.number.clone(),
            reason: reason.clone(),
        };
        order_changed(&txn, &self.events, &replaced, "RE_AWARDED", Some((notice, Parties::Both)), now).await?;
        txn.commit().await?;
        replacement.try_into()
    }
}
