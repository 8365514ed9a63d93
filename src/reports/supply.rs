//! The data-supply report of a period, per connected system and per device: how completely,
//! correctly, cleanly and live each one supplied its data (*đủ, đúng, sạch, sống*). A pure
//! function of what the store returns (the batcher's day tallies, silences, dead letters) and
//! the registry (devices, systems).
//!
//! Definitions (also printed in the report):
//! - expected readings: the device's metrics × the time it was expected to report in the period
//!   (from its first appearance, up to now for a period still running) ÷ its interval; the
//!   interval is the device's `expected_interval_s`, else its system's, else learned from its
//!   data (the median of its recent steps between readings, averaged over its days: an outage
//!   does not stretch it), and the report says which; without any, nothing is expected of it;
//! - received: readings stored (a reading sent again counts once; positions, `lat`/`lon`, are
//!   not data supplied); the metrics are those it reported in the period; completeness (đủ) =
//!   received ÷ expected, at most 1;
//! - correct (đúng) = received ÷ (received + refused), refused being the messages or records
//!   refused for any reason but an out-of-range value;
//! - clean (sạch) = received ÷ (received + sent again + out of range);
//! - live (sống) = the share of readings stored within `live_within` of their own timestamp;
//!   latency median and p95 are the upper bounds of the histogram buckets they fall in (null:
//!   more than a day);
//! - an outage is a silence longer than the outage threshold and three intervals; one still
//!   running at the period's end counts up to it;
//! - a system's numbers pool its devices (completeness: the received readings, each device's at
//!   most its expected, over the expected).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::handling::{Definition, PeriodView, definitions_of};
use crate::calendar::{Period, Zone};
use crate::pipeline::supply::{LATENCY_BOUNDS_S, LATENCY_BUCKETS, SupplyGap};
use crate::storage::{Device, DeviceSupply, Rejections};
use crate::systems::{System, UNASSIGNED, system_of};

/// Outages listed one by one, longest first.
pub const OUTAGES_LISTED: usize = 500;

/// What counts as live and as an outage.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub live_within_ms: i64,
    pub outage_after_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Supply {
    pub expected: u64,
    pub received: u64,
    /// Refused for any reason but an out-of-range value (correctness).
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub duplicates: u64,
    pub out_of_range: u64,
    /// received ÷ expected, at most 1; null when nothing was expected.
    pub completeness: Option<f64>,
    /// Đúng: received ÷ (received + rejected).
    pub correct: Option<f64>,
    /// Đủ: the completeness.
    pub complete: Option<f64>,
    /// Sạch: received ÷ (received + duplicates + out of range).
    pub clean: Option<f64>,
    /// Sống: stored within the live time.
    pub live: Option<f64>,
    pub latency_median_s: Option<f64>,
    pub latency_p95_s: Option<f64>,
    pub outages: u64,
    pub outage_s: f64,
    #[serde(skip)]
    live_count: u64,
    #[serde(skip)]
    latency: [u64; LATENCY_BUCKETS],
    /// Received, each device's at most its expected: the numerator of a pooled completeness.
    #[serde(skip)]
    received_capped: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DeviceLine {
    pub device: String,
    pub name: Option<String>,
    pub system: String,
    pub metrics: u32,
    pub interval_s: Option<f64>,
    /// `device`, `system`, `learned` or `unknown`.
    pub interval_source: &'static str,
    #[serde(flatten)]
    pub supply: Supply,
    /// Its last reading up to the period's end.
    pub last_reading: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SystemLine {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub devices: u64,
    /// Devices with no reading at all in the period.
    pub silent_devices: u64,
    /// Devices whose interval is learned from their data, and with none known.
    pub learned_intervals: u64,
    pub unknown_intervals: u64,
    #[serde(flatten)]
    pub supply: Supply,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Outage {
    pub device: String,
    pub system: String,
    pub start: String,
    /// Null while it still runs at the period's end.
    pub end: Option<String>,
    pub length_s: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SupplyReport {
    pub kind: &'static str,
    pub province: Option<String>,
    pub period: PeriodView,
    pub live_within_s: f64,
    pub outage_after_s: f64,
    pub systems: Vec<SystemLine>,
    pub devices: Vec<DeviceLine>,
    /// The longest, up to [`OUTAGES_LISTED`].
    pub outages: Vec<Outage>,
    /// Refused messages whose topic names no known device.
    pub unattributed_rejections: u64,
    pub definitions: BTreeMap<&'static str, Definition>,
}

/// Everything the report reads.
pub struct Inputs<'a> {
    pub period: &'a Period,
    pub zone: Zone,
    /// Now: a period still running is judged up to here.
    pub now_ms: i64,
    pub thresholds: Thresholds,
    pub devices: &'a [Device],
    pub systems: &'a [System],
    pub supply: &'a [DeviceSupply],
    pub gaps: &'a [SupplyGap],
    pub rejections: &'a [Rejections],
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The upper bound (seconds) of the bucket holding the nearest-rank `p` of `hist`; None when
/// empty or in the last, unbounded bucket.
fn percentile(hist: &[u64; LATENCY_BUCKETS], p: f64) -> Option<f64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return LATENCY_BOUNDS_S.get(i).copied();
        }
    }
    None
}

impl Supply {
    fn add(&mut self, other: &Supply) {
        self.expected += other.expected;
        self.received += other.received;
        self.received_capped += other.received_capped;
        self.rejected += other.rejected;
        for (k, v) in &other.rejected_by_reason {
            *self.rejected_by_reason.entry(k.clone()).or_insert(0) += v;
        }
        self.duplicates += other.duplicates;
        self.out_of_range += other.out_of_range;
        self.live_count += other.live_count;
        for (a, b) in self.latency.iter_mut().zip(other.latency) {
            *a += b;
        }
        self.outages += other.outages;
        self.outage_s += other.outage_s;
    }

    /// The shares, from the counts.
    fn finish(&mut self) {
        self.completeness = ratio(self.received_capped, self.expected);
        self.complete = self.completeness;
        self.correct = ratio(self.received, self.received + self.rejected);
        self.clean = ratio(
            self.received,
            self.received + self.duplicates + self.out_of_range,
        );
        self.live = ratio(self.live_count, self.received + self.duplicates);
        self.latency_median_s = percentile(&self.latency, 0.5);
        self.latency_p95_s = percentile(&self.latency, 0.95);
    }
}

/// The device a dead letter's topic names (`ioc/{device}/…`).
fn device_of_topic(topic: &str) -> Option<&str> {
    let mut parts = topic.split('/');
    (parts.next() == Some("ioc")).then_some(())?;
    parts.next().filter(|d| !d.is_empty())
}

pub fn report(i: &Inputs) -> SupplyReport {
    let (period, zone) = (i.period, i.zone);
    let end = period.to_ms.min(i.now_ms.max(period.from_ms));
    let supply: HashMap<&str, &DeviceSupply> =
        i.supply.iter().map(|s| (s.device.as_str(), s)).collect();
    let mut gaps: HashMap<&str, Vec<&SupplyGap>> = HashMap::new();
    for g in i.gaps {
        gaps.entry(g.device.as_str()).or_default().push(g);
    }
    let mut refused: HashMap<&str, Vec<&Rejections>> = HashMap::new();
    let mut unattributed = 0;
    let known: HashMap<&str, &Device> = i.devices.iter().map(|d| (d.key.as_str(), d)).collect();
    for r in i.rejections {
        match device_of_topic(&r.topic).filter(|d| known.contains_key(d)) {
            Some(d) => refused.entry(d).or_default().push(r),
            None => unattributed += r.count,
        }
    }

    let mut lines = Vec::new();
    let mut outages = Vec::new();
    for d in i.devices.iter().filter(|d| d.first_seen < period.to_ms) {
        let system = system_of(&d.key, d.system.as_deref(), i.systems).to_owned();
        let s = supply.get(d.key.as_str()).copied();
        let own_system = i.systems.iter().find(|x| x.id == system);
        let (interval_s, source) = match (
            d.expected_interval_s,
            own_system.and_then(|x| x.expected_interval_s),
            s.and_then(|s| s.interval_ms),
        ) {
            (Some(v), _, _) => (Some(v), "device"),
            (None, Some(v), _) => (Some(v), "system"),
            (None, None, Some(ms)) if ms > 0.0 => (Some(ms / 1000.0), "learned"),
            _ => (None, "unknown"),
        };
        // The metrics it reported in the period (a metric renamed or sent once long ago does
        // not count); for a silent device, those it has, positions aside.
        let metrics = match s {
            Some(s) if s.metrics > 0 => s.metrics,
            _ => d
                .latest
                .iter()
                .filter(|l| !matches!(l.metric.as_str(), "lat" | "lon"))
                .count() as u32,
        }
        .max(1);
        let start = period.from_ms.max(d.first_seen);
        let active_s = (end - start).max(0) as f64 / 1000.0;
        let expected =
            interval_s.map_or(0, |iv| (f64::from(metrics) * active_s / iv).round() as u64);
        let mut line = Supply {
            expected,
            ..Supply::default()
        };
        if let Some(s) = s {
            line.received = s.received;
            line.duplicates = s.duplicates;
            line.live_count = s.live;
            line.latency = s.latency;
        }
        line.received_capped = if interval_s.is_some() {
            line.received.min(expected)
        } else {
            0
        };
        for r in refused.get(d.key.as_str()).into_iter().flatten() {
            if r.reason == "out_of_range" {
                line.out_of_range += r.count;
            } else {
                line.rejected += r.count;
                *line.rejected_by_reason.entry(r.reason.clone()).or_insert(0) += r.count;
            }
        }

        // Outages: the recorded silences, and one still running at the end.
        let threshold = interval_s.map_or(i.thresholds.outage_after_ms, |iv| {
            i.thresholds.outage_after_ms.max((3.0 * iv * 1000.0) as i64)
        });
        let mut add_outage = |from: i64, to: i64, running: bool| {
            let (from, to) = (from.max(period.from_ms), to.min(end));
            if to - from > 0 {
                line.outages += 1;
                line.outage_s += (to - from) as f64 / 1000.0;
                outages.push(Outage {
                    device: d.key.clone(),
                    system: system.clone(),
                    start: zone.format(from),
                    end: (!running).then(|| zone.format(to)),
                    length_s: (to - from) as f64 / 1000.0,
                });
            }
        };
        for g in gaps.get(d.key.as_str()).into_iter().flatten() {
            if g.to_ms - g.from_ms > threshold {
                add_outage(g.from_ms, g.to_ms, false);
            }
        }
        let newest = d.latest.iter().map(|l| l.ts).max();
        let last_in_period = s.map(|s| s.last_ts).or(newest.filter(|t| *t < end));
        let silent_since = match newest {
            Some(t) if t >= end => None, // it reported after the period: any silence is a gap
            Some(t) => Some(t.max(start)),
            None => Some(start),
        };
        if let Some(since) = silent_since
            && end - since > threshold
        {
            add_outage(since, end, true);
        }
        line.finish();
        lines.push(DeviceLine {
            device: d.key.clone(),
            name: d.name.clone(),
            system,
            metrics,
            interval_s,
            interval_source: source,
            supply: line,
            last_reading: last_in_period.map(|t| zone.format(t)),
        });
    }

    // Systems: every registered one, and the devices of none.
    let mut systems: Vec<SystemLine> = i
        .systems
        .iter()
        .map(|s| SystemLine {
            id: s.id.clone(),
            name: s.name.clone(),
            owner: s.owner.clone(),
            devices: 0,
            silent_devices: 0,
            learned_intervals: 0,
            unknown_intervals: 0,
            supply: Supply::default(),
        })
        .collect();
    for line in &lines {
        let at = match systems.iter().position(|s| s.id == line.system) {
            Some(at) => at,
            None => {
                systems.push(SystemLine {
                    id: line.system.clone(),
                    name: if line.system == UNASSIGNED {
                        "Chưa gán hệ thống / No system".into()
                    } else {
                        line.system.clone()
                    },
                    owner: None,
                    devices: 0,
                    silent_devices: 0,
                    learned_intervals: 0,
                    unknown_intervals: 0,
                    supply: Supply::default(),
                });
                systems.len() - 1
            }
        };
        let s = &mut systems[at];
        s.devices += 1;
        s.silent_devices += u64::from(line.supply.received == 0);
        s.learned_intervals += u64::from(line.interval_source == "learned");
        s.unknown_intervals += u64::from(line.interval_source == "unknown");
        s.supply.add(&line.supply);
    }
    for s in &mut systems {
        s.supply.finish();
    }
    outages.sort_by(|a, b| b.length_s.total_cmp(&a.length_s));
    outages.truncate(OUTAGES_LISTED);

    SupplyReport {
        kind: "data_supply",
        province: None,
        period: PeriodView::new(period, zone),
        live_within_s: i.thresholds.live_within_ms as f64 / 1000.0,
        outage_after_s: i.thresholds.outage_after_ms as f64 / 1000.0,
        systems,
        devices: lines,
        outages,
        unattributed_rejections: unattributed,
        definitions: definitions(),
    }
}

fn definitions() -> BTreeMap<&'static str, Definition> {
    definitions_of(&[
        (
            "expected",
            "Số bản ghi dự kiến",
            "Expected readings",
            "Số thông số × thời gian thiết bị phải gửi trong kỳ (từ lần đầu xuất hiện, đến hiện tại nếu kỳ chưa kết thúc) ÷ chu kỳ gửi; chu kỳ lấy của thiết bị, nếu không có thì của hệ thống, nếu không có thì học từ dữ liệu: trung vị các khoảng cách gần nhất giữa hai lần gửi, lấy trung bình theo ngày, nên một lần gián đoạn không kéo dài chu kỳ (interval_source). // Metrics × the time the device was due to report in the period (from its first appearance; up to now for a period still running) ÷ its interval: the device's, else its system's, else learned from its data: the median of its recent steps between readings, averaged over its days, so an outage does not stretch it (interval_source).",
        ),
        (
            "complete",
            "Đủ",
            "Complete",
            "Số bản ghi nhận được (không tính trùng) ÷ số dự kiến, tối đa 1. // Readings stored (each once) ÷ expected, at most 1.",
        ),
        (
            "correct",
            "Đúng",
            "Correct",
            "Số nhận được ÷ (nhận được + bị từ chối vì sai định dạng, sai đơn vị, sai thời gian…; không tính vượt ngưỡng đo). // Stored ÷ (stored + refused for any reason but an out-of-range value).",
        ),
        (
            "clean",
            "Sạch",
            "Clean",
            "Số nhận được ÷ (nhận được + gửi trùng + giá trị ngoài dải đo). // Stored ÷ (stored + sent again + out of range).",
        ),
        (
            "live",
            "Sống",
            "Live",
            "Tỷ lệ bản ghi được lưu trong thời gian live_within_s kể từ thời điểm đo; độ trễ trung vị và p95 là cận trên của khoảng chứa chúng (null: hơn một ngày). // The share stored within live_within_s of its own timestamp; latency median and p95 are the upper bounds of their histogram buckets (null: more than a day).",
        ),
        (
            "outages",
            "Gián đoạn",
            "Outage",
            "Khoảng im lặng dài hơn outage_after_s và hơn ba chu kỳ gửi; gián đoạn chưa kết thúc tính đến cuối kỳ. // A silence longer than outage_after_s and three intervals; one still running counts up to the period's end.",
        ),
        (
            "systems",
            "Theo hệ thống",
            "Per system",
            "Số liệu của hệ thống gộp các thiết bị (đủ: tổng nhận được, mỗi thiết bị không quá số dự kiến, ÷ tổng dự kiến). // A system's numbers pool its devices (complete: the received, each device's at most its expected, over the expected).",
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_bucket_upper_bounds() {
        let mut h = [0u64; LATENCY_BUCKETS];
        assert_eq!(percentile(&h, 0.5), None);
        h[2] = 9; // <= 5 s
        h[7] = 1; // <= 300 s
        assert_eq!(percentile(&h, 0.5), Some(5.0));
        assert_eq!(percentile(&h, 0.95), Some(300.0));
        h[LATENCY_BUCKETS - 1] = 100;
        assert_eq!(percentile(&h, 0.95), None, "more than a day");
        assert_eq!(device_of_topic("ioc/st-1/telemetry"), Some("st-1"));
        assert_eq!(device_of_topic("other/st-1"), None);
    }
}
