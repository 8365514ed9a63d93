//! The MQTT topic contract: `ioc/{device}/telemetry` and `ioc/{device}/status`.

use iochub_devices::RejectReason;
use iochub_devices::key::is_valid_device_key;

pub const TELEMETRY_FILTER: &str = "ioc/+/telemetry";
pub const STATUS_FILTER: &str = "ioc/+/status";

#[derive(Debug, PartialEq, Eq)]
pub enum Topic<'a> {
    Telemetry(&'a str),
    Status(&'a str),
}

pub fn parse(topic: &str) -> Result<Topic<'_>, (RejectReason, String)> {
    let mut parts = topic.split('/');
    let (Some("ioc"), Some(device), Some(kind), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err((
            RejectReason::BadTopic,
            format!("topic {topic:?} is not ioc/{{device}}/telemetry|status"),
        ));
    };
    if !is_valid_device_key(device) {
        return Err((
            RejectReason::InvalidDevice,
            format!("invalid device key {device:?} in topic"),
        ));
    }
    match kind {
        "telemetry" => Ok(Topic::Telemetry(device)),
        "status" => Ok(Topic::Status(device)),
        _ => Err((
            RejectReason::BadTopic,
            format!("unknown topic kind {kind:?}"),
        )),
    }
}

/// `online` / `offline` (case and surrounding whitespace ignored).
pub fn parse_status(payload: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    if text.eq_ignore_ascii_case("online") {
        Some(true)
    } else if text.eq_ignore_ascii_case("offline") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics() {
        assert_eq!(parse("ioc/wl-01/telemetry"), Ok(Topic::Telemetry("wl-01")));
        assert_eq!(parse("ioc/wl-01/status"), Ok(Topic::Status("wl-01")));
        assert_eq!(
            parse("ioc/wl 01/status").map_err(|e| e.0),
            Err(RejectReason::InvalidDevice)
        );
        assert_eq!(
            parse("ioc/wl-01/other").map_err(|e| e.0),
            Err(RejectReason::BadTopic)
        );
        assert_eq!(
            parse("ioc/a/b/telemetry").map_err(|e| e.0),
            Err(RejectReason::BadTopic)
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status(b" Online\n"), Some(true));
        assert_eq!(parse_status(b"offline"), Some(false));
        assert_eq!(parse_status(b"maybe"), None);
        assert_eq!(parse_status(b"\xff"), None);
    }
}
