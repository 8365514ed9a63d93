//! The station inventory of the simulated Cao Bằng province: where each monitoring station stands,
//! what it measures, and its fixed parameters (river, gauge alarm levels, air-quality baseline):
//! gauges on the rivers, rain gauges in mountain communes, air monitors in the towns, weather
//! stations, landslide monitors on the mountain roads and fire watches in the forests.
//! Coordinates are real places (from memory, good to a few km); the keys are the device keys the hub
//! sees, fixed for good (rules and tests name them) even where a key still carries a former
//! district's name. Display names place a station the way local government is organised since
//! 1 July 2025, province and commune: "xã Bảo Lạc", "phường Thục Phán", with a landmark or former
//! locality in front only where it tells two stations apart ("Tà Lùng, xã Phục Hòa"); never a
//! district, town (thị trấn) or city. The list is a constant table: `stations()` returns it in the
//! same order every time.

/// A river with hydrological stations. Stations of one river are listed upstream to downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum River {
    BangGiang,
    Hien,
    Gam,
    Neo,
    NhoQue,
    QuaySon,
    BacVong,
}

impl River {
    /// Vietnamese name, as on a station's signboard ("Giang" already means river).
    pub fn name(self) -> &'static str {
        match self {
            River::BangGiang => "Bằng Giang",
            River::Hien => "sông Hiến",
            River::Gam => "sông Gâm",
            River::Neo => "sông Neo",
            River::NhoQue => "sông Nho Quế",
            River::QuaySon => "sông Quây Sơn",
            River::BacVong => "sông Bắc Vọng",
        }
    }
}

/// Báo động cấp I/II/III: river stage in metres above the gauge zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlarmLevels {
    pub level_1: f64,
    pub level_2: f64,
    pub level_3: f64,
}

impl AlarmLevels {
    pub fn all(&self) -> [f64; 3] {
        [self.level_1, self.level_2, self.level_3]
    }
}

/// What a station measures, with the parameters only that kind has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StationKind {
    /// Hydrological station (trạm thủy văn) on a river.
    WaterLevel {
        river: River,
        /// Typical stage in normal weather, metres above the gauge zero.
        base_m: f64,
        alarm: AlarmLevels,
    },
    /// Rain gauge (trạm đo mưa) in a mountain commune.
    Rain,
    /// Air-quality monitor (trạm quan trắc không khí) in a town.
    AirQuality {
        /// Typical PM2.5 away from traffic peaks, ug/m3.
        pm25_base: f64,
    },
    /// Automatic weather station (trạm khí tượng).
    Weather,
    /// Landslide monitor (trạm cảnh báo sạt lở) on a cut slope above a mountain road: a rain gauge
    /// with its 72 h total and a soil-moisture probe.
    Slope,
    /// Forest-fire watch (trạm cảnh báo cháy rừng): weather plus smoke (PM2.5, CO).
    Forest,
}

/// A metric name and its unit, exactly as the hub's metric catalog spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
}

const fn metric(name: &'static str, unit: &'static str) -> Metric {
    Metric { name, unit }
}

const WATER_LEVEL_METRICS: &[Metric] = &[metric("water_level", "m"), metric("rain_1h", "mm")];
const RAIN_METRICS: &[Metric] = &[metric("rain_1h", "mm"), metric("rain_24h", "mm")];
const AIR_QUALITY_METRICS: &[Metric] = &[
    metric("pm2_5", "ug/m3"),
    metric("pm10", "ug/m3"),
    metric("aqi", ""),
    metric("temperature", "Cel"),
    metric("humidity", "%RH"),
];
const WEATHER_METRICS: &[Metric] = &[
    metric("temperature", "Cel"),
    metric("humidity", "%RH"),
    metric("wind_speed", "m/s"),
    metric("pressure", "hPa"),
    metric("rain_1h", "mm"),
];
const SLOPE_METRICS: &[Metric] = &[
    metric("rain_1h", "mm"),
    metric("rain_72h", "mm"),
    metric("soil_moisture", "%"),
    // mm counted since the previous message: the hub sums it over its own windows
    metric("rain", "mm"),
];
const FOREST_METRICS: &[Metric] = &[
    metric("temperature", "Cel"),
    metric("humidity", "%RH"),
    metric("wind_speed", "m/s"),
    metric("pm2_5", "ug/m3"),
    metric("co", "ppm"),
];

impl StationKind {
    /// The metrics every message of this kind carries, in order.
    pub fn metrics(&self) -> &'static [Metric] {
        match self {
            StationKind::WaterLevel { .. } => WATER_LEVEL_METRICS,
            StationKind::Rain => RAIN_METRICS,
            StationKind::AirQuality { .. } => AIR_QUALITY_METRICS,
            StationKind::Weather => WEATHER_METRICS,
            StationKind::Slope => SLOPE_METRICS,
            StationKind::Forest => FOREST_METRICS,
        }
    }

    /// Short English label, for logs.
    pub fn label(&self) -> &'static str {
        match self {
            StationKind::WaterLevel { .. } => "water-level",
            StationKind::Rain => "rain",
            StationKind::AirQuality { .. } => "air-quality",
            StationKind::Weather => "weather",
            StationKind::Slope => "slope",
            StationKind::Forest => "forest",
        }
    }
}

/// One simulated monitoring station; `key` is its device key and MQTT client id.
#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    pub key: &'static str,
    /// Vietnamese display name, e.g. "Trạm thủy văn Bằng Giang - phường Thục Phán".
    pub name: String,
    pub kind: StationKind,
    pub lat: f64,
    pub lon: f64,
    /// Height above sea level, metres; cools the air (6.5 °C per km).
    pub elevation_m: f64,
}

impl Station {
    /// Great-circle distance to another station, km.
    pub fn distance_km(&self, other: &Station) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6371.0 * a.sqrt().asin()
    }
}

/// Bounding box of Cao Bằng province: (min lat, max lat, min lon, max lon).
pub const PROVINCE_BBOX: (f64, f64, f64, f64) = (22.35, 23.12, 105.27, 106.83);

/// (key, river, place, lat, lon, elevation m, base stage m, alarm levels I/II/III m)
type GaugeRow = (
    &'static str,
    River,
    &'static str,
    f64,
    f64,
    f64,
    f64,
    [f64; 3],
);

#[rustfmt::skip]
const WATER_LEVEL: &[GaugeRow] = &[
    ("cb-wl-banggiang-01", River::BangGiang, "xã Trường Hà", 22.915, 106.085, 330.0, 1.6, [3.5, 4.5, 5.5]),
    ("cb-wl-banggiang-02", River::BangGiang, "xã Hòa An", 22.722, 106.238, 210.0, 1.9, [3.8, 4.8, 5.8]),
    ("cb-wl-banggiang-03", River::BangGiang, "phường Thục Phán", 22.667, 106.259, 180.0, 2.2, [4.0, 5.0, 6.0]),
    ("cb-wl-banggiang-04", River::BangGiang, "phường Tân Giang", 22.640, 106.330, 175.0, 2.1, [4.0, 5.2, 6.4]),
    ("cb-wl-banggiang-05", River::BangGiang, "Tà Lùng, xã Phục Hòa", 22.488, 106.578, 160.0, 2.4, [4.5, 5.5, 6.5]),
    ("cb-wl-hien-01", River::Hien, "xã Minh Tâm", 22.570, 106.030, 420.0, 1.3, [3.0, 4.0, 5.0]),
    ("cb-wl-hien-02", River::Hien, "xã Bạch Đằng", 22.620, 106.180, 230.0, 1.6, [3.5, 4.5, 5.5]),
    ("cb-wl-hien-03", River::Hien, "phường Thục Phán", 22.660, 106.262, 182.0, 1.9, [3.8, 4.8, 5.8]),
    ("cb-wl-gam-01", River::Gam, "xã Cốc Pàng", 23.040, 105.640, 380.0, 1.8, [3.6, 4.6, 5.6]),
    ("cb-wl-gam-02", River::Gam, "xã Bảo Lạc", 22.952, 105.670, 290.0, 2.3, [4.2, 5.2, 6.2]),
    ("cb-wl-gam-03", River::Gam, "xã Bảo Lâm", 22.870, 105.520, 260.0, 2.5, [4.5, 5.5, 6.5]),
    ("cb-wl-neo-01", River::Neo, "xã Hưng Đạo", 22.960, 105.720, 320.0, 1.2, [3.0, 3.8, 4.6]),
    ("cb-wl-nhoque-01", River::NhoQue, "Đức Hạnh, xã Cốc Pàng", 22.860, 105.410, 330.0, 1.7, [3.6, 4.6, 5.6]),
    ("cb-wl-nhoque-02", River::NhoQue, "xã Lý Bôn", 22.800, 105.440, 280.0, 2.0, [4.0, 5.0, 6.0]),
    ("cb-wl-quayson-01", River::QuaySon, "xã Đình Phong", 22.900, 106.600, 420.0, 1.4, [3.2, 4.2, 5.2]),
    ("cb-wl-quayson-02", River::QuaySon, "thác Bản Giốc, xã Đàm Thủy", 22.855, 106.723, 330.0, 1.8, [3.6, 4.6, 5.6]),
    ("cb-wl-quayson-03", River::QuaySon, "xã Lý Quốc", 22.740, 106.770, 300.0, 1.9, [3.8, 4.8, 5.8]),
    ("cb-wl-bacvong-01", River::BacVong, "xã Quảng Uyên", 22.694, 106.447, 390.0, 1.5, [3.4, 4.4, 5.4]),
    ("cb-wl-bacvong-02", River::BacVong, "xã Phục Hòa", 22.530, 106.545, 230.0, 1.8, [3.8, 4.8, 5.8]),
];

/// (key, place, lat, lon, elevation m)
type PlaceRow = (&'static str, &'static str, f64, f64, f64);

#[rustfmt::skip]
const RAIN: &[PlaceRow] = &[
    ("cb-rain-nguyenbinh-01", "xã Thành Công", 22.590, 105.910, 900.0),
    ("cb-rain-nguyenbinh-02", "xã Ca Thành", 22.700, 105.800, 600.0),
    ("cb-rain-nguyenbinh-03", "xã Phan Thanh", 22.570, 105.980, 550.0),
    ("cb-rain-baolac-01", "xã Xuân Trường", 23.020, 105.710, 700.0),
    ("cb-rain-baolac-02", "xã Cô Ba", 22.930, 105.600, 800.0),
    ("cb-rain-baolam-01", "xã Yên Thổ", 22.720, 105.550, 700.0),
    ("cb-rain-baolam-02", "xã Quảng Lâm", 22.880, 105.550, 600.0),
    ("cb-rain-haquang-01", "xã Lũng Nặm", 22.950, 105.930, 900.0),
    ("cb-rain-haquang-02", "xã Trường Hà", 22.970, 106.040, 450.0),
    ("cb-rain-haquang-03", "xã Cần Yên", 22.780, 106.030, 500.0),
    ("cb-rain-trungkhanh-01", "xã Đình Phong", 22.880, 106.660, 500.0),
    ("cb-rain-trungkhanh-02", "xã Quang Hán", 22.780, 106.360, 600.0),
    ("cb-rain-halang-01", "xã Lý Quốc", 22.660, 106.720, 450.0),
    ("cb-rain-thachan-01", "xã Minh Khai", 22.550, 106.290, 600.0),
    ("cb-rain-thachan-02", "xã Kim Đồng", 22.390, 106.440, 500.0),
    ("cb-rain-hoaan-01", "xã Nam Tuấn", 22.780, 106.270, 400.0),
    ("cb-rain-quanghoa-01", "xã Hạnh Phúc", 22.620, 106.450, 450.0),
];

/// (key, place, lat, lon, elevation m, PM2.5 baseline ug/m3)
type AirRow = (&'static str, &'static str, f64, f64, f64, f64);

#[rustfmt::skip]
const AIR_QUALITY: &[AirRow] = &[
    ("cb-aq-tpcb-01", "Hợp Giang, phường Thục Phán", 22.666, 106.257, 200.0, 20.0),
    ("cb-aq-tpcb-02", "Sông Hiến, phường Thục Phán", 22.664, 106.271, 200.0, 18.0),
    ("cb-aq-tpcb-03", "Đề Thám, phường Thục Phán", 22.673, 106.238, 210.0, 17.0),
    ("cb-aq-tpcb-04", "phường Nùng Trí Cao", 22.683, 106.262, 210.0, 16.0),
    ("cb-aq-tpcb-05", "phường Tân Giang", 22.648, 106.281, 205.0, 19.0),
    ("cb-aq-trungkhanh-01", "xã Trùng Khánh", 22.834, 106.522, 530.0, 14.0),
    ("cb-aq-quanguyen-01", "xã Quảng Uyên", 22.695, 106.442, 390.0, 14.0),
    ("cb-aq-nuochai-01", "xã Hòa An", 22.733, 106.198, 220.0, 15.0),
    ("cb-aq-baolac-01", "xã Bảo Lạc", 22.952, 105.672, 290.0, 13.0),
    ("cb-aq-tinhtuc-01", "xã Tĩnh Túc", 22.643, 105.898, 700.0, 21.0),
    ("cb-aq-dongkhe-01", "xã Đông Khê", 22.432, 106.430, 550.0, 13.0),
    ("cb-aq-talung-01", "Tà Lùng, xã Phục Hòa", 22.487, 106.575, 200.0, 17.0),
    ("cb-aq-thongnong-01", "xã Thông Nông", 22.800, 105.990, 400.0, 12.0),
    ("cb-aq-xuanhoa-01", "xã Trường Hà", 22.873, 106.045, 400.0, 12.0),
    ("cb-aq-thanhnhat-01", "xã Hạ Lang", 22.712, 106.676, 450.0, 11.0),
    ("cb-aq-nguyenbinh-01", "xã Nguyên Bình", 22.651, 105.962, 500.0, 12.0),
    ("cb-aq-hungquoc-01", "xã Trà Lĩnh", 22.812, 106.310, 600.0, 12.0),
    ("cb-aq-pacmiau-01", "xã Bảo Lâm", 22.865, 105.498, 500.0, 12.0),
    ("cb-aq-hoathuan-01", "Hòa Thuận, xã Phục Hòa", 22.530, 106.540, 230.0, 13.0),
];

#[rustfmt::skip]
const WEATHER: &[PlaceRow] = &[
    ("cb-wx-tpcb-01", "Cao Bằng, phường Thục Phán", 22.665, 106.250, 244.0),
    ("cb-wx-baolac-01", "xã Bảo Lạc", 22.950, 105.680, 290.0),
    ("cb-wx-nguyenbinh-01", "xã Nguyên Bình", 22.650, 105.950, 500.0),
    ("cb-wx-trungkhanh-01", "xã Trùng Khánh", 22.840, 106.530, 530.0),
    ("cb-wx-tralinh-01", "xã Trà Lĩnh", 22.820, 106.320, 600.0),
    ("cb-wx-thachan-01", "xã Đông Khê", 22.440, 106.430, 550.0),
    ("cb-wx-haquang-01", "xã Trường Hà", 22.880, 106.050, 400.0),
    ("cb-wx-baolam-01", "xã Bảo Lâm", 22.860, 105.510, 500.0),
    ("cb-wx-halang-01", "xã Hạ Lang", 22.710, 106.680, 450.0),
    ("cb-wx-quanghoa-01", "xã Quảng Uyên", 22.700, 106.440, 390.0),
    ("cb-wx-phuchoa-01", "xã Phục Hòa", 22.530, 106.550, 230.0),
    ("cb-wx-hoaan-01", "xã Hòa An", 22.730, 106.200, 220.0),
    ("cb-wx-phjaoac-01", "Phja Oắc, xã Thành Công", 22.600, 105.870, 1300.0),
    ("cb-wx-bangioc-01", "thác Bản Giốc, xã Đàm Thủy", 22.854, 106.720, 350.0),
    ("cb-wx-thongnong-01", "xã Thông Nông", 22.800, 105.980, 400.0),
];

/// Cut slopes above mountain roads where landslides close the road in the rainy season.
#[rustfmt::skip]
const SLOPE: &[PlaceRow] = &[
    ("cb-sl-baolac-01", "đèo Khau Cốc Chà, QL4A, xã Xuân Trường", 22.935, 105.700, 950.0),
    ("cb-sl-baolac-02", "đèo Mẻ Pia, xã Xuân Trường", 22.990, 105.760, 1000.0),
    ("cb-sl-nguyenbinh-01", "QL34, xã Tĩnh Túc", 22.655, 105.885, 750.0),
    ("cb-sl-nguyenbinh-02", "Phja Đén, ĐT212, xã Thành Công", 22.560, 105.860, 900.0),
    ("cb-sl-tralinh-01", "đèo Mã Phục, QL3, xã Trà Lĩnh", 22.760, 106.340, 700.0),
    ("cb-sl-thachan-01", "QL4A, xã Đông Khê", 22.470, 106.400, 600.0),
];

/// Protected and production forests.
#[rustfmt::skip]
const FOREST: &[PlaceRow] = &[
    ("cb-fr-phjaoac-01", "VQG Phja Oắc - Phja Đén, xã Thành Công", 22.610, 105.880, 1100.0),
    ("cb-fr-nguyenbinh-01", "rừng thông xã Thành Công", 22.600, 105.950, 800.0),
    ("cb-fr-caovit-01", "Khu bảo tồn vượn Cao Vít, xã Đình Phong", 22.895, 106.520, 700.0),
    ("cb-fr-thachan-01", "rừng thông xã Thạch An", 22.540, 106.360, 550.0),
    ("cb-fr-baolam-01", "rừng phòng hộ xã Lý Bôn", 22.780, 105.480, 800.0),
    ("cb-fr-pacbo-01", "rừng di tích Pác Bó, xã Trường Hà", 22.990, 106.050, 500.0),
];

/// Every station of the simulated province, in a fixed order: water level, rain, air quality,
/// weather, slope, forest.
pub fn stations() -> Vec<Station> {
    let gauges = WATER_LEVEL.iter().map(
        |&(key, river, place, lat, lon, elevation_m, base_m, levels)| {
            let [level_1, level_2, level_3] = levels;
            let alarm = AlarmLevels {
                level_1,
                level_2,
                level_3,
            };
            let kind = StationKind::WaterLevel {
                river,
                base_m,
                alarm,
            };
            station(
                key,
                format!("Trạm thủy văn {} - {place}", river.name()),
                kind,
                lat,
                lon,
                elevation_m,
            )
        },
    );
    let places = |rows: &'static [PlaceRow], what: &'static str, kind: StationKind| {
        rows.iter()
            .map(move |&(key, place, lat, lon, elevation_m)| {
                station(key, format!("{what} {place}"), kind, lat, lon, elevation_m)
            })
    };
    let rain = places(RAIN, "Trạm đo mưa", StationKind::Rain);
    let air = AIR_QUALITY
        .iter()
        .map(|&(key, place, lat, lon, elevation_m, pm25_base)| {
            let name = format!("Trạm quan trắc không khí {place}");
            station(
                key,
                name,
                StationKind::AirQuality { pm25_base },
                lat,
                lon,
                elevation_m,
            )
        });
    let weather = places(WEATHER, "Trạm khí tượng", StationKind::Weather);
    let slope = places(SLOPE, "Trạm cảnh báo sạt lở", StationKind::Slope);
    let forest = places(FOREST, "Trạm cảnh báo cháy rừng", StationKind::Forest);
    gauges
        .chain(rain)
        .chain(air)
        .chain(weather)
        .chain(slope)
        .chain(forest)
        .collect()
}

fn station(
    key: &'static str,
    name: String,
    kind: StationKind,
    lat: f64,
    lon: f64,
    elevation_m: f64,
) -> Station {
    Station {
        key,
        name,
        kind,
        lat,
        lon,
        elevation_m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn count(all: &[Station], pred: fn(&StationKind) -> bool) -> usize {
        all.iter().filter(|s| pred(&s.kind)).count()
    }

    #[test]
    fn enough_stations_of_every_kind() {
        let all = stations();
        assert!(all.len() >= 64, "{}", all.len());
        assert!(count(&all, |k| matches!(k, StationKind::WaterLevel { .. })) >= 16);
        assert!(count(&all, |k| matches!(k, StationKind::Rain)) >= 14);
        assert!(count(&all, |k| matches!(k, StationKind::AirQuality { .. })) >= 16);
        assert!(count(&all, |k| matches!(k, StationKind::Weather)) >= 14);
        assert!(count(&all, |k| matches!(k, StationKind::Slope)) >= 4);
        assert!(count(&all, |k| matches!(k, StationKind::Forest)) >= 4);
    }

    #[test]
    fn keys_are_unique_and_valid_device_keys() {
        let all = stations();
        let keys: HashSet<_> = all.iter().map(|s| s.key).collect();
        assert_eq!(keys.len(), all.len(), "duplicate station key");
        for s in &all {
            assert!((1..=64).contains(&s.key.len()), "{}", s.key);
            assert!(
                s.key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
                "{}",
                s.key
            );
        }
    }

    #[test]
    fn coordinates_are_inside_the_province() {
        let (min_lat, max_lat, min_lon, max_lon) = PROVINCE_BBOX;
        for s in stations() {
            assert!(
                (min_lat..=max_lat).contains(&s.lat),
                "{} lat {}",
                s.key,
                s.lat
            );
            assert!(
                (min_lon..=max_lon).contains(&s.lon),
                "{} lon {}",
                s.key,
                s.lon
            );
            assert!((0.0..2000.0).contains(&s.elevation_m), "{}", s.key);
        }
    }

    #[test]
    fn alarm_levels_are_ordered_and_well_above_normal_stage() {
        for s in stations() {
            if let StationKind::WaterLevel { base_m, alarm, .. } = s.kind {
                assert!(alarm.level_1 < alarm.level_2 && alarm.level_2 < alarm.level_3);
                assert!(alarm.level_1 - base_m >= 1.5, "{}", s.key);
                assert!((1.0..=4.0).contains(&base_m), "{}", s.key);
            }
        }
    }

    #[test]
    fn names_are_vietnamese() {
        let all = stations();
        let tpcb = all.iter().find(|s| s.key == "cb-wl-banggiang-03");
        assert_eq!(
            tpcb.map(|s| s.name.as_str()),
            Some("Trạm thủy văn Bằng Giang - phường Thục Phán")
        );
    }

    #[test]
    fn names_are_unique_and_speak_of_communes_not_districts() {
        let all = stations();
        let names: HashSet<_> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), all.len(), "two stations share a display name");
        for s in &all {
            assert!(
                s.name.contains("xã ") || s.name.contains("phường "),
                "{}: {} names no commune or ward",
                s.key,
                s.name
            );
            for gone in [
                "huyện",
                "TP ",
                "thành phố",
                "thị xã",
                "TT ",
                "thị trấn",
                "(",
            ] {
                assert!(!s.name.contains(gone), "{}: {}", s.key, s.name);
            }
        }
    }

    #[test]
    fn every_kind_has_its_catalog_metrics() {
        let names: Vec<_> = StationKind::Weather
            .metrics()
            .iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(
            names,
            [
                "temperature",
                "humidity",
                "wind_speed",
                "pressure",
                "rain_1h"
            ]
        );
        let aqi = StationKind::AirQuality { pm25_base: 10.0 }.metrics()[2];
        assert_eq!((aqi.name, aqi.unit), ("aqi", ""));
    }
}
