//! Passwords: Argon2id hashes (the crate's defaults are OWASP's m = 19 MiB, t = 2, p = 1) and the
//! policy a new password must meet.
//!
//! The default follows NIST SP 800-63B and OWASP ASVS 2.1: 12 to 128 characters, not one of the
//! common passwords shipped with the binary, not the username, and no composition rules. A
//! province whose rules demand them picks the `strict` profile: three of the four character
//! classes, no reuse of the last five passwords, and a change every 90 days.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Deserialize;

use super::AccountError;

const COMMON: &str = include_str!("common-passwords.txt");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {0} characters")]
    TooShort(usize),
    #[error("the password may have at most {0} characters")]
    TooLong(usize),
    #[error("the password is on the list of common passwords; choose another")]
    Common,
    #[error("the password must not contain the username")]
    ContainsUsername,
    #[error(
        "the password must mix at least {0} of: lower case, upper case, digits, other characters"
    )]
    Classes(usize),
    #[error("the password was used recently; choose another")]
    Reused,
    #[error("the new password must differ from the current one")]
    Unchanged,
}

impl PasswordError {
    /// A stable code for the API, so that a client can say it in its own language.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::TooShort(_) => "password_too_short",
            PasswordError::TooLong(_) => "password_too_long",
            PasswordError::Common => "password_common",
            PasswordError::ContainsUsername => "password_contains_username",
            PasswordError::Classes(_) => "password_classes",
            PasswordError::Reused => "password_reused",
            PasswordError::Unchanged => "password_unchanged",
        }
    }
}

/// The `password_policy` config key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyProfile {
    #[default]
    Default,
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_len: usize,
    pub max_len: usize,
    /// Character classes required (0 = no composition rule).
    pub classes: usize,
    /// How many previous passwords may not be reused (0 = no history).
    pub history: usize,
    /// Days after which the password must be changed at the next login (`None` = never).
    pub max_age_days: Option<u32>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::from_profile(PolicyProfile::Default)
    }
}

impl PasswordPolicy {
    pub fn from_profile(p: PolicyProfile) -> Self {
        match p {
            PolicyProfile::Default => Self {
                min_len: 12,
                max_len: 128,
                classes: 0,
                history: 0,
                max_age_days: None,
            },
            PolicyProfile::Strict => Self {
                min_len: 12,
                max_len: 128,
                classes: 3,
                history: 5,
                max_age_days: Some(90),
            },
        }
    }

    /// Whether `password` may be chosen by `username`. Reuse is checked apart ([`Self::reused`]),
    /// as it needs the slow hash.
    pub fn check(&self, username: &str, password: &str) -> Result<(), PasswordError> {
        let len = password.chars().count();
        if len < self.min_len {
            return Err(PasswordError::TooShort(self.min_len));
        }
        if len > self.max_len {
            return Err(PasswordError::TooLong(self.max_len));
        }
        let lower = password.to_lowercase();
        if is_common(&lower) {
            return Err(PasswordError::Common);
        }
        if username.chars().count() >= 3 && lower.contains(&username.to_lowercase()) {
            return Err(PasswordError::ContainsUsername);
        }
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ];
        if classes.iter().filter(|&&b| b).count() < self.classes {
            return Err(PasswordError::Classes(self.classes));
        }
        Ok(())
    }

    /// Whether `password` matches one of the last [`Self::history`] hashes (slow: call it off the
    /// async workers).
    pub fn reused(&self, password: &str, history: &[String]) -> bool {
        history
            .iter()
            .take(self.history)
            .any(|h| verify(password, h))
    }
}

/// On the shipped list, or one character repeated (`aaaaaaaaaaaa`).
fn is_common(lower: &str) -> bool {
    let mut chars = lower.chars();
    let first = chars.next();
    if first.is_some() && chars.all(|c| Some(c) == first) {
        return true;
    }
    COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l == lower)
}

pub fn hash(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of a random password nobody knows: verified against when the username does not
/// exist, so that a failed login takes as long either way.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&super::new_token()).unwrap_or_default())
}

/// A temporary password: 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I),
/// about 90 bits.
pub fn temporary() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    // getrandom only fails when the OS has no entropy source at all; then refuse to go on.
    getrandom::fill(&mut bytes).expect("OS random source");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_length_and_the_list_only() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("an", "short"), Err(PasswordError::TooShort(12)));
        assert_eq!(
            p.check("an", &"x".repeat(129)),
            Err(PasswordError::TooLong(128))
        );
        assert_eq!(
            p.check("an", "Qwerty123456"),
            Err(PasswordError::Common),
            "case does not hide a common password"
        );
        assert_eq!(p.check("an", "zzzzzzzzzzzzzz"), Err(PasswordError::Common));
        assert_eq!(
            p.check("operator1", "xx-OPERATOR1-yy"),
            Err(PasswordError::ContainsUsername)
        );
        // lower case only, no digits: fine by default
        assert_eq!(p.check("an", "song hong mua lu"), Ok(()));
        // Vietnamese letters count as one character each
        assert_eq!(p.check("an", "mưa lũ sông hồng"), Ok(()));
        assert_eq!(p.check("an", "lũ sông hồng"), Ok(()));
        assert_eq!(
            p.check("an", "lũ sôngồng"),
            Err(PasswordError::TooShort(12))
        );
    }

    #[test]
    fn strict_profile_wants_classes_and_remembers() {
        let p = PasswordPolicy::from_profile(PolicyProfile::Strict);
        assert_eq!(
            p.check("an", "song hong mua lu"),
            Err(PasswordError::Classes(3))
        );
        assert_eq!(p.check("an", "Song hong mua lu"), Ok(()));
        let old = hash("Song hong mua lu").expect("hash");
        assert!(p.reused("Song hong mua lu", std::slice::from_ref(&old)));
        assert!(!p.reused("Song Da mua lu 2", &[old]));
    }

    #[test]
    fn hashes_verify_and_temporaries_are_fresh() {
        let h = hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("x", "not a hash"));
        let (a, b) = (temporary(), temporary());
        assert_ne!(a, b);
        assert_eq!(a.chars().count(), 16);
        assert_eq!(PasswordPolicy::default().check("an", &a), Ok(()));
        assert!(!verify("anything", decoy_hash()));
    }
}
