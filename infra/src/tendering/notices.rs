//! Who hears of a tender: the announcement to suppliers, who opened it, the closing reminder, the award's results.

use super::*;

impl TenderingService {
    /// Mails a newly published tender to the verified suppliers that sell its category.
    pub(super) async fn announce(
        &self,
        txn: &crate::db::WriteTransaction,
        row: &tender::Model,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let commodity = commodity::Entity::find_by_id(row.commodity_id)
            .one(txn)
            .await?
            .ok_or_else(|| ServiceError::internal("tender without commodity"))?;
        // A subquery, not a list: nationally thousands of suppliers sell a category.
        let suppliers = sea_orm::QueryTrait::into_query(
            organisation::Entity::find()
                .select_only()
                .column(organisation::Column::Id)
                .filter(organisation::Column::Kind.eq(OrganisationKind::Supplier.as_str()))
                .filter(organisation::Column::Status.eq(domain::organisation::OrganisationStatus::Verified.as_str()))
                .filter(
                    organisation::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(organisation_category::Column::OrganisationId)
                            .from(organisation_category::Entity)
                            .and_where(organisation_category::Column::Category.eq(commodity.category.clone()))
                            .to_owned(),
                    ),
                ),
        );
        let notice = Notice::TenderPublished {
            tender_title: row.title.clone(),
            commodity: commodity.name_id,
            deadline: row.deadline_at,
        };
        let id = row.id.to_string();
        notification::mail_each_organisation(
            txn,
            now,
            notice.kind(),
            suppliers,
            |_| notice.clone(),
            Subject { kind: "tender", id: &id },
        )
        .await?;
        Ok(())
    }

    /// Remembers that a supplier opened an open tender, so its closing reminder can reach those who looked but did
    /// not bid. Written once per supplier and tender.
    pub async fn record_view(&self, actor: &Actor, row: &read_models::Tender) -> ServiceResult<()> {
        if actor.organisation_kind != OrganisationKind::Supplier
            || row.status_at(self.clock.now()) != TenderStatus::Open
        {
            return Ok(());
        }
        let key = (row.id, actor.organisation_id);
        if self.recorded_views.contains_key(&key) {
            return Ok(());
        }
        let seen = tender_view::Entity::find_by_id(key).one(&self.db).await?;
        if seen.is_some() {
            self.recorded_views.insert(key, ());
            return Ok(());
        }
        let txn = begin_write(&self.db).await?;
        tender_view::Entity::insert(tender_view::ActiveModel {
            tender_id: Set(row.id),
            organisation_id: Set(actor.organisation_id),
            first_viewed_at: Set(self.clock.now()),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                tender_view::Column::TenderId,
                tender_view::Column::OrganisationId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        self.recorded_views.insert(key, ());
        Ok(())
    }

    /// Reminds suppliers who opened a tender but have not bid, once, when less than 24 hours remain. Safe on any
    /// number of nodes: the reminder row is the claim. Returns the tenders reminded about.
    pub async fn send_closing_reminders(&self) -> ServiceResult<Vec<Uuid>> {
        let now = self.clock.now();
        let due: Vec<tender::Model> = tender::Entity::find()
            .filter(tender::Column::Status.eq(TenderStatus::Open.as_str()))
            .filter(tender::Column::DeadlineAt.gt(now))
            .filter(tender::Column::DeadlineAt.lte(now + domain::notification::closing_reminder_window()))
            .filter(
                tender::Column::Id.not_in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(tender_reminder::Column::TenderId)
                        .from(tender_reminder::Entity)
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?;
        let mut reminded = Vec::new();
        for row in due {
            let txn = begin_write(&self.db).await?;
            let claimed = tender_reminder::Entity::insert(tender_reminder::ActiveModel {
                tender_id: Set(row.id),
                sent_at: Set(now),
            })
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(tender_reminder::Column::TenderId).do_nothing().to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            if claimed != 1 {
                continue;
            }
            let lookers: Vec<Uuid> = tender_view::Entity::find()
                .select_only()
                .column(tender_view::Column::OrganisationId)
                .filter(tender_view::Column::TenderId.eq(row.id))
                .filter(
                    tender_view::Column::OrganisationId.not_in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(bid::Column::SupplierId)
                            .from(bid::Entity)
                            .and_where(bid::Column::TenderId.eq(row.id))
                            .and_where(bid::Column::Status.eq(BidStatus::Active.as_str()))
                            .to_owned(),
                    ),
                )
                .into_tuple()
                .all(&txn)
                .await?;
            let notice = Notice::TenderClosingSoon { tender_title: row.title.clone(), deadline: row.deadline_at };
            let id = row.id.to_string();
            notification::mail_organisations(&txn, now, &notice, &lookers, Subject { kind: "tender", id: &id }).await?;
            txn.commit().await?;
            reminded.push(row.id);
        }
        Ok(reminded)
    }

    /// Tells each bidder its own result and each cooperative of the pool that the tender was awarded.
    pub(super) async fn announce_award(
        &self,
        txn: &crate::db::WriteTransaction,
        row: &tender::Model,
        orders: &[crate::entities::purchase_order::Model],
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let id = row.id.to_string();
        let unit = commodity::Entity::find_by_id(row.commodity_id)
            .one(txn)
            .await?
            .and_then(|c| domain::commodity::Unit::parse(&c.unit).ok())
            .map_or("", domain::commodity::Unit::symbol)
            .to_owned();
        let lots = lot::Entity::find().filter(lot::Column::TenderId.eq(row.id)).all(txn).await?;
        let bids = bid::Entity::find()
            .filter(bid::Column::TenderId.eq(row.id))
            .filter(bid::Column::Status.eq(BidStatus::Active.as_str()))
            .order_by_asc(bid::Column::Id)
            .all(txn)
            .await?;
        for bid_row in &bids {
            let lot_number = lots.iter().find(|l| l.id == bid_row.lot_id).map_or(0, |l| l.number);
            let awarded = bid_row.awarded_quantity_e4.filter(|q| *q > 0).map(from_stored);
            let notice = Notice::BidResult {
                tender_title: row.title.clone(),
                lot_number,
                awarded_quantity: awarded.map(|q| (q, unit.clone(), from_stored(bid_row.unit_price_e4))),
            };
            notification::mail_organisations(
                txn,
                now,
                &notice,
                &[bid_row.supplier_id],
                Subject { kind: "tender", id: &id },
            )
            .await?;
        }
        // Every cooperative of the pool, in one pass however many there are.
        let mut orders_of: HashMap<Uuid, usize> = HashMap::new();
        for order in orders {
            *orders_of.entry(order.cooperative_id).or_default() += 1;
        }
        let cooperatives = sea_orm::sea_query::Query::select()
            .column(demand_line::Column::CooperativeId)
            .from(demand_line::Entity)
            .and_where(demand_line::Column::PoolId.eq(row.pool_id))
            .to_owned();
        notification::mail_each_organisation(
            txn,
            now,
            domain::notification::NotificationKind::TenderAwarded,
            cooperatives,
            |cooperative_id| Notice::TenderAwardedToCooperative {
                tender_title: row.title.clone(),
                orders: orders_of.get(&cooperative_id).copied().unwrap_or(0),
            },
            Subject { kind: "tender", id: &id },
        )
        .await?;
        Ok(())
    }
}
