//! The commodity catalogue and its HET and reference prices.

use async_graphql::{
    Context, Enum, ID, InputObject, Object,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{access, commodity as rules};
use infra::{catalogue as service, read_models as read, services::Services};
use rust_decimal::Decimal;

use super::{
    error::ApiResult,
    guard::require,
    loaders::{Loaders, loader_error},
    pagination::{MaxPageSize, connection, page_request},
};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::Unit")]
pub enum Unit {
    #[graphql(name = "KG")]
    Kilogram,
    Litre,
    /// An LPG cylinder (tabung).
    Cylinder,
    /// A refill-water gallon (galon, 19 litres).
    Gallon,
    /// A sack (karung) of 50 kg.
    #[graphql(name = "SACK_50KG")]
    Sack50Kg,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::Category")]
pub enum Category {
    /// Pupuk subsidi: sold at no more than its HET, within each cooperative's RDKK allocation.
    SubsidisedFertiliser,
    /// Non-subsidised and organic fertiliser.
    Fertiliser,
    /// Sembako: rice, cooking oil, sugar, eggs …
    Staple,
    Lpg,
    Water,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::PriceKind")]
pub enum PriceKind {
    /// Harga Eceran Tertinggi: the highest retail price set by the government.
    Het,
    /// For goods without an HET: the price the office monitors against.
    Reference,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::AreaScope")]
pub enum AreaScope {
    National,
    Province,
    City,
}

/// An HET or reference price of a commodity, from a date, in an area.
pub struct PriceReference(pub read::PriceReference);

#[Object]
impl PriceReference {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> PriceKind {
        self.0.kind.into()
    }
    /// Rupiah per unit of the commodity, exact.
    async fn price(&self) -> Decimal {
        self.0.price
    }
    async fn area_scope(&self) -> AreaScope {
        self.0.area_scope.into()
    }
    /// The province or city; empty for national prices.
    async fn area_name(&self) -> &str {
        &self.0.area_name
    }
    async fn effective_from(&self) -> NaiveDate {
        self.0.effective_from
    }
    /// Where the figure comes from (regulation, survey).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A commodity in the catalogue.
pub struct Commodity(pub read::Commodity);

#[Object]
impl Commodity {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Catalogue code, e.g. `UREA-SUB`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name in Bahasa Indonesia.
    async fn name_id(&self) -> &str {
        &self.0.name_id
    }
    /// Name in English.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    async fn unit(&self) -> Unit {
        self.0.unit.into()
    }
    async fn category(&self) -> Category {
        self.0.category.into()
    }
    /// Every HET and reference price recorded, newest first.
    async fn price_references(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PriceReference>> {
        let loaded = ctx.data::<Loaders>()?.price_references.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(loaded.unwrap_or_default().into_iter().map(PriceReference).collect())
    }
    /// The price of `kind` that applies on `on` (default: today, WIB) at a place: the narrowest area that covers
    /// it (city over province over national), and within it the latest in effect.
    async fn applicable_price(
        &self,
        ctx: &Context<'_>,
        kind: PriceKind,
        on: Option<NaiveDate>,
        province: Option<String>,
        city: Option<String>,
    ) -> async_graphql::Result<Option<PriceReference>> {
        let services = ctx.data::<Services>()?;
        let on = on.unwrap_or_else(|| super::today_in_jakarta(services.clock.now()));
        let rows = ctx.data::<Loaders>()?.price_references.load_one(self.0.id).await.map_err(loader_error)?;
        let rows = rows.unwrap_or_default();
        let references = rows.iter().map(read::PriceReference::to_domain).collect::<Result<Vec<_>, _>>().api()?;
        let place = rules::Place { province, city };
        let chosen = rules::applicable_price(&references, kind.into(), &place, on);
        Ok(chosen.and_then(|choice| {
            let index = references.iter().position(|candidate| std::ptr::eq(candidate, choice))?;
            rows.get(index).cloned().map(PriceReference)
        }))
    }
}

#[derive(InputObject)]
pub struct CommodityInput {
    /// 2–32 letters, digits or dashes, e.g. `UREA-SUB`.
    pub code: String,
    pub name_id: String,
    pub name_en: String,
    pub unit: Unit,
    pub category: Category,
}

/// Changes to a commodity. The unit cannot change: every recorded quantity is counted in it.
#[derive(InputObject)]
pub struct CommodityChanges {
    pub name_id: Option<String>,
    pub name_en: Option<String>,
    pub category: Option<Category>,
}

#[derive(InputObject)]
pub struct PriceReferenceInput {
    pub commodity_code: String,
    pub kind: PriceKind,
    /// Rupiah per unit: positive, at most 2 decimal places.
    pub price: Decimal,
    pub area_scope: AreaScope,
    /// The province or city name; omitted for a national price.
    pub area_name: Option<String>,
    pub effective_from: NaiveDate,
    pub note: Option<String>,
}

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    /// The catalogue in code order, optionally of one category.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn commodities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        category: Option<Category>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<String>, Commodity>> {
        let actor = require(ctx, access::Permission::ReadCatalogue)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let services = ctx.data::<Services>()?;
        let page = services.catalogue.commodities(actor, category.map(Into::into), page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.code.clone(), Commodity))
    }

    /// One commodity by its code.
    async fn commodity(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<Option<Commodity>> {
        let actor = require(ctx, access::Permission::ReadCatalogue)?;
        let services = ctx.data::<Services>()?;
        Ok(services.catalogue.commodity_by_code(actor, &code).await.api()?.map(Commodity))
    }
}

#[derive(Default)]
pub struct CatalogueMutation;

#[Object]
impl CatalogueMutation {
    /// Adds a commodity to the catalogue (agency and admins).
    async fn create_commodity(&self, ctx: &Context<'_>, input: CommodityInput) -> async_graphql::Result<Commodity> {
        let actor = require(ctx, access::Permission::ManageCatalogue)?;
        let services = ctx.data::<Services>()?;
        let input = service::CommodityInput {
            code: input.code,
            name_id: input.name_id,
            name_en: input.name_en,
            unit: input.unit.into(),
            category: input.category.into(),
        };
        Ok(Commodity(services.catalogue.create_commodity(Some(actor), input).await.api()?))
    }

    /// Renames or recategorises a commodity (agency and admins).
    async fn update_commodity(
        &self,
        ctx: &Context<'_>,
        code: String,
        changes: CommodityChanges,
    ) -> async_graphql::Result<Commodity> {
        let actor = require(ctx, access::Permission::ManageCatalogue)?;
        let services = ctx.data::<Services>()?;
        let changes = service::CommodityChanges {
            name_id: changes.name_id,
            name_en: changes.name_en,
            category: changes.category.map(Into::into),
        };
        Ok(Commodity(services.catalogue.update_commodity(actor, &code, changes).await.api()?))
    }

    /// Records an HET or reference price from a date in an area (agency and admins). Prices are history: a change
    /// is a new entry with a later date, never an overwrite.
    async fn set_price_reference(
        &self,
        ctx: &Context<'_>,
        input: PriceReferenceInput,
    ) -> async_graphql::Result<PriceReference> {
        let actor = require(ctx, access::Permission::ManageCatalogue)?;
        let services = ctx.data::<Services>()?;
        let input = service::PriceReferenceInput {
            commodity_code: input.commodity_code,
            kind: input.kind.into(),
            price: input.price,
            area_scope: input.area_scope.into(),
            area_name: input.area_name,
            effective_from: input.effective_from,
            note: input.note,
        };
        Ok(PriceReference(services.catalogue.set_price_reference(Some(actor), input).await.api()?))
    }
}
