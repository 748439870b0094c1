//! Orders, their dispatches and confirmations, amounts due and supplier performance, as each caller may see them.

use super::*;

/// A supplier's delivery record, computed from its orders and confirmations.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierPerformance {
    pub supplier_id: Uuid,
    pub commodity_id: Option<Uuid>,
    pub orders: u64,
    pub ordered: Decimal,
    pub accepted: Decimal,
    pub received: Decimal,
    pub rejected: Decimal,
    /// Accepted ÷ ordered.
    pub fill_rate: Option<Decimal>,
    /// Deliveries received by their due date ÷ deliveries.
    pub on_time_rate: Option<Decimal>,
    /// Rejected ÷ received.
    pub rejection_rate: Option<Decimal>,
    pub rejection_reasons: Vec<(String, Decimal)>,
    /// Average days late over all deliveries (on-time ones count 0).
    pub average_days_late: Option<Decimal>,
    pub deliveries: u64,
}

/// What a cooperative owes a supplier for what arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct AmountDue {
    pub cooperative_id: Uuid,
    pub supplier_id: Uuid,
    pub ordered_total: Decimal,
    pub amount_due: Decimal,
}

/// Each head (a dispatch, a confirmation) with its lines, in the heads' order, in one pass over the lines.
fn with_their_lines<H, L>(
    heads: Vec<H>,
    lines: Vec<L>,
    id_of: impl Fn(&H) -> Uuid,
    head_of: impl Fn(&L) -> Uuid,
) -> Vec<(H, Vec<L>)> {
    let mut by_head: std::collections::HashMap<Uuid, Vec<L>> = std::collections::HashMap::new();
    for line in lines {
        by_head.entry(head_of(&line)).or_default().push(line);
    }
    heads
        .into_iter()
        .map(|head| {
            let own = by_head.remove(&id_of(&head)).unwrap_or_default();
            (head, own)
        })
        .collect()
}

impl OrderingService {
    pub async fn order(&self, actor: &Actor, order_id: Uuid) -> ServiceResult<Option<read_models::PurchaseOrder>> {
        actor.require(Permission::ViewTendering)?;
        read_one(purchase_order::Entity::find_by_id(order_id).one(&self.db).await?.filter(|o| Self::may_view(actor, o)))
    }

    /// Orders newest first, as the actor may see them; optionally of one status.
    pub async fn orders(
        &self,
        actor: &Actor,
        status: Option<OrderStatus>,
        page: PageRequest<Uuid>,
    ) -> ServiceResult<Page<read_models::PurchaseOrder>> {
        actor.require(Permission::ViewTendering)?;
        let mut query = purchase_order::Entity::find().order_by_desc(purchase_order::Column::Id);
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Cooperative => {
                query = query.filter(purchase_order::Column::CooperativeId.eq(actor.organisation_id))
            }
            OrganisationKind::Supplier => {
                query = query.filter(purchase_order::Column::SupplierId.eq(actor.organisation_id))
            }
        }
        if let Some(status) = status {
            query = query.filter(purchase_order::Column::Status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            query = query.filter(purchase_order::Column::Id.lt(after));
        }
        let rows = read_all(query.limit(page.limit + 1).all(&self.db).await?)?;
        Ok(Page::from_overfetched(rows, page.limit))
    }

    /// The lines of every order a query selects, in one statement whatever the number of orders.
    pub(super) async fn lines_of_orders(
        connection: &impl ConnectionTrait,
        orders: sea_orm::Select<purchase_order::Entity>,
    ) -> ServiceResult<Vec<purchase_order_line::Model>> {
        let ids = orders.select_only().column(purchase_order::Column::Id).into_query();
        Ok(purchase_order_line::Entity::find()
            .filter(purchase_order_line::Column::OrderId.in_subquery(ids))
            .order_by_asc(purchase_order_line::Column::Id)
            .all(connection)
            .await?)
    }

    pub async fn lines(&self, order_ids: &[Uuid]) -> ServiceResult<Vec<read_models::OrderLine>> {
        read_all(
            purchase_order_line::Entity::find()
                .filter(purchase_order_line::Column::OrderId.is_in(order_ids.iter().copied()))
                .order_by_asc(purchase_order_line::Column::Id)
                .all(&self.db)
                .await?,
        )
    }

    /// Dispatches of many orders with their lines, in two statements.
    pub async fn dispatches_of(&self, order_ids: &[Uuid]) -> ServiceResult<Vec<read_models::Dispatch>> {
        let dispatches = dispatch::Entity::find()
            .filter(dispatch::Column::OrderId.is_in(order_ids.iter().copied()))
            .order_by_asc(dispatch::Column::Id)
            .all(&self.db)
            .await?;
        let lines = dispatch_line::Entity::find()
            .filter(dispatch_line::Column::DispatchId.is_in(dispatches.iter().map(|d| d.id)))
            .all(&self.db)
            .await?;
        read_all(with_their_lines(dispatches, lines, |d| d.id, |l| l.dispatch_id))
    }

    /// Delivery confirmations of many orders with their lines, in two statements.
    pub async fn confirmations_of(&self, order_ids: &[Uuid]) -> ServiceResult<Vec<read_models::DeliveryConfirmation>> {
        let confirmations = delivery_confirmation::Entity::find()
            .filter(delivery_confirmation::Column::OrderId.is_in(order_ids.iter().copied()))
            .order_by_asc(delivery_confirmation::Column::Id)
            .all(&self.db)
            .await?;
        let lines = confirmation_line::Entity::find()
            .filter(confirmation_line::Column::ConfirmationId.is_in(confirmations.iter().map(|c| c.id)))
            .all(&self.db)
            .await?;
        read_all(with_their_lines(confirmations, lines, |c| c.id, |l| l.confirmation_id))
    }

    /// Amounts due (accepted × unit price) per cooperative and supplier, as the actor may see them.
    pub async fn amounts_due(&self, actor: &Actor) -> ServiceResult<Vec<AmountDue>> {
        actor.require(Permission::ViewTendering)?;
        let mut query = counting_orders();
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Cooperative => {
                query = query.filter(purchase_order::Column::CooperativeId.eq(actor.organisation_id))
            }
            OrganisationKind::Supplier => {
                query = query.filter(purchase_order::Column::SupplierId.eq(actor.organisation_id))
            }
        }
        let orders = query.clone().all(&self.db).await?;
        let lines = Self::lines_of_orders(&self.db, query).await?;
        let mut sums: BTreeMap<(Uuid, Uuid), (Decimal, Decimal)> = BTreeMap::new();
        for order in &orders {
            let entry = sums.entry((order.cooperative_id, order.supplier_id)).or_default();
            let own: Vec<_> = lines.iter().filter(|l| l.order_id == order.id).collect();
            entry.0 += own.iter().map(|l| from_stored(l.line_total_e4)).sum::<Decimal>();
            entry.1 +=
                rules::amount_due(own.iter().map(|l| (from_stored(l.accepted_e4), from_stored(l.unit_price_e4))));
        }
        Ok(sums
            .into_iter()
            .map(|((cooperative_id, supplier_id), (ordered_total, amount_due))| AmountDue {
                cooperative_id,
                supplier_id,
                ordered_total,
                amount_due,
            })
            .collect())
    }

    /// Delivery performance per supplier (and per commodity when given): suppliers see their own, the agency all.
    pub async fn performance(
        &self,
        actor: &Actor,
        supplier_id: Option<Uuid>,
        commodity_id: Option<Uuid>,
    ) -> ServiceResult<Vec<SupplierPerformance>> {
        actor.require(Permission::ViewTendering)?;
        let supplier_filter = match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => supplier_id,
            OrganisationKind::Supplier => {
                if supplier_id.is_some_and(|id| id != actor.organisation_id) {
                    return Err(ServiceError::Forbidden("suppliers see only their own performance".into()));
                }
                Some(actor.organisation_id)
            }
            OrganisationKind::Cooperative => {
                return Err(ServiceError::Forbidden("supplier performance is for suppliers and the agency".into()));
            }
        };
        let mut query = counting_orders();
        if let Some(supplier) = supplier_filter {
            query = query.filter(purchase_order::Column::SupplierId.eq(supplier));
        }
        let order_scope = query.clone().select_only().column(purchase_order::Column::Id).into_query();
        let orders = query.clone().all(&self.db).await?;
        let mut lines = Self::lines_of_orders(&self.db, query).await?;
        if let Some(commodity) = commodity_id {
            lines.retain(|l| l.commodity_id == commodity);
        }
        let line_ids: std::collections::HashSet<Uuid> = lines.iter().map(|l| l.id).collect();
        let confirmation_lines: Vec<confirmation_line::Model> = confirmation_line::Entity::find()
            .filter(
                confirmation_line::Column::OrderLineId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(purchase_order_line::Column::Id)
                        .from(purchase_order_line::Entity)
                        .and_where(purchase_order_line::Column::OrderId.in_subquery(order_scope))
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|c| line_ids.contains(&c.order_line_id))
            .collect();
        let mut by_supplier: BTreeMap<Uuid, Vec<&purchase_order::Model>> = BTreeMap::new();
        for order in &orders {
            if lines.iter().any(|l| l.order_id == order.id) {
                by_supplier.entry(order.supplier_id).or_default().push(order);
            }
        }
        let ratio = |a: Decimal, b: Decimal| if b.is_zero() { None } else { Some((a / b).round_dp(4).normalize()) };
        Ok(by_supplier
            .into_iter()
            .map(|(supplier, supplier_orders)| {
                let order_ids: Vec<Uuid> = supplier_orders.iter().map(|o| o.id).collect();
                let own_lines: Vec<_> = lines.iter().filter(|l| order_ids.contains(&l.order_id)).collect();
                let line_ids: Vec<Uuid> = own_lines.iter().map(|l| l.id).collect();
                let deliveries: Vec<_> =
                    confirmation_lines.iter().filter(|c| line_ids.contains(&c.order_line_id)).collect();
                let ordered: Decimal = own_lines.iter().map(|l| from_stored(l.quantity_e4)).sum();
                let accepted: Decimal = own_lines.iter().map(|l| from_stored(l.accepted_e4)).sum();
                let received: Decimal = own_lines.iter().map(|l| from_stored(l.received_e4)).sum();
                let rejected: Decimal = own_lines.iter().map(|l| from_stored(l.rejected_e4)).sum();
                let on_time = deliveries.iter().filter(|d| d.days_late == 0).count();
                let total_late: i64 = deliveries.iter().map(|d| i64::from(d.days_late)).sum();
                let mut reasons: BTreeMap<String, Decimal> = BTreeMap::new();
                for delivery in &deliveries {
                    if let Some(reason) = &delivery.rejection_reason {
                        *reasons.entry(reason.clone()).or_default() += from_stored(delivery.rejected_e4);
                    }
                }
                let count = Decimal::from(deliveries.len() as u64);
                SupplierPerformance {
                    supplier_id: supplier,
                    commodity_id,
                    orders: supplier_orders.len() as u64,
                    ordered,
                    accepted,
                    received,
                    rejected,
                    fill_rate: ratio(accepted, ordered),
                    on_time_rate: ratio(Decimal::from(on_time as u64), count),
                    rejection_rate: ratio(rejected, received),
                    rejection_reasons: reasons.into_iter().collect(),
                    average_days_late: ratio(Decimal::from(total_late), count),
                    deliveries: deliveries.len() as u64,
                }
            })
            .collect())
    }
}
