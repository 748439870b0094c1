//! Open data: each tender as an OCDS 1.1.5 contracting process, with the bids and lots extensions.
//!
//! A package holds one release per stage the process has reached: `tender` (from publication), `award` (once the
//! tender is evaluated), `contract` (purchase orders) and `implementation` (deliveries, as milestones with status).
//! Drafts are not exported. Nothing about bids is exported before the deadline: the `bids` section, awards and
//! tenderers appear only once the tender has been closed and evaluated.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use domain::{
    access::{Actor, Permission},
    bid::BidStatus,
    clock::Clock,
    commodity::Unit,
    purchase_order::OrderStatus,
    tender::TenderStatus,
};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, sea_query::Query};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    ServiceError,
    entities::{
        app_user, bid, commodity, confirmation_line, delivery_confirmation, delivery_point, demand_line, demand_pool,
        lot, organisation, purchase_order, purchase_order_line, tender,
    },
    error::ServiceResult,
    fixed_point::from_stored,
    tendering::effective_status,
};

const BIDS_EXTENSION: &str =
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json";
const LOTS_EXTENSION: &str =
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json";

#[derive(Clone)]
pub struct OpenData {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    ocid_prefix: String,
    public_url: String,
}

/// A JSON number, as OCDS wants amounts and quantities: exact for whole numbers, a double for fractions (rupiah
/// and kilograms never need more than its fifteen digits).
fn number(value: Decimal) -> Value {
    let value = value.normalize();
    match value.to_i64().filter(|_| value.fract().is_zero()) {
        Some(whole) => json!(whole),
        None => value.to_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number),
    }
}

fn money(amount: Decimal) -> Value {
    json!({ "amount": number(amount), "currency": "IDR" })
}

/// Whether an order is part of the award that stands ([`OrderStatus::counts`]).
fn order_counts(order: &purchase_order::Model) -> bool {
    OrderStatus::parse(&order.status).is_ok_and(OrderStatus::counts)
}

fn reference(organisation: &organisation::Model) -> Value {
    json!({ "id": organisation.id.to_string(), "name": organisation.name })
}

/// Everything a tender's releases are built from, read once.
struct Process {
    tender: tender::Model,
    status: TenderStatus,
    pool: demand_pool::Model,
    commodity: commodity::Model,
    agency: Option<organisation::Model>,
    lots: Vec<lot::Model>,
    bids: Vec<bid::Model>,
    orders: Vec<purchase_order::Model>,
    lines: Vec<purchase_order_line::Model>,
    points: BTreeMap<Uuid, delivery_point::Model>,
    confirmations: Vec<delivery_confirmation::Model>,
    confirmation_lines: Vec<confirmation_line::Model>,
    organisations: BTreeMap<Uuid, organisation::Model>,
    cooperatives: Vec<Uuid>,
    /// Each order's quantity, and each bid's award as first made (its orders issued at confirmation): read once,
    /// since a national tender has tens of thousands of orders and lines.
    order_quantities: HashMap<Uuid, Decimal>,
    first_awarded: HashMap<Uuid, Decimal>,
}

impl Process {
    fn evaluated(&self) -> bool {
        matches!(self.status, TenderStatus::Closed | TenderStatus::Awarded | TenderStatus::Unsuccessful)
            && self.tender.closed_at.is_some()
    }

    fn unit(&self) -> Value {
        let name = Unit::parse(&self.commodity.unit).map_or("unit", Unit::symbol);
        json!({ "name": name })
    }

    fn lot_id(&self, lot_id: Uuid) -> String {
        self.lots.iter().find(|l| l.id == lot_id).map_or_else(|| lot_id.to_string(), |l| format!("lot-{}", l.number))
    }

    fn parties(&self, with_suppliers: bool) -> Vec<Value> {
        let mut parties = Vec::new();
        if let Some(agency) = &self.agency {
            parties.push(party(agency, &["buyer", "procuringEntity"]));
        }
        for id in &self.cooperatives {
            if let Some(cooperative) = self.organisations.get(id) {
                parties.push(party(cooperative, &["payer"]));
            }
        }
        if with_suppliers {
            let mut seen = std::collections::BTreeSet::new();
            for bid in &self.bids {
                if !seen.insert(bid.supplier_id) {
                    continue;
                }
                let Some(supplier) = self.organisations.get(&bid.supplier_id) else { continue };
                let won = self
                    .bids
                    .iter()
                    .filter(|b| b.supplier_id == bid.supplier_id)
                    .any(|b| b.awarded_quantity_e4.unwrap_or(0) > 0 || !self.first_awarded_quantity(b).is_zero());
                let roles: &[&str] = if won { &["tenderer", "supplier", "payee"] } else { &["tenderer"] };
                parties.push(party(supplier, roles));
            }
        }
        parties
    }

    fn tender_section(&self) -> Value {
        let status = match self.status {
            TenderStatus::Draft | TenderStatus::Open | TenderStatus::Closed => "active",
            TenderStatus::Awarded => "complete",
            TenderStatus::Unsuccessful => "unsuccessful",
            TenderStatus::Cancelled => "cancelled",
        };
        let lots: Vec<Value> = self
            .lots
            .iter()
            .map(|l| {
                let lot_status = match (self.status, l.outcome.as_str()) {
                    (TenderStatus::Cancelled, _) => "cancelled",
                    (_, "AWARDED") => "complete",
                    (_, "UNSUCCESSFUL") => "unsuccessful",
                    _ => "active",
                };
                let title = match &l.kecamatan {
                    Some(kecamatan) => format!("Lot {} – {kecamatan}", l.number),
                    None => format!("Lot {}", l.number),
                };
                json!({
                    "id": format!("lot-{}", l.number),
                    "title": title,
                    "status": lot_status,
                    "value": money(from_stored(l.quantity_e4) * from_stored(l.max_unit_price_e4)),
                })
            })
            .collect();
        let items: Vec<Value> = self
            .lots
            .iter()
            .map(|l| {
                json!({
                    "id": format!("lot-{}-item", l.number),
                    "description": self.commodity.name_id,
                    "quantity": number(from_stored(l.quantity_e4)),
                    "unit": { "name": self.unit()["name"], "value": money(from_stored(l.max_unit_price_e4)) },
                    "relatedLot": format!("lot-{}", l.number),
                })
            })
            .collect();
        let ceiling: Decimal =
            self.lots.iter().map(|l| from_stored(l.quantity_e4) * from_stored(l.max_unit_price_e4)).sum();
        let criterion = if self.tender.criterion == "WEIGHTED_SCORE" { "ratedCriteria" } else { "priceOnly" };
        let mut section = json!({
            "id": self.tender.id.to_string(),
            "title": self.tender.title,
            "description": format!("Pengadaan bersama {} untuk koperasi di {}", self.commodity.name_id, self.pool.city),
            "status": status,
            "items": items,
            "value": money(ceiling),
            "procurementMethod": "open",
            "procurementMethodDetails": "Tender tertutup (sealed bid) atas permintaan gabungan koperasi",
            "mainProcurementCategory": "goods",
            "awardCriteria": criterion,
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": { "startDate": self.tender.bidding_start_at, "endDate": self.tender.deadline_at },
            "lots": lots,
        });
        if let Some(agency) = &self.agency {
            section["procuringEntity"] = reference(agency);
        }
        if self.evaluated() {
            let mut tenderers: Vec<Uuid> =
                self.bids.iter().filter(|b| b.status != BidStatus::Withdrawn.as_str()).map(|b| b.supplier_id).collect();
            tenderers.sort_unstable();
            tenderers.dedup();
            section["numberOfTenderers"] = json!(tenderers.len());
            section["tenderers"] =
                tenderers.iter().filter_map(|id| self.organisations.get(id)).map(reference).collect::<Vec<_>>().into();
        }
        section
    }

    fn bids_section(&self) -> Value {
        let mut statistics = Vec::new();
        for l in &self.lots {
            let of_lot: Vec<&bid::Model> = self.bids.iter().filter(|b| b.lot_id == l.id).collect();
            let submitted = of_lot.iter().filter(|b| b.status != BidStatus::Withdrawn.as_str()).count();
            let valid = of_lot.iter().filter(|b| b.status != BidStatus::Withdrawn.as_str() && b.rank.is_some()).count();
            statistics.push(json!({ "id": format!("lot-{}-bids", l.number), "measure": "bids", "value": submitted, "relatedLot": format!("lot-{}", l.number) }));
            statistics.push(json!({ "id": format!("lot-{}-valid", l.number), "measure": "validBids", "value": valid, "relatedLot": format!("lot-{}", l.number) }));
        }
        let details: Vec<Value> = self
            .bids
            .iter()
            .map(|b| {
                let status = if b.status == BidStatus::Withdrawn.as_str() {
                    "withdrawn"
                } else if b.rank.is_some() {
                    "valid"
                } else {
                    "disqualified"
                };
                let price = from_stored(b.unit_price_e4);
                let quantity = from_stored(b.quantity_e4);
                let mut detail = json!({
                    "id": b.id.to_string(),
                    "date": b.received_at,
                    "status": status,
                    "tenderers": self.organisations.get(&b.supplier_id).map(reference).into_iter().collect::<Vec<_>>(),
                    "value": money(price * quantity),
                    "items": [{
                        "id": format!("{}-item", b.id),
                        "description": self.commodity.name_id,
                        "quantity": number(quantity),
                        "unit": { "name": self.unit()["name"], "value": money(price) },
                        "relatedLot": self.lot_id(b.lot_id),
                    }],
                    "relatedLots": [self.lot_id(b.lot_id)],
                });
                if let Some(rank) = b.rank {
                    detail["hasRank"] = json!(true);
                    detail["rank"] = json!(rank);
                }
                detail
            })
            .collect();
        json!({ "statistics": statistics, "details": details })
    }

    /// The quantity of a bid's award as first made: the evaluation's, carried by the orders issued when the award
    /// was confirmed (before that, the bid's own figure).
    fn first_awarded_quantity(&self, bid: &bid::Model) -> Decimal {
        if self.orders.is_empty() {
            return from_stored(bid.awarded_quantity_e4.unwrap_or(0));
        }
        self.first_awarded.get(&bid.id).copied().unwrap_or_default()
    }

    fn order_quantity(&self, order_id: Uuid) -> Decimal {
        self.order_quantities.get(&order_id).copied().unwrap_or_default()
    }

    /// The changes to a bid's award since it was first made, the OCDS way: one amendment per order of the bid that
    /// stopped counting (declined or cancelled) or that came to it by a re-award.
    fn amendments(&self, bid: &bid::Model) -> Vec<Value> {
        self.orders
            .iter()
            .filter(|order| order.bid_id == bid.id)
            .filter(|order| order.replaces_order_id.is_some() || !order_counts(order))
            .map(|order| {
                let quantity = self.order_quantity(order.id);
                let unit = self.unit()["name"].as_str().unwrap_or("unit").to_owned();
                let (rationale, description) = if order_counts(order) {
                    (
                        order.replacement_reason.clone().unwrap_or_default(),
                        format!("{} {unit} ditambahkan dengan pesanan pengganti {}", number(quantity), order.number),
                    )
                } else {
                    let reason = order.decline_reason.clone().or_else(|| order.cancel_reason.clone());
                    let verb = if order.status == "DECLINED" { "ditolak pemasok" } else { "dibatalkan" };
                    (
                        reason.unwrap_or_default(),
                        format!("{} {unit} dari pesanan {} {verb}", number(quantity), order.number),
                    )
                };
                json!({
                    "id": format!("amendment-{}", order.id),
                    "date": if order_counts(order) { order.issued_at } else { order.updated_at },
                    "rationale": rationale,
                    "description": description,
                })
            })
            .collect()
    }

    /// The awards: as first made (`current` false, the `award` release), or as they stand after declines, re-awards
    /// and cancellations (`current` true, the `awardUpdate` release), each changed award with its amendments and an
    /// award whose quantity all went elsewhere `cancelled`.
    fn awards_section(&self, current: bool) -> Vec<Value> {
        let confirmed = self.status == TenderStatus::Awarded;
        self.bids
            .iter()
            .filter_map(|b| {
                let first = self.first_awarded_quantity(b);
                let now = from_stored(b.awarded_quantity_e4.unwrap_or(0));
                let quantity = if current { now } else { first };
                if first.is_zero() && quantity.is_zero() {
                    return None;
                }
                let price = from_stored(b.unit_price_e4);
                let status = match (confirmed, quantity.is_zero()) {
                    (false, _) => "pending",
                    (true, false) => "active",
                    (true, true) => "cancelled",
                };
                let first_date = self.tender.awarded_at.or(self.tender.closed_at);
                let date = if first.is_zero() {
                    self.orders.iter().filter(|o| o.bid_id == b.id).map(|o| o.issued_at).min().or(first_date)
                } else {
                    first_date
                };
                let mut award = json!({
                    "id": format!("award-{}", b.id),
                    "title": format!("{} – {}", self.lot_id(b.lot_id), self.organisations.get(&b.supplier_id).map_or("", |o| o.name.as_str())),
                    "status": status,
                    "date": date,
                    "value": money(price * quantity),
                    "suppliers": self.organisations.get(&b.supplier_id).map(reference).into_iter().collect::<Vec<_>>(),
                    "items": [{
                        "id": format!("award-{}-item", b.id),
                        "description": self.commodity.name_id,
                        "quantity": number(quantity),
                        "unit": { "name": self.unit()["name"], "value": money(price) },
                        "relatedLot": self.lot_id(b.lot_id),
                    }],
                    "relatedLots": [self.lot_id(b.lot_id)],
                    "relatedBid": b.id.to_string(),
                });
                let amendments = if current { self.amendments(b) } else { vec![] };
                if !amendments.is_empty() {
                    award["amendments"] = amendments.into();
                }
                Some(award)
            })
            .collect()
    }

    /// When the first award changed (a decline, a re-award, a cancellation): the last change's instant.
    fn award_changed_at(&self) -> Option<DateTime<Utc>> {
        self.orders
            .iter()
            .filter(|order| order.replaces_order_id.is_some() || !order_counts(order))
            .map(|order| if order_counts(order) { order.issued_at } else { order.updated_at })
            .max()
    }

    fn contracts_section(&self, now: DateTime<Utc>, with_implementation: bool) -> Vec<Value> {
        self.orders
            .iter()
            .map(|order| {
                let status = match order.status.as_str() {
                    "ISSUED" => "pending",
                    "DECLINED" | "CANCELLED" => "cancelled",
                    "CLOSED" => "terminated",
                    _ => "active",
                };
                let lines: Vec<&purchase_order_line::Model> =
                    self.lines.iter().filter(|l| l.order_id == order.id).collect();
                let items: Vec<Value> = lines
                    .iter()
                    .map(|line| {
                        json!({
                            "id": line.id.to_string(),
                            "description": self.commodity.name_id,
                            "quantity": number(from_stored(line.quantity_e4)),
                            "unit": { "name": self.unit()["name"], "value": money(from_stored(line.unit_price_e4)) },
                        })
                    })
                    .collect();
                let mut contract = json!({
                    "id": order.id.to_string(),
                    "awardID": format!("award-{}", order.bid_id),
                    "title": format!("Pesanan pembelian {}", order.number),
                    "status": status,
                    "value": money(from_stored(order.total_e4)),
                    "items": items,
                });
                if let Some(accepted_at) = order.accepted_at {
                    contract["dateSigned"] = json!(accepted_at);
                }
                if with_implementation {
                    let milestones: Vec<Value> = lines
                        .iter()
                        .map(|line| {
                            let met_at = self
                                .confirmation_lines
                                .iter()
                                .filter(|c| c.order_line_id == line.id)
                                .filter_map(|c| self.confirmations.iter().find(|d| d.id == c.confirmation_id))
                                .map(|d| d.received_at)
                                .max();
                            let due = line.due_date.and_hms_opt(10, 0, 0).unwrap_or_default().and_utc();
                            let status = if line.accepted_e4 >= line.quantity_e4 {
                                "met"
                            } else if line.accepted_e4 > 0 {
                                "partiallyMet"
                            } else if due < now {
                                "notMet"
                            } else {
                                "scheduled"
                            };
                            let place =
                                self.points.get(&line.delivery_point_id).map_or(String::new(), |p| p.name.clone());
                            let mut milestone = json!({
                                "id": format!("delivery-{}", line.id),
                                "title": format!("Pengiriman ke {place}"),
                                "type": "delivery",
                                "description": format!(
                                    "diterima {} dari {} {}",
                                    from_stored(line.accepted_e4).normalize(),
                                    from_stored(line.quantity_e4).normalize(),
                                    self.unit()["name"].as_str().unwrap_or_default()
                                ),
                                "dueDate": due,
                                "status": status,
                            });
                            if let (Some(met_at), "met" | "partiallyMet") = (met_at, status) {
                                milestone["dateMet"] = json!(met_at);
                            }
                            milestone
                        })
                        .collect();
                    contract["implementation"] = json!({ "milestones": milestones });
                }
                contract
            })
            .collect()
    }
}

fn party(organisation: &organisation::Model, roles: &[&str]) -> Value {
    let mut address = serde_json::Map::new();
    if let Some(locality) = organisation.city.as_ref().or(organisation.kecamatan.as_ref()) {
        address.insert("locality".into(), json!(locality));
    }
    if let Some(region) = &organisation.province {
        address.insert("region".into(), json!(region));
    }
    address.insert("countryName".into(), json!("Indonesia"));
    json!({
        "id": organisation.id.to_string(),
        "name": organisation.name,
        "address": address,
        "roles": roles,
        "details": { "kind": organisation.kind, "stateOwned": organisation.is_state_owned },
    })
}

impl OpenData {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, ocid_prefix: String, public_url: String) -> Self {
        Self { db, clock, ocid_prefix, public_url }
    }

    pub fn ocid(&self, tender_id: Uuid) -> String {
        format!("{}-{tender_id}", self.ocid_prefix)
    }

    async fn process(&self, row: tender::Model) -> ServiceResult<Option<Process>> {
        let now = self.clock.now();
        let status = effective_status(&row, now)?;
        if status == TenderStatus::Draft {
            return Ok(None);
        }
        let pool = demand_pool::Entity::find_by_id(row.pool_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::internal("tender without pool"))?;
        let commodity = commodity::Entity::find_by_id(row.commodity_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::internal("tender without commodity"))?;
        let agency_id = app_user::Entity::find_by_id(row.created_by).one(&self.db).await?.map(|u| u.organisation_id);
        let lots = lot::Entity::find()
            .filter(lot::Column::TenderId.eq(row.id))
            .order_by_asc(lot::Column::Number)
            .all(&self.db)
            .await?;
        // Sealed until evaluated: bids are read only once the tender is closed.
        let evaluated = matches!(status, TenderStatus::Closed | TenderStatus::Awarded | TenderStatus::Unsuccessful)
            && row.closed_at.is_some();
        let bids = if evaluated {
            bid::Entity::find()
                .filter(bid::Column::TenderId.eq(row.id))
                .order_by_asc(bid::Column::Id)
                .all(&self.db)
                .await?
        } else {
            vec![]
        };
        let orders = purchase_order::Entity::find()
            .filter(purchase_order::Column::TenderId.eq(row.id))
            .order_by_asc(purchase_order::Column::Number)
            .all(&self.db)
            .await?;
        // Subqueries rather than id lists: a national tender has tens of thousands of orders and cooperatives,
        // beyond both databases' bind-parameter limits.
        let these_orders = Query::select()
            .column(purchase_order::Column::Id)
            .from(purchase_order::Entity)
            .and_where(purchase_order::Column::TenderId.eq(row.id))
            .to_owned();
        let lines = purchase_order_line::Entity::find()
            .filter(purchase_order_line::Column::OrderId.in_subquery(these_orders.clone()))
            .order_by_asc(purchase_order_line::Column::Id)
            .all(&self.db)
            .await?;
        let points = delivery_point::Entity::find()
            .filter(
                delivery_point::Column::Id.in_subquery(
                    Query::select()
                        .column(purchase_order_line::Column::DeliveryPointId)
                        .from(purchase_order_line::Entity)
                        .and_where(purchase_order_line::Column::OrderId.in_subquery(these_orders.clone()))
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let confirmations = delivery_confirmation::Entity::find()
            .filter(delivery_confirmation::Column::OrderId.in_subquery(these_orders.clone()))
            .all(&self.db)
            .await?;
        let confirmation_lines = confirmation_line::Entity::find()
            .filter(
                confirmation_line::Column::ConfirmationId.in_subquery(
                    Query::select()
                        .column(delivery_confirmation::Column::Id)
                        .from(delivery_confirmation::Entity)
                        .and_where(delivery_confirmation::Column::OrderId.in_subquery(these_orders))
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?;
        let pool_cooperatives = Query::select()
            .column(demand_line::Column::CooperativeId)
            .from(demand_line::Entity)
            .and_where(demand_line::Column::PoolId.eq(row.pool_id))
            .to_owned();
        let mut condition = Condition::any().add(organisation::Column::Id.in_subquery(pool_cooperatives));
        if evaluated {
            // Who bid is sealed too: the bidders are read only once the tender is evaluated.
            condition = condition.add(
                organisation::Column::Id.in_subquery(
                    Query::select()
                        .column(bid::Column::SupplierId)
                        .from(bid::Entity)
                        .and_where(bid::Column::TenderId.eq(row.id))
                        .to_owned(),
                ),
            );
        }
        if let Some(agency_id) = agency_id {
            condition = condition.add(organisation::Column::Id.eq(agency_id));
        }
        let organisations: BTreeMap<Uuid, organisation::Model> = organisation::Entity::find()
            .filter(condition)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let cooperatives: Vec<Uuid> = organisations
            .values()
            .filter(|o| o.kind == domain::organisation::OrganisationKind::Cooperative.as_str())
            .map(|o| o.id)
            .collect();
        let agency = agency_id.and_then(|id| organisations.get(&id).cloned());
        let mut order_quantities: HashMap<Uuid, Decimal> = HashMap::new();
        for line in &lines {
            *order_quantities.entry(line.order_id).or_default() += from_stored(line.quantity_e4);
        }
        let mut first_awarded: HashMap<Uuid, Decimal> = HashMap::new();
        for order in orders.iter().filter(|o| o.replaces_order_id.is_none()) {
            *first_awarded.entry(order.bid_id).or_default() +=
                order_quantities.get(&order.id).copied().unwrap_or_default();
        }
        Ok(Some(Process {
            tender: row,
            status,
            pool,
            commodity,
            agency,
            lots,
            bids,
            orders,
            lines,
            points,
            confirmations,
            confirmation_lines,
            organisations,
            cooperatives,
            order_quantities,
            first_awarded,
        }))
    }

    fn releases(&self, process: &Process) -> Vec<Value> {
        let now = self.clock.now();
        let ocid = self.ocid(process.tender.id);
        let base = |stage: &str, tag: &str, date: Option<DateTime<Utc>>, with_suppliers: bool| {
            let mut release = json!({
                "ocid": ocid,
                "id": format!("{ocid}-{stage}"),
                "date": date.unwrap_or(process.tender.updated_at),
                "tag": [tag],
                "initiationType": "tender",
                "language": "id",
                "parties": process.parties(with_suppliers),
                "planning": {
                    "rationale": format!(
                        "Permintaan gabungan musim {} dari {} koperasi di {}",
                        process.pool.season.clone().unwrap_or_default(),
                        process.cooperatives.len(),
                        process.pool.city
                    ),
                },
                "tender": process.tender_section(),
            });
            if let Some(agency) = &process.agency {
                release["buyer"] = reference(agency);
            }
            release
        };
        let tender_tag = if process.status == TenderStatus::Cancelled { "tenderCancellation" } else { "tender" };
        let mut releases = vec![base("tender", tender_tag, process.tender.published_at, false)];
        if !process.evaluated() {
            return releases;
        }
        let mut award = base("award", "award", process.tender.awarded_at.or(process.tender.closed_at), true);
        award["bids"] = process.bids_section();
        award["awards"] = process.awards_section(false).into();
        releases.push(award.clone());
        if let Some(changed_at) = process.award_changed_at() {
            let mut update = award.clone();
            update["id"] = json!(format!("{ocid}-award-update"));
            update["tag"] = json!(["awardUpdate"]);
            update["date"] = json!(changed_at);
            update["awards"] = process.awards_section(true).into();
            releases.push(update.clone());
            award = update;
        }
        if !process.orders.is_empty() {
            let mut contract = award.clone();
            contract["id"] = json!(format!("{ocid}-contract"));
            contract["tag"] = json!(["contract"]);
            contract["date"] = json!(process.orders.iter().map(|o| o.updated_at).max());
            contract["contracts"] = process.contracts_section(now, false).into();
            releases.push(contract.clone());
            if !process.confirmations.is_empty() {
                let mut implementation = contract;
                implementation["id"] = json!(format!("{ocid}-implementation"));
                implementation["tag"] = json!(["implementation"]);
                implementation["date"] = json!(process.confirmations.iter().map(|c| c.recorded_at).max());
                implementation["contracts"] = process.contracts_section(now, true).into();
                releases.push(implementation);
            }
        }
        releases
    }

    fn package(&self, tender_id: Uuid, releases: Vec<Value>) -> Value {
        json!({
            "uri": format!("{}/exports/ocds/{tender_id}.json", self.public_url.trim_end_matches('/')),
            "version": "1.1",
            "extensions": [BIDS_EXTENSION, LOTS_EXTENSION],
            "publishedDate": self.clock.now(),
            "publisher": { "name": "Diskopindag (Lumbung)" },
            "releases": releases,
        })
    }

    /// The release package of one tender (the agency). Drafts do not exist as open data.
    pub async fn release_package(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<Value> {
        actor.require(Permission::MonitorPrices)?;
        let row = tender::Entity::find_by_id(tender_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::NotFound("tender".into()))?;
        let process = self.process(row).await?.ok_or_else(|| ServiceError::NotFound("tender".into()))?;
        Ok(self.package(tender_id, self.releases(&process)))
    }

    /// Every published tender's package (changed since `since`, when given), one JSON document per line.
    pub async fn bulk(&self, actor: &Actor, since: Option<DateTime<Utc>>) -> ServiceResult<String> {
        actor.require(Permission::MonitorPrices)?;
        self.bulk_unchecked(since).await
    }

    /// For the command line, which runs with the operator's authority.
    pub async fn bulk_unchecked(&self, since: Option<DateTime<Utc>>) -> ServiceResult<String> {
        let mut query = tender::Entity::find()
            .filter(tender::Column::Status.ne(TenderStatus::Draft.as_str()))
            .order_by_asc(tender::Column::Id);
        if let Some(since) = since {
            query = query.filter(tender::Column::UpdatedAt.gte(since));
        }
        let mut out = String::new();
        for row in query.all(&self.db).await? {
            let id = row.id;
            if let Some(process) = self.process(row).await? {
                out.push_str(&self.package(id, self.releases(&process)).to_string());
                out.push('\n');
            }
        }
        Ok(out)
    }
}
