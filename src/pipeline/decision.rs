//! The engine's decisions about alerts, as the alert manager receives them, and the vocabulary
//! they are made in: a rule's comparison operator and an alert's severity.

use serde::{Deserialize, Serialize};

/// A rule's comparison: the value holds the condition when `value op threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "<" => Self::Lt,
            "<=" => Self::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
        }
    }

    /// True for `>` and `>=`: the condition is a rise past the threshold.
    pub fn rising(self) -> bool {
        matches!(self, Self::Gt | Self::Ge)
    }
}

/// How urgent an alert is, lowest first (so `max` is the most severe).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Self::Info, Self::Warning, Self::Critical];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// A change to an alert decided by the engine; the alert manager's lifecycle decides what it
/// does to the stored alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertChange {
    Fire(Fire),
    Clear(Clear),
}

/// The rule's condition holds for this reading: open an alert for (rule, device), or update the
/// open one.
#[derive(Debug, Clone, PartialEq)]
pub struct Fire {
    pub rule: String,
    pub device: String,
    pub metric: String,
    pub op: Op,
    pub threshold: f64,
    pub severity: Severity,
    /// The rule's category (`flood`, `landslide`, …), if it names one.
    pub category: Option<String>,
    pub value: f64,
    pub ts_ms: i64,
    /// The rule's flap hold keeps the alert open: its condition keeps coming and going.
    pub flapping: bool,
}

/// The rule cleared: resolve the open alert of (rule, device), if any. A non-finite `value` (no
/// reading known, e.g. the rule was removed) keeps the alert's last value.
#[derive(Debug, Clone, PartialEq)]
pub struct Clear {
    pub rule: String,
    pub device: String,
    pub value: f64,
    pub ts_ms: i64,
}

impl AlertChange {
    /// The (rule, device) pair whose alert the change is about.
    pub fn key(&self) -> (&str, &str) {
        match self {
            AlertChange::Fire(f) => (&f.rule, &f.device),
            AlertChange::Clear(c) => (&c.rule, &c.device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialize_as_the_contract_spells_them() {
        for op in [Op::Gt, Op::Ge, Op::Lt, Op::Le] {
            assert_eq!(Op::parse(op.as_str()), Some(op));
            assert_eq!(
                serde_json::to_string(&op).ok(),
                Some(format!("\"{}\"", op.as_str()))
            );
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).ok(),
                Some(format!("\"{}\"", s.as_str()))
            );
        }
        assert_eq!(Op::parse("=="), None);
        assert_eq!(Severity::parse("urgent"), None);
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
    }
}
