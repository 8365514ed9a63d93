//! The map's context — basemap settings and administrative areas — and the area tools: what is
//! inside an area, a circle or a drawn polygon.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::{Deserialize, Serialize};

use super::access::Caller;
use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::alerts::AlertQuery;
use crate::areas::Shape;
use crate::config::MapConfig;
use crate::pipeline::{Op, Severity};

const MAX_POLYGON_POINTS: usize = 10_000;
const MAX_RADIUS_M: f64 = 1_000_000.0;

/// What the map opens on: the basemap settings and the province's extent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MapView {
    #[serde(flatten)]
    pub basemap: MapConfig,
    /// `[[west, south], [east, north]]` of the province-level areas (of every area when none is
    /// a province); null without areas, and the app then frames its devices.
    pub bounds: Option<[[f64; 2]; 2]>,
}

/// Basemap settings (the IOC's own style or tiles; all null means the app's offline basemap)
/// and the bounds the map opens on.
#[utoipa::path(get, path = "/api/v1/map", tag = "map", security(("bearer" = [])),
    responses((status = 200, body = MapView), (status = 401, body = ErrorBody)))]
pub async fn config(_: Caller, State(state): State<AppState>) -> Json<MapView> {
    Json(MapView {
        basemap: state.map.clone(),
        bounds: bounds(state.areas.feature_collection()),
    })
}

/// The bounding box of the province features of a GeoJSON FeatureCollection, else of them all.
fn bounds(collection: &serde_json::Value) -> Option<[[f64; 2]; 2]> {
    let features = collection["features"].as_array()?;
    let province: Vec<&serde_json::Value> = features
        .iter()
        .filter(|f| f["properties"]["level"] == "province")
        .collect();
    let chosen = if province.is_empty() {
        features.iter().collect()
    } else {
        province
    };
    let mut b = [[f64::INFINITY; 2], [f64::NEG_INFINITY; 2]];
    for f in chosen {
        extend(&mut b, &f["geometry"]["coordinates"]);
    }
    b[0][0].is_finite().then_some(b)
}

/// Widens `b` by every `[lon, lat]` position nested in a GeoJSON coordinates array.
fn extend(b: &mut [[f64; 2]; 2], coords: &serde_json::Value) {
    let Some(items) = coords.as_array() else {
        return;
    };
    if let [lon, lat, ..] = items.as_slice()
        && let (Some(lon), Some(lat)) = (lon.as_f64(), lat.as_f64())
    {
        *b = [
            [b[0][0].min(lon), b[0][1].min(lat)],
            [b[1][0].max(lon), b[1][1].max(lat)],
        ];
        return;
    }
    for c in items {
        extend(b, c);
    }
}

/// Administrative areas as a GeoJSON FeatureCollection; each feature's properties are `id`,
/// `name`, `level` and `illustrative` (true for boundaries drawn for a demo, not official ones).
#[utoipa::path(get, path = "/api/v1/areas", tag = "map", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "GeoJSON FeatureCollection"),
              (status = 401, body = ErrorBody)))]
pub async fn areas(_: Caller, State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.areas.feature_collection().clone())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Circle {
    /// `[lon, lat]`
    pub center: [f64; 2],
    pub radius_m: f64,
}

/// Exactly one of `area`, `circle`, `polygon`; `metric` adds min/avg/max of its latest values.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryRequest {
    /// An area id from `GET /api/v1/areas`.
    pub area: Option<String>,
    pub circle: Option<Circle>,
    /// `[[lon, lat], …]`, at least 3 positions; closing it is optional.
    pub polygon: Option<Vec<[f64; 2]>>,
    pub metric: Option<String>,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct SeverityCounts {
    pub critical: u32,
    pub warning: u32,
    pub info: u32,
}

impl SeverityCounts {
    fn of(&mut self, severity: Severity) -> &mut u32 {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::Warning => &mut self.warning,
            Severity::Info => &mut self.info,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricSummary {
    pub name: String,
    pub unit: Option<&'static str>,
    /// Over the latest value of each device inside that reports the metric.
    pub min: Option<f64>,
    pub avg: Option<f64>,
    pub max: Option<f64>,
    pub count: u32,
}

/// A device inside the selection whose value is past a rule threshold (an open alert).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Breach {
    pub device: String,
    pub rule: String,
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    pub op: Op,
    pub severity: Severity,
    pub alert_id: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AreaSummary {
    /// Devices with a position inside the selection.
    pub devices: u32,
    pub online: u32,
    pub offline: u32,
    /// Devices that never reported an online/offline status.
    pub unknown: u32,
    pub device_keys: Vec<String>,
    /// Open alerts of the devices inside, by severity.
    pub alerts: SeverityCounts,
    pub metric: Option<MetricSummary>,
    /// Most severe first, then newest.
    pub breaches: Vec<Breach>,
}

fn shape(state: &AppState, req: &SummaryRequest) -> Result<Shape, ApiError> {
    let given = [
        req.area.is_some(),
        req.circle.is_some(),
        req.polygon.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::bad_field(
            "area",
            "give exactly one of `area`, `circle`, `polygon`",
        ));
    }
    if let Some(id) = &req.area {
        return state
            .areas
            .get(id)
            .map(Shape::Area)
            .ok_or_else(|| ApiError::bad_field("area", format!("no area {id:?}")));
    }
    let valid = |p: &[f64; 2]| (-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1]);
    if let Some(c) = &req.circle {
        if !valid(&c.center) {
            return Err(ApiError::bad_field(
                "circle.center",
                "must be [lon, lat] within -180..180, -90..90",
            ));
        }
        if !(c.radius_m > 0.0 && c.radius_m <= MAX_RADIUS_M) {
            return Err(ApiError::bad_field(
                "circle.radius_m",
                format!("must be > 0 and at most {MAX_RADIUS_M} m"),
            ));
        }
        return Ok(Shape::Circle {
            center: c.center,
            radius_m: c.radius_m,
        });
    }
    let points = req.polygon.clone().unwrap_or_default();
    if points.len() < 3 || points.len() > MAX_POLYGON_POINTS || !points.iter().all(valid) {
        return Err(ApiError::bad_field(
            "polygon",
            format!("must be 3..{MAX_POLYGON_POINTS} positions [lon, lat] in range"),
        ));
    }
    Shape::polygon(points).ok_or_else(|| ApiError::bad_field("polygon", "empty polygon"))
}

/// Aggregates over the devices inside an area, a circle or a polygon: online/offline, open
/// alerts by severity, min/avg/max of a metric, and the devices past their thresholds.
#[utoipa::path(post, path = "/api/v1/areas/summary", tag = "map", security(("bearer" = [])),
    request_body = SummaryRequest,
    responses((status = 200, body = AreaSummary), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn summary(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<SummaryRequest>, JsonRejection>,
) -> Result<Json<AreaSummary>, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let shape = shape(&state, &req)?;
    let mut devices = state.store.devices().await?;
    // Only what the caller's scope shows: inside the shape *and* inside their areas.
    devices.retain(|d| match d.lon.zip(d.lat) {
        Some((lon, lat)) => {
            shape.contains(lon, lat) && caller.scope.sees_position(Some((lon, lat)))
        }
        None => false,
    });
    devices.sort_by(|a, b| a.key.cmp(&b.key));
    let inside: HashMap<&str, Option<(f64, f64)>> = devices
        .iter()
        .map(|d| (d.key.as_str(), d.lon.zip(d.lat)))
        .collect();

    // Breaches: the alerts whose condition still holds, on devices inside.
    let live = state.store.alerts(AlertQuery::live()).await?;
    let mut alerts = SeverityCounts::default();
    let mut breaches: Vec<Breach> = Vec::new();
    for a in live.into_iter().filter(|a| {
        a.active
            && a.op.is_some()
            && inside
                .get(a.device.as_str())
                .is_some_and(|&pos| caller.scope.sees(a, pos))
    }) {
        *alerts.of(a.severity) += 1;
        breaches.push(Breach {
            device: a.device,
            rule: a.rule,
            metric: a.metric,
            value: a.value,
            threshold: a.threshold,
            op: a.op.unwrap_or(Op::Ge),
            severity: a.severity,
            alert_id: a.id,
        });
    }
    breaches.sort_by(|a, b| (b.severity.cmp(&a.severity)).then(b.alert_id.cmp(&a.alert_id)));

    let metric = req.metric.as_ref().map(|name| {
        let values: Vec<f64> = devices
            .iter()
            .filter_map(|d| d.latest.iter().find(|v| &v.metric == name).map(|v| v.value))
            .collect();
        let count = values.len() as u32;
        let sum: f64 = values.iter().sum();
        MetricSummary {
            name: name.clone(),
            unit: super::devices::unit_of(name),
            min: values.iter().copied().reduce(f64::min),
            avg: (count > 0).then(|| sum / f64::from(count)),
            max: values.iter().copied().reduce(f64::max),
            count,
        }
    });

    let count = |state: Option<bool>| devices.iter().filter(|d| d.online == state).count() as u32;
    let (online, offline, unknown) = (count(Some(true)), count(Some(false)), count(None));
    Ok(Json(AreaSummary {
        devices: devices.len() as u32,
        online,
        offline,
        unknown,
        device_keys: devices.into_iter().map(|d| d.key).collect(),
        alerts,
        metric,
        breaches,
    }))
}
