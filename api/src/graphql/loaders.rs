//! One DataLoader per relation, created per request: a list of N parents costs one query per relation, not N.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, Loader};
use domain::commodity::Category;
use infra::{ServiceError, pooling::PoolTotals, read_models as read, services::Services};
use uuid::Uuid;

macro_rules! grouped_loader {
    ($(#[$meta:meta])* $name:ident, $value:ty, |$services:ident, $keys:ident| $fetch:expr, |$row:ident| $key:expr) => {
        $(#[$meta])*
        pub struct $name(Services);

        impl Loader<Uuid> for $name {
            type Value = Vec<$value>;
            type Error = Arc<ServiceError>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let $services = &self.0;
                let $keys = keys;
                let rows: Vec<$value> = $fetch.await.map_err(Arc::new)?;
                let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
                for $row in rows {
                    grouped.entry($key).or_default().push($row);
                }
                Ok(grouped)
            }
        }
    };
}

grouped_loader!(
    /// Delivery points by organisation id.
    DeliveryPointsByOrganisation, read::DeliveryPoint,
    |services, keys| services.identity.delivery_points_of(keys),
    |row| row.organisation_id
);

grouped_loader!(
    /// Users by organisation id.
    UsersByOrganisation, read::User,
    |services, keys| services.identity.users_of(keys),
    |row| row.organisation_id
);

grouped_loader!(
    /// Price references by commodity id, newest first.
    PriceReferencesByCommodity, read::PriceReference,
    |services, keys| services.catalogue.price_references_of(keys),
    |row| row.commodity_id
);

grouped_loader!(
    /// Lots by tender id, in lot order.
    LotsByTender, read::Lot,
    |services, keys| services.tendering.lots_of(keys),
    |row| row.tender_id
);

grouped_loader!(
    /// Purchase order lines by order id.
    LinesByOrder, read::OrderLine,
    |services, keys| services.ordering.lines(keys),
    |row| row.order_id
);

grouped_loader!(
    /// Dispatches, with their lines, by order id.
    DispatchesByOrder, read::Dispatch,
    |services, keys| services.ordering.dispatches_of(keys),
    |row| row.order_id
);

grouped_loader!(
    /// Delivery confirmations, with their lines, by order id.
    ConfirmationsByOrder, read::DeliveryConfirmation,
    |services, keys| services.ordering.confirmations_of(keys),
    |row| row.order_id
);

/// Commodities by id.
pub struct CommodityById(Services);

impl Loader<Uuid> for CommodityById {
    type Value = read::Commodity;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = self.0.pooling.commodities_by_ids(keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Pooled total and number of cooperatives by pool id.
pub struct PoolTotalsById(Services);

impl Loader<Uuid> for PoolTotalsById {
    type Value = PoolTotals;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(self.0.pooling.totals(keys).await.map_err(Arc::new)?.into_iter().collect())
    }
}

/// Categories a supplier sells, by organisation id.
pub struct CategoriesByOrganisation(Services);

impl Loader<Uuid> for CategoriesByOrganisation {
    type Value = Vec<Category>;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = self.0.identity.categories_of(keys).await.map_err(Arc::new)?;
        let mut grouped: HashMap<Uuid, Vec<Category>> = HashMap::new();
        for (organisation_id, category) in rows {
            grouped.entry(organisation_id).or_default().push(category);
        }
        Ok(grouped)
    }
}

/// Organisations by id.
pub struct OrganisationById(Services);

impl Loader<Uuid> for OrganisationById {
    type Value = read::Organisation;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = self.0.identity.organisations_by_ids(keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub delivery_points: DataLoader<DeliveryPointsByOrganisation>,
    pub users: DataLoader<UsersByOrganisation>,
    pub categories: DataLoader<CategoriesByOrganisation>,
    pub organisations: DataLoader<OrganisationById>,
    pub price_references: DataLoader<PriceReferencesByCommodity>,
    pub lots: DataLoader<LotsByTender>,
    pub commodities: DataLoader<CommodityById>,
    pub pool_totals: DataLoader<PoolTotalsById>,
    pub order_lines: DataLoader<LinesByOrder>,
    pub dispatches: DataLoader<DispatchesByOrder>,
    pub confirmations: DataLoader<ConfirmationsByOrder>,
}

impl Loaders {
    pub fn new(services: &Services) -> Self {
        Self {
            delivery_points: DataLoader::new(DeliveryPointsByOrganisation(services.clone()), tokio::spawn),
            users: DataLoader::new(UsersByOrganisation(services.clone()), tokio::spawn),
            categories: DataLoader::new(CategoriesByOrganisation(services.clone()), tokio::spawn),
            organisations: DataLoader::new(OrganisationById(services.clone()), tokio::spawn),
            price_references: DataLoader::new(PriceReferencesByCommodity(services.clone()), tokio::spawn),
            lots: DataLoader::new(LotsByTender(services.clone()), tokio::spawn),
            commodities: DataLoader::new(CommodityById(services.clone()), tokio::spawn),
            pool_totals: DataLoader::new(PoolTotalsById(services.clone()), tokio::spawn),
            order_lines: DataLoader::new(LinesByOrder(services.clone()), tokio::spawn),
            dispatches: DataLoader::new(DispatchesByOrder(services.clone()), tokio::spawn),
            confirmations: DataLoader::new(ConfirmationsByOrder(services.clone()), tokio::spawn),
        }
    }
}

/// Turns a loader error into a GraphQL error with its code.
pub fn loader_error(error: Arc<ServiceError>) -> async_graphql::Error {
    super::error::describe(&error)
}
