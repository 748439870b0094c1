//! Password hashing with argon2id. Hashing is deliberately slow, so it runs on the blocking thread pool.

use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use domain::identity::Password;

use crate::ServiceError;

/// The PHC string (`$argon2id$v=19$...`) for `password`, with a fresh random salt.
pub async fn hash(password: Password) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ServiceError::internal(format!("password hashing failed: {error}")))
    })
    .await
    .map_err(|error| ServiceError::internal(format!("password hashing task failed: {error}")))?
}

/// Whether `candidate` matches `stored_hash`. With no stored hash (unknown e-mail, invitation not yet accepted)
/// it checks against a decoy so that the answer takes as long either way and reveals nothing.
pub async fn verify(stored_hash: Option<String>, candidate: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored_hash.is_some();
        let stored = stored_hash.unwrap_or_else(|| decoy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"decoy password that no account has", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_is_argon2id() {
        let stored = hash(Password::parse("benar-sekali-123", &[]).unwrap()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("benar-sekali-123"));
        assert!(verify(Some(stored.clone()), "benar-sekali-123".into()).await);
        assert!(!verify(Some(stored), "salah-sekali-123".into()).await);
        assert!(!verify(None, "decoy password that no account has".into()).await);
    }
}
