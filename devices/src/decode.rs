//! Payload sniffing and validation: bytes from `ioc/{device}/telemetry` in, readings and rejects out.
//!
//! The codecs ([`crate::senml`], [`crate::flat`]) only parse; every check against the catalog and
//! the clock happens once, in [`Sink::reading`], so both formats refuse exactly the same things.

use crate::catalog::Catalog;
use crate::key::{is_valid_device_key, is_valid_metric_name};
use crate::reading::{Reading, Reject, RejectReason};

/// Bounds on what one message may carry.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_payload_bytes: usize,
    pub max_records: usize,
    /// How far ahead of the hub's clock a timestamp may be (device clocks drift).
    pub max_future_ms: i64,
    /// How far behind: edge gateways forward buffered data after an outage.
    pub max_past_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload_bytes: 256 * 1024,
            max_records: 10_000,
            max_future_ms: 15 * 60 * 1000,
            max_past_ms: 30 * 24 * 3600 * 1000,
        }
    }
}

/// The outcome of decoding one message: the good readings are kept even when some records fail.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decoded {
    pub readings: Vec<Reading>,
    pub rejects: Vec<Reject>,
}

/// Decodes one telemetry payload published by (or for) `topic_device` at hub time `now_ms`.
pub fn decode(
    topic_device: &str,
    payload: &[u8],
    now_ms: i64,
    limits: &Limits,
    catalog: &Catalog,
) -> Decoded {
    let mut sink = Sink {
        now_ms,
        limits,
        catalog,
        out: Decoded::default(),
    };
    if payload.len() > limits.max_payload_bytes {
        sink.reject(
            RejectReason::Oversized,
            format!(
                "payload of {} bytes exceeds {} bytes",
                payload.len(),
                limits.max_payload_bytes
            ),
        );
        return sink.out;
    }
    let text = match std::str::from_utf8(payload) {
        Ok(t) => t,
        Err(e) => {
            sink.reject(RejectReason::NotUtf8, format!("payload is not UTF-8: {e}"));
            return sink.out;
        }
    };
    match text.trim_start().as_bytes().first() {
        Some(b'[') => crate::senml::decode(text, topic_device, &mut sink),
        Some(b'{') => crate::flat::decode(text, topic_device, &mut sink),
        _ => sink.reject(
            RejectReason::MalformedJson,
            "payload is neither a SenML array nor a flat JSON object",
        ),
    }
    if sink.out.readings.is_empty() && sink.out.rejects.is_empty() {
        sink.reject(RejectReason::MissingValue, "message carries no readings");
    }
    sink.out
}

/// Maps a serde_json error to the reason it stands for.
pub(crate) fn classify(e: &serde_json::Error) -> RejectReason {
    let msg = e.to_string();
    if msg.contains("number out of range") {
        RejectReason::NotFinite
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        RejectReason::WrongType
    } else {
        RejectReason::MalformedJson
    }
}

/// Collects readings and rejects, applying every validation rule.
pub(crate) struct Sink<'a> {
    pub now_ms: i64,
    pub limits: &'a Limits,
    catalog: &'a Catalog,
    out: Decoded,
}

impl Sink<'_> {
    pub fn reject(&mut self, reason: RejectReason, detail: impl Into<String>) {
        self.out.rejects.push(Reject::new(reason, detail));
    }

    /// Validates one candidate reading; `at` names where it came from in error details.
    pub fn reading(
        &mut self,
        at: &dyn std::fmt::Display,
        device: &str,
        metric: &str,
        unit: Option<&str>,
        ts_ms: i64,
        value: f64,
    ) {
        use RejectReason as R;
        if !is_valid_device_key(device) {
            return self.reject(
                R::InvalidDevice,
                format!("{at}: invalid device key {device:?}"),
            );
        }
        if !is_valid_metric_name(metric) {
            return self.reject(
                R::InvalidMetric,
                format!("{at}: invalid metric name {metric:?}"),
            );
        }
        if !value.is_finite() {
            return self.reject(R::NotFinite, format!("{at}: {metric} value is not finite"));
        }
        if ts_ms > self.now_ms.saturating_add(self.limits.max_future_ms) {
            return self.reject(
                R::TimestampFuture,
                format!("{at}: {metric} timestamp {ts_ms} ms is too far in the future"),
            );
        }
        if ts_ms < self.now_ms.saturating_sub(self.limits.max_past_ms) {
            return self.reject(
                R::TimestampPast,
                format!("{at}: {metric} timestamp {ts_ms} ms is too far in the past"),
            );
        }
        if let Some(spec) = self.catalog.get(metric) {
            if let Some(u) = unit.filter(|u| !spec.accepts_unit(u)) {
                return self.reject(
                    R::UnitMismatch,
                    format!("{at}: {metric} unit {u:?}, expected {:?}", spec.unit),
                );
            }
            if !spec.in_range(value) {
                return self.reject(
                    R::OutOfRange,
                    format!(
                        "{at}: {metric} value {value} outside {}..{}",
                        spec.min, spec.max
                    ),
                );
            }
        }
        self.out.readings.push(Reading {
            device: device.to_owned(),
            metric: metric.to_owned(),
            ts_ms,
            value,
        });
    }
}

#[cfg(test)]
mod tests;
