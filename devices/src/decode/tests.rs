//! Codec and validation tests: both formats, every bad-input class, partial acceptance.

use super::*;
use crate::reading::RejectReason as R;

const NOW: i64 = 1_732_270_000_000;

fn run(topic_device: &str, payload: &str) -> Decoded {
    decode(
        topic_device,
        payload.as_bytes(),
        NOW,
        &Limits::default(),
        &Catalog::builtin(),
    )
}

fn reasons(d: &Decoded) -> Vec<R> {
    d.rejects.iter().map(|r| r.reason).collect()
}

fn reading(device: &str, metric: &str, ts_ms: i64, value: f64) -> Reading {
    Reading {
        device: device.into(),
        metric: metric.into(),
        ts_ms,
        value,
    }
}

#[test]
fn senml_base_fields_and_names() {
    let d = run(
        "gw-1",
        r#"[{"bn":"wl-01/","bt":1732270000,"n":"water_level","u":"m","v":3.42},
            {"n":"rain_1h","u":"mm","v":12.5,"t":-60}]"#,
    );
    assert_eq!(reasons(&d), vec![]);
    assert_eq!(
        d.readings,
        vec![
            reading("wl-01", "water_level", 1_732_270_000_000, 3.42),
            reading("wl-01", "rain_1h", 1_732_269_940_000, 12.5),
        ]
    );
}

#[test]
fn senml_without_bn_takes_the_topic_device_and_bv_bu_apply() {
    let d = run(
        "aq-7",
        r#"[{"bt":1732270000.25,"bu":"ug/m3","bv":10,"n":"pm2_5","v":2.5},{"n":"pm10","v":5}]"#,
    );
    assert_eq!(reasons(&d), vec![]);
    assert_eq!(
        d.readings,
        vec![
            reading("aq-7", "pm2_5", 1_732_270_000_250, 12.5),
            reading("aq-7", "pm10", 1_732_270_000_250, 15.0)
        ]
    );
}

#[test]
fn senml_gateway_publishes_for_several_devices() {
    let d = run(
        "gw-1",
        r#"[{"bt":1732270000,"n":"wl-01/water_level","v":1},{"n":"wl-02/water_level","v":2}]"#,
    );
    let devices: Vec<_> = d.readings.iter().map(|r| r.device.as_str()).collect();
    assert_eq!(devices, ["wl-01", "wl-02"]);
}

#[test]
fn senml_relative_and_absent_times_are_relative_to_now() {
    let d = run(
        "x",
        r#"[{"n":"temperature","v":20},{"n":"temperature","v":21,"t":-5.5}]"#,
    );
    let ts: Vec<_> = d.readings.iter().map(|r| r.ts_ms).collect();
    assert_eq!(ts, [NOW, NOW - 5500]);
}

#[test]
fn senml_boolean_is_one_or_zero_and_strings_are_refused() {
    let d = run(
        "x",
        r#"[{"n":"door","vb":true},{"n":"door","vb":false,"t":-1},{"n":"label","vs":"hi"},{"n":"blob","vd":"aGk"}]"#,
    );
    assert_eq!(
        d.readings.iter().map(|r| r.value).collect::<Vec<_>>(),
        [1.0, 0.0]
    );
    assert_eq!(reasons(&d), [R::UnsupportedValue, R::UnsupportedValue]);
}

#[test]
fn senml_base_only_record_is_not_an_error() {
    let d = run(
        "x",
        r#"[{"bn":"wl-09/","bt":1732270000},{"n":"water_level","v":1}]"#,
    );
    assert_eq!(reasons(&d), vec![]);
    assert_eq!(d.readings, vec![reading("wl-09", "water_level", NOW, 1.0)]);
}

#[test]
fn flat_json_with_and_without_ts() {
    let d = run(
        "wl-01",
        r#"{"ts": 1732270000123, "water_level": 3.42, "rain_1h": 12.5, "pump_on": true}"#,
    );
    assert_eq!(reasons(&d), vec![]);
    assert_eq!(
        d.readings,
        vec![
            reading("wl-01", "water_level", 1_732_270_000_123, 3.42),
            reading("wl-01", "rain_1h", 1_732_270_000_123, 12.5),
            reading("wl-01", "pump_on", 1_732_270_000_123, 1.0),
        ]
    );
    let d = run("wl-01", r#"{"water_level": 3}"#);
    assert_eq!(d.readings, vec![reading("wl-01", "water_level", NOW, 3.0)]);
}

#[test]
fn malformed_json_is_refused_whole() {
    for p in [
        r#"[{"n":"a","v":1}"#,
        "{not json}",
        "hello",
        "",
        "  ",
        "42",
        r#"{"a":NaN}"#,
    ] {
        let d = run("x", p);
        assert!(d.readings.is_empty(), "{p}");
        assert_eq!(reasons(&d), [R::MalformedJson], "{p}");
    }
}

#[test]
fn wrong_types_lose_only_their_record() {
    let d = run(
        "x",
        r#"[{"n":"temperature","v":"hot"},{"n":"humidity","v":50},7,{"n":5,"v":1}]"#,
    );
    assert_eq!(d.readings, vec![reading("x", "humidity", NOW, 50.0)]);
    assert_eq!(reasons(&d), [R::WrongType, R::WrongType, R::WrongType]);
    let d = run(
        "x",
        r#"{"humidity": 50, "temperature": "hot", "pm10": null, "co": [1], "o3": {"v":1}}"#,
    );
    assert_eq!(d.readings, vec![reading("x", "humidity", NOW, 50.0)]);
    assert_eq!(reasons(&d), [R::WrongType; 4]);
    assert_eq!(
        reasons(&run("x", r#"{"ts":"yesterday","humidity":50}"#)),
        [R::WrongType]
    );
}

#[test]
fn infinity_and_overflow_are_not_finite() {
    let d = run(
        "x",
        r#"[{"n":"temperature","v":1e999},{"n":"humidity","v":40}]"#,
    );
    assert_eq!(reasons(&d), [R::NotFinite]);
    assert_eq!(d.readings.len(), 1);
    let d = run("x", r#"{"temperature":-1e400,"humidity":40}"#);
    assert_eq!(reasons(&d), [R::NotFinite]);
    assert_eq!(d.readings.len(), 1);
}

#[test]
fn out_of_range_per_catalog_and_unknown_metrics_pass() {
    let d = run(
        "x",
        r#"{"humidity": 140, "pm2_5": -3, "custom_metric": -99999}"#,
    );
    assert_eq!(reasons(&d), [R::OutOfRange, R::OutOfRange]);
    assert_eq!(
        d.readings,
        vec![reading("x", "custom_metric", NOW, -99999.0)]
    );
    assert!(
        d.rejects[0].detail.contains("humidity"),
        "{}",
        d.rejects[0].detail
    );
}

#[test]
fn unit_mismatch() {
    let d = run(
        "x",
        r#"[{"n":"water_level","u":"cm","v":340},{"n":"temperature","u":"°C","v":20}]"#,
    );
    assert_eq!(reasons(&d), [R::UnitMismatch]);
    assert_eq!(d.readings.len(), 1);
}

#[test]
fn timestamps_far_in_the_future_or_past() {
    let l = Limits::default();
    let future = NOW + l.max_future_ms + 1000;
    let past = NOW - l.max_past_ms - 1000;
    let d = run("x", &format!(r#"{{"ts":{future},"humidity":1}}"#));
    assert_eq!(reasons(&d), [R::TimestampFuture]);
    let d = run("x", &format!(r#"{{"ts":{past},"humidity":1}}"#));
    assert_eq!(reasons(&d), [R::TimestampPast]);
    // seconds where milliseconds belong: 1970
    let d = run("x", r#"{"ts":1732270000,"humidity":1}"#);
    assert_eq!(reasons(&d), [R::TimestampPast]);
    let d = run("x", r#"[{"bt":9e15,"n":"humidity","v":1}]"#);
    assert_eq!(reasons(&d), [R::TimestampFuture]);
}

#[test]
fn oversized_payload() {
    let limits = Limits {
        max_payload_bytes: 64,
        ..Limits::default()
    };
    let big = format!(r#"{{"humidity": 1, "pad": "{}"}}"#, "x".repeat(100));
    let d = decode("x", big.as_bytes(), NOW, &limits, &Catalog::builtin());
    assert_eq!(reasons(&d), [R::Oversized]);
}

#[test]
fn too_many_records() {
    let limits = Limits {
        max_records: 2,
        ..Limits::default()
    };
    let p = r#"[{"n":"a","v":1},{"n":"b","v":1},{"n":"c","v":1}]"#;
    let d = decode("x", p.as_bytes(), NOW, &limits, &Catalog::builtin());
    assert_eq!(reasons(&d), [R::TooManyRecords]);
}

#[test]
fn invalid_device_keys_and_metric_names() {
    let d = run(
        "x",
        r#"[{"n":"bad device/temperature","v":1},{"n":"temp erature","v":1},{"n":"ok","v":1}]"#,
    );
    assert_eq!(reasons(&d), [R::InvalidDevice, R::InvalidMetric]);
    let d = run("x", r#"[{"n":"a/b/c","v":1}]"#);
    assert_eq!(reasons(&d), [R::InvalidMetric]);
    let d = run("x", &format!(r#"{{"{}":1}}"#, "m".repeat(65)));
    assert_eq!(reasons(&d), [R::InvalidMetric]);
}

#[test]
fn non_utf8() {
    let d = decode(
        "x",
        b"{\"a\":\xff1}",
        NOW,
        &Limits::default(),
        &Catalog::builtin(),
    );
    assert_eq!(reasons(&d), [R::NotUtf8]);
}

#[test]
fn empty_messages_and_valueless_records() {
    assert_eq!(reasons(&run("x", "[]")), [R::MissingValue]);
    assert_eq!(reasons(&run("x", "{}")), [R::MissingValue]);
    assert_eq!(
        reasons(&run("x", r#"{"ts":1732270000000}"#)),
        [R::MissingValue]
    );
    assert_eq!(
        reasons(&run("x", r#"[{"n":"a","u":"m"}]"#)),
        [R::MissingValue]
    );
    assert_eq!(
        reasons(&run("x", r#"[{"n":"a","s":3}]"#)),
        [R::UnsupportedValue]
    );
}

#[test]
fn escaped_strings_are_decoded() {
    let d = run("x", r#"[{"n":"water\u005flevel","v":1}]"#);
    assert_eq!(d.readings, vec![reading("x", "water_level", NOW, 1.0)]);
}

#[test]
fn encode_round_trips() {
    use crate::senml::{Entry, encode};
    let p = encode(
        "wl-01",
        NOW + 5,
        &[
            Entry {
                metric: "water_level",
                unit: "m",
                value: 3.25,
            },
            Entry {
                metric: "aqi",
                unit: "",
                value: 42.0,
            },
        ],
    );
    let d = run("other", &p);
    assert_eq!(reasons(&d), vec![]);
    assert_eq!(
        d.readings,
        vec![
            reading("wl-01", "water_level", NOW + 5, 3.25),
            reading("wl-01", "aqi", NOW + 5, 42.0)
        ]
    );
}

#[test]
fn every_reason_has_a_distinct_label() {
    let labels: std::collections::HashSet<_> = R::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(labels.len(), R::ALL.len());
}
