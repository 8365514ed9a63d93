//! The second factor: TOTP (RFC 6238) and one-time recovery codes.
//!
//! SHA-1, 6 digits, 30-second steps: what every authenticator app does by default (apps that
//! claim SHA-256 often fall back to SHA-1 silently). A code is accepted one step early or late
//! (clock drift), and each step only once per account (RFC 6238 §5.2): the step of the last
//! accepted code is kept and nothing at or before it is taken again. The secret must be kept
//! readable to check codes; recovery codes are kept only as SHA-256 of 80 random bits each.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

const DIGITS: usize = 6;
const STEP_S: u64 = 30;
/// Steps accepted either side of the current one.
const SKEW: u64 = 1;
const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
/// Shown on the enrolment page and in the authenticator app.
const ISSUER: &str = "iochub";

/// An account's second factor, as stored (JSON in `users.second_factor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// Base32 (RFC 4648, no padding), as the authenticator app was given it.
    pub secret: String,
    /// False between enrolment and the first correct code: not asked for at login yet.
    pub confirmed: bool,
    /// The time step of the last accepted code (replays are refused).
    pub last_step: u64,
    /// SHA-256 (hex) of the recovery codes not yet used.
    pub recovery: Vec<String>,
}

impl SecondFactor {
    /// A new, unconfirmed factor with a random secret.
    pub fn enrol() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        // getrandom only fails when the OS has no entropy source at all; then refuse to go on.
        getrandom::fill(&mut bytes).expect("OS random source");
        let Secret::Encoded(secret) = Secret::Raw(bytes.to_vec()).to_encoded() else {
            unreachable!("to_encoded gives the encoded form")
        };
        SecondFactor {
            secret,
            confirmed: false,
            last_step: 0,
            recovery: Vec::new(),
        }
    }

    fn totp(&self, username: &str) -> Option<TOTP> {
        let secret = Secret::Encoded(self.secret.clone()).to_bytes().ok()?;
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            SKEW as u8,
            STEP_S,
            secret,
            Some(ISSUER.into()),
            username.replace(':', "_"),
        )
        .ok()
    }

    /// The `otpauth://totp/…` URL an authenticator app takes (as a QR code or a link).
    pub fn otpauth_url(&self, username: &str) -> String {
        self.totp(username).map(|t| t.get_url()).unwrap_or_default()
    }

    /// The code of the step holding `unix_s` (for tests and the enrolment check).
    pub fn code_at(&self, username: &str, unix_s: u64) -> String {
        self.totp(username)
            .map(|t| t.generate(unix_s))
            .unwrap_or_default()
    }

    /// Checks `code` at `unix_s`; on success records its step and returns true. A code of a
    /// step already used (or earlier) is refused.
    pub fn accept(&mut self, username: &str, code: &str, unix_s: u64) -> bool {
        let Some(totp) = self.totp(username) else {
            return false;
        };
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let now = unix_s / STEP_S;
        for step in now.saturating_sub(SKEW)..=now + SKEW {
            let expected = totp.generate(step * STEP_S);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && step > self.last_step {
                self.last_step = step;
                return true;
            }
        }
        false
    }

    /// New recovery codes (replacing any left); returns them in the clear, once.
    pub fn new_recovery_codes(&mut self) -> Vec<String> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        self.recovery = codes.iter().map(|c| digest(c)).collect();
        codes
    }

    /// Uses up a recovery code; true when it was one of those left.
    pub fn use_recovery_code(&mut self, code: &str) -> bool {
        let wanted = digest(&normalise(code));
        let before = self.recovery.len();
        self.recovery
            .retain(|h| !bool::from(h.as_bytes().ct_eq(wanted.as_bytes())));
        self.recovery.len() < before
    }
}

/// `xxxx-xxxx-xxxx-xxxx`: 16 characters from 32 unambiguous ones (80 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("OS random source");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A recovery code as typed: case and dashes or spaces do not matter.
fn normalise(code: &str) -> String {
    let bare: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let chars: Vec<char> = bare.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn digest(code: &str) -> String {
    crate::hex::sha256(code.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_factor() -> SecondFactor {
        // RFC 6238 Appendix B's SHA-1 key, "12345678901234567890".
        let Secret::Encoded(secret) = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded()
        else {
            unreachable!()
        };
        SecondFactor {
            secret,
            confirmed: true,
            last_step: 0,
            recovery: Vec::new(),
        }
    }

    #[test]
    fn codes_are_rfc_6238_and_each_step_counts_once() {
        let mut f = rfc_factor();
        // Appendix B: T = 59 -> 94287082, T = 1111111109 -> 07081804 (8 digits; 6 are the tail).
        assert_eq!(f.code_at("a", 59), "287082");
        assert_eq!(f.code_at("a", 1_111_111_109), "081804");
        let t = 1_111_111_109;
        let code = f.code_at("a", t);
        assert!(!f.accept("a", "000000x", t), "not six digits");
        assert!(f.accept("a", &code, t + 30), "one step late is drift");
        assert!(!f.accept("a", &code, t + 30), "a replay");
        let next = f.code_at("a", t + 30);
        assert!(f.accept("a", &next, t + 30));
        assert!(
            !f.accept("a", &f.code_at("a", t + 90), t),
            "two steps ahead"
        );
        let url = f.otpauth_url("nguyen.van.a");
        assert!(
            url.starts_with("otpauth://totp/iochub:nguyen.van.a?secret="),
            "{url}"
        );
    }

    #[test]
    fn recovery_codes_work_once_each() {
        let mut f = SecondFactor::enrol();
        assert_eq!(f.secret.len(), 32, "160 bits in base32");
        let codes = f.new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), 19);
        assert!(!f.recovery.contains(&codes[0]), "stored hashed");
        let typed = codes[3].to_uppercase().replace('-', " ");
        assert!(f.use_recovery_code(&typed));
        assert!(!f.use_recovery_code(&codes[3]), "used up");
        assert!(!f.use_recovery_code("aaaa-bbbb-cccc-dddd"));
        assert_eq!(f.recovery.len(), RECOVERY_CODES - 1);
    }
}
