//! What each caller may see of tenders, lots, bids and allocations, and when.

use super::*;
use domain::access::AllocationScope;

impl TenderingService {
    /// Whether the actor may see a tender at all ([`Actor::may_view_tender`]); the one fact it needs is read here.
    pub(super) async fn may_view(&self, actor: &Actor, row: &read_models::Tender) -> ServiceResult<bool> {
        actor.require(Permission::ViewTendering)?;
        let status = row.stored_status;
        let concerned = match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => true,
            OrganisationKind::Supplier => {
                status != TenderStatus::Draft
                    && Self::supplier_sells(&self.db, actor.organisation_id, row.commodity_id).await?
            }
            OrganisationKind::Cooperative => demand_line::Entity::find()
                .filter(demand_line::Column::PoolId.eq(row.pool_id))
                .filter(demand_line::Column::CooperativeId.eq(actor.organisation_id))
                .one(&self.db)
                .await?
                .is_some(),
        };
        Ok(actor.may_view_tender(status, concerned))
    }

    pub async fn tender(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<Option<read_models::Tender>> {
        let Some(row) = read_one(tender::Entity::find_by_id(tender_id).one(&self.db).await?)? else {
            return Ok(None);
        };
        Ok(if self.may_view(actor, &row).await? { Some(row) } else { None })
    }

    /// Tenders newest first: all for the agency and admins; for suppliers the published ones in the categories they
    /// sell; for cooperatives those of pools they are in. Optionally of one (effective) status.
    pub async fn tenders(
        &self,
        actor: &Actor,
        status: Option<TenderStatus>,
        page: PageRequest<Uuid>,
    ) -> ServiceResult<Page<read_models::Tender>> {
        actor.require(Permission::ViewTendering)?;
        let now = self.clock.now();
        let mut query = tender::Entity::find().order_by_desc(tender::Column::Id);
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Supplier => {
                let categories: Vec<String> = organisation_category::Entity::find()
                    .filter(organisation_category::Column::OrganisationId.eq(actor.organisation_id))
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|c| c.category)
                    .collect();
                let commodities: Vec<Uuid> = commodity::Entity::find()
                    .select_only()
                    .column(commodity::Column::Id)
                    .filter(commodity::Column::Category.is_in(categories))
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                query = query
                    .filter(tender::Column::CommodityId.is_in(commodities))
                    .filter(tender::Column::Status.ne(TenderStatus::Draft.as_str()));
            }
            OrganisationKind::Cooperative => {
                let pools: Vec<Uuid> = demand_line::Entity::find()
                    .select_only()
                    .column(demand_line::Column::PoolId)
                    .filter(demand_line::Column::CooperativeId.eq(actor.organisation_id))
                    .distinct()
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                query = query.filter(tender::Column::PoolId.is_in(pools));
            }
        }
        if let Some(status) = status {
            query = query.filter(match status {
                TenderStatus::Open => Condition::all()
                    .add(tender::Column::Status.eq(TenderStatus::Open.as_str()))
                    .add(tender::Column::DeadlineAt.gt(now)),
                TenderStatus::Closed => {
                    Condition::any().add(tender::Column::Status.eq(TenderStatus::Closed.as_str())).add(
                        Condition::all()
                            .add(tender::Column::Status.eq(TenderStatus::Open.as_str()))
                            .add(tender::Column::DeadlineAt.lte(now)),
                    )
                }
                other => Condition::all().add(tender::Column::Status.eq(other.as_str())),
            });
        }
        if let Some(after) = page.after {
            query = query.filter(tender::Column::Id.lt(after));
        }
        let rows = read_all(query.limit(page.limit + 1).all(&self.db).await?)?;
        Ok(Page::from_overfetched(rows, page.limit))
    }

    pub async fn lots_of(&self, tender_ids: &[Uuid]) -> ServiceResult<Vec<read_models::Lot>> {
        read_all(
            lot::Entity::find()
                .filter(lot::Column::TenderId.is_in(tender_ids.iter().copied()))
                .order_by_asc(lot::Column::Number)
                .all(&self.db)
                .await?,
        )
    }

    /// The number of bids received: for the agency only, and only a count while bids are sealed.
    pub async fn bid_count(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<u64> {
        actor.require(Permission::ManageTendering)?;
        Ok(bid::Entity::find()
            .filter(bid::Column::TenderId.eq(tender_id))
            .filter(bid::Column::Status.eq(BidStatus::Active.as_str()))
            .count(&self.db)
            .await?)
    }

    /// The supplier's own bids on a tender, at any time.
    pub async fn own_bids(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<Vec<read_models::Bid>> {
        actor.require(Permission::SubmitBids)?;
        read_all(
            bid::Entity::find()
                .filter(bid::Column::TenderId.eq(tender_id))
                .filter(bid::Column::SupplierId.eq(actor.organisation_id))
                .order_by_asc(bid::Column::Id)
                .all(&self.db)
                .await?,
        )
    }

    /// Every version of a bid: its own supplier at any time; the agency once the tender is closed.
    pub async fn bid_versions(&self, actor: &Actor, bid_id: Uuid) -> ServiceResult<Vec<read_models::BidVersion>> {
        actor.require(Permission::ViewTendering)?;
        let Some(current) = bid::Entity::find_by_id(bid_id).one(&self.db).await? else {
            return Ok(vec![]);
        };
        let own = current.supplier_id == actor.organisation_id;
        if !own {
            let row = tender::Entity::find_by_id(current.tender_id).one(&self.db).await?;
            let unsealed = match row {
                Some(row) => !effective_status(&row, self.clock.now())?.bids_sealed(),
                None => false,
            };
            if !(unsealed && actor.may(Permission::ManageTendering)) {
                return Ok(vec![]);
            }
        }
        read_all(
            bid_version::Entity::find()
                .filter(bid_version::Column::BidId.eq(bid_id))
                .order_by_asc(bid_version::Column::Version)
                .all(&self.db)
                .await?,
        )
    }

    /// Bids of a lot as the actor may see them once bidding has closed: the agency all of them; a supplier its own
    /// and, after the award, the awarded ones (the winning prices); a cooperative in the pool the awarded ones
    /// after the award. Before the deadline: nothing, for everyone.
    pub async fn opened_bids(
        &self,
        actor: &Actor,
        row: &read_models::Tender,
        lot_id: Uuid,
    ) -> ServiceResult<Vec<read_models::Bid>> {
        let status = row.status_at(self.clock.now());
        if status.bids_sealed() || !self.may_view(actor, row).await? {
            return Ok(vec![]);
        }
        let mut bids = bid::Entity::find().filter(bid::Column::LotId.eq(lot_id)).all(&self.db).await?;
        // Ranked bids first, in rank order, then the rejected ones; sorted here because the backends disagree on
        // where NULL ranks go.
        bids.sort_by_key(|b| (b.rank.is_none(), b.rank, b.received_at, b.id));
        read_all(
            bids.into_iter()
                .filter(|b| actor.sees_opened_bid(status, b.supplier_id, b.awarded_quantity_e4.is_some_and(|q| q > 0))),
        )
    }

    /// Allocations of a tender's award: the agency all once closed; after the award a cooperative its own and a
    /// supplier those it serves.
    pub async fn allocations(
        &self,
        actor: &Actor,
        row: &read_models::Tender,
    ) -> ServiceResult<Vec<read_models::Allocation>> {
        let status = row.status_at(self.clock.now());
        if status.bids_sealed() || !self.may_view(actor, row).await? {
            return Ok(vec![]);
        }
        let mut query = award_allocation::Entity::find().filter(award_allocation::Column::TenderId.eq(row.id));
        match actor.allocation_scope(status) {
            AllocationScope::Nothing => return Ok(vec![]),
            AllocationScope::All => {}
            AllocationScope::OfCooperative(cooperative) => {
                query = query.filter(award_allocation::Column::CooperativeId.eq(cooperative));
            }
            AllocationScope::OfSupplier(supplier) => {
                query = query.filter(award_allocation::Column::SupplierId.eq(supplier));
            }
        }
        read_all(query.order_by_asc(award_allocation::Column::Id).all(&self.db).await?)
    }

    /// Where a lot's goods go: each delivery point with the quantity wanted there and the earliest wanted date.
    /// Visible to whoever may see the tender (suppliers price the delivery from it).
    pub async fn lot_destinations(
        &self,
        actor: &Actor,
        row: &read_models::Tender,
        lot_row: &read_models::Lot,
    ) -> ServiceResult<Vec<(read_models::DeliveryPoint, Decimal, chrono::NaiveDate)>> {
        if !self.may_view(actor, row).await? {
            return Ok(vec![]);
        }
        let lines =
            demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(row.pool_id)).all(&self.db).await?;
        let points = delivery_points_of_pool(&self.db, row.pool_id).await?;
        points
            .into_iter()
            .filter(|point| lot_row.kecamatan.as_ref().is_none_or(|k| *k == point.kecamatan))
            .filter_map(|point| {
                let here: Vec<_> = lines.iter().filter(|l| l.delivery_point_id == point.id).collect();
                let quantity = here.iter().map(|l| from_stored(l.quantity_e4)).sum();
                let earliest = here.iter().map(|l| l.wanted_date).min()?;
                Some(read_models::DeliveryPoint::try_from(point).map(|point| (point, quantity, earliest)))
            })
            .collect()
    }
}
