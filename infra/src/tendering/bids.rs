//! Sealed bids: submit, revise and withdraw through the node's writer, the receipt each gets, and the canonical
//! encoding anyone who may see an opened bid can check its hash against.

use super::*;

mod writer;

pub(super) use writer::BidWriter;
use writer::{BidAction, BidRequest};

/// What a supplier gets back for every accepted bid, revision or withdrawal.
#[derive(Debug, Clone)]
pub struct BidReceipt {
    pub bid_id: Uuid,
    pub version: i32,
    pub action: String,
    pub received_at: DateTime<Utc>,
    pub commitment_hash: String,
}

impl From<&bid_version::Model> for BidReceipt {
    fn from(version: &bid_version::Model) -> Self {
        Self {
            bid_id: version.bid_id,
            version: version.version,
            action: version.action.clone(),
            received_at: version.received_at,
            commitment_hash: version.commitment_hash.clone(),
        }
    }
}

/// The offer a stored bid holds.
fn recorded_offer(row: &bid::Model) -> ServiceResult<Offer> {
    Ok(Offer::recorded(
        from_stored(row.unit_price_e4),
        from_stored(row.quantity_e4),
        row.lead_time_days,
        row.validity_days,
    )?)
}

impl TenderingService {
    pub(super) fn offer_fingerprint(target: Uuid, offer: &ProposedOffer) -> String {
        format!(
            "{target}|{}|{}|{}|{}",
            offer.unit_price.normalize(),
            offer.quantity.normalize(),
            offer.lead_time_days,
            offer.validity_days
        )
    }

    /// Submits a sealed bid on a lot. With an idempotency key, a retry returns the first receipt.
    pub async fn submit_bid(
        &self,
        actor: &Actor,
        lot_id: Uuid,
        offer: ProposedOffer,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<BidReceipt> {
        actor.require(Permission::SubmitBids)?;
        let key = idempotency_key
            .map(|k| IdempotencyKey::parse(actor.user_id, "submit_bid", k, &Self::offer_fingerprint(lot_id, &offer)))
            .transpose()?;
        self.bids.write(BidRequest { actor: actor.clone(), action: BidAction::Submit { lot_id, offer }, key }).await
    }

    /// Revises a bid until the deadline; every version is kept and the latest counts.
    pub async fn revise_bid(
        &self,
        actor: &Actor,
        bid_id: Uuid,
        offer: ProposedOffer,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<BidReceipt> {
        actor.require(Permission::SubmitBids)?;
        let key = idempotency_key
            .map(|k| IdempotencyKey::parse(actor.user_id, "revise_bid", k, &Self::offer_fingerprint(bid_id, &offer)))
            .transpose()?;
        self.bids.write(BidRequest { actor: actor.clone(), action: BidAction::Revise { bid_id, offer }, key }).await
    }

    /// Withdraws a bid until the deadline.
    pub async fn withdraw_bid(&self, actor: &Actor, bid_id: Uuid) -> ServiceResult<BidReceipt> {
        actor.require(Permission::SubmitBids)?;
        self.bids.write(BidRequest { actor: actor.clone(), action: BidAction::Withdraw { bid_id }, key: None }).await
    }
}
