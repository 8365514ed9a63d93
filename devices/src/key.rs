//! Device keys and metric names: `[A-Za-z0-9._-]{1,64}` (docs/CONTRACT.md, "MQTT").
//!
//! Keys appear in MQTT topics, URLs and SQL; restricting the alphabet here means no layer above has
//! to escape them.

/// Longest device key or metric name accepted.
pub const MAX_KEY_LEN: usize = 64;

/// True when `s` is a valid device key.
pub fn is_valid_device_key(s: &str) -> bool {
    is_valid_token(s)
}

/// True when `s` is a valid metric name (same alphabet as device keys).
pub fn is_valid_metric_name(s: &str) -> bool {
    is_valid_token(s)
}

fn is_valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_KEY_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contract_alphabet() {
        assert!(is_valid_device_key("wl-01"));
        assert!(is_valid_device_key("cb.aq_02-X"));
        assert!(is_valid_device_key(&"a".repeat(64)));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in ["", "a/b", "a b", "a+b", "#", "xyz\u{e9}", "a\0"] {
            assert!(!is_valid_device_key(bad), "{bad:?}");
        }
        assert!(!is_valid_device_key(&"a".repeat(65)));
    }
}
