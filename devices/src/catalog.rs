//! The metric catalog: canonical unit, accepted unit spellings and the physically valid range of
//! each known metric.
//!
//! A reading of a known metric outside its range is refused (`out_of_range`): a river stage of
//! -3000 m is a broken sensor, not a flood. Metrics not in the catalog are accepted without a range
//! check, so that new device types work before the catalog learns about them.

use std::collections::HashMap;

/// What the hub knows about one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub name: &'static str,
    /// Canonical unit (SenML unit registry spelling where one exists); empty for unitless.
    pub unit: &'static str,
    /// Other spellings devices use for the same unit.
    pub unit_aliases: &'static [&'static str],
    pub min: f64,
    pub max: f64,
    pub label_vi: &'static str,
    pub label_en: &'static str,
}

impl MetricSpec {
    /// True when `unit` names this metric's unit.
    pub fn accepts_unit(&self, unit: &str) -> bool {
        unit == self.unit || self.unit_aliases.contains(&unit)
    }

    pub fn in_range(&self, value: f64) -> bool {
        value >= self.min && value <= self.max
    }
}

const fn spec(
    name: &'static str,
    unit: &'static str,
    unit_aliases: &'static [&'static str],
    (min, max): (f64, f64),
    label_vi: &'static str,
    label_en: &'static str,
) -> MetricSpec {
    MetricSpec {
        name,
        unit,
        unit_aliases,
        min,
        max,
        label_vi,
        label_en,
    }
}

const UG_M3: &[&str] = &["µg/m3", "μg/m3", "µg/m³", "ug/m³"];

/// The built-in metrics (sensors of an IOC: hydrology, weather, air quality, device health).
pub const BUILTIN: &[MetricSpec] = &[
    spec(
        "water_level",
        "m",
        &[],
        (-100.0, 9000.0),
        "Mực nước",
        "Water level",
    ),
    spec(
        "discharge",
        "m3/s",
        &[],
        (0.0, 100_000.0),
        "Lưu lượng",
        "Discharge",
    ),
    // What a tipping bucket counted since the station's previous message: rules sum it over
    // their own windows (24 h, 72 h) instead of trusting the logger's totals.
    spec("rain", "mm", &[], (0.0, 500.0), "Lượng mưa", "Rainfall"),
    spec(
        "rain_1h",
        "mm",
        &[],
        (0.0, 500.0),
        "Lượng mưa 1 giờ",
        "Rainfall 1 h",
    ),
    spec(
        "rain_24h",
        "mm",
        &[],
        (0.0, 2000.0),
        "Lượng mưa 24 giờ",
        "Rainfall 24 h",
    ),
    // Landslide warnings rate slopes by rain accumulated over several days.
    spec(
        "rain_72h",
        "mm",
        &[],
        (0.0, 5000.0),
        "Lượng mưa 72 giờ",
        "Rainfall 72 h",
    ),
    spec(
        "temperature",
        "Cel",
        &["°C", "C"],
        (-50.0, 70.0),
        "Nhiệt độ",
        "Temperature",
    ),
    spec("humidity", "%RH", &["%"], (0.0, 100.0), "Độ ẩm", "Humidity"),
    spec(
        "pressure",
        "hPa",
        &[],
        (300.0, 1100.0),
        "Áp suất",
        "Pressure",
    ),
    spec(
        "wind_speed",
        "m/s",
        &[],
        (0.0, 120.0),
        "Tốc độ gió",
        "Wind speed",
    ),
    spec(
        "wind_dir",
        "deg",
        &["°"],
        (0.0, 360.0),
        "Hướng gió",
        "Wind direction",
    ),
    spec("pm2_5", "ug/m3", UG_M3, (0.0, 2000.0), "Bụi PM2.5", "PM2.5"),
    spec("pm10", "ug/m3", UG_M3, (0.0, 3000.0), "Bụi PM10", "PM10"),
    spec("aqi", "", &["/"], (0.0, 1000.0), "Chỉ số AQI", "AQI"),
    spec("co", "ppm", &[], (0.0, 1000.0), "CO", "CO"),
    spec("no2", "ug/m3", UG_M3, (0.0, 5000.0), "NO₂", "NO₂"),
    spec("so2", "ug/m3", UG_M3, (0.0, 5000.0), "SO₂", "SO₂"),
    spec("o3", "ug/m3", UG_M3, (0.0, 5000.0), "O₃", "O₃"),
    spec(
        "soil_moisture",
        "%",
        &["%VWC"],
        (0.0, 100.0),
        "Độ ẩm đất",
        "Soil moisture",
    ),
    spec("battery", "%EL", &["%"], (0.0, 100.0), "Pin", "Battery"),
    spec("lat", "lat", &[], (-90.0, 90.0), "Vĩ độ", "Latitude"),
    spec("lon", "lon", &[], (-180.0, 180.0), "Kinh độ", "Longitude"),
    // A camera's health, measured by the hub on its stream (docs/CONTRACT.md, "Cameras"); the
    // counts are per report.
    spec(
        "camera_online",
        "",
        &[],
        (0.0, 1.0),
        "Camera hoạt động",
        "Camera online",
    ),
    spec(
        "camera_fps",
        "fps",
        &[],
        (0.0, 1000.0),
        "Số khung hình/giây",
        "Frame rate",
    ),
    spec(
        "camera_kbps",
        "kbit/s",
        &[],
        (0.0, 10_000_000.0),
        "Tốc độ bit",
        "Bit rate",
    ),
    spec(
        "camera_lost_packets",
        "",
        &[],
        (0.0, 1e12),
        "Gói tin bị mất",
        "Lost packets",
    ),
    spec(
        "camera_keyframe_age_s",
        "s",
        &[],
        (0.0, 1e9),
        "Thời gian từ khung hình chính",
        "Keyframe age",
    ),
    spec(
        "camera_reconnects",
        "",
        &[],
        (0.0, 1e9),
        "Số lần kết nối lại",
        "Reconnects",
    ),
    spec(
        "camera_stalls",
        "",
        &[],
        (0.0, 1e9),
        "Số lần mất hình",
        "Stalls",
    ),
    spec(
        "camera_frozen",
        "",
        &[],
        (0.0, 1.0),
        "Hình bị đứng",
        "Frozen picture",
    ),
    spec(
        "camera_dark",
        "",
        &[],
        (0.0, 1.0),
        "Hình bị tối/che",
        "Dark picture",
    ),
];

/// Lookup table over metric specs.
#[derive(Debug, Clone)]
pub struct Catalog {
    by_name: HashMap<&'static str, MetricSpec>,
}

impl Catalog {
    pub fn builtin() -> Self {
        Self::from_specs(BUILTIN.iter().cloned())
    }

    pub fn from_specs(specs: impl IntoIterator<Item = MetricSpec>) -> Self {
        Self {
            by_name: specs.into_iter().map(|s| (s.name, s)).collect(),
        }
    }

    pub fn get(&self, metric: &str) -> Option<&MetricSpec> {
        self.by_name.get(metric)
    }

    pub fn iter(&self) -> impl Iterator<Item = &MetricSpec> {
        self.by_name.values()
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_specs_are_well_formed() {
        let cat = Catalog::builtin();
        assert_eq!(cat.iter().count(), BUILTIN.len(), "duplicate metric names");
        for s in BUILTIN {
            assert!(crate::key::is_valid_metric_name(s.name), "{}", s.name);
            assert!(s.min < s.max, "{}", s.name);
        }
    }

    #[test]
    fn units_and_ranges() {
        let cat = Catalog::builtin();
        let pm = cat.get("pm2_5").expect("pm2_5 is built in");
        assert!(pm.accepts_unit("ug/m3") && pm.accepts_unit("µg/m3"));
        assert!(!pm.accepts_unit("mg/m3"));
        assert!(pm.in_range(0.0) && pm.in_range(2000.0) && !pm.in_range(-0.1));
        assert!(cat.get("no_such_metric").is_none());
    }
}
