//! Group commit for sealed bids. Bids that arrive together — the last minutes before a deadline — are written in one
//! transaction with one multi-row statement per table, and each is acknowledged only after that transaction commits.
//!
//! Why: on SQLite one writer runs at a time and most of a bid's cost is the per-statement hand-off to the database
//! driver's worker thread, not the disk; on PostgreSQL each statement is a network round trip. A bid written alone
//! costs about fifteen statements; a batch of any size costs about a dozen. Nothing waits for a batch to fill: the
//! writer takes whatever queued while the previous batch was being written, so a lone bid goes straight through.
//!
//! Every rule is judged per bid, in arrival order, against the state the batch has built so far (two revisions of one
//! bid in one batch get consecutive versions). A bid refused by a rule contributes no rows. Should the batch's
//! transaction itself fail (a race with another node, say), each of its bids is written once more alone, so that one
//! bid's failure never fails another's.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Utc};
use domain::{
    access::Actor,
    bid::{
        self as rules, BidCommand, BidStatus, BiddingTender, CommittedBid, Offer, OfferTerms, ProposedOffer, StoredBid,
        Transition, VersionAction, commitment_hash,
    },
    clock::Clock,
    notification::{Notice, NotificationKind},
    tender::{BiddingPeriod, TenderStatus},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, JoinType, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationDef, sea_query::OnConflict,
};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{BidReceipt, recorded_offer};
use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    db::{StatementBatch, begin_write},
    entities::{bid, bid_version, commodity, idempotency_key, lot, organisation_category, tender},
    error::ServiceResult,
    fixed_point::{from_stored, to_stored},
    idempotency::IdempotencyKey,
    notification::{self, EventBus, Subject, Topic},
    tokens::new_opaque_token,
};

/// The most bids one transaction writes: keeps every multi-row statement well inside both databases' limits on bound
/// parameters (the widest row, a bid, has 17 columns).
const MAX_BATCH: usize = 128;

/// Requests waiting for the writer; beyond this, callers wait to queue (back-pressure, not an error).
const QUEUE_CAPACITY: usize = 4096;

/// What a supplier asks to do with a bid.
#[derive(Debug, Clone, Copy)]
pub enum BidAction {
    Submit { lot_id: Uuid, offer: ProposedOffer },
    Revise { bid_id: Uuid, offer: ProposedOffer },
    Withdraw { bid_id: Uuid },
}

pub struct BidRequest {
    pub actor: Actor,
    pub action: BidAction,
    pub key: Option<IdempotencyKey>,
}

struct Queued {
    request: BidRequest,
    reply: oneshot::Sender<ServiceResult<BidReceipt>>,
}

/// Hands bids to this process's writer task, started on first use (and again should it ever have ended).
#[derive(Clone)]
pub struct BidWriter {
    context: Arc<Context>,
    queue: Arc<Mutex<Option<mpsc::Sender<Queued>>>>,
}

struct Context {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    events: EventBus,
}

impl BidWriter {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, events: EventBus) -> Self {
        Self { context: Arc::new(Context { db, clock, events }), queue: Arc::default() }
    }

    /// Writes the bid and returns its receipt once it is durable, or the rule it broke.
    pub async fn write(&self, request: BidRequest) -> ServiceResult<BidReceipt> {
        let (reply, receipt) = oneshot::channel();
        let sender = self.sender();
        sender.send(Queued { request, reply }).await.map_err(|_| ServiceError::internal("the bid writer stopped"))?;
        // A dropped reply means the batch's task panicked: the transaction rolled back, nothing was stored.
        receipt.await.map_err(|_| ServiceError::internal("the bid could not be written"))?
    }

    fn sender(&self) -> mpsc::Sender<Queued> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queue.as_ref().filter(|sender| !sender.is_closed()) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(self.context.clone(), receiver));
        *queue = Some(sender.clone());
        sender
    }
}

async fn run(context: Arc<Context>, mut queue: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let taken = std::mem::take(&mut batch);
        metrics::histogram!("lumbung_bid_batch_size").record(taken.len() as f64);
        let context = context.clone();
        // Each batch in its own task: a panic fails only that batch's requests, and the writer goes on.
        let _ = tokio::spawn(async move { context.write_and_reply(taken).await }).await;
    }
}

impl Context {
    async fn write_and_reply(&self, queued: Vec<Queued>) {
        let requests: Vec<&BidRequest> = queued.iter().map(|q| &q.request).collect();
        let outcomes = match self.write_together(&requests).await {
            Ok(outcomes) => outcomes,
            // The database is down: writing each bid again would only wait out the outage once per bid.
            Err(ServiceError::Unavailable(_)) => requests
                .iter()
                .map(|_| Err(ServiceError::Unavailable(anyhow::anyhow!("the database is unavailable"))))
                .collect(),
            // The transaction failed as a whole (another node stored the same supplier's first bid on the lot a moment
            // earlier, say): each bid once more on its own, judged against what that left, so that one bid's failure
            // never fails another's and the loser of a race gets the rule's answer, not a constraint's.
            Err(_) => {
                let mut outcomes = Vec::with_capacity(requests.len());
                for request in &requests {
                    outcomes.push(match self.write_together(&[request]).await {
                        Ok(mut alone) => alone.pop().unwrap_or_else(|| Err(ServiceError::internal("no outcome"))),
                        Err(error) => Err(error),
                    });
                }
                outcomes
            }
        };
        for (queued, outcome) in queued.into_iter().zip(outcomes) {
            // The caller may have gone (a closed connection); its bid stands all the same, like any committed bid.
            let _ = queued.reply.send(outcome);
        }
    }

    /// One transaction for `requests`: the outcome of each, or the error that rolled all of them back.
    async fn write_together(&self, requests: &[&BidRequest]) -> ServiceResult<Vec<ServiceResult<BidReceipt>>> {
        let txn = begin_write(&self.db).await?;
        // The instant the bids are stored, read under the write lock: this is what the deadline is judged against.
        let now = self.clock.now();
        let mut batch = Batch::read(&txn, requests, now).await?;
        let outcomes: Vec<_> = requests.iter().map(|request| batch.apply(request)).collect();
        if batch.versions.is_empty() {
            // Nothing stored (every bid refused or replayed): the rollback on drop is the whole answer.
            return Ok(outcomes);
        }
        batch.write(&txn, &self.events).await?;
        txn.commit().await?;
        Ok(outcomes)
    }
}

/// What a batch read, and what it will write.
struct Batch {
    now: DateTime<Utc>,
    bids: HashMap<Uuid, bid::Model>,
    bid_on_lot: HashMap<(Uuid, Uuid), Uuid>,
    lots: HashMap<Uuid, lot::Model>,
    tenders: HashMap<Uuid, tender::Model>,
    /// (organisation, commodity) pairs where the organisation is verified for the commodity's category.
    sells: HashSet<(Uuid, Uuid)>,
    recipients: HashMap<Uuid, Vec<(Uuid, String)>>,
    stored_keys: Vec<idempotency_key::Model>,
    /// Versions idempotency keys point at, read or written by this batch.
    keyed_versions: HashMap<Uuid, bid_version::Model>,
    changed_bids: Vec<Uuid>,
    versions: Vec<bid_version::Model>,
    new_keys: Vec<idempotency_key::Model>,
    audits: Vec<AuditRecord>,
    receipts: Vec<(Notice, Uuid, Uuid)>,
    events: Vec<(Topic, Uuid, serde_json::Value)>,
}

impl Batch {
    /// Everything the requests' rules look at, a query per table whatever the number of requests.
    async fn read(txn: &impl ConnectionTrait, requests: &[&BidRequest], now: DateTime<Utc>) -> ServiceResult<Self> {
        let mut named = Condition::any();
        for request in requests {
            named = named.add(match request.action {
                BidAction::Submit { lot_id, .. } => Condition::all()
                    .add(bid::Column::LotId.eq(lot_id))
                    .add(bid::Column::SupplierId.eq(request.actor.organisation_id)),
                BidAction::Revise { bid_id, .. } | BidAction::Withdraw { bid_id } => {
                    Condition::all().add(bid::Column::Id.eq(bid_id))
                }
            });
        }
        // Locked on PostgreSQL (in id order, so batches on two nodes cannot deadlock) until the batch commits.
        let bids = bid::Entity::find().filter(named).order_by_asc(bid::Column::Id).lock_exclusive().all(txn).await?;

        let mut lot_ids: HashSet<Uuid> = bids.iter().map(|bid| bid.lot_id).collect();
        lot_ids.extend(requests.iter().filter_map(|request| match request.action {
            BidAction::Submit { lot_id, .. } => Some(lot_id),
            _ => None,
        }));
        // Each lot with its tender, in one query. A shared lock on PostgreSQL: closing (which updates them) waits for
        // bids in flight, and sees them.
        let lot_to_tender: RelationDef =
            lot::Entity::belongs_to(tender::Entity).from(lot::Column::TenderId).to(tender::Column::Id).into();
        let lots_and_tenders = lot::Entity::find()
            .select_also(tender::Entity)
            .join(JoinType::InnerJoin, lot_to_tender)
            .filter(lot::Column::Id.is_in(lot_ids))
            .order_by_asc(lot::Column::Id)
            .lock_shared()
            .all(txn)
            .await?;
        let mut lots = HashMap::new();
        let mut tenders = HashMap::new();
        for (lot, tender) in lots_and_tenders {
            if let Some(tender) = tender {
                tenders.insert(tender.id, tender);
            }
            lots.insert(lot.id, lot);
        }

        let suppliers: Vec<Uuid> =
            requests.iter().map(|request| request.actor.organisation_id).collect::<HashSet<_>>().into_iter().collect();
        let commodities: HashSet<Uuid> = tenders.values().map(|tender| tender.commodity_id).collect();
        let sells = Self::verified_pairs(txn, &suppliers, &commodities).await?;
        let recipients =
            notification::recipients_by_organisation(txn, NotificationKind::BidReceived, &suppliers).await?;

        let keys: Vec<&IdempotencyKey> = requests.iter().filter_map(|request| request.key.as_ref()).collect();
        let stored_keys = IdempotencyKey::stored_for(txn, &keys).await?;
        let keyed_ids: Vec<Uuid> = stored_keys.iter().filter_map(|row| Uuid::parse_str(&row.result_id).ok()).collect();
        let keyed_versions = if keyed_ids.is_empty() {
            HashMap::new()
        } else {
            bid_version::Entity::find()
                .filter(bid_version::Column::Id.is_in(keyed_ids))
                .all(txn)
                .await?
                .into_iter()
                .map(|version| (version.id, version))
                .collect()
        };

        Ok(Self {
            now,
            bid_on_lot: bids.iter().map(|bid| ((bid.lot_id, bid.supplier_id), bid.id)).collect(),
            bids: bids.into_iter().map(|bid| (bid.id, bid)).collect(),
            lots,
            tenders,
            sells,
            recipients,
            stored_keys,
            keyed_versions,
            changed_bids: Vec::new(),
            versions: Vec::new(),
            new_keys: Vec::new(),
            audits: Vec::new(),
            receipts: Vec::new(),
            events: Vec::new(),
        })
    }

    /// Which of `suppliers` are verified for the category of which of `commodities`: one joined query.
    async fn verified_pairs(
        txn: &impl ConnectionTrait,
        suppliers: &[Uuid],
        commodities: &HashSet<Uuid>,
    ) -> ServiceResult<HashSet<(Uuid, Uuid)>> {
        use sea_orm::sea_query::{Expr, ExprTrait, Query};
        if suppliers.is_empty() || commodities.is_empty() {
            return Ok(HashSet::new());
        }
        let query = Query::select()
            .column((organisation_category::Entity, organisation_category::Column::OrganisationId))
            .column((commodity::Entity, commodity::Column::Id))
            .from(organisation_category::Entity)
            .inner_join(
                commodity::Entity,
                Expr::col((commodity::Entity, commodity::Column::Category))
                    .equals((organisation_category::Entity, organisation_category::Column::Category)),
            )
            .and_where(
                Expr::col((organisation_category::Entity, organisation_category::Column::OrganisationId))
                    .is_in(suppliers.iter().copied()),
            )
            .and_where(Expr::col((commodity::Entity, commodity::Column::Id)).is_in(commodities.iter().copied()))
            .to_owned();
        let rows = txn.query_all_raw(txn.get_database_backend().build(&query)).await?;
        rows.iter().map(|row| Ok((row.try_get_by_index::<Uuid>(0)?, row.try_get_by_index::<Uuid>(1)?))).collect()
    }

    /// Judges one request against the batch's state so far and, when it passes, stages its rows.
    fn apply(&mut self, request: &BidRequest) -> ServiceResult<BidReceipt> {
        let actor = &request.actor;
        let (current, lot_id) = match request.action {
            BidAction::Submit { lot_id, .. } => (None, lot_id),
            BidAction::Revise { bid_id, .. } | BidAction::Withdraw { bid_id } => {
                let bid = self
                    .bids
                    .get(&bid_id)
                    .filter(|bid| bid.supplier_id == actor.organisation_id)
                    .ok_or_else(|| ServiceError::NotFound("bid".into()))?;
                (Some(bid.clone()), bid.lot_id)
            }
        };
        let lot = self.lots.get(&lot_id).cloned().ok_or_else(|| ServiceError::NotFound("lot".into()))?;
        let tender =
            self.tenders.get(&lot.tender_id).cloned().ok_or_else(|| ServiceError::internal("lot without tender"))?;
        let bidding = BiddingTender {
            status: TenderStatus::parse(&tender.status)?,
            period: BiddingPeriod::parse(tender.bidding_start_at, tender.deadline_at)?,
            terms: OfferTerms {
                lot_quantity: from_stored(lot.quantity_e4),
                partial_bids_allowed: tender.partial_bids_allowed,
                min_partial_quantity: tender.min_partial_quantity_e4.map(from_stored),
            },
            supplier_sells: self.sells.contains(&(actor.organisation_id, tender.commodity_id)),
        };
        // Who may bid at all is judged before a retry's first answer is looked up; the rest after.
        rules::check_access(&bidding)?;
        if let Some(key) = &request.key
            && let Some(receipt) = self.recall(key)?
        {
            return Ok(receipt);
        }
        let (command, current) = match request.action {
            BidAction::Submit { offer, .. } => {
                let earlier = self.bid_on_lot.get(&(lot.id, actor.organisation_id)).and_then(|id| self.bids.get(id));
                (BidCommand::Submit(offer), earlier.cloned())
            }
            BidAction::Revise { offer, .. } => (BidCommand::Revise(offer), current),
            BidAction::Withdraw { .. } => (BidCommand::Withdraw, current),
        };
        let stored_bid = current
            .as_ref()
            .map(|bid| {
                Ok::<_, ServiceError>(StoredBid {
                    status: BidStatus::parse(&bid.status)?,
                    version: u32::try_from(bid.version)
                        .map_err(|_| ServiceError::internal("a stored bid version is negative"))?,
                })
            })
            .transpose()?;
        let transition = rules::decide(stored_bid, command, &bidding, self.now)?;
        // A withdrawal keeps the offer it withdraws.
        let offer = match (transition.offer, &current) {
            (Some(offer), _) => offer,
            (None, Some(bid)) => recorded_offer(bid)?,
            (None, None) => return Err(ServiceError::internal("a withdrawal without its bid")),
        };
        let bid_id = current.as_ref().map_or_else(Uuid::now_v7, |bid| bid.id);
        let stored = self.stage(actor, &tender, &lot, bid_id, transition, &offer)?;
        if let Some(key) = &request.key {
            self.new_keys.push(key.row(&stored.id.to_string(), self.now));
            self.keyed_versions.insert(stored.id, stored.clone());
        }
        Ok(BidReceipt::from(&stored))
    }

    /// A replay of an earlier request with the same idempotency key, stored before or earlier in this batch.
    fn recall(&self, key: &IdempotencyKey) -> ServiceResult<Option<BidReceipt>> {
        let stored = self.stored_keys.iter().chain(&self.new_keys).find(|row| key.names(row));
        let Some(version_id) = key.judge(stored)? else {
            return Ok(None);
        };
        let version = Uuid::parse_str(&version_id)
            .ok()
            .and_then(|id| self.keyed_versions.get(&id))
            .ok_or_else(|| ServiceError::internal("idempotency key points at a missing bid version"))?;
        Ok(Some(BidReceipt::from(version)))
    }

    /// Stages the version, the bid's new state, its audit entry, receipt e-mail and (when the count moves) live event.
    #[allow(clippy::too_many_arguments)]
    fn stage(
        &mut self,
        actor: &Actor,
        tender: &tender::Model,
        lot: &lot::Model,
        bid_id: Uuid,
        transition: Transition,
        offer: &Offer,
    ) -> ServiceResult<bid_version::Model> {
        let now = self.now;
        let version = i32::try_from(transition.version).map_err(|_| ServiceError::internal("too many bid versions"))?;
        let action = transition.action;
        let nonce = new_opaque_token();
        let hash = commitment_hash(&CommittedBid {
            tender_id: tender.id,
            lot_id: lot.id,
            supplier_id: actor.organisation_id,
            version: transition.version,
            offer,
            received_at: now,
            nonce: &nonce,
        });
        let stored = bid_version::Model {
            id: Uuid::now_v7(),
            bid_id,
            version,
            action: action.as_str().into(),
            unit_price_e4: to_stored(offer.unit_price.value())?,
            quantity_e4: to_stored(offer.quantity.value())?,
            lead_time_days: i32::try_from(offer.lead_time_days).unwrap_or(i32::MAX),
            validity_days: i32::try_from(offer.validity_days).unwrap_or(i32::MAX),
            received_at: now,
            commitment_hash: hash,
            nonce,
            submitted_by: actor.user_id,
        };
        let bid = self.bids.entry(bid_id).or_insert_with(|| bid::Model {
            id: bid_id,
            tender_id: tender.id,
            lot_id: lot.id,
            supplier_id: actor.organisation_id,
            status: String::new(),
            version: 0,
            unit_price_e4: 0,
            quantity_e4: 0,
            lead_time_days: 0,
            validity_days: 0,
            received_at: now,
            commitment_hash: String::new(),
            nonce: String::new(),
            rank: None,
            awarded_quantity_e4: None,
            rejection: None,
            created_at: now,
        });
        bid.status = transition.status.as_str().into();
        bid.version = stored.version;
        bid.unit_price_e4 = stored.unit_price_e4;
        bid.quantity_e4 = stored.quantity_e4;
        bid.lead_time_days = stored.lead_time_days;
        bid.validity_days = stored.validity_days;
        bid.received_at = stored.received_at;
        bid.commitment_hash = stored.commitment_hash.clone();
        bid.nonce = stored.nonce.clone();
        self.bid_on_lot.insert((lot.id, actor.organisation_id), bid_id);
        if !self.changed_bids.contains(&bid_id) {
            self.changed_bids.push(bid_id);
        }

        // The audit names the bid and its commitment, never its price or quantity.
        let summary = match action {
            VersionAction::Withdrawn => json!({ "tender": tender.id, "lot": lot.id, "version": version }),
            VersionAction::Submitted | VersionAction::Revised => {
                json!({ "tender": tender.id, "lot": lot.id, "version": version, "commitmentHash": stored.commitment_hash })
            }
        };
        let audit_action = action.audit_action();
        self.audits.push(AuditRecord::by(actor, audit_action, "bid", bid_id, summary));
        let notice = Notice::BidReceived {
            tender_title: tender.title.clone(),
            lot_number: lot.number,
            action: stored.action.clone(),
            version: stored.version,
            receipt_hash: stored.commitment_hash.clone(),
            received_at: stored.received_at,
        };
        self.receipts.push((notice, actor.organisation_id, bid_id));
        if action.changes_count() {
            // The bid count moved: the agency's subscribers hear of it (a count, no amount).
            self.events.push((Topic::Bids, tender.id, json!({ "action": action.as_str() })));
        }
        self.versions.push(stored.clone());
        Ok(stored)
    }

    /// The staged rows, a statement per table (bids first, so that the versions' foreign key holds), handed to the
    /// database together; then the live events, whose sequence numbers come back from their insert.
    async fn write(self, txn: &crate::db::WriteTransaction, events: &EventBus) -> ServiceResult<()> {
        let backend = txn.get_database_backend();
        let mut writes = StatementBatch::default();
        let changed =
            self.changed_bids.iter().filter_map(|id| self.bids.get(id)).map(|bid| bid.clone().into_active_model());
        writes.push(
            bid::Entity::insert_many(changed)
                .on_conflict(
                    OnConflict::column(bid::Column::Id)
                        .update_columns([
                            bid::Column::Status,
                            bid::Column::Version,
                            bid::Column::UnitPriceE4,
                            bid::Column::QuantityE4,
                            bid::Column::LeadTimeDays,
                            bid::Column::ValidityDays,
                            bid::Column::ReceivedAt,
                            bid::Column::CommitmentHash,
                            bid::Column::Nonce,
                        ])
                        .to_owned(),
                )
                .build(backend),
        );
        writes.push(
            bid_version::Entity::insert_many(self.versions.into_iter().map(IntoActiveModel::into_active_model))
                .build(backend),
        );
        if !self.new_keys.is_empty() {
            writes.push(
                idempotency_key::Entity::insert_many(self.new_keys.into_iter().map(IntoActiveModel::into_active_model))
                    .build(backend),
            );
        }
        writes.push(audit::insert_statement(backend, self.now, self.audits));
        let bid_ids: Vec<String> = self.receipts.iter().map(|(_, _, bid_id)| bid_id.to_string()).collect();
        let mails: Vec<_> = self
            .receipts
            .into_iter()
            .zip(&bid_ids)
            .map(|((notice, supplier, _), id)| {
                let recipients = self.recipients.get(&supplier).map(Vec::as_slice).unwrap_or_default();
                (notice, recipients, Subject { kind: "bid", id })
            })
            .collect();
        for statement in notification::outbox_inserts(backend, self.now, &mails) {
            writes.push(statement);
        }
        writes.execute(txn).await?;
        events.publish_each(txn, self.now, self.events).await?;
        Ok(())
    }
}
