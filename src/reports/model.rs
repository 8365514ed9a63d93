//! An issued report, as the store keeps it: the JSON exactly as issued, the CSV made from it at
//! the same moment, and the SHA-256 of the JSON. Never changed; a re-issue is a new version.

use serde::Serialize;

/// The report kinds, as their endpoints name them.
pub const KINDS: [&str; 2] = ["handling", "data-supply"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IssuedReport {
    pub id: i64,
    /// `handling` or `data-supply`.
    pub kind: String,
    /// The period's label: `2026-11`, `2026-Q4`, `2026-H2`, `2026` or `2026-11-01..2026-11-15`.
    pub period: String,
    /// 1 for the first issue of (kind, period), then 2, 3, …
    pub version: u32,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub issued_at: i64,
    /// `system` (at the period's end) or the account that issued it.
    pub issued_by: String,
    /// Hex SHA-256 of `json`, as bytes.
    pub sha256: String,
    #[serde(skip)]
    pub json: String,
    #[serde(skip)]
    pub csv: String,
}
