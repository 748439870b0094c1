//! Each party's steps on an order: the supplier accepts or declines and dispatches; the cooperative confirms what
//! arrived; either side closes.

use super::*;

#[derive(Debug, Clone)]
pub struct DispatchInput {
    pub lines: Vec<(Uuid, Decimal)>,
    pub dispatched_on: NaiveDate,
    pub vehicle: String,
    pub driver: String,
    pub expected_arrival: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct ReceiptLineInput {
    pub order_line_id: Uuid,
    pub received: Decimal,
    pub accepted: Decimal,
    pub rejected: Decimal,
    pub reason: Option<RejectionReason>,
    pub reason_text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ConfirmationInput {
    pub dispatch_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub receiver_name: String,
    pub note: Option<String>,
    pub lines: Vec<ReceiptLineInput>,
    pub idempotency_key: Option<String>,
}

impl OrderingService {
    /// The supplier accepts its order.
    pub async fn accept(&self, actor: &Actor, order_id: Uuid) -> ServiceResult<read_models::PurchaseOrder> {
        actor.require(Permission::SubmitBids)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::Accept)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.accepted_at = Set(Some(now))).await?;
        audit::record(&txn, now, AuditRecord::by(actor, "order.accepted", "purchase_order", order_id, json!({})))
            .await?;
        order_changed(&txn, &self.events, &updated, "ACCEPTED", None, now).await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// The supplier declines its order, saying why; the agency may then re-award it.
    pub async fn decline(
        &self,
        actor: &Actor,
        order_id: Uuid,
        reason: &str,
    ) -> ServiceResult<read_models::PurchaseOrder> {
        actor.require(Permission::SubmitBids)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::Decline)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.decline_reason = Set(Some(reason.clone()))).await?;
        let tender_row = Self::tender_of(&txn, &updated).await?;
        award_follows_orders(&txn, &self.events, &tender_row, Some(&updated), None, now).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "order.declined", "purchase_order", order_id, json!({ "reason": reason })),
        )
        .await?;
        let notice = Notice::OrderDeclined { order_number: updated.number.clone(), reason: reason.clone() };
        order_changed(&txn, &self.events, &updated, "DECLINED", Some((notice, Parties::Both)), now).await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// The supplier records a dispatch; more than is still open on a line is refused.
    pub async fn dispatch(
        &self,
        actor: &Actor,
        order_id: Uuid,
        input: DispatchInput,
    ) -> ServiceResult<dispatch::Model> {
        actor.require(Permission::SubmitBids)?;
        let vehicle = bounded_text("vehicle", &input.vehicle, 1, 80)?;
        let driver = bounded_text("driver", &input.driver, 1, 80)?;
        if input.lines.is_empty() {
            return Err(ServiceError::bad_input("lines", "a dispatch carries at least one line"));
        }
        if input.expected_arrival < input.dispatched_on {
            return Err(ServiceError::bad_input("expectedArrival", "cannot be before the dispatch date"));
        }
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        if order.supplier_id != actor.organisation_id {
            return Err(ServiceError::Forbidden("only the order's supplier records dispatches".into()));
        }
        if !status_of(&order)?.accepts_dispatch() {
            return Err(ServiceError::Conflict(format!("an order that is {} takes no dispatches", order.status)));
        }
        let lines = Self::lines_of(&txn, order.id).await?;
        let record = dispatch::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            dispatched_on: Set(input.dispatched_on),
            vehicle: Set(vehicle),
            driver: Set(driver),
            expected_arrival: Set(input.expected_arrival),
            recorded_by: Set(actor.user_id),
            recorded_at: Set(now),
        }
        .insert(&txn)
        .await?;
        for (line_id, quantity) in &input.lines {
            let line = lines
                .iter()
                .find(|l| l.id == *line_id)
                .ok_or_else(|| ServiceError::bad_input("lines", "not a line of this order"))?;
            rules::check_dispatch(&progress(line), *quantity)?;
            dispatch_line::ActiveModel {
                id: Set(Uuid::now_v7()),
                dispatch_id: Set(record.id),
                order_line_id: Set(line.id),
                quantity_e4: Set(to_stored(*quantity)?),
            }
            .insert(&txn)
            .await?;
            let mut changed = line.clone().into_active_model();
            changed.dispatched_e4 = Set(line.dispatched_e4 + to_stored(*quantity)?);
            changed.update(&txn).await?;
        }
        let summary = json!({ "lines": input.lines.iter().map(|(l, q)| json!({ "line": l, "quantity": q.to_string() })).collect::<Vec<_>>() });
        audit::record(&txn, now, AuditRecord::by(actor, "order.dispatched", "purchase_order", order.id, summary))
            .await?;
        let notice = Notice::DispatchRecorded {
            order_number: order.number.clone(),
            vehicle: record.vehicle.clone(),
            expected_arrival: record.expected_arrival,
        };
        order_changed(&txn, &self.events, &order, "DISPATCHED", Some((notice, Parties::Cooperative)), now).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// The cooperative confirms a delivery. With an idempotency key, sending it twice records it once.
    pub async fn confirm_delivery(
        &self,
        actor: &Actor,
        order_id: Uuid,
        input: ConfirmationInput,
    ) -> ServiceResult<delivery_confirmation::Model> {
        actor.require(Permission::SubmitDemand)?;
        let receiver_name = bounded_text("receiverName", &input.receiver_name, 2, 100)?;
        let note = optional_text("note", input.note.as_deref(), 1000)?;
        if input.lines.is_empty() {
            return Err(ServiceError::bad_input("lines", "a confirmation covers at least one line"));
        }
        let fingerprint = format!(
            "{order_id}|{:?}|{}|{}",
            input.dispatch_id,
            input.received_at.timestamp_millis(),
            input
                .lines
                .iter()
                .map(|l| format!("{}:{}:{}:{}", l.order_line_id, l.received, l.accepted, l.rejected))
                .collect::<Vec<_>>()
                .join(",")
        );
        let key = input
            .idempotency_key
            .as_deref()
            .map(|k| IdempotencyKey::parse(actor.user_id, "confirm_delivery", k, &fingerprint))
            .transpose()?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        if let Some(key) = &key
            && let Some(id) = key.recall(&txn).await?
        {
            let id = Uuid::parse_str(&id).map_err(|e| ServiceError::internal(e.to_string()))?;
            return delivery_confirmation::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| ServiceError::internal("idempotency key points at a missing confirmation"));
        }
        if input.received_at > now + Duration::minutes(5) {
            return Err(ServiceError::bad_input("receivedAt", "cannot be in the future"));
        }
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        if order.cooperative_id != actor.organisation_id {
            return Err(ServiceError::Forbidden("only the ordering cooperative confirms receipt".into()));
        }
        let status = status_of(&order)?;
        if !status.accepts_dispatch() {
            return Err(ServiceError::Conflict(format!("an order that is {} takes no deliveries", status.as_str())));
        }
        let dispatched: Vec<dispatch_line::Model> = match input.dispatch_id {
            Some(dispatch_id) => {
                let found =
                    dispatch::Entity::find_by_id(dispatch_id).one(&txn).await?.filter(|d| d.order_id == order.id);
                if found.is_none() {
                    return Err(ServiceError::bad_input("dispatchId", "not a dispatch of this order"));
                }
                dispatch_line::Entity::find()
                    .filter(dispatch_line::Column::DispatchId.eq(dispatch_id))
                    .all(&txn)
                    .await?
            }
            None => vec![],
        };
        let mut lines = Self::lines_of(&txn, order.id).await?;
        let confirmation_id = Uuid::now_v7();
        let mut discrepancy = false;
        let mut receipts = Vec::new();
        for entry in &input.lines {
            let line = lines
                .iter_mut()
                .find(|l| l.id == entry.order_line_id)
                .ok_or_else(|| ServiceError::bad_input("lines", "not a line of this order"))?;
            let receipt =
                Receipt::parse(entry.received, entry.accepted, entry.rejected, entry.reason, &progress(line))?;
            let note_given = entry.reason_text.as_deref().is_some_and(|text| !text.trim().is_empty());
            if receipt.reason == Some(RejectionReason::Other) && !note_given {
                return Err(ServiceError::bad_input("rejectionNote", "say what was wrong when the reason is OTHER"));
            }
            if input.dispatch_id.is_some() {
                let sent: Decimal =
                    dispatched.iter().filter(|d| d.order_line_id == line.id).map(|d| from_stored(d.quantity_e4)).sum();
                discrepancy |= sent != receipt.received;
            }
            discrepancy |= receipt.rejected > Decimal::ZERO;
            line.received_e4 += to_stored(receipt.received)?;
            line.accepted_e4 += to_stored(receipt.accepted)?;
            line.rejected_e4 += to_stored(receipt.rejected)?;
            receipts.push((line.clone(), receipt, entry.reason_text.clone()));
        }
        let confirmation = delivery_confirmation::ActiveModel {
            id: Set(confirmation_id),
            order_id: Set(order.id),
            dispatch_id: Set(input.dispatch_id),
            received_at: Set(input.received_at),
            receiver_name: Set(receiver_name),
            note: Set(note),
            discrepancy: Set(discrepancy),
            supplier_response: Set(None),
            responded_at: Set(None),
            recorded_by: Set(actor.user_id),
            recorded_at: Set(now),
        }
        .insert(&txn)
        .await?;
        for (line, receipt, reason_text) in &receipts {
            let mut changed = purchase_order_line::Entity::find_by_id(line.id)
                .one(&txn)
                .await?
                .ok_or_else(|| ServiceError::internal("line vanished"))?
                .into_active_model();
            changed.received_e4 = Set(line.received_e4);
            changed.accepted_e4 = Set(line.accepted_e4);
            changed.rejected_e4 = Set(line.rejected_e4);
            changed.update(&txn).await?;
            confirmation_line::ActiveModel {
                id: Set(Uuid::now_v7()),
                confirmation_id: Set(confirmation.id),
                order_line_id: Set(line.id),
                received_e4: Set(to_stored(receipt.received)?),
                accepted_e4: Set(to_stored(receipt.accepted)?),
                rejected_e4: Set(to_stored(receipt.rejected)?),
                rejection_reason: Set(receipt.reason.map(|r| r.as_str().to_owned())),
                rejection_note: Set(optional_text("rejectionNote", reason_text.as_deref(), 300)?),
                days_late: Set(i32::try_from(rules::days_late(line.due_date, input.received_at)).unwrap_or(i32::MAX)),
            }
            .insert(&txn)
            .await?;
        }
        let fully_accepted = lines.iter().all(|l| l.accepted_e4 >= l.quantity_e4);
        let to = status.apply(OrderEvent::DeliveryConfirmed { fully_accepted })?;
        let updated = Self::set_status(&txn, order, to, now, |_| {}).await?;
        let notice = Notice::DeliveryConfirmed {
            order_number: updated.number.clone(),
            discrepancy,
            accepted: receipts.iter().map(|(_, r, _)| r.accepted).sum(),
            rejected: receipts.iter().map(|(_, r, _)| r.rejected).sum(),
        };
        let kind = if discrepancy { "DELIVERY_DISPUTED" } else { "DELIVERY_CONFIRMED" };
        order_changed(&txn, &self.events, &updated, kind, Some((notice, Parties::Supplier)), now).await?;
        // What was accepted now is a price actually paid.
        let accepted_now: std::collections::HashMap<Uuid, Decimal> =
            receipts.iter().map(|(line, receipt, _)| (line.id, receipt.accepted)).collect();
        let tender_row = tender::Entity::find_by_id(updated.tender_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::internal("order without tender"))?;
        let accepted = |line: &purchase_order_line::Model| accepted_now.get(&line.id).copied().unwrap_or_default();
        let this_order = OrdersOf::Order(updated.id);
        let source = crate::prices::SOURCE_DELIVERY;
        crate::prices::record_order_prices(&txn, &self.events, source, &tender_row, this_order, now, accepted).await?;
        if let Some(key) = &key {
            key.remember(&txn, &confirmation.id.to_string(), now).await?;
        }
        let summary = json!({ "confirmation": confirmation.id, "discrepancy": discrepancy, "status": to.as_str() });
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "order.delivery_confirmed", "purchase_order", order_id, summary),
        )
        .await?;
        txn.commit().await?;
        Ok(confirmation)
    }

    /// The supplier answers a flagged discrepancy.
    pub async fn respond_to_discrepancy(
        &self,
        actor: &Actor,
        confirmation_id: Uuid,
        response: &str,
    ) -> ServiceResult<delivery_confirmation::Model> {
        actor.require(Permission::SubmitBids)?;
        let response = bounded_text("response", response, 3, 1000)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let confirmation = delivery_confirmation::Entity::find_by_id(confirmation_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("delivery confirmation".into()))?;
        let order = Self::order_for_update(&txn, actor, confirmation.order_id).await?;
        if order.supplier_id != actor.organisation_id || !confirmation.discrepancy {
            return Err(ServiceError::Conflict("only a flagged discrepancy on your own order can be answered".into()));
        }
        let mut changed = confirmation.into_active_model();
        changed.supplier_response = Set(Some(response.clone()));
        changed.responded_at = Set(Some(now));
        let updated = changed.update(&txn).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(
                actor,
                "order.discrepancy_answered",
                "purchase_order",
                order.id,
                json!({ "response": response }),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// The cooperative or the agency ends an order that will not be completed; the undelivered rest is recorded.
    pub async fn short_close(
        &self,
        actor: &Actor,
        order_id: Uuid,
        reason: &str,
    ) -> ServiceResult<read_models::PurchaseOrder> {
        Self::require_order_closer(actor, "short-closes")?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::ShortClose)?;
        let lines = Self::lines_of(&txn, order.id).await?;
        let undelivered: Decimal = lines.iter().map(|l| progress(l).open_for_acceptance()).sum();
        let updated = Self::set_status(&txn, order, to, now, |o| {
            o.close_reason = Set(Some(reason.clone()));
            o.closed_at = Set(Some(now));
        })
        .await?;
        let summary = json!({ "reason": reason, "undelivered": undelivered.to_string() });
        audit::record(&txn, now, AuditRecord::by(actor, "order.short_closed", "purchase_order", order_id, summary))
            .await?;
        order_changed(&txn, &self.events, &updated, "SHORT_CLOSED", None, now).await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// A delivered order is closed by its cooperative or the agency.
    pub async fn close(&self, actor: &Actor, order_id: Uuid) -> ServiceResult<read_models::PurchaseOrder> {
        Self::require_order_closer(actor, "closes")?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::Close)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.closed_at = Set(Some(now))).await?;
        audit::record(&txn, now, AuditRecord::by(actor, "order.closed", "purchase_order", order_id, json!({}))).await?;
        order_changed(&txn, &self.events, &updated, "CLOSED", None, now).await?;
        txn.commit().await?;
        updated.try_into()
    }
}
