//! A validated reading, and the reasons input is refused.

use std::fmt;

/// One numeric sample of one metric of one device, validated against the catalog and the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub device: String,
    pub metric: String,
    /// Milliseconds since the Unix epoch.
    pub ts_ms: i64,
    pub value: f64,
}

/// Why a message or a record was refused. `as_str` is the `reason` label of
/// `iochub_ingest_rejected_total` and the dead-letter table: keep the strings stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Payload larger than the configured limit.
    Oversized,
    /// Payload is not UTF-8.
    NotUtf8,
    /// Payload is not JSON, or JSON of neither accepted shape.
    MalformedJson,
    /// A field has the wrong JSON type (e.g. a string where a number belongs).
    WrongType,
    /// A record carries no value.
    MissingValue,
    /// String or binary values (`vs`, `vd`) and sums (`s`): not telemetry numbers.
    UnsupportedValue,
    /// NaN, infinity, or a number JSON cannot represent as a finite double.
    NotFinite,
    /// Outside the metric catalog's valid range.
    OutOfRange,
    /// Unit differs from the catalog's unit for that metric.
    UnitMismatch,
    /// Timestamp too far ahead of the hub's clock.
    TimestampFuture,
    /// Timestamp too far behind the hub's clock.
    TimestampPast,
    /// Device key outside `[A-Za-z0-9._-]{1,64}`.
    InvalidDevice,
    /// Metric name outside `[A-Za-z0-9._-]{1,64}`.
    InvalidMetric,
    /// More records in one message than the configured limit.
    TooManyRecords,
    /// Topic outside `ioc/{device}/telemetry|status`, or an unknown status payload.
    BadTopic,
}

impl RejectReason {
    pub const ALL: [RejectReason; 15] = [
        Self::Oversized,
        Self::NotUtf8,
        Self::MalformedJson,
        Self::WrongType,
        Self::MissingValue,
        Self::UnsupportedValue,
        Self::NotFinite,
        Self::OutOfRange,
        Self::UnitMismatch,
        Self::TimestampFuture,
        Self::TimestampPast,
        Self::InvalidDevice,
        Self::InvalidMetric,
        Self::TooManyRecords,
        Self::BadTopic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oversized => "oversized",
            Self::NotUtf8 => "not_utf8",
            Self::MalformedJson => "malformed_json",
            Self::WrongType => "wrong_type",
            Self::MissingValue => "missing_value",
            Self::UnsupportedValue => "unsupported_value",
            Self::NotFinite => "not_finite",
            Self::OutOfRange => "out_of_range",
            Self::UnitMismatch => "unit_mismatch",
            Self::TimestampFuture => "timestamp_future",
            Self::TimestampPast => "timestamp_past",
            Self::InvalidDevice => "invalid_device",
            Self::InvalidMetric => "invalid_metric",
            Self::TooManyRecords => "too_many_records",
            Self::BadTopic => "bad_topic",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused message or record: the reason and a human-readable detail naming the bad field.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub reason: RejectReason,
    pub detail: String,
}

impl Reject {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}
