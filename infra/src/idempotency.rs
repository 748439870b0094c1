//! Client idempotency keys: a retried request (after a dropped connection, say) gets the first result back and
//! stores nothing twice. A key reused with different input is a conflict, not a silent replay.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ServiceError, entities::idempotency_key, error::ServiceResult};

/// A checked key for one operation of one user.
pub struct IdempotencyKey {
    pub actor_user_id: Uuid,
    pub operation: &'static str,
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// `request` is a canonical description of the input, so that a reused key with other input is detected.
    pub fn parse(actor_user_id: Uuid, operation: &'static str, key: &str, request: &str) -> ServiceResult<Self> {
        let key = key.trim();
        if key.is_empty() || key.len() > 128 || key.chars().any(char::is_control) {
            return Err(ServiceError::bad_input("idempotencyKey", "must be 1–128 printable characters"));
        }
        Ok(Self {
            actor_user_id,
            operation,
            key: key.to_owned(),
            request_hash: hex::encode(Sha256::digest(request.as_bytes())),
        })
    }

    /// The result stored for this key, if the request was seen before.
    pub async fn recall(&self, connection: &impl ConnectionTrait) -> ServiceResult<Option<String>> {
        let stored =
            idempotency_key::Entity::find_by_id((self.actor_user_id, self.operation.to_owned(), self.key.clone()))
                .one(connection)
                .await?;
        self.judge(stored.as_ref())
    }

    /// What the row stored under this key (if any) means for this request: its result, or a conflict when the key
    /// was used with other input.
    pub fn judge(&self, stored: Option<&idempotency_key::Model>) -> ServiceResult<Option<String>> {
        match stored {
            None => Ok(None),
            Some(row) if row.request_hash == self.request_hash => Ok(Some(row.result_id.clone())),
            Some(_) => Err(ServiceError::Conflict("this idempotency key was already used with different input".into())),
        }
    }

    /// Whether `row` is the one stored under this key.
    pub fn names(&self, row: &idempotency_key::Model) -> bool {
        row.actor_user_id == self.actor_user_id && row.operation == self.operation && row.key == self.key
    }

    /// The rows stored under any of `keys`, in one query (for a batch of requests).
    pub async fn stored_for(
        connection: &impl ConnectionTrait,
        keys: &[&IdempotencyKey],
    ) -> ServiceResult<Vec<idempotency_key::Model>> {
        if keys.is_empty() {
            return Ok(vec![]);
        }
        let mut any = Condition::any();
        for key in keys {
            any = any.add(
                Condition::all()
                    .add(idempotency_key::Column::ActorUserId.eq(key.actor_user_id))
                    .add(idempotency_key::Column::Operation.eq(key.operation))
                    .add(idempotency_key::Column::Key.eq(key.key.as_str())),
            );
        }
        Ok(idempotency_key::Entity::find().filter(any).all(connection).await?)
    }

    /// The row that remembers `result_id` for this key.
    pub fn row(&self, result_id: &str, now: DateTime<Utc>) -> idempotency_key::Model {
        idempotency_key::Model {
            actor_user_id: self.actor_user_id,
            operation: self.operation.to_owned(),
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            result_id: result_id.to_owned(),
            created_at: now,
        }
    }

    /// Stores the result in the same transaction as the change it belongs to.
    pub async fn remember(
        &self,
        connection: &impl ConnectionTrait,
        result_id: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        self.row(result_id, now).into_active_model().insert(connection).await?;
        Ok(())
    }
}
