//! An account and a login session as the stores keep them.

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub locked: bool,
}

/// A login session, found by the SHA-256 of its token.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub username: String,
    pub expires_at_ms: i64,
}
