//! Recording prices: observations with their rollups and alerts, taken back when an award no longer stands.

use super::*;
use crate::entities::{delivery_point, demand_pool, purchase_order, purchase_order_line, tender};

/// A price seen somewhere, before it is stored.
#[derive(Debug, Clone)]
pub struct NewObservation {
    pub commodity_id: Uuid,
    pub source: &'static str,
    pub province: Option<String>,
    pub city: String,
    pub kecamatan: String,
    pub kelurahan: Option<String>,
    pub observed_at: DateTime<Utc>,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub tender_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub market_name: Option<String>,
    pub recorded_by: Option<Uuid>,
}

type RollupKey = (Uuid, &'static str, NaiveDate, String, String);

/// Stores observations in the caller's transaction with their rollups, and raises an alert (stored, mailed to the
/// agency, streamed to its subscribers) for each price above the HET that applied.
pub async fn record(
    txn: &WriteTransaction,
    events: &EventBus,
    now: DateTime<Utc>,
    observations: Vec<NewObservation>,
) -> ServiceResult<Vec<price_alert::Model>> {
    if observations.is_empty() {
        return Ok(vec![]);
    }
    let mut commodity_ids: Vec<Uuid> = observations.iter().map(|o| o.commodity_id).collect();
    commodity_ids.sort_unstable();
    commodity_ids.dedup();
    // Converted once per commodity, not once per observation (an award records a line per cooperative).
    let mut references: HashMap<Uuid, Vec<domain::commodity::PriceReference>> = HashMap::new();
    for row in price_reference::Entity::find()
        .filter(price_reference::Column::CommodityId.is_in(commodity_ids.clone()))
        .all(txn)
        .await?
    {
        references.entry(row.commodity_id).or_default().push(to_domain(&row)?);
    }
    let mut rows = Vec::with_capacity(observations.len());
    let mut rollups: BTreeMap<RollupKey, Moments> = BTreeMap::new();
    let mut alerts = Vec::new();
    for observation in &observations {
        let day = date_in_wib(observation.observed_at);
        let own = references.get(&observation.commodity_id).map_or(&[][..], Vec::as_slice);
        let place = Place { province: observation.province.clone(), city: Some(observation.city.clone()) };
        let het = applicable_price(own, PriceKind::Het, &place, day).map(|r| r.price);
        let reference = applicable_price(own, PriceKind::Reference, &place, day).map(|r| r.price);
        let above = het.is_some_and(|het| observation.unit_price > het);
        let id = Uuid::now_v7();
        rows.push(price_observation::ActiveModel {
            id: Set(id),
            commodity_id: Set(observation.commodity_id),
            source: Set(observation.source.to_owned()),
            city: Set(observation.city.clone()),
            kecamatan: Set(observation.kecamatan.clone()),
            kelurahan: Set(observation.kelurahan.clone()),
            observed_at: Set(observation.observed_at),
            observed_on: Set(day),
            unit_price_e4: Set(to_stored(observation.unit_price)?),
            quantity_e4: Set(to_stored(observation.quantity)?),
            ceiling_e4: Set(het.or(reference).map(to_stored).transpose()?),
            above_ceiling: Set(above),
            tender_id: Set(observation.tender_id),
            order_id: Set(observation.order_id),
            market_name: Set(observation.market_name.clone()),
            recorded_by: Set(observation.recorded_by),
        });
        rollups
            .entry((
                observation.commodity_id,
                observation.source,
                day,
                observation.city.clone(),
                observation.kecamatan.clone(),
            ))
            .or_default()
            .add(observation.unit_price, observation.quantity, above);
        rollups
            .entry((observation.commodity_id, observation.source, day, ALL_AREAS.to_owned(), ALL_AREAS.to_owned()))
            .or_default()
            .add(observation.unit_price, observation.quantity, above);
        if let (true, Some(het)) = (above, het) {
            alerts.push(price_alert::Model {
                id: Uuid::now_v7(),
                kind: ALERT_ABOVE_HET.to_owned(),
                commodity_id: observation.commodity_id,
                source: observation.source.to_owned(),
                city: observation.city.clone(),
                kecamatan: observation.kecamatan.clone(),
                observed_on: day,
                unit_price_e4: to_stored(observation.unit_price)?,
                ceiling_e4: to_stored(het)?,
                observation_id: id,
                tender_id: observation.tender_id,
                market_name: observation.market_name.clone(),
                created_at: now,
            });
        }
    }
    // Sixteen columns a row: 500 rows stay under both backends' bind-parameter limits.
    for chunk in rows.chunks(500) {
        price_observation::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    for (key, moments) in &rollups {
        add_to_rollup(txn, key, moments).await?;
    }
    raise_alerts(txn, events, now, &alerts).await?;
    Ok(alerts)
}

/// Adds `moments` to a day's rollup row, creating it if needed, in one statement (safe under concurrent writers).
async fn add_to_rollup(txn: &WriteTransaction, key: &RollupKey, moments: &Moments) -> ServiceResult<()> {
    let backend = txn.get_database_backend();
    let (least, greatest) = match backend {
        DatabaseBackend::Postgres => ("LEAST", "GREATEST"),
        _ => ("MIN", "MAX"),
    };
    let sql = format!(
        "INSERT INTO price_rollup (commodity_id, source, day, city, kecamatan, observations, sum_price_e4, \
         sum_price_squared, min_price_e4, max_price_e4, sum_quantity_e4, sum_amount_e4, above_ceiling) \
         VALUES ({}) ON CONFLICT (commodity_id, source, day, city, kecamatan) DO UPDATE SET \
         observations = price_rollup.observations + excluded.observations, \
         sum_price_e4 = price_rollup.sum_price_e4 + excluded.sum_price_e4, \
         sum_price_squared = price_rollup.sum_price_squared + excluded.sum_price_squared, \
         min_price_e4 = {least}(price_rollup.min_price_e4, excluded.min_price_e4), \
         max_price_e4 = {greatest}(price_rollup.max_price_e4, excluded.max_price_e4), \
         sum_quantity_e4 = price_rollup.sum_quantity_e4 + excluded.sum_quantity_e4, \
         sum_amount_e4 = price_rollup.sum_amount_e4 + excluded.sum_amount_e4, \
         above_ceiling = price_rollup.above_ceiling + excluded.above_ceiling",
        ["?"; 13].join(", ")
    );
    let (commodity_id, source, day, city, kecamatan) = key;
    let values: Vec<Value> = vec![
        (*commodity_id).into(),
        (*source).into(),
        (*day).into(),
        city.clone().into(),
        kecamatan.clone().into(),
        i64::try_from(moments.count).unwrap_or(i64::MAX).into(),
        to_stored(moments.sum_price)?.into(),
        moments.sum_price_squared.into(),
        to_stored(moments.min_price.unwrap_or_default())?.into(),
        to_stored(moments.max_price.unwrap_or_default())?.into(),
        to_stored(moments.sum_quantity)?.into(),
        to_stored(moments.sum_amount)?.into(),
        i64::try_from(moments.count_above_ceiling).unwrap_or(i64::MAX).into(),
    ];
    let sql = crate::db::numbered_placeholders(backend, &sql);
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// Takes back the observations of one order from one source (an award price that no longer stands, because the
/// order was declined or cancelled), in the caller's transaction: the observations, the alerts they raised, and their
/// share of every rollup row they were added to. Does nothing when there are none.
pub async fn retract_order(
    txn: &WriteTransaction,
    tender_id: Uuid,
    order_id: Uuid,
    source: &'static str,
) -> ServiceResult<()> {
    let observations = price_observation::Entity::find()
        .filter(price_observation::Column::TenderId.eq(tender_id))
        .filter(price_observation::Column::OrderId.eq(order_id))
        .filter(price_observation::Column::Source.eq(source))
        .all(txn)
        .await?;
    if observations.is_empty() {
        return Ok(());
    }
    let mut rollups: BTreeMap<RollupKey, Moments> = BTreeMap::new();
    for observation in &observations {
        let (price, quantity) = (from_stored(observation.unit_price_e4), from_stored(observation.quantity_e4));
        for (city, kecamatan) in
            [(observation.city.clone(), observation.kecamatan.clone()), (ALL_AREAS.to_owned(), ALL_AREAS.to_owned())]
        {
            rollups
                .entry((observation.commodity_id, source, observation.observed_on, city, kecamatan))
                .or_default()
                .add(price, quantity, observation.above_ceiling);
        }
    }
    let ids: Vec<Uuid> = observations.iter().map(|o| o.id).collect();
    for chunk in ids.chunks(500) {
        price_alert::Entity::delete_many()
            .filter(price_alert::Column::ObservationId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
        price_observation::Entity::delete_many()
            .filter(price_observation::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    for (key, moments) in &rollups {
        subtract_from_rollup(txn, key, moments).await?;
    }
    Ok(())
}

/// Subtracts `moments` from a day's rollup row; the lowest and highest prices are read again from the observations
/// that remain (a minimum cannot be subtracted), and a row left with no observations is removed.
async fn subtract_from_rollup(txn: &WriteTransaction, key: &RollupKey, moments: &Moments) -> ServiceResult<()> {
    let backend = txn.get_database_backend();
    let (commodity_id, source, day, city, kecamatan) = key;
    let all_areas = city == ALL_AREAS;
    let mut values: Vec<Value> = vec![
        i64::try_from(moments.count).unwrap_or(i64::MAX).into(),
        to_stored(moments.sum_price)?.into(),
        moments.sum_price_squared.into(),
        to_stored(moments.sum_quantity)?.into(),
        to_stored(moments.sum_amount)?.into(),
        i64::try_from(moments.count_above_ceiling).unwrap_or(i64::MAX).into(),
    ];
    // The remaining observations of the row, for MIN and MAX (twice: once for each).
    let observation_filter = if all_areas {
        "o.commodity_id = ? AND o.source = ? AND o.observed_on = ?"
    } else {
        "o.commodity_id = ? AND o.source = ? AND o.observed_on = ? AND o.city = ? AND o.kecamatan = ?"
    };
    for _ in 0..2 {
        values.extend([(*commodity_id).into(), (*source).into(), (*day).into()]);
        if !all_areas {
            values.extend([city.clone().into(), kecamatan.clone().into()]);
        }
    }
    let row_filter = "commodity_id = ? AND source = ? AND day = ? AND city = ? AND kecamatan = ?";
    let key_values: Vec<Value> =
        vec![(*commodity_id).into(), (*source).into(), (*day).into(), city.clone().into(), kecamatan.clone().into()];
    values.extend(key_values.iter().cloned());
    let update = format!(
        "UPDATE price_rollup SET observations = observations - ?, sum_price_e4 = sum_price_e4 - ?, \
         sum_price_squared = sum_price_squared - ?, sum_quantity_e4 = sum_quantity_e4 - ?, \
         sum_amount_e4 = sum_amount_e4 - ?, above_ceiling = above_ceiling - ?, \
         min_price_e4 = COALESCE((SELECT MIN(o.unit_price_e4) FROM price_observation o WHERE {observation_filter}), 0), \
         max_price_e4 = COALESCE((SELECT MAX(o.unit_price_e4) FROM price_observation o WHERE {observation_filter}), 0) \
         WHERE {row_filter}"
    );
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        crate::db::numbered_placeholders(backend, &update),
        values,
    ))
    .await?;
    let delete = format!("DELETE FROM price_rollup WHERE {row_filter} AND observations <= 0");
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        crate::db::numbered_placeholders(backend, &delete),
        key_values,
    ))
    .await?;
    Ok(())
}

async fn raise_alerts(
    txn: &WriteTransaction,
    events: &EventBus,
    now: DateTime<Utc>,
    alerts: &[price_alert::Model],
) -> ServiceResult<()> {
    if alerts.is_empty() {
        return Ok(());
    }
    let rows: Vec<price_alert::ActiveModel> = alerts
        .iter()
        .map(|a| price_alert::ActiveModel {
            id: Set(a.id),
            kind: Set(a.kind.clone()),
            commodity_id: Set(a.commodity_id),
            source: Set(a.source.clone()),
            city: Set(a.city.clone()),
            kecamatan: Set(a.kecamatan.clone()),
            observed_on: Set(a.observed_on),
            unit_price_e4: Set(a.unit_price_e4),
            ceiling_e4: Set(a.ceiling_e4),
            observation_id: Set(a.observation_id),
            tender_id: Set(a.tender_id),
            market_name: Set(a.market_name.clone()),
            created_at: Set(a.created_at),
        })
        .collect();
    for chunk in rows.chunks(500) {
        price_alert::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    let agencies: Vec<Uuid> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::Kind.eq(OrganisationKind::Agency.as_str()))
        .into_tuple()
        .all(txn)
        .await?;
    let names: BTreeMap<Uuid, String> = commodity::Entity::find()
        .filter(commodity::Column::Id.is_in(alerts.iter().map(|a| a.commodity_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name_id))
        .collect();
    // One e-mail per commodity and recording (a day's survey may find several markets above the HET): the highest
    // price, and how many more there are. Every alert is its own live event.
    let mut by_commodity: BTreeMap<Uuid, Vec<&price_alert::Model>> = BTreeMap::new();
    for alert in alerts {
        by_commodity.entry(alert.commodity_id).or_default().push(alert);
    }
    for (commodity_id, found) in &by_commodity {
        let Some(highest) = found.iter().max_by_key(|a| a.unit_price_e4) else { continue };
        let place = format!("{}, {}", highest.kecamatan, highest.city);
        let notice = Notice::PriceAlert {
            commodity: names.get(commodity_id).cloned().unwrap_or_default(),
            area: if found.len() > 1 { format!("{place} (+{} lainnya/others)", found.len() - 1) } else { place },
            price: from_stored(highest.unit_price_e4),
            ceiling: from_stored(highest.ceiling_e4),
            day: highest.observed_on,
            source: highest.market_name.clone().unwrap_or_else(|| highest.source.to_lowercase()),
        };
        let id = highest.id.to_string();
        notification::mail_organisations(txn, now, &notice, &agencies, Subject { kind: "price_alert", id: &id })
            .await?;
    }
    for alert in alerts {
        let payload = json!({
            "kind": alert.kind,
            "commodityId": alert.commodity_id,
            "kecamatan": alert.kecamatan,
            "city": alert.city,
            "day": alert.observed_on,
            "price": from_stored(alert.unit_price_e4).to_string(),
            "ceiling": from_stored(alert.ceiling_e4).to_string(),
            "tenderId": alert.tender_id,
            "marketName": alert.market_name,
        });
        events.publish(txn, now, Topic::PriceAlert, alert.id, payload).await?;
    }
    Ok(())
}

/// Which purchase orders a recording covers.
#[derive(Debug, Clone, Copy)]
pub enum OrdersOf {
    /// Every order of a tender (the award, when it is confirmed).
    Tender(Uuid),
    /// One order (a re-award's replacement, a delivery).
    Order(Uuid),
}

/// Records the prices of purchase order lines — the one way awards and deliveries become price observations: each
/// line's unit price and `quantity_of` it (its whole quantity for an award, what was accepted for a delivery), in the
/// area of its delivery point, with rollups and alerts, in the caller's transaction.
pub async fn record_order_prices(
    txn: &WriteTransaction,
    events: &EventBus,
    source: &'static str,
    tender_row: &tender::Model,
    orders: OrdersOf,
    now: DateTime<Utc>,
    quantity_of: impl Fn(&purchase_order_line::Model) -> Decimal,
) -> ServiceResult<Vec<price_alert::Model>> {
    let (column, id) = match orders {
        OrdersOf::Tender(id) => (purchase_order::Column::TenderId, id),
        OrdersOf::Order(id) => (purchase_order::Column::Id, id),
    };
    let selected = sea_orm::sea_query::Query::select()
        .column(purchase_order::Column::Id)
        .from(purchase_order::Entity)
        .and_where(column.eq(id))
        .to_owned();
    let observations = observations_of_orders(txn, selected, source, tender_row, now, quantity_of).await?;
    record(txn, events, now, observations).await
}

/// The price observations of order lines: each line's unit price and `quantity_of` it, in the area of its delivery
/// point. Reads the lines and points through subqueries of `orders`, so a national award binds no long id lists.
async fn observations_of_orders(
    connection: &impl ConnectionTrait,
    orders: sea_orm::sea_query::SelectStatement,
    source: &'static str,
    tender_row: &tender::Model,
    now: DateTime<Utc>,
    quantity_of: impl Fn(&purchase_order_line::Model) -> Decimal,
) -> ServiceResult<Vec<NewObservation>> {
    let lines = purchase_order_line::Entity::find()
        .filter(purchase_order_line::Column::OrderId.in_subquery(orders.clone()))
        .order_by_asc(purchase_order_line::Column::Id)
        .all(connection)
        .await?;
    let points: std::collections::HashMap<Uuid, delivery_point::Model> = delivery_point::Entity::find()
        .filter(
            delivery_point::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(purchase_order_line::Column::DeliveryPointId)
                    .from(purchase_order_line::Entity)
                    .and_where(purchase_order_line::Column::OrderId.in_subquery(orders))
                    .to_owned(),
            ),
        )
        .all(connection)
        .await?
        .into_iter()
        .map(|point| (point.id, point))
        .collect();
    let province = demand_pool::Entity::find_by_id(tender_row.pool_id).one(connection).await?.and_then(|p| p.province);
    Ok(lines
        .iter()
        .filter(|line| quantity_of(line) > Decimal::ZERO)
        .filter_map(|line| {
            let point = points.get(&line.delivery_point_id)?;
            Some(NewObservation {
                commodity_id: line.commodity_id,
                source,
                province: province.clone(),
                city: point.city.clone(),
                kecamatan: point.kecamatan.clone(),
                kelurahan: Some(point.kelurahan.clone()),
                observed_at: now,
                unit_price: from_stored(line.unit_price_e4),
                quantity: quantity_of(line),
                tender_id: Some(tender_row.id),
                order_id: Some(line.order_id),
                market_name: None,
                recorded_by: None,
            })
        })
        .collect())
}
