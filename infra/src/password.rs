//! Password hashing with argon2id. Hashing is deliberately slow, so it runs on the blocking thread pool.

use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use domain::identity::Password;

use crate::ServiceError;

/// At most one hash per core at a time: a flood of logins queues here instead of starving every other request of
/// CPU (each hash takes tens of milliseconds of one core on purpose).
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(hashing_capacity()))
}

/// How many hashes may run at once on this machine.
pub fn hashing_capacity() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

#[cfg(test)]
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
#[cfg(test)]
static MOST_IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs one hashing job on the blocking pool once a slot is free.
async fn in_a_slot<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|error| ServiceError::internal(format!("password hashing is closed: {error}")))?;
    tokio::task::spawn_blocking(move || {
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering;
            let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
        }
        let result = job();
        #[cfg(test)]
        IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        result
    })
    .await
    .map_err(|error| ServiceError::internal(format!("password hashing task failed: {error}")))
}

/// The PHC string (`$argon2id$v=19$...`) for `password`, with a fresh random salt.
pub async fn hash(password: Password) -> Result<String, ServiceError> {
    in_a_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ServiceError::internal(format!("password hashing failed: {error}")))
    })
    .await?
}

/// Whether `candidate` matches `stored_hash`. With no stored hash (unknown e-mail, invitation not yet accepted)
/// it checks against a decoy so that the answer takes as long either way and reveals nothing.
pub async fn verify(stored_hash: Option<String>, candidate: String) -> bool {
    in_a_slot(move || {
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
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_the_machine_has_cores() {
        let stored = super::hash(domain::identity::Password::parse("benar-sekali-123", &[]).unwrap()).await.unwrap();
        let checks: Vec<_> =
            (0..16).map(|_| tokio::spawn(super::verify(Some(stored.clone()), "salah-sekali-123".to_owned()))).collect();
        for check in checks {
            assert!(!check.await.unwrap());
        }
        let most = super::MOST_IN_FLIGHT.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=super::hashing_capacity()).contains(&most), "{most} hashes ran at once");
    }

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
