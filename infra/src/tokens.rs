//! Access tokens (JWT, HS256) and refresh tokens (random, stored only as SHA-256).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ServiceError;

pub const ISSUER: &str = "lumbung";
pub const AUDIENCE: &str = "lumbung-api";

/// What an access token says: who (`sub`), in which session (`sid`, ended by logout, suspension and the like), for
/// which API, issued and expiring when.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Not valid before (optional; Lumbung's own tokens omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Issues and checks access tokens with one HS256 secret.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl AccessTokens {
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the injected clock below, not the library's view of system time.
        validation.validate_exp = false;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            ttl,
        })
    }

    /// A token for `user_id` in session `session_id`, valid from `now` for the configured lifetime, and its expiry.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), ServiceError> {
        let expires_at = now + self.ttl;
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            nbf: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| ServiceError::internal(format!("signing an access token failed: {error}")))?;
        Ok((token, expires_at))
    }

    /// Who a token was issued to, in which session, until when. Any other algorithm (including `none`), a wrong
    /// signature, issuer or audience, no session, an expiry at or before `now`, or a token not yet valid (`nbf`, or
    /// issued in the future) is refused.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, ServiceError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| ServiceError::Unauthenticated("the access token is invalid".into()))?;
        if data.claims.exp <= now.timestamp() {
            return Err(ServiceError::Unauthenticated("the access token has expired".into()));
        }
        if data.claims.nbf.is_some_and(|not_before| not_before > now.timestamp())
            || data.claims.iat > now.timestamp() + 60
        {
            return Err(ServiceError::Unauthenticated("the access token is not valid yet".into()));
        }
        Ok(VerifiedToken {
            user_id: data.claims.sub,
            session_id: data.claims.sid,
            expires_at: DateTime::from_timestamp(data.claims.exp, 0)
                .ok_or_else(|| ServiceError::Unauthenticated("the access token is invalid".into()))?,
        })
    }
}

/// What a verified access token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// A new opaque secret for a refresh token or an invitation: 256 random bits, URL-safe.
pub fn new_opaque_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The only form in which an opaque token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(b"0123456789abcdef0123456789abcdef", Duration::minutes(15)).unwrap()
    }

    #[test]
    fn a_token_is_accepted_until_its_expiry() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, expires_at) = tokens().issue(user, session, now).unwrap();
        let verified = tokens().verify(&token, now).unwrap();
        assert_eq!((verified.user_id, verified.session_id, verified.expires_at), (user, session, expires_at));
        assert_eq!(tokens().verify(&token, expires_at - Duration::seconds(1)).unwrap().user_id, user);
        assert!(tokens().verify(&token, expires_at).is_err());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let now = Utc::now();
        let other = AccessTokens::new(b"another-secret-another-secret-xx", Duration::minutes(15)).unwrap();
        let (token, _) = other.issue(Uuid::now_v7(), Uuid::now_v7(), now).unwrap();
        assert!(tokens().verify(&token, now).is_err());
    }

    #[test]
    fn opaque_tokens_are_unique_and_hashed() {
        let token = new_opaque_token();
        assert_ne!(token, new_opaque_token());
        assert_eq!(token_hash(&token).len(), 64);
        assert_ne!(token_hash(&token), token);
    }
}
