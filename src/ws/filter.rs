//! What a WebSocket client asked for — topics, and optionally devices, a bounding box, an area —
//! within what its account may see (its [`Scope`], set by the server, not by the client).

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;

use super::Positions;
use crate::accounts::Scope;
use crate::alerts::Alert;
use crate::areas::{Area, Areas};

/// A client message.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientMsg {
    Subscribe {
        topics: Vec<String>,
        #[serde(default)]
        devices: Option<Vec<String>>,
        /// `[minLon, minLat, maxLon, maxLat]`
        #[serde(default)]
        bbox: Option<[f64; 4]>,
        #[serde(default)]
        area: Option<String>,
    },
    Unsubscribe {},
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub telemetry: bool,
    pub alerts: bool,
    pub devices_topic: bool,
    pub devices: Option<HashSet<String>>,
    pub bbox: Option<[f64; 4]>,
    pub area: Option<Arc<Area>>,
    /// The account's scope: applied after the client's own filters.
    pub scope: Arc<Scope>,
}

pub const TOPICS: &[&str] = &["alerts", "telemetry", "devices"];

impl Filter {
    pub fn from_subscribe(
        topics: &[String],
        devices: Option<Vec<String>>,
        bbox: Option<[f64; 4]>,
        area: Option<String>,
        areas: &Areas,
    ) -> Result<Self, String> {
        let mut f = Filter::default();
        for t in topics {
            match t.as_str() {
                "alerts" => f.alerts = true,
                "telemetry" => f.telemetry = true,
                "devices" => f.devices_topic = true,
                other => {
                    return Err(format!(
                        "unknown topic {other:?}; expected one of {TOPICS:?}"
                    ));
                }
            }
        }
        if let Some(b) = bbox {
            if b.iter().any(|v| !v.is_finite()) || b[0] > b[2] || b[1] > b[3] {
                return Err("bbox must be [minLon, minLat, maxLon, maxLat]".into());
            }
            f.bbox = Some(b);
        }
        if let Some(a) = area {
            f.area = Some(areas.get(&a).ok_or_else(|| {
                if areas.is_empty() {
                    format!("area {a:?}: no administrative areas are configured")
                } else {
                    format!("no area {a:?}; see GET /api/v1/areas")
                }
            })?);
        }
        f.devices = devices.map(|d| d.into_iter().collect());
        Ok(f)
    }

    /// Device, bbox and area filters and the account's scope; a bbox or an area excludes devices
    /// with no known position.
    pub fn matches(&self, device: &str, positions: &Positions) -> bool {
        let position = positions.get(device).copied();
        self.asked_for(device, position) && self.scope.sees_position(position)
    }

    /// An alert passes the client's filters (at its own place, else its device's) and the
    /// account's alert scope.
    pub fn matches_alert(&self, alert: &Alert, positions: &Positions) -> bool {
        let position = alert
            .position()
            .or_else(|| positions.get(alert.device.as_str()).copied());
        self.asked_for(&alert.device, position) && self.scope.sees(alert, position)
    }

    fn asked_for(&self, device: &str, position: Option<(f64, f64)>) -> bool {
        if let Some(d) = &self.devices
            && !d.contains(device)
        {
            return false;
        }
        if let Some(area) = &self.area
            && !position.is_some_and(|(lon, lat)| area.shape.contains(lon, lat))
        {
            return false;
        }
        match self.bbox {
            None => true,
            Some([min_lon, min_lat, max_lon, max_lat]) => position.is_some_and(|(lon, lat)| {
                lon >= min_lon && lon <= max_lon && lat >= min_lat && lat <= max_lat
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_and_devices() {
        let none = Areas::default();
        let mut pos = Positions::new();
        pos.insert("in".into(), (106.2, 22.6));
        pos.insert("out".into(), (105.0, 21.0));
        let f = Filter::from_subscribe(
            &["telemetry".into()],
            None,
            Some([106.0, 22.5, 106.5, 22.8]),
            None,
            &none,
        )
        .expect("valid");
        assert!(f.matches("in", &pos) && !f.matches("out", &pos) && !f.matches("unknown", &pos));
        let f = Filter::from_subscribe(
            &["alerts".into()],
            Some(vec!["out".into()]),
            None,
            None,
            &none,
        )
        .expect("valid");
        assert!(f.matches("out", &pos) && !f.matches("in", &pos));
        assert!(Filter::from_subscribe(&["video".into()], None, None, None, &none).is_err());
        assert!(
            Filter::from_subscribe(&[], None, Some([2.0, 0.0, 1.0, 1.0]), None, &none).is_err()
        );
    }

    #[test]
    fn areas_filter_by_position() {
        let areas = crate::areas::Areas::parse([("demo", iochub_sim::province::AREAS_GEOJSON)])
            .expect("the simulated province's areas");
        let mut pos = Positions::new();
        pos.insert("city".into(), (106.257, 22.666));
        pos.insert("west".into(), (105.55, 22.88));
        let f = Filter::from_subscribe(
            &["telemetry".into()],
            None,
            None,
            Some("cb-p-thucphan".into()),
            &areas,
        )
        .expect("known area");
        assert!(f.matches("city", &pos) && !f.matches("west", &pos) && !f.matches("nowhere", &pos));
        let e = Filter::from_subscribe(
            &["alerts".into()],
            None,
            None,
            Some("atlantis".into()),
            &areas,
        )
        .expect_err("unknown area");
        assert!(e.contains("no area \"atlantis\""), "{e}");
    }
}
