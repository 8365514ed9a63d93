//! Accounts and sessions: Argon2id password hashes, opaque random session tokens stored only as
//! SHA-256 (a stolen database yields no usable token), and the first-start `admin` account.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

pub mod model;

pub use model::{Session, User};

use crate::storage::{Store, StoreError};

/// Session lifetime.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // getrandom only fails when the OS has no entropy source at all; then refuse to make tokens.
    getrandom::fill(&mut bytes).expect("OS random source");
    hex(&bytes)
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `admin` on an empty store. Returns the generated password when none was given, so that
/// the caller prints it once.
pub async fn ensure_admin(
    store: &dyn Store,
    given: Option<String>,
) -> Result<Option<String>, AccountError> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match given.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (new_token()[..20].to_owned(), true),
    };
    let hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || hash_password(&password)
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))??;
    let user = User {
        username: "admin".into(),
        password_hash: hash,
        role: "admin".into(),
        locked: false,
    };
    store.create_user(user, crate::timefmt::now_ms()).await?;
    Ok(generated.then_some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_tokens_are_unique() {
        let h = hash_password("correct horse").expect("hash");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
    }
}
