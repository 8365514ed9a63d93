//! What the load publishes and what comes back: device keys, metric names, the SenML pack of one
//! message, and reading a send time back out of a pack.
//!
//! Readings use real catalog metric names without units and in-range values, so the hub takes the
//! same path as for a real station; past the 18 catalog names (`K > 18`) the names are
//! `load_x{j}` (not in the catalog, accepted unchecked). The pack time `bt` (ms precision) is
//! unique per device and message — the hub deduplicates on (device, metric, ts) — : the wall
//! clock, bumped by 1 ms when a device would repeat its previous time ([`next_ts`]).

use iochub_devices::senml::{Entry, encode};

/// The breaching water level of an alert message (the rule fires at >= 50).
pub const ALERT_VALUE: f64 = 99.0;
/// The water level of every other message.
pub const NORMAL_LEVEL: f64 = 1.0;
/// Device key prefix; keys are `load-00000`, `load-00001`, …
pub const DEVICE_PREFIX: &str = "load-";
/// The lowest breaching value of `rules/load.toml`'s rule.
const ALERT_THRESHOLD: f64 = 50.0;

/// Metric names with the range their values are drawn from (`base + spread × u`, `u` in [0, 1)).
const METRICS: &[(&str, f64, f64)] = &[
    ("water_level", NORMAL_LEVEL, 0.0),
    ("rain_1h", 0.0, 10.0),
    ("temperature", 20.0, 12.0),
    ("humidity", 60.0, 35.0),
    ("pressure", 1000.0, 15.0),
    ("wind_speed", 0.0, 8.0),
    ("pm2_5", 10.0, 30.0),
    ("pm10", 20.0, 40.0),
    ("aqi", 30.0, 60.0),
    ("battery", 80.0, 20.0),
    ("discharge", 10.0, 90.0),
    ("rain_24h", 0.0, 60.0),
    ("wind_dir", 0.0, 360.0),
    ("co", 0.1, 2.0),
    ("no2", 5.0, 40.0),
    ("so2", 2.0, 20.0),
    ("o3", 20.0, 60.0),
    ("soil_moisture", 20.0, 50.0),
];

/// The device key of index `i`.
pub fn device_key(i: usize) -> String {
    format!("{DEVICE_PREFIX}{i:05}")
}

/// The MQTT topic device `key` publishes to.
pub fn telemetry_topic(key: &str) -> String {
    format!("ioc/{key}/telemetry")
}

/// The metric names of a `k`-reading message.
pub fn metric_names(k: usize) -> Vec<String> {
    (0..k)
        .map(|j| match METRICS.get(j) {
            Some((name, _, _)) => (*name).to_owned(),
            None => format!("load_x{j}"),
        })
        .collect()
}

/// A value in `[0, 1)` that varies with the message and the metric, deterministically.
fn jitter(seq: u64, j: usize) -> f64 {
    let mut x = seq
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((j as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The SenML pack of one message: `names[0]` (`water_level`) gets `water_level`, the others an
/// in-range value; values are rounded to 2 decimals to keep packs small.
pub fn build_payload(
    device: &str,
    ts_ms: i64,
    names: &[String],
    water_level: f64,
    seq: u64,
) -> String {
    let values: Vec<f64> = names
        .iter()
        .enumerate()
        .map(|(j, _)| match METRICS.get(j) {
            Some(_) if j == 0 => water_level,
            Some((_, base, spread)) => ((base + spread * jitter(seq, j)) * 100.0).round() / 100.0,
            None => ((j as f64 + jitter(seq, j)) * 100.0).round() / 100.0,
        })
        .collect();
    let entries: Vec<Entry<'_>> = names
        .iter()
        .zip(&values)
        .map(|(n, &value)| Entry {
            metric: n,
            unit: "",
            value,
        })
        .collect();
    encode(device, ts_ms, &entries)
}

/// The next unique time of a device whose last message had `last` (ms).
pub fn next_ts(now_ms: i64, last: i64) -> i64 {
    if now_ms > last { now_ms } else { last + 1 }
}

/// The pack time `bt` of a SenML payload in ms, found without parsing the whole pack (a
/// subscriber at 200k msg/s must stay cheaper than the broker).
pub fn pack_time_ms(payload: &[u8]) -> Option<i64> {
    const KEY: &[u8] = b"\"bt\":";
    let at = payload.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &payload[at..];
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')))
        .unwrap_or(rest.len());
    let secs: f64 = std::str::from_utf8(&rest[..end])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    secs.is_finite().then(|| (secs * 1000.0).round() as i64)
}

/// An alert in a SenML pack sent back by a flow: `(device, sent_ms)` when the first value
/// breaches and the device is one of ours.
pub fn senml_alert(text: &str) -> Option<(String, i64)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let first = v.as_array()?.first()?;
    let device = first.get("bn")?.as_str()?.trim_end_matches(['/', ':']);
    let value = first.get("v")?.as_f64()?;
    let bt = first.get("bt")?.as_f64()?;
    (device.starts_with(DEVICE_PREFIX) && value >= ALERT_THRESHOLD)
        .then(|| (device.to_owned(), (bt * 1000.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_timestamps() {
        assert_eq!(next_ts(1000, 0), 1000);
        assert_eq!(next_ts(1000, 1000), 1001);
        assert_eq!(next_ts(1000, 1005), 1006);
        assert_eq!(next_ts(1010, 1005), 1010);
    }

    #[test]
    fn names_are_catalog_metrics_then_extras() {
        let n = metric_names(3);
        assert_eq!(n, ["water_level", "rain_1h", "temperature"]);
        let n = metric_names(20);
        assert_eq!(n[17], "soil_moisture");
        assert_eq!(&n[18..], ["load_x18", "load_x19"]);
        let unique: std::collections::HashSet<_> = n.iter().collect();
        assert_eq!(unique.len(), 20);
    }

    #[test]
    fn device_keys_and_topics() {
        assert_eq!(device_key(0), "load-00000");
        assert_eq!(device_key(12345), "load-12345");
        assert_eq!(telemetry_topic("load-00007"), "ioc/load-00007/telemetry");
    }

    #[test]
    fn payload_decodes_in_range() {
        let names = metric_names(25);
        let payload = build_payload("load-00042", 1_732_270_000_123, &names, 99.0, 7);
        let decoded = iochub_devices::decode(
            "load-00042",
            payload.as_bytes(),
            1_732_270_000_000,
            &iochub_devices::Limits::default(),
            &iochub_devices::Catalog::builtin(),
        );
        assert!(decoded.rejects.is_empty(), "{:?}", decoded.rejects);
        assert_eq!(decoded.readings.len(), 25);
        for r in &decoded.readings {
            assert_eq!(r.device, "load-00042");
            assert_eq!(r.ts_ms, 1_732_270_000_123);
        }
        assert_eq!(decoded.readings[0].metric, "water_level");
        assert_eq!(decoded.readings[0].value, 99.0);
        for seq in 0..500 {
            let p = build_payload("load-00000", 1_732_270_000_000, &names, NORMAL_LEVEL, seq);
            let d = iochub_devices::decode(
                "load-00000",
                p.as_bytes(),
                1_732_270_000_000,
                &iochub_devices::Limits::default(),
                &iochub_devices::Catalog::builtin(),
            );
            assert!(d.rejects.is_empty(), "seq {seq}: {:?}", d.rejects);
            assert_eq!(d.readings[0].value, NORMAL_LEVEL);
        }
    }

    #[test]
    fn the_send_time_is_read_back_from_the_pack() {
        let names = metric_names(3);
        let payload = build_payload("load-00042", 1_732_270_000_123, &names, ALERT_VALUE, 1);
        assert_eq!(pack_time_ms(payload.as_bytes()), Some(1_732_270_000_123));
        assert_eq!(
            pack_time_ms(br#"[{"bn":"x/","bt":1.5e3,"v":1}]"#),
            Some(1_500_000)
        );
        assert_eq!(pack_time_ms(br#"[{"bn":"x/","v":1}]"#), None);
        assert_eq!(pack_time_ms(br#"[{"bt":"soon"}]"#), None);
        assert_eq!(
            senml_alert(&payload),
            Some(("load-00042".to_owned(), 1_732_270_000_123))
        );
        let normal = build_payload("load-00042", 1_732_270_000_123, &names, NORMAL_LEVEL, 2);
        assert_eq!(senml_alert(&normal), None, "no breach, no alert");
        let theirs = build_payload("wl-01", 1_732_270_000_123, &names, ALERT_VALUE, 3);
        assert_eq!(senml_alert(&theirs), None, "not a load device");
        assert_eq!(senml_alert("not json"), None);
    }
}
