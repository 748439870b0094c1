//! The commodity catalogue and its HET and reference prices.

use std::sync::Arc;

use chrono::NaiveDate;
use domain::{
    access::{Actor, Permission},
    clock::Clock,
    commodity::{AreaScope, Category, PriceArea, PriceKind, PriceReference, Unit, commodity_code},
    identity::{bounded_text, optional_text},
    money::UnitPrice,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    db::begin_write,
    entities::{commodity, price_reference},
    error::ServiceResult,
    fixed_point,
    pagination::{Page, PageRequest},
    read_models::{self, read_all, read_one},
};

#[derive(Debug, Clone)]
pub struct CommodityInput {
    pub code: String,
    pub name_id: String,
    pub name_en: String,
    pub unit: Unit,
    pub category: Category,
}

/// Changes to a commodity. The unit cannot change: every recorded quantity is counted in it.
#[derive(Debug, Clone, Default)]
pub struct CommodityChanges {
    pub name_id: Option<String>,
    pub name_en: Option<String>,
    pub category: Option<Category>,
}

#[derive(Debug, Clone)]
pub struct PriceReferenceInput {
    pub commodity_code: String,
    pub kind: PriceKind,
    pub price: Decimal,
    pub area_scope: AreaScope,
    pub area_name: Option<String>,
    pub effective_from: NaiveDate,
    pub note: Option<String>,
}

#[derive(Clone)]
pub struct CatalogueService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl CatalogueService {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub async fn create_commodity(
        &self,
        actor: Option<&Actor>,
        input: CommodityInput,
    ) -> ServiceResult<read_models::Commodity> {
        if let Some(actor) = actor {
            actor.require(Permission::ManageCatalogue)?;
        }
        let code = commodity_code(&input.code)?;
        let name_id = bounded_text("nameId", &input.name_id, 2, 120)?;
        let name_en = bounded_text("nameEn", &input.name_en, 2, 120)?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        if commodity::Entity::find().filter(commodity::Column::Code.eq(&code)).one(&txn).await?.is_some() {
            return Err(ServiceError::Conflict(format!("a commodity with code {code} already exists")));
        }
        let created = commodity::ActiveModel {
            id: Set(Uuid::now_v7()),
            code: Set(code),
            name_id: Set(name_id),
            name_en: Set(name_en),
            unit: Set(input.unit.as_str().into()),
            category: Set(input.category.as_str().into()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let summary = json!({ "code": created.code, "unit": created.unit, "category": created.category });
        audit::record(&txn, now, audit_record(actor, "commodity.created", "commodity", created.id, summary)).await?;
        txn.commit().await?;
        created.try_into()
    }

    pub async fn update_commodity(
        &self,
        actor: &Actor,
        code: &str,
        changes: CommodityChanges,
    ) -> ServiceResult<read_models::Commodity> {
        actor.require(Permission::ManageCatalogue)?;
        let code = commodity_code(code)?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let existing = commodity::Entity::find()
            .filter(commodity::Column::Code.eq(&code))
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("commodity {code}")))?;
        let mut changed = existing.into_active_model();
        if let Some(name_id) = &changes.name_id {
            changed.name_id = Set(bounded_text("nameId", name_id, 2, 120)?);
        }
        if let Some(name_en) = &changes.name_en {
            changed.name_en = Set(bounded_text("nameEn", name_en, 2, 120)?);
        }
        if let Some(category) = changes.category {
            changed.category = Set(category.as_str().into());
        }
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        let summary = json!({
            "nameId": changes.name_id,
            "nameEn": changes.name_en,
            "category": changes.category.map(Category::as_str),
        });
        audit::record(&txn, now, AuditRecord::by(actor, "commodity.updated", "commodity", updated.id, summary)).await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// Records an HET or reference price from a date in an area. An existing one for the same commodity, kind,
    /// area and date is a conflict: prices are history, corrected by a newer entry, never overwritten.
    pub async fn set_price_reference(
        &self,
        actor: Option<&Actor>,
        input: PriceReferenceInput,
    ) -> ServiceResult<read_models::PriceReference> {
        if let Some(actor) = actor {
            actor.require(Permission::ManageCatalogue)?;
        }
        let code = commodity_code(&input.commodity_code)?;
        let price = UnitPrice::parse("price", input.price)?;
        let area = PriceArea::parse(input.area_scope, input.area_name.as_deref())?;
        let note = optional_text("note", input.note.as_deref(), 300)?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let commodity = commodity::Entity::find()
            .filter(commodity::Column::Code.eq(&code))
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("commodity {code}")))?;
        let duplicate = price_reference::Entity::find()
            .filter(price_reference::Column::CommodityId.eq(commodity.id))
            .filter(price_reference::Column::Kind.eq(input.kind.as_str()))
            .filter(price_reference::Column::AreaScope.eq(area.scope.as_str()))
            .filter(price_reference::Column::AreaName.eq(&area.name))
            .filter(price_reference::Column::EffectiveFrom.eq(input.effective_from))
            .one(&txn)
            .await?;
        if duplicate.is_some() {
            return Err(ServiceError::Conflict(format!(
                "{code} already has a {} price for that area from {}",
                input.kind.as_str(),
                input.effective_from
            )));
        }
        let created = price_reference::ActiveModel {
            id: Set(Uuid::now_v7()),
            commodity_id: Set(commodity.id),
            kind: Set(input.kind.as_str().into()),
            price_e4: Set(fixed_point::to_stored(price.value())?),
            area_scope: Set(area.scope.as_str().into()),
            area_name: Set(area.name),
            effective_from: Set(input.effective_from),
            note: Set(note),
            created_at: Set(now),
            created_by: Set(actor.map(|a| a.user_id)),
        }
        .insert(&txn)
        .await?;
        let summary = json!({
            "code": code,
            "kind": created.kind,
            "price": price.value().to_string(),
            "area": format!("{} {}", created.area_scope, created.area_name).trim(),
            "effectiveFrom": created.effective_from.to_string(),
        });
        let record = audit_record(actor, "price_reference.recorded", "commodity", commodity.id, summary);
        audit::record(&txn, now, record).await?;
        txn.commit().await?;
        created.try_into()
    }

    pub async fn commodity_by_code(&self, actor: &Actor, code: &str) -> ServiceResult<Option<read_models::Commodity>> {
        actor.require(Permission::ReadCatalogue)?;
        let Ok(code) = commodity_code(code) else {
            return Ok(None);
        };
        read_one(commodity::Entity::find().filter(commodity::Column::Code.eq(code)).one(&self.db).await?)
    }

    /// Commodities in code order.
    pub async fn commodities(
        &self,
        actor: &Actor,
        category: Option<Category>,
        page: PageRequest<String>,
    ) -> ServiceResult<Page<read_models::Commodity>> {
        actor.require(Permission::ReadCatalogue)?;
        let mut query = commodity::Entity::find().order_by_asc(commodity::Column::Code);
        if let Some(category) = category {
            query = query.filter(commodity::Column::Category.eq(category.as_str()));
        }
        if let Some(after) = page.after {
            query = query.filter(commodity::Column::Code.gt(after));
        }
        let rows = read_all(query.limit(page.limit + 1).all(&self.db).await?)?;
        Ok(Page::from_overfetched(rows, page.limit))
    }

    /// Price references of many commodities in one query, newest first.
    pub async fn price_references_of(&self, commodity_ids: &[Uuid]) -> ServiceResult<Vec<read_models::PriceReference>> {
        read_all(
            price_reference::Entity::find()
                .filter(price_reference::Column::CommodityId.is_in(commodity_ids.iter().copied()))
                .order_by_desc(price_reference::Column::EffectiveFrom)
                .order_by_asc(price_reference::Column::Id)
                .all(&self.db)
                .await?,
        )
    }
}

fn audit_record(
    actor: Option<&Actor>,
    action: &'static str,
    subject_type: &'static str,
    subject_id: Uuid,
    summary: serde_json::Value,
) -> AuditRecord {
    match actor {
        Some(actor) => AuditRecord::by(actor, action, subject_type, subject_id, summary),
        None => AuditRecord::anonymous(action, subject_type, subject_id, summary),
    }
}

/// The domain's view of a stored price reference.
pub(crate) fn to_domain(row: &price_reference::Model) -> ServiceResult<PriceReference> {
    Ok(PriceReference {
        kind: PriceKind::parse(&row.kind)?,
        price: fixed_point::from_stored(row.price_e4),
        area: PriceArea::parse(
            AreaScope::parse(&row.area_scope)?,
            Some(row.area_name.as_str()).filter(|name| !name.is_empty()),
        )?,
        effective_from: row.effective_from,
    })
}
