//! What the dashboard must know of the domain to label what it shows: every metric of the
//! catalog (`iochub_devices::catalog`: unit, valid range, Vietnamese and English name), the
//! metrics the area tools offer, and the kinds of rules by id prefix with their titles. The app
//! keeps no copy of these: a metric added to the catalog is named on screen without a new app.

use axum::Json;
use iochub_devices::catalog::BUILTIN;
use serde::Serialize;

use super::access::Caller;
use super::error::ErrorBody;

/// The metrics the area tools offer for min/avg/max, in the order they are listed: readings of
/// the environment. Left out: directions (`wind_dir`, an average of 350° and 10° is not 180°),
/// positions (`lat`, `lon`) and device health (`battery`), whose average says nothing of an area.
const AREA_METRICS: &[&str] = &[
    "water_level",
    "rain_1h",
    "rain_24h",
    "rain_72h",
    "soil_moisture",
    "pm2_5",
    "pm10",
    "aqi",
    "co",
    "temperature",
    "humidity",
    "wind_speed",
    "pressure",
];

/// Rule titles by rule id prefix (the ids of the rules file: `flood-l3-…`, `pm25-…`), the first
/// match wins; a rule matching none is shown by its id.
const RULE_KINDS: &[(&str, &str, &str)] = &[
    ("flood-l1", "Lũ — Báo động cấp I", "Flood — Alarm level I"),
    ("flood-l2", "Lũ — Báo động cấp II", "Flood — Alarm level II"),
    (
        "flood-l3",
        "Lũ — Báo động cấp III",
        "Flood — Alarm level III",
    ),
    ("flood-rise", "Lũ — Nước lên nhanh", "Flood — Rapid rise"),
    ("rain", "Mưa lớn", "Heavy rain"),
    ("pm25", "Ô nhiễm không khí", "Air pollution"),
    ("aqi", "Ô nhiễm không khí", "Air pollution"),
    ("pm10", "Ô nhiễm không khí", "Air pollution"),
    ("heat", "Nắng nóng", "Heat"),
    ("wind", "Gió mạnh", "Strong wind"),
    ("landslide", "Nguy cơ sạt lở", "Landslide risk"),
    ("fire", "Nguy cơ cháy rừng", "Forest fire risk"),
    ("equipment-silent", "Trạm mất tín hiệu", "Station silent"),
    ("equipment-stuck", "Cảm biến treo", "Sensor stuck"),
    ("equipment-anomaly", "Số đo bất thường", "Anomalous reading"),
    ("equipment", "Sự cố thiết bị", "Equipment fault"),
    ("camera-offline", "Camera mất kết nối", "Camera offline"),
    (
        "camera-frozen",
        "Camera: hình bị đứng",
        "Camera: frozen picture",
    ),
    (
        "camera-dark",
        "Camera: hình tối/bị che",
        "Camera: dark picture",
    ),
];

/// A name in the dashboard's two languages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Label {
    pub vi: &'static str,
    pub en: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricInfo {
    pub name: &'static str,
    /// Canonical unit (SenML spelling where one exists); empty for a unitless metric.
    pub unit: &'static str,
    /// Readings outside `min..=max` are refused as broken sensors.
    pub min: f64,
    pub max: f64,
    pub label: Label,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleKind {
    /// Rule ids starting with this belong to the kind.
    pub prefix: &'static str,
    pub label: Label,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DomainCatalog {
    /// Every metric the hub knows, in catalog order.
    pub metrics: Vec<MetricInfo>,
    /// Metric names the area tools offer, in the order they are listed.
    pub area_metrics: Vec<&'static str>,
    /// The first kind whose prefix starts a rule's id titles it.
    pub rule_kinds: Vec<RuleKind>,
}

/// The metric catalog (units, ranges, names), the area tools' metrics and the rule titles.
#[utoipa::path(get, path = "/api/v1/catalog", tag = "map", security(("bearer" = [])),
    responses((status = 200, body = DomainCatalog), (status = 401, body = ErrorBody)))]
pub async fn catalog(_: Caller) -> Json<DomainCatalog> {
    Json(DomainCatalog {
        metrics: BUILTIN
            .iter()
            .map(|s| MetricInfo {
                name: s.name,
                unit: s.unit,
                min: s.min,
                max: s.max,
                label: Label {
                    vi: s.label_vi,
                    en: s.label_en,
                },
            })
            .collect(),
        area_metrics: AREA_METRICS.to_vec(),
        rule_kinds: RULE_KINDS
            .iter()
            .map(|&(prefix, vi, en)| RuleKind {
                prefix,
                label: Label { vi, en },
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_metrics_are_in_the_catalog() {
        for m in AREA_METRICS {
            assert!(
                BUILTIN.iter().any(|s| s.name == *m),
                "{m} not in the catalog"
            );
        }
    }
}
