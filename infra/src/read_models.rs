//! What infra hands to the API: stored rows as read models, with exact `Decimal` amounts and typed statuses, so that
//! nothing outside infra knows how rows are stored (amounts in ten-thousandths in `_e4` columns, statuses as text,
//! kecamatan lists as JSON) and no secret column (a password hash, an invitation token) can reach a resolver.
//!
//! A stored value that does not parse is an internal error here, never a quiet default.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{
    access::Role,
    bid::{BidStatus, CommittedBid, Offer, VersionAction},
    commodity::{AreaScope, Category, PriceKind, Unit},
    identity::UserStatus,
    notification::OutboxStatus,
    organisation::{OrganisationKind, OrganisationStatus},
    pool::PoolStatus,
    purchase_order::OrderStatus,
    tender::{AwardCriterion, LotOutcome, TenderStatus},
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    ServiceError,
    entities::{
        app_user, audit_entry, award_allocation, bid, bid_version, commodity, confirmation_line, delivery_confirmation,
        delivery_point, demand_line, demand_pool, dispatch, dispatch_line, fertiliser_allocation, lot, organisation,
        outbox_message, price_reference, purchase_order, purchase_order_line, tender,
    },
    error::ServiceResult,
    fixed_point::from_stored,
};

/// A stored value that must parse: failing to is a fault of the data, not of the caller.
fn stored<T>(result: Result<T, domain::RuleError>) -> ServiceResult<T> {
    result.map_err(|error| ServiceError::internal(format!("a stored value does not parse: {error}")))
}

/// Reads every row, or fails on the first that does not parse.
pub(crate) fn read_all<Row, Model>(rows: impl IntoIterator<Item = Row>) -> ServiceResult<Vec<Model>>
where
    Model: TryFrom<Row, Error = ServiceError>,
{
    rows.into_iter().map(Model::try_from).collect()
}

/// Reads an optional row.
pub(crate) fn read_one<Row, Model>(row: Option<Row>) -> ServiceResult<Option<Model>>
where
    Model: TryFrom<Row, Error = ServiceError>,
{
    row.map(Model::try_from).transpose()
}

/// The award criterion a tender stores as a name and two weights.
pub(crate) fn criterion_of(row: &tender::Model) -> ServiceResult<AwardCriterion> {
    match row.criterion.as_str() {
        "LOWEST_PRICE" => Ok(AwardCriterion::LowestPrice),
        "WEIGHTED_SCORE" => {
            let weight = |value: i16| {
                u8::try_from(value).map_err(|_| ServiceError::internal("a stored award weight is out of range"))
            };
            Ok(AwardCriterion::weighted(weight(row.price_weight)?, weight(row.lead_time_weight)?)?)
        }
        // Never quietly "lowest price": a tender evaluated by the wrong rule awards the wrong bids.
        other => Err(ServiceError::internal(format!("unknown stored award criterion {other:?}"))),
    }
}

/// A tender made from a frozen demand pool.
#[derive(Debug, Clone)]
pub struct Tender {
    pub id: Uuid,
    pub pool_id: Uuid,
    pub commodity_id: Uuid,
    pub title: String,
    /// As stored; see [`Tender::status_at`] for what a reader sees.
    pub stored_status: TenderStatus,
    pub criterion: AwardCriterion,
    pub price_weight: i16,
    pub lead_time_weight: i16,
    pub partial_bids_allowed: bool,
    pub min_partial_quantity: Option<Decimal>,
    pub min_responsive_bids: i32,
    pub acceptance_days: i32,
    pub bidding_start_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub cancel_reason: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub awarded_at: Option<DateTime<Utc>>,
}

impl Tender {
    /// The status a reader sees at `now`: an open tender reads closed from its deadline on.
    pub fn status_at(&self, now: DateTime<Utc>) -> TenderStatus {
        self.stored_status.at(self.deadline_at, now)
    }
}

impl TryFrom<tender::Model> for Tender {
    type Error = ServiceError;
    fn try_from(row: tender::Model) -> ServiceResult<Self> {
        Ok(Self {
            stored_status: stored(TenderStatus::parse(&row.status))?,
            criterion: criterion_of(&row)?,
            id: row.id,
            pool_id: row.pool_id,
            commodity_id: row.commodity_id,
            title: row.title,
            price_weight: row.price_weight,
            lead_time_weight: row.lead_time_weight,
            partial_bids_allowed: row.partial_bids_allowed,
            min_partial_quantity: row.min_partial_quantity_e4.map(from_stored),
            min_responsive_bids: row.min_responsive_bids,
            acceptance_days: row.acceptance_days,
            bidding_start_at: row.bidding_start_at,
            deadline_at: row.deadline_at,
            cancel_reason: row.cancel_reason,
            published_at: row.published_at,
            closed_at: row.closed_at,
            awarded_at: row.awarded_at,
        })
    }
}

/// A lot of a tender.
#[derive(Debug, Clone)]
pub struct Lot {
    pub id: Uuid,
    pub tender_id: Uuid,
    pub number: i32,
    pub kecamatan: Option<String>,
    pub quantity: Decimal,
    pub max_unit_price: Decimal,
    pub outcome: LotOutcome,
    pub awarded_quantity: Option<Decimal>,
    pub total_cost: Option<Decimal>,
}

impl TryFrom<lot::Model> for Lot {
    type Error = ServiceError;
    fn try_from(row: lot::Model) -> ServiceResult<Self> {
        Ok(Self {
            outcome: stored(LotOutcome::parse(&row.outcome))?,
            id: row.id,
            tender_id: row.tender_id,
            number: row.number,
            kecamatan: row.kecamatan,
            quantity: from_stored(row.quantity_e4),
            max_unit_price: from_stored(row.max_unit_price_e4),
            awarded_quantity: row.awarded_quantity_e4.map(from_stored),
            total_cost: row.total_cost_e4.map(from_stored),
        })
    }
}

/// What a bid (at its latest version) or one of its versions offers, as recorded.
#[derive(Debug, Clone)]
pub struct RecordedOffer {
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub lead_time_days: i32,
    pub validity_days: i32,
}

/// A bid at its latest version, with its evaluation once closed.
#[derive(Debug, Clone)]
pub struct Bid {
    pub id: Uuid,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub supplier_id: Uuid,
    pub status: BidStatus,
    pub version: i32,
    pub offer: RecordedOffer,
    pub received_at: DateTime<Utc>,
    pub commitment_hash: String,
    pub nonce: String,
    pub rank: Option<i32>,
    pub awarded_quantity: Option<Decimal>,
    pub rejection: Option<String>,
}

impl Bid {
    /// The canonical text the commitment hash was computed over, for anyone who may see the bid to verify it.
    pub fn canonical_encoding(&self) -> ServiceResult<String> {
        let offer = Offer::recorded(
            self.offer.unit_price,
            self.offer.quantity,
            self.offer.lead_time_days,
            self.offer.validity_days,
        )?;
        Ok(domain::bid::canonical_encoding(&CommittedBid {
            tender_id: self.tender_id,
            lot_id: self.lot_id,
            supplier_id: self.supplier_id,
            version: u32::try_from(self.version)
                .map_err(|_| ServiceError::internal("a stored bid version is negative"))?,
            offer: &offer,
            received_at: self.received_at,
            nonce: &self.nonce,
        }))
    }
}

impl TryFrom<bid::Model> for Bid {
    type Error = ServiceError;
    fn try_from(row: bid::Model) -> ServiceResult<Self> {
        Ok(Self {
            status: stored(BidStatus::parse(&row.status))?,
            id: row.id,
            tender_id: row.tender_id,
            lot_id: row.lot_id,
            supplier_id: row.supplier_id,
            version: row.version,
            offer: RecordedOffer {
                unit_price: from_stored(row.unit_price_e4),
                quantity: from_stored(row.quantity_e4),
                lead_time_days: row.lead_time_days,
                validity_days: row.validity_days,
            },
            received_at: row.received_at,
            commitment_hash: row.commitment_hash,
            nonce: row.nonce,
            rank: row.rank,
            awarded_quantity: row.awarded_quantity_e4.map(from_stored),
            rejection: row.rejection,
        })
    }
}

/// One version of a bid, as received.
#[derive(Debug, Clone)]
pub struct BidVersion {
    pub bid_id: Uuid,
    pub version: i32,
    pub action: VersionAction,
    pub offer: RecordedOffer,
    pub received_at: DateTime<Utc>,
    pub commitment_hash: String,
}

impl TryFrom<bid_version::Model> for BidVersion {
    type Error = ServiceError;
    fn try_from(row: bid_version::Model) -> ServiceResult<Self> {
        Ok(Self {
            action: stored(VersionAction::parse(&row.action))?,
            bid_id: row.bid_id,
            version: row.version,
            offer: RecordedOffer {
                unit_price: from_stored(row.unit_price_e4),
                quantity: from_stored(row.quantity_e4),
                lead_time_days: row.lead_time_days,
                validity_days: row.validity_days,
            },
            received_at: row.received_at,
            commitment_hash: row.commitment_hash,
        })
    }
}

/// Part of a cooperative's demand line served by one awarded supplier at its price.
#[derive(Debug, Clone)]
pub struct Allocation {
    pub lot_id: Uuid,
    pub demand_line_id: Uuid,
    pub cooperative_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price: Decimal,
    pub quantity: Decimal,
}

impl TryFrom<award_allocation::Model> for Allocation {
    type Error = ServiceError;
    fn try_from(row: award_allocation::Model) -> ServiceResult<Self> {
        Ok(Self {
            lot_id: row.lot_id,
            demand_line_id: row.demand_line_id,
            cooperative_id: row.cooperative_id,
            supplier_id: row.supplier_id,
            unit_price: from_stored(row.unit_price_e4),
            quantity: from_stored(row.quantity_e4),
        })
    }
}

/// A purchase order.
#[derive(Debug, Clone)]
pub struct PurchaseOrder {
    pub id: Uuid,
    pub number: String,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub cooperative_id: Uuid,
    pub supplier_id: Uuid,
    pub status: OrderStatus,
    pub total: Decimal,
    pub issued_at: DateTime<Utc>,
    pub accept_by: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub close_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub replaces_order_id: Option<Uuid>,
    pub replaced_by_order_id: Option<Uuid>,
    pub replacement_reason: Option<String>,
}

impl TryFrom<purchase_order::Model> for PurchaseOrder {
    type Error = ServiceError;
    fn try_from(row: purchase_order::Model) -> ServiceResult<Self> {
        Ok(Self {
            status: stored(OrderStatus::parse(&row.status))?,
            id: row.id,
            number: row.number,
            tender_id: row.tender_id,
            lot_id: row.lot_id,
            cooperative_id: row.cooperative_id,
            supplier_id: row.supplier_id,
            total: from_stored(row.total_e4),
            issued_at: row.issued_at,
            accept_by: row.accept_by,
            accepted_at: row.accepted_at,
            decline_reason: row.decline_reason,
            cancel_reason: row.cancel_reason,
            close_reason: row.close_reason,
            closed_at: row.closed_at,
            replaces_order_id: row.replaces_order_id,
            replaced_by_order_id: row.replaced_by_order_id,
            replacement_reason: row.replacement_reason,
        })
    }
}

/// A line of an order and what has moved against it.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub id: Uuid,
    pub order_id: Uuid,
    pub commodity_id: Uuid,
    pub delivery_point_id: Uuid,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_total: Decimal,
    pub due_date: NaiveDate,
    pub dispatched: Decimal,
    pub received: Decimal,
    pub accepted: Decimal,
    pub rejected: Decimal,
}

impl OrderLine {
    /// Ordered but not (yet) accepted.
    pub fn undelivered(&self) -> Decimal {
        (self.quantity - self.accepted).max(Decimal::ZERO)
    }
}

impl TryFrom<purchase_order_line::Model> for OrderLine {
    type Error = ServiceError;
    fn try_from(row: purchase_order_line::Model) -> ServiceResult<Self> {
        Ok(Self {
            id: row.id,
            order_id: row.order_id,
            commodity_id: row.commodity_id,
            delivery_point_id: row.delivery_point_id,
            quantity: from_stored(row.quantity_e4),
            unit_price: from_stored(row.unit_price_e4),
            line_total: from_stored(row.line_total_e4),
            due_date: row.due_date,
            dispatched: from_stored(row.dispatched_e4),
            received: from_stored(row.received_e4),
            accepted: from_stored(row.accepted_e4),
            rejected: from_stored(row.rejected_e4),
        })
    }
}

/// A quantity of one order line that moved (dispatched, or confirmed).
#[derive(Debug, Clone)]
pub struct DispatchedLine {
    pub order_line_id: Uuid,
    pub quantity: Decimal,
}

/// A dispatch with its lines.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub id: Uuid,
    pub order_id: Uuid,
    pub dispatched_on: NaiveDate,
    pub vehicle: String,
    pub driver: String,
    pub expected_arrival: NaiveDate,
    pub lines: Vec<DispatchedLine>,
}

impl TryFrom<(dispatch::Model, Vec<dispatch_line::Model>)> for Dispatch {
    type Error = ServiceError;
    fn try_from((row, lines): (dispatch::Model, Vec<dispatch_line::Model>)) -> ServiceResult<Self> {
        Ok(Self {
            id: row.id,
            order_id: row.order_id,
            dispatched_on: row.dispatched_on,
            vehicle: row.vehicle,
            driver: row.driver,
            expected_arrival: row.expected_arrival,
            lines: lines
                .into_iter()
                .map(|l| DispatchedLine { order_line_id: l.order_line_id, quantity: from_stored(l.quantity_e4) })
                .collect(),
        })
    }
}

/// What a cooperative confirmed of one order line.
#[derive(Debug, Clone)]
pub struct ConfirmedLine {
    pub order_line_id: Uuid,
    pub received: Decimal,
    pub accepted: Decimal,
    pub rejected: Decimal,
    pub rejection_reason: Option<String>,
    pub rejection_note: Option<String>,
    pub days_late: i32,
}

/// A delivery confirmation with its lines.
#[derive(Debug, Clone)]
pub struct DeliveryConfirmation {
    pub id: Uuid,
    pub order_id: Uuid,
    pub dispatch_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub receiver_name: String,
    pub note: Option<String>,
    pub discrepancy: bool,
    pub supplier_response: Option<String>,
    pub lines: Vec<ConfirmedLine>,
}

impl TryFrom<(delivery_confirmation::Model, Vec<confirmation_line::Model>)> for DeliveryConfirmation {
    type Error = ServiceError;
    fn try_from((row, lines): (delivery_confirmation::Model, Vec<confirmation_line::Model>)) -> ServiceResult<Self> {
        Ok(Self {
            id: row.id,
            order_id: row.order_id,
            dispatch_id: row.dispatch_id,
            received_at: row.received_at,
            receiver_name: row.receiver_name,
            note: row.note,
            discrepancy: row.discrepancy,
            supplier_response: row.supplier_response,
            lines: lines
                .into_iter()
                .map(|l| ConfirmedLine {
                    order_line_id: l.order_line_id,
                    received: from_stored(l.received_e4),
                    accepted: from_stored(l.accepted_e4),
                    rejected: from_stored(l.rejected_e4),
                    rejection_reason: l.rejection_reason,
                    rejection_note: l.rejection_note,
                    days_late: l.days_late,
                })
                .collect(),
        })
    }
}

/// An open call for one commodity in an area.
#[derive(Debug, Clone)]
pub struct DemandPool {
    pub id: Uuid,
    pub commodity_id: Uuid,
    pub province: Option<String>,
    pub city: String,
    /// Empty means the whole city.
    pub kecamatans: Vec<String>,
    pub season: Option<String>,
    pub delivery_first_day: NaiveDate,
    pub delivery_last_day: NaiveDate,
    pub cutoff_at: DateTime<Utc>,
    /// As stored; see [`DemandPool::status_at`].
    pub stored_status: PoolStatus,
    pub cancel_reason: Option<String>,
}

impl DemandPool {
    /// The status a reader sees at `now`: an open pool reads frozen from its cut-off.
    pub fn status_at(&self, now: DateTime<Utc>) -> PoolStatus {
        self.stored_status.at(self.cutoff_at, now)
    }
}

/// The kecamatan list a pool stores as JSON.
pub(crate) fn stored_kecamatans(text: &str) -> ServiceResult<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|error| ServiceError::internal(format!("a pool's stored kecamatan list does not parse: {error}")))
}

impl TryFrom<demand_pool::Model> for DemandPool {
    type Error = ServiceError;
    fn try_from(row: demand_pool::Model) -> ServiceResult<Self> {
        Ok(Self {
            stored_status: stored(PoolStatus::parse(&row.status))?,
            kecamatans: stored_kecamatans(&row.kecamatans)?,
            id: row.id,
            commodity_id: row.commodity_id,
            province: row.province,
            city: row.city,
            season: row.season,
            delivery_first_day: row.delivery_first_day,
            delivery_last_day: row.delivery_last_day,
            cutoff_at: row.cutoff_at,
            cancel_reason: row.cancel_reason,
        })
    }
}

/// A cooperative's demand in a pool.
#[derive(Debug, Clone)]
pub struct DemandLine {
    pub id: Uuid,
    pub pool_id: Uuid,
    pub cooperative_id: Uuid,
    pub delivery_point_id: Uuid,
    pub quantity: Decimal,
    pub wanted_date: NaiveDate,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<demand_line::Model> for DemandLine {
    type Error = ServiceError;
    fn try_from(row: demand_line::Model) -> ServiceResult<Self> {
        Ok(Self {
            id: row.id,
            pool_id: row.pool_id,
            cooperative_id: row.cooperative_id,
            delivery_point_id: row.delivery_point_id,
            quantity: from_stored(row.quantity_e4),
            wanted_date: row.wanted_date,
            updated_at: row.updated_at,
        })
    }
}

/// A cooperative's RDKK allocation of a subsidised fertiliser for a season.
#[derive(Debug, Clone)]
pub struct FertiliserAllocation {
    pub cooperative_id: Uuid,
    pub commodity_id: Uuid,
    pub season: String,
    pub quantity: Decimal,
    pub recorded_at: DateTime<Utc>,
}

impl TryFrom<fertiliser_allocation::Model> for FertiliserAllocation {
    type Error = ServiceError;
    fn try_from(row: fertiliser_allocation::Model) -> ServiceResult<Self> {
        Ok(Self {
            cooperative_id: row.cooperative_id,
            commodity_id: row.commodity_id,
            season: row.season,
            quantity: from_stored(row.quantity_e4),
            recorded_at: row.recorded_at,
        })
    }
}

/// A person who logs in; never their password hash or invitation token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub is_organisation_admin: bool,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<app_user::Model> for User {
    type Error = ServiceError;
    fn try_from(row: app_user::Model) -> ServiceResult<Self> {
        Ok(Self {
            role: stored(Role::parse(&row.role))?,
            status: stored(UserStatus::parse(&row.status))?,
            id: row.id,
            organisation_id: row.organisation_id,
            email: row.email,
            name: row.name,
            is_organisation_admin: row.is_organisation_admin,
            created_at: row.created_at,
        })
    }
}

/// A cooperative, supplier, the agency or the platform.
#[derive(Debug, Clone)]
pub struct Organisation {
    pub id: Uuid,
    pub kind: OrganisationKind,
    pub name: String,
    pub status: OrganisationStatus,
    pub status_reason: Option<String>,
    pub registration_number: Option<String>,
    pub kelurahan: Option<String>,
    pub kecamatan: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub is_state_owned: bool,
    pub created_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl TryFrom<organisation::Model> for Organisation {
    type Error = ServiceError;
    fn try_from(row: organisation::Model) -> ServiceResult<Self> {
        Ok(Self {
            kind: stored(OrganisationKind::parse(&row.kind))?,
            status: stored(OrganisationStatus::parse(&row.status))?,
            id: row.id,
            name: row.name,
            status_reason: row.status_reason,
            registration_number: row.registration_number,
            kelurahan: row.kelurahan,
            kecamatan: row.kecamatan,
            city: row.city,
            province: row.province,
            is_state_owned: row.is_state_owned,
            created_at: row.created_at,
            reviewed_at: row.reviewed_at,
        })
    }
}

/// A cooperative's delivery point (gerai).
#[derive(Debug, Clone)]
pub struct DeliveryPoint {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub address: String,
    pub kelurahan: String,
    pub kecamatan: String,
    pub city: String,
}

impl TryFrom<delivery_point::Model> for DeliveryPoint {
    type Error = ServiceError;
    fn try_from(row: delivery_point::Model) -> ServiceResult<Self> {
        Ok(Self {
            id: row.id,
            organisation_id: row.organisation_id,
            name: row.name,
            address: row.address,
            kelurahan: row.kelurahan,
            kecamatan: row.kecamatan,
            city: row.city,
        })
    }
}

/// A commodity in the catalogue.
#[derive(Debug, Clone)]
pub struct Commodity {
    pub id: Uuid,
    pub code: String,
    pub name_id: String,
    pub name_en: String,
    pub unit: Unit,
    pub category: Category,
}

impl TryFrom<commodity::Model> for Commodity {
    type Error = ServiceError;
    fn try_from(row: commodity::Model) -> ServiceResult<Self> {
        Ok(Self {
            unit: stored(Unit::parse(&row.unit))?,
            category: stored(Category::parse(&row.category))?,
            id: row.id,
            code: row.code,
            name_id: row.name_id,
            name_en: row.name_en,
        })
    }
}

/// An HET or reference price of a commodity, from a date, in an area.
#[derive(Debug, Clone)]
pub struct PriceReference {
    pub id: Uuid,
    pub commodity_id: Uuid,
    pub kind: PriceKind,
    pub price: Decimal,
    pub area_scope: AreaScope,
    /// The province or city; empty for national prices.
    pub area_name: String,
    pub effective_from: NaiveDate,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl PriceReference {
    /// The domain's view, for choosing the price that applies at a place and date.
    pub fn to_domain(&self) -> ServiceResult<domain::commodity::PriceReference> {
        Ok(domain::commodity::PriceReference {
            kind: self.kind,
            price: self.price,
            area: stored(domain::commodity::PriceArea::parse(
                self.area_scope,
                Some(self.area_name.as_str()).filter(|name| !name.is_empty()),
            ))?,
            effective_from: self.effective_from,
        })
    }
}

impl TryFrom<price_reference::Model> for PriceReference {
    type Error = ServiceError;
    fn try_from(row: price_reference::Model) -> ServiceResult<Self> {
        Ok(Self {
            kind: stored(PriceKind::parse(&row.kind))?,
            area_scope: stored(AreaScope::parse(&row.area_scope))?,
            id: row.id,
            commodity_id: row.commodity_id,
            price: from_stored(row.price_e4),
            area_name: row.area_name,
            effective_from: row.effective_from,
            note: row.note,
            created_at: row.created_at,
        })
    }
}

/// One queued e-mail, as platform admins see it.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub kind: String,
    pub recipient_email: String,
    pub subject: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub subject_type: String,
    pub subject_id: String,
}

impl TryFrom<outbox_message::Model> for OutboxMessage {
    type Error = ServiceError;
    fn try_from(row: outbox_message::Model) -> ServiceResult<Self> {
        Ok(Self {
            status: stored(OutboxStatus::parse(&row.status))?,
            id: row.id,
            kind: row.kind,
            recipient_email: row.recipient_email,
            subject: row.subject,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
        })
    }
}

/// Who did what to which subject, and when.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_organisation_id: Option<Uuid>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub summary: String,
}

impl TryFrom<audit_entry::Model> for AuditEntry {
    type Error = ServiceError;
    fn try_from(row: audit_entry::Model) -> ServiceResult<Self> {
        Ok(Self {
            id: row.id,
            occurred_at: row.occurred_at,
            actor_user_id: row.actor_user_id,
            actor_organisation_id: row.actor_organisation_id,
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            summary: row.summary,
        })
    }
}
