//! Time on the wire: RFC 3339 in HTTP (what people and URLs read), epoch milliseconds inside.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, from the system clock.
///
/// In debug builds (the binary the tests run) the clock is injectable: when
/// `IOCHUB_TEST_CLOCK_FILE` names a file, the milliseconds written in it are added, so a test can
/// move a running hub hours ahead (sessions' idle and absolute ends) without waiting. Release
/// builds have no such hook.
pub fn now_ms() -> i64 {
    let now = Utc::now().timestamp_millis();
    #[cfg(debug_assertions)]
    let now = now + test_clock::offset_ms();
    now
}

#[cfg(debug_assertions)]
mod test_clock {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    /// The offset in `IOCHUB_TEST_CLOCK_FILE`, read at every call (a test rewrites it); 0 without.
    pub fn offset_ms() -> i64 {
        static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
        FILE.get_or_init(|| std::env::var_os("IOCHUB_TEST_CLOCK_FILE").map(PathBuf::from))
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// `2024-11-22T10:06:40.000Z`
pub fn format_ms(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Parses RFC 3339 with any offset (`Z`, `+07:00`).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

pub fn ser_ms<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_ms(*ms))
}

pub fn ser_opt_ms<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&format_ms(*ms)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_offsets() {
        assert_eq!(format_ms(1_732_270_000_123), "2024-11-22T10:06:40.123Z");
        assert_eq!(
            parse_rfc3339("2024-11-22T10:06:40.123Z"),
            Some(1_732_270_000_123)
        );
        assert_eq!(
            parse_rfc3339("2024-11-22T17:06:40.123+07:00"),
            Some(1_732_270_000_123)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
