//! SenML JSON (RFC 8428) payloads a station publishes on `ioc/{key}/telemetry`: a base name
//! `{key}/` and base time on the first record, one record per metric, and — in the first message
//! after each connect — the station's position as `lat`/`lon` records, which the hub uses to place
//! the device on the map.

use serde_json::{Map, Value, json};

use super::signal::Reading;

/// One telemetry message. `unix_ms` becomes `bt` in seconds with millisecond fractions. Unitless
/// metrics (AQI) carry no `u`, as RFC 8428 allows.
pub fn telemetry(
    key: &str,
    unix_ms: u64,
    readings: &[Reading],
    position: Option<(f64, f64)>,
) -> String {
    let position = position
        .into_iter()
        .flat_map(|(lat, lon)| [("lat", "lat", lat), ("lon", "lon", lon)]);
    let records = readings
        .iter()
        .map(|r| (r.name, r.unit, r.value))
        .chain(position)
        .enumerate()
        .map(|(i, (name, unit, value))| {
            let mut record = Map::new();
            if i == 0 {
                record.insert("bn".into(), json!(format!("{key}/")));
                record.insert("bt".into(), json!(unix_ms as f64 / 1000.0));
            }
            record.insert("n".into(), json!(name));
            if !unit.is_empty() {
                record.insert("u".into(), json!(unit));
            }
            record.insert("v".into(), json!(value));
            Value::Object(record)
        })
        .collect();
    Value::Array(records).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(name: &'static str, unit: &'static str, value: f64) -> Reading {
        Reading { name, unit, value }
    }

    #[test]
    fn first_record_carries_base_name_and_time() {
        let readings = [
            reading("water_level", "m", 3.42),
            reading("rain_1h", "mm", 0.0),
        ];
        let payload = telemetry("cb-wl-banggiang-01", 1_732_270_000_500, &readings, None);
        assert_eq!(
            payload,
            r#"[{"bn":"cb-wl-banggiang-01/","bt":1732270000.5,"n":"water_level","u":"m","v":3.42},{"n":"rain_1h","u":"mm","v":0.0}]"#
        );
    }

    #[test]
    fn position_and_unitless_metrics() {
        let readings = [reading("aqi", "", 57.0)];
        let payload = telemetry("cb-aq-tpcb-01", 1_000, &readings, Some((22.666, 106.257)));
        let parsed: Value = serde_json::from_str(&payload).unwrap_or_default();
        assert_eq!(parsed[0].get("u"), None);
        assert_eq!(parsed[1], json!({"n": "lat", "u": "lat", "v": 22.666}));
        assert_eq!(parsed[2], json!({"n": "lon", "u": "lon", "v": 106.257}));
        assert_eq!(parsed[0]["bt"], json!(1.0));
    }

    #[test]
    fn the_hub_decodes_every_station_in_every_scenario() {
        use crate::province::scenario::{ScenarioKind, Schedule, observe};
        use crate::province::stations;
        use iochub_devices::{Catalog, Limits, decode};

        let all = stations::stations();
        let schedule = Schedule::new(&all, 1, &ScenarioKind::ALL);
        let catalog = Catalog::builtin();
        let now_ms: u64 = 1_732_270_000_000;
        for (i, station) in all.iter().enumerate() {
            for elapsed in [0.0, 45.0, 80.0, 120.0, 135.0] {
                let effect = schedule.effect_over(i, elapsed, 5.0);
                let readings = observe(station, now_ms as f64 / 1000.0, 1, 5.0, &effect, &mut None);
                let payload = telemetry(
                    station.key,
                    now_ms,
                    &readings,
                    Some((station.lat, station.lon)),
                );
                let decoded = decode(
                    station.key,
                    payload.as_bytes(),
                    now_ms as i64,
                    &Limits::default(),
                    &catalog,
                );
                assert!(
                    decoded.rejects.is_empty(),
                    "{}: {:?}",
                    station.key,
                    decoded.rejects
                );
                assert_eq!(decoded.readings.len(), readings.len() + 2);
                assert!(
                    decoded
                        .readings
                        .iter()
                        .all(|r| r.device == station.key && r.ts_ms == now_ms as i64)
                );
            }
        }
    }
}
