//! What a WebSocket client asked for: topics, and optionally devices and a bounding box.

use std::collections::HashSet;

use serde::Deserialize;

use super::Positions;

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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub telemetry: bool,
    pub alerts: bool,
    pub devices_topic: bool,
    pub devices: Option<HashSet<String>>,
    pub bbox: Option<[f64; 4]>,
}

pub const TOPICS: &[&str] = &["alerts", "telemetry", "devices"];

impl Filter {
    pub fn from_subscribe(
        topics: &[String],
        devices: Option<Vec<String>>,
        bbox: Option<[f64; 4]>,
        area: Option<String>,
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
            return Err(format!(
                "area {a:?}: no administrative areas are configured"
            ));
        }
        f.devices = devices.map(|d| d.into_iter().collect());
        Ok(f)
    }

    /// Device and bbox filters; a bbox excludes devices with no known position.
    pub fn matches(&self, device: &str, positions: &Positions) -> bool {
        if let Some(d) = &self.devices
            && !d.contains(device)
        {
            return false;
        }
        match self.bbox {
            None => true,
            Some([min_lon, min_lat, max_lon, max_lat]) => {
                positions.get(device).is_some_and(|&(lon, lat)| {
                    lon >= min_lon && lon <= max_lon && lat >= min_lat && lat <= max_lat
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_and_devices() {
        let mut pos = Positions::new();
        pos.insert("in".into(), (106.2, 22.6));
        pos.insert("out".into(), (105.0, 21.0));
        let f = Filter::from_subscribe(
            &["telemetry".into()],
            None,
            Some([106.0, 22.5, 106.5, 22.8]),
            None,
        )
        .expect("valid");
        assert!(f.matches("in", &pos) && !f.matches("out", &pos) && !f.matches("unknown", &pos));
        let f = Filter::from_subscribe(&["alerts".into()], Some(vec!["out".into()]), None, None)
            .expect("valid");
        assert!(f.matches("out", &pos) && !f.matches("in", &pos));
        assert!(Filter::from_subscribe(&["video".into()], None, None, None).is_err());
        assert!(Filter::from_subscribe(&[], None, Some([2.0, 0.0, 1.0, 1.0]), None).is_err());
    }
}
