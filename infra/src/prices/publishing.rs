//! The monthly pooled price the office publishes for everyone.

use super::*;
use indicators::moments_of;

impl PriceService {
    /// Publishes a commodity's mean pooled price for a month to every user.
    pub async fn publish_month(&self, actor: &Actor, commodity_code: &str, month: NaiveDate) -> ServiceResult<()> {
        actor.require(Permission::MonitorPrices)?;
        let commodity = self.commodity(commodity_code).await?;
        let month = Period::Month.start_of(month);
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        published_price::Entity::insert(published_price::ActiveModel {
            commodity_id: Set(commodity.id),
            month: Set(month),
            published_by: Set(actor.user_id),
            published_at: Set(now),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                published_price::Column::CommodityId,
                published_price::Column::Month,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let summary = json!({ "commodity": commodity.code, "month": month });
        audit::record(&txn, now, AuditRecord::by(actor, "prices.published", "commodity", commodity.id, summary))
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The published monthly pooled prices (quantity-weighted means): for every logged-in user. Returns (commodity,
    /// month, weighted mean, observations).
    pub async fn published(
        &self,
        actor: &Actor,
    ) -> ServiceResult<Vec<(commodity::Model, NaiveDate, Option<Decimal>, u64)>> {
        actor.require(Permission::ReadCatalogue)?;
        let published =
            published_price::Entity::find().order_by_asc(published_price::Column::Month).all(&self.db).await?;
        let commodities = commodity::Entity::find()
            .filter(commodity::Column::Id.is_in(published.iter().map(|p| p.commodity_id)))
            .all(&self.db)
            .await?;
        let mut out = Vec::new();
        for entry in published {
            let Some(commodity) = commodities.iter().find(|c| c.id == entry.commodity_id) else { continue };
            let end = Period::Month.last_day(entry.month);
            let mut moments = Moments::default();
            for row in self
                .rollups(entry.commodity_id, SOURCE_AWARD, entry.month, end, None, None, false, Period::Month)
                .await?
            {
                moments.merge(&moments_of(&row)?);
            }
            // The pooled price is the quantity-weighted mean: a 5,372 kg line weighs more than an 88 kg one.
            out.push((commodity.clone(), entry.month, moments.weighted_mean(), moments.count));
        }
        Ok(out)
    }
}
