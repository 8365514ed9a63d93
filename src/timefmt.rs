//! Time on the wire: RFC 3339 in HTTP (what people and URLs read), epoch milliseconds inside.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, from the system clock.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
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
