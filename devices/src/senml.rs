//! SenML JSON (RFC 8428) decoding and encoding.
//!
//! Base fields (`bn`, `bt`, `bu`, `bv`) carry over to the records that follow. Times are seconds
//! (fractional allowed); a resolved time of 0 means "now" and one below 2^28 is relative to now.
//! A resolved name `bn`+`n` that contains `/` reads `{device}/{metric}` (a gateway publishing for
//! the devices behind it); otherwise the device is the topic's and the whole name is the metric.
//!
//! Value rule (documented in docs/ARCHITECTURE.md): `v` (plus `bv`) is stored; a boolean `vb` is
//! stored as 1.0 / 0.0; string (`vs`) and data (`vd`) values and bare sums (`s`) are refused as
//! `unsupported_value`, because every stored series is numeric.
//!
//! Each record is parsed on its own, so a record with a wrong type loses only itself.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::decode::{Sink, classify};
use crate::reading::RejectReason;

/// Times below this are relative to now (RFC 8428 §4.5.3).
const RELATIVE_TIME_LIMIT: f64 = 268_435_456.0;

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    bn: Option<Cow<'a, str>>,
    bt: Option<f64>,
    #[serde(borrow)]
    bu: Option<Cow<'a, str>>,
    bv: Option<f64>,
    #[serde(borrow)]
    n: Option<Cow<'a, str>>,
    #[serde(borrow)]
    u: Option<Cow<'a, str>>,
    v: Option<f64>,
    vb: Option<bool>,
    vs: Option<IgnoredAny>,
    vd: Option<IgnoredAny>,
    s: Option<f64>,
    t: Option<f64>,
}

struct Base<'a> {
    name: Cow<'a, str>,
    time: f64,
    unit: Option<Cow<'a, str>>,
    value: f64,
}

struct At<'n>(usize, &'n str);

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} ({:?})", self.0, self.1)
    }
}

pub(crate) fn decode(text: &str, topic_device: &str, sink: &mut Sink<'_>) {
    let raws: Vec<&RawValue> = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return sink.reject(classify(&e), format!("SenML pack: {e}")),
    };
    if raws.len() > sink.limits.max_records {
        return sink.reject(
            RejectReason::TooManyRecords,
            format!(
                "{} records exceed the limit of {}",
                raws.len(),
                sink.limits.max_records
            ),
        );
    }
    let mut base = Base {
        name: Cow::Borrowed(""),
        time: 0.0,
        unit: None,
        value: 0.0,
    };
    let mut name = String::new();
    for (i, raw) in raws.iter().enumerate() {
        let rec: Record<'_> = match serde_json::from_str(raw.get()) {
            Ok(r) => r,
            Err(e) => {
                sink.reject(classify(&e), format!("record {i}: {e}"));
                continue;
            }
        };
        if let Some(bn) = rec.bn {
            base.name = bn;
        }
        if let Some(bt) = rec.bt {
            base.time = bt;
        }
        if let Some(bu) = rec.bu {
            base.unit = Some(bu);
        }
        if let Some(bv) = rec.bv {
            base.value = bv;
        }
        let has_value = rec.v.is_some() || rec.vb.is_some() || rec.vs.is_some() || rec.vd.is_some();
        if rec.n.is_none() && !has_value && rec.s.is_none() {
            continue; // a record that only sets base fields
        }
        name.clear();
        name.push_str(&base.name);
        name.push_str(rec.n.as_deref().unwrap_or(""));
        let at = At(i, &name);
        let value = if rec.vs.is_some() || rec.vd.is_some() {
            sink.reject(
                RejectReason::UnsupportedValue,
                format!("{at}: string and data values (vs, vd) are not stored"),
            );
            continue;
        } else if let Some(v) = rec.v {
            base.value + v
        } else if let Some(vb) = rec.vb {
            if vb { 1.0 } else { 0.0 }
        } else if rec.s.is_some() {
            sink.reject(
                RejectReason::UnsupportedValue,
                format!("{at}: sums (s) are not stored"),
            );
            continue;
        } else {
            sink.reject(
                RejectReason::MissingValue,
                format!("{at}: record has no value"),
            );
            continue;
        };
        let t = base.time + rec.t.unwrap_or(0.0);
        let ts_ms = if t.abs() < RELATIVE_TIME_LIMIT {
            sink.now_ms.saturating_add((t * 1000.0).round() as i64)
        } else {
            (t * 1000.0).round() as i64
        };
        let (device, metric) = name.split_once('/').unwrap_or((topic_device, &name));
        let unit = rec.u.as_deref().or(base.unit.as_deref());
        sink.reading(&at, device, metric, unit, ts_ms, value);
    }
}

/// One record to encode: metric, unit (empty for none) and value.
pub struct Entry<'a> {
    pub metric: &'a str,
    pub unit: &'a str,
    pub value: f64,
}

/// Encodes readings of one device at one time as a SenML pack with `bn = "{device}/"`.
pub fn encode(device: &str, ts_ms: i64, entries: &[Entry<'_>]) -> String {
    let mut out = String::with_capacity(48 + entries.len() * 48);
    out.push('[');
    for (i, e) in entries.iter().enumerate() {
        if i == 0 {
            let _ = write!(
                out,
                r#"{{"bn":"{device}/","bt":{}.{:03},"#,
                ts_ms / 1000,
                ts_ms % 1000
            );
        } else {
            out.push_str(",{");
        }
        let _ = write!(out, r#""n":"{}","#, e.metric);
        if !e.unit.is_empty() {
            let _ = write!(out, r#""u":"{}","#, e.unit);
        }
        let _ = write!(out, r#""v":{}}}"#, e.value);
    }
    out.push(']');
    out
}
