//! An alert as the hub keeps it, stores it, serves it and pushes it live.

use serde::{Deserialize, Serialize};

use crate::pipeline::{Op, Severity};

/// Where an alert is in its handling. The lifecycle ([`super::lifecycle`]) decides every move;
/// the stores only persist it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Open,
    Resolved,
}

impl AlertState {
    pub const ALL: [AlertState; 2] = [Self::Open, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// An alert: at most one open per (rule, device).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub device: String,
    pub metric: String,
    /// The latest value that kept the rule breached (or cleared it, once resolved).
    pub value: f64,
    pub threshold: f64,
    pub op: Op,
    pub severity: Severity,
    pub state: AlertState,
    /// Reading time that opened it (RFC 3339).
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub opened_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub updated_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<i64>,
    /// How many times the rule fired while this alert was open.
    pub hits: u32,
}

/// A selection of stored alerts, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub state: Option<AlertState>,
    pub device: Option<String>,
    pub limit: u32,
}

/// One alert as the lifecycle left it, for the store to persist: a new alert to insert (its `id`
/// is not yet known and ignored) or a stored one to overwrite by id.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertWrite {
    New(Alert),
    Changed(Alert),
}

impl AlertWrite {
    pub fn alert(&self) -> &Alert {
        match self {
            Self::New(a) | Self::Changed(a) => a,
        }
    }
}
