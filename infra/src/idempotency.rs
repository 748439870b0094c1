//! Client idempotency keys: a retried request (after a dropped connection, say) gets the first result back and
//! stores nothing twice. A key reused with different input is a conflict, not a silent replay.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
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
        match stored {
            None => Ok(None),
            Some(row) if row.request_hash == self.request_hash => Ok(Some(row.result_id)),
            Some(_) => Err(ServiceError::Conflict("this idempotency key was already used with different input".into())),
        }
    }

    /// Stores the result in the same transaction as the change it belongs to.
    pub async fn remember(
        &self,
        connection: &impl ConnectionTrait,
        result_id: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        idempotency_key::ActiveModel {
            actor_user_id: Set(self.actor_user_id),
            operation: Set(self.operation.to_owned()),
            key: Set(self.key.clone()),
            request_hash: Set(self.request_hash.clone()),
            result_id: Set(result_id.to_owned()),
            created_at: Set(now),
        }
        .insert(connection)
        .await?;
        Ok(())
    }
}
