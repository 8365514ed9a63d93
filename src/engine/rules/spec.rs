//! The rules file as people write it: one serde type per rule kind, unknown fields denied.
//!
//! A rule's table is split in two before serde sees it: the fields every rule has ([`Common`])
//! and the fields of its kind (a [`KindSpec`] variant, chosen by `kind`, default `threshold`).
//! Each part is deserialized through `serde_path_to_error`, so an error names the field even when
//! it sits deep inside (`conditions[1].op`). The same types serialize back: the API shows a rule
//! with the names it was written with, and a rule's fingerprint is the hash of that form.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pipeline::{Op, Severity};

/// The fields every rule has, whatever its kind.
pub const COMMON_FIELDS: &[&str] = &[
    "id",
    "kind",
    "severity",
    "category",
    "description",
    "devices",
    "tags",
    "area",
    "bbox",
    "flap",
];

/// The rule kinds, as `kind` names them.
pub const KINDS: &[&str] = &["threshold", "no_data", "rate", "window", "anomaly", "all"];

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    pub id: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Device keys; absent = every device that reports the rule's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<String>>,
    /// Devices carrying any of these tags (`PATCH /api/v1/devices/{device}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Devices in this configured area (assigned to it, else placed in it by their position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// Devices whose position lies in `[min_lon, min_lat, max_lon, max_lat]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f64; 4]>,
    /// An alert that opens `count` times within `within` is held open as flapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<FlapSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlapSpec {
    pub count: u32,
    pub within: Dur,
}

/// What a rule watches and when it holds, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KindSpec {
    Threshold(ThresholdSpec),
    NoData(NoDataSpec),
    Rate(RateSpec),
    Window(WindowSpec),
    Anomaly(AnomalySpec),
    All(AllSpec),
}

/// The value crosses a line: `metric op value`, held for `for`, cleared past `clear`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    pub metric: String,
    pub op: Op,
    pub value: f64,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
}

/// The device (or one metric of it) has been silent for `for`, in wall-clock time.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoDataSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(rename = "for")]
    pub silence: Dur,
}

/// A rise of at least `change` within `over` (a fall of at least |change| when negative).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub metric: String,
    pub change: f64,
    pub over: Dur,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
    /// The alert clears once the change within `over` is back below this (same sign as
    /// `change`, no larger); absent: as soon as it is below `change`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    /// The highest minus the lowest: 0 for a sensor stuck at one value.
    Spread,
}

/// An aggregate over a sliding window compared with a line: `agg(metric, window) op value`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    pub metric: String,
    pub agg: Agg,
    pub window: Dur,
    pub op: Op,
    pub value: f64,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
}

/// A reading more than `k` standard deviations from the series' exponentially weighted mean.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalySpec {
    pub metric: String,
    pub half_life: Dur,
    pub k: f64,
    /// Readings the series must have had before it can fire (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u32>,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
    /// The alert clears once a reading is within this many standard deviations (default `k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
}

/// One condition of an `all` rule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub metric: String,
    pub op: Op,
    pub value: f64,
}

/// Every condition holds on the same device, each on a reading at most `within` old.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllSpec {
    pub conditions: Vec<ConditionSpec>,
    pub within: Dur,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
}

/// A whole rule as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSpec {
    #[serde(flatten)]
    pub common: Common,
    #[serde(flatten)]
    pub kind: KindSpec,
}

/// A duration written like `"30s"`, `"1h 30m"` or `"72h"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn ms(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Dur)
            .map_err(|e| serde::de::Error::custom(format!("not a duration like \"30s\": {e}")))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

/// Why a rule table was refused: the field (a path such as `conditions[1].op`) and the reason.
#[derive(Debug, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Reads one rule table: the common fields, then the fields of its kind.
pub fn read(table: &toml::Table) -> Result<RuleSpec, FieldError> {
    let mut common = toml::Table::new();
    let mut own = toml::Table::new();
    for (key, value) in table {
        match key.as_str() {
            "kind" => {}
            k if COMMON_FIELDS.contains(&k) => {
                common.insert(key.clone(), value.clone());
            }
            _ => {
                own.insert(key.clone(), value.clone());
            }
        }
    }
    let kind = match table.get("kind") {
        None => "threshold",
        Some(toml::Value::String(k)) if KINDS.contains(&k.as_str()) => k.as_str(),
        Some(_) => {
            return Err(FieldError::new(
                "kind",
                format!("must be one of {}", KINDS.join(", ")),
            ));
        }
    };
    let common: Common = typed(common, "")?;
    let own = toml::Value::Table(own);
    let kind = match kind {
        "threshold" => KindSpec::Threshold(typed(own, kind)?),
        "no_data" => KindSpec::NoData(typed(own, kind)?),
        "rate" => KindSpec::Rate(typed(own, kind)?),
        "window" => KindSpec::Window(typed(own, kind)?),
        "anomaly" => KindSpec::Anomaly(typed(own, kind)?),
        _ => KindSpec::All(typed(own, kind)?),
    };
    Ok(RuleSpec { common, kind })
}

/// Deserializes `value` as `T`, naming the field at fault. `kind` names the rule kind in the
/// message for an unknown field (empty for the common part).
fn typed<T, V>(value: V, kind: &str) -> Result<T, FieldError>
where
    T: for<'de> Deserialize<'de>,
    V: Into<toml::Value>,
{
    let value: toml::Value = value.into();
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().message().to_owned();
        // serde names an unknown or missing field in the message, at the path of its table.
        let named = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(|name: &str| match path.as_str() {
                    "." => name.to_owned(),
                    p => format!("{p}.{name}"),
                })
        };
        // (for an unknown field the path already ends with its name)
        let unknown = named("unknown field `").map(|name| match path.as_str() {
            "." => name,
            p => p.to_owned(),
        });
        if let Some(field) = unknown {
            let also = format!("or a field every rule has: {}", COMMON_FIELDS.join(", "));
            let expected = message.split_once(", expected ").map(|(_, e)| e);
            return FieldError::new(
                &field,
                match expected {
                    Some(e) => format!("unknown field for a {kind} rule; expected {e}, {also}"),
                    None => format!("unknown field for a {kind} rule; {also}"),
                },
            );
        }
        if let Some(field) = named("missing field `") {
            return FieldError::new(&field, "missing");
        }
        FieldError::new(if path == "." { "(rule)" } else { &path }, message)
    })
}
