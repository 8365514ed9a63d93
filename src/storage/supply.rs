//! The supply tally: what the batcher learns about each device's data from the batches it
//! commits, kept in memory and handed to the store every few seconds as one
//! [`WriteItem::Supply`] (in the transaction of the next batch, or alone when the hub is idle).
//!
//! Per device and local day: readings stored, readings sent again, the latency from a reading's
//! timestamp to its commit (a histogram), how many were stored within the live time; per
//! device, silences in its readings longer than the outage threshold (raised to three times the
//! median of the device's recent steps, so that a station reporting hourly is not in outage every
//! hour; the report applies the device's expected interval again).
//! A reading older than the device's newest (a backfill) neither starts nor ends a silence.
//!
//! The tally is the batcher's own (one per batcher, each serving disjoint devices): no lock.
//! What a kill -9 loses is the tally since the last hand-over (at most `flush_every`), never a
//! reading; the readings themselves are committed before they are counted.

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;

use crate::calendar::Zone;
use crate::pipeline::WriteItem;
use crate::pipeline::supply::{LATENCY_BUCKETS, SupplyDay, SupplyDelta, SupplyGap, latency_bucket};

use super::WriteOutcome;

/// What the tally is told.
#[derive(Debug, Clone, Copy)]
pub struct SupplySettings {
    pub zone: Zone,
    /// A reading stored within this of its timestamp was live.
    pub live_within_ms: i64,
    /// A silence longer than this (or three usual intervals) is an outage.
    pub outage_after_ms: i64,
    /// How often the tally is handed to the store.
    pub flush_every: Duration,
}

impl Default for SupplySettings {
    fn default() -> Self {
        Self {
            zone: Zone::default(),
            live_within_ms: 5 * 60_000,
            outage_after_ms: 3_600_000,
            flush_every: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Default)]
struct Day {
    received: u64,
    duplicates: u64,
    live: u64,
    latency: [u64; LATENCY_BUCKETS],
    first_ts: i64,
    last_ts: i64,
    metrics: Vec<String>,
}

/// How many recent steps the usual interval is the median of.
const STEPS: usize = 5;

#[derive(Debug, Default, Clone, Copy)]
struct DeviceState {
    /// The newest reading timestamp stored.
    last_ts: i64,
    /// Its last steps forward (0: none yet), a ring.
    steps: [i64; STEPS],
    next: usize,
}

impl DeviceState {
    /// The median of its recent steps, once there are three (one outage among them does not
    /// move it).
    fn usual_interval(&self) -> Option<i64> {
        let mut known: Vec<i64> = self.steps.iter().copied().filter(|s| *s > 0).collect();
        if known.len() < 3 {
            return None;
        }
        known.sort_unstable();
        Some(known[known.len() / 2])
    }
}

/// One device: where its readings stand, and its days tallied since the last hand-over.
#[derive(Debug, Default)]
struct DeviceTally {
    state: DeviceState,
    /// Each metric's newest timestamp: the usual interval is learned from the steps of one
    /// metric to its next reading, so metrics sent a second apart do not make it a second.
    metric_last: Vec<(String, i64)>,
    /// Whether `state` holds a reading yet (a device's first reading starts no silence).
    seen: bool,
    /// Usually one day; a backfill can add more.
    days: Vec<(NaiveDate, Day)>,
}

pub struct SupplyTally {
    settings: SupplySettings,
    /// Each device's slot in `tallies`; a device's key is copied once, when it is first seen.
    index: HashMap<String, usize>,
    tallies: Vec<(String, DeviceTally)>,
    /// The slot of the device of the last reading: a pack's readings are one device's, so most
    /// readings need no lookup at all.
    last: Option<usize>,
    /// Device-days waiting for the next hand-over.
    pending: usize,
    gaps: Vec<SupplyGap>,
    /// The local day last looked up, `[start, end)`: most readings fall on it.
    today: (i64, i64, NaiveDate),
}

impl SupplyTally {
    pub fn new(settings: SupplySettings) -> Self {
        Self {
            settings,
            index: HashMap::new(),
            tallies: Vec::new(),
            last: None,
            pending: 0,
            gaps: Vec::new(),
            today: (0, 0, NaiveDate::default()),
        }
    }

    pub fn flush_every(&self) -> Duration {
        self.settings.flush_every
    }

    /// Where each device's readings stood when the hub started (its newest timestamp), so that a
    /// silence across a restart is seen.
    pub fn know(&mut self, device: &str, last_ts: i64) {
        let d = self.device(device);
        d.state.last_ts = if d.seen {
            d.state.last_ts.max(last_ts)
        } else {
            last_ts
        };
        d.seen = true;
    }

    /// The slot of `key`, made when it is new.
    fn slot(&mut self, key: &str) -> usize {
        if let Some(at) = self.last
            && self.tallies[at].0 == key
        {
            return at;
        }
        let at = match self.index.get(key) {
            Some(at) => *at,
            None => {
                self.tallies.push((key.to_owned(), DeviceTally::default()));
                self.index.insert(key.to_owned(), self.tallies.len() - 1);
                self.tallies.len() - 1
            }
        };
        self.last = Some(at);
        at
    }

    fn device(&mut self, key: &str) -> &mut DeviceTally {
        let at = self.slot(key);
        &mut self.tallies[at].1
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0 && self.gaps.is_empty()
    }

    fn date_of(&mut self, ts: i64) -> NaiveDate {
        if !(self.today.0..self.today.1).contains(&ts) {
            let (start, end) = self.settings.zone.day_bounds(ts);
            self.today = (start, end, self.settings.zone.date_of(ts));
        }
        self.today.2
    }

    /// Counts the readings of a committed batch; `outcome` says which were already stored.
    pub fn committed(&mut self, items: &[WriteItem], outcome: &WriteOutcome, commit_ms: i64) {
        let (live_within, outage_after) =
            (self.settings.live_within_ms, self.settings.outage_after_ms);
        for item in items {
            let WriteItem::Readings(readings) = item else {
                continue;
            };
            for r in readings.iter() {
                if matches!(r.metric.as_str(), "lat" | "lon") {
                    continue; // a position says where the device is, not what it measures
                }
                let date = self.date_of(r.ts_ms);
                let latency = commit_ms - r.ts_ms;
                let d = self.device(&r.device);
                let mut created = false;
                let at = match d.days.iter().position(|(day, _)| *day == date) {
                    Some(at) => at,
                    None => {
                        created = true;
                        let fresh = Day {
                            first_ts: r.ts_ms,
                            last_ts: r.ts_ms,
                            ..Day::default()
                        };
                        d.days.push((date, fresh));
                        d.days.len() - 1
                    }
                };
                let day = &mut d.days[at].1;
                day.received += 1;
                day.latency[latency_bucket(latency)] += 1;
                day.live += u64::from(latency <= live_within);
                day.first_ts = day.first_ts.min(r.ts_ms);
                day.last_ts = day.last_ts.max(r.ts_ms);
                if !day.metrics.contains(&r.metric) {
                    day.metrics.push(r.metric.clone());
                }
                let gap = step(d, &r.metric, r.ts_ms, outage_after);
                self.pending += usize::from(created);
                if let Some((from_ms, to_ms)) = gap {
                    self.gaps.push(SupplyGap {
                        device: r.device.clone(),
                        from_ms,
                        to_ms,
                    });
                }
            }
        }
        // Readings already stored come off the received of the device's newest day tallied
        // (a batch rarely spans days; the count is what matters).
        for (device, n) in &outcome.duplicated {
            if let Some(day) = self.index.get(device.as_str()).and_then(|at| {
                self.tallies[*at]
                    .1
                    .days
                    .iter_mut()
                    .max_by_key(|(date, _)| *date)
            }) {
                let n = (*n).min(day.1.received);
                day.1.received -= n;
                day.1.duplicates += n;
            }
        }
    }

    /// Everything tallied since the last call, for the store to add up.
    pub fn take(&mut self) -> SupplyDelta {
        let mut days = Vec::with_capacity(self.pending);
        for (device, d) in &mut self.tallies {
            for (date, day) in d.days.drain(..) {
                days.push(SupplyDay {
                    device: device.clone(),
                    day: date.to_string(),
                    received: day.received,
                    duplicates: day.duplicates,
                    live: day.live,
                    latency: day.latency,
                    first_ts: day.first_ts,
                    last_ts: day.last_ts,
                    metrics: day.metrics.len() as u32,
                    interval_ms: d.state.usual_interval(),
                });
            }
        }
        self.pending = 0;
        SupplyDelta {
            days,
            gaps: std::mem::take(&mut self.gaps),
        }
    }
}

/// A reading of `metric` at `ts`: the device's silence before it, when longer than the outage
/// threshold, is a gap, returned as `(from, to)`; the metric's step since its own last reading
/// teaches the usual interval.
fn step(d: &mut DeviceTally, metric: &str, ts: i64, outage_after: i64) -> Option<(i64, i64)> {
    match d.metric_last.iter_mut().find(|(m, _)| m == metric) {
        Some((_, last)) if ts > *last => {
            let state = &mut d.state;
            state.steps[state.next] = ts - *last;
            state.next = (state.next + 1) % STEPS;
            *last = ts;
        }
        Some(_) => {} // a resend or a backfill
        None => d.metric_last.push((metric.to_owned(), ts)),
    }
    let state = &mut d.state;
    if !d.seen {
        d.seen = true;
        state.last_ts = ts;
        return None;
    }
    if ts <= state.last_ts {
        return None; // the same instant (another metric), a resend or a backfill
    }
    let threshold = state
        .usual_interval()
        .map_or(outage_after, |i| outage_after.max(3 * i));
    let gap = (ts - state.last_ts > threshold).then_some((state.last_ts, ts));
    state.last_ts = ts;
    gap
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use iochub_devices::Reading;

    use super::*;

    const H: i64 = 3_600_000;

    fn at(s: &str) -> i64 {
        crate::timefmt::parse_rfc3339(s).expect("time")
    }

    fn batch(device: &str, points: &[(&str, i64)]) -> Vec<WriteItem> {
        let readings = points
            .iter()
            .map(|(metric, ts)| Reading {
                device: device.into(),
                metric: (*metric).into(),
                ts_ms: *ts,
                value: 1.0,
            })
            .collect();
        vec![WriteItem::Readings(Arc::new(readings))]
    }

    fn day<'a>(delta: &'a SupplyDelta, device: &str, date: &str) -> &'a SupplyDay {
        delta
            .days
            .iter()
            .find(|d| d.device == device && d.day == date)
            .expect("day")
    }

    #[test]
    fn readings_count_on_their_local_day_with_their_latency() {
        let mut t = SupplyTally::new(SupplySettings::default());
        let late_evening = at("2026-11-30T23:30:00+07:00");
        let items = batch(
            "st-1",
            &[("water_level", late_evening), ("rain", late_evening)],
        );
        // stored 3 s after its timestamp, the next morning's reading 10 minutes after
        t.committed(&items, &WriteOutcome::default(), late_evening + 3000);
        let morning = at("2026-12-01T06:00:00+07:00");
        t.committed(
            &batch("st-1", &[("water_level", morning)]),
            &WriteOutcome::default(),
            morning + 600_000,
        );
        let d = t.take();
        let nov = day(&d, "st-1", "2026-11-30");
        assert_eq!((nov.received, nov.live, nov.metrics), (2, 2, 2));
        assert_eq!(nov.latency[2], 2, "3 s falls in the <=5 s bucket");
        let dec = day(&d, "st-1", "2026-12-01");
        assert_eq!((dec.received, dec.live), (1, 0), "10 minutes is not live");
        assert_eq!(dec.latency[8], 1, "<=600 s");
        assert!(t.take().is_empty(), "taken once");
    }

    #[test]
    fn a_silence_longer_than_the_threshold_is_a_gap_and_a_backfill_is_not() {
        let mut t = SupplyTally::new(SupplySettings::default());
        let t0 = at("2026-11-10T00:00:00Z");
        let none = WriteOutcome::default();
        t.know("st-1", t0);
        for i in 1..=4 {
            t.committed(
                &batch("st-1", &[("rain", t0 + i * 300_000)]),
                &none,
                t0 + i * 300_000,
            );
        }
        // silent for 3 hours, then back; then a backfill of the silence arrives
        let back = t0 + 4 * 300_000 + 3 * H;
        t.committed(&batch("st-1", &[("rain", back)]), &none, back);
        t.committed(&batch("st-1", &[("rain", back - H)]), &none, back + 1000);
        let d = t.take();
        assert_eq!(
            d.gaps,
            [SupplyGap {
                device: "st-1".into(),
                from_ms: t0 + 4 * 300_000,
                to_ms: back
            }]
        );
        assert_eq!(day(&d, "st-1", "2026-11-10").received, 6);
    }

    #[test]
    fn a_device_that_reports_hourly_is_not_in_outage_every_hour() {
        let mut t = SupplyTally::new(SupplySettings {
            outage_after_ms: 30 * 60_000,
            ..SupplySettings::default()
        });
        let t0 = at("2026-11-10T00:00:00Z");
        let none = WriteOutcome::default();
        t.know("st-2", t0);
        for i in 1..=12 {
            t.committed(&batch("st-2", &[("rain", t0 + i * H)]), &none, t0 + i * H);
        }
        // until three steps are known each hour is longer than the threshold; then it is usual
        let gaps: Vec<i64> = t.take().gaps.iter().map(|g| (g.to_ms - t0) / H).collect();
        assert_eq!(gaps, [1, 2, 3]);
        // four hours of silence is more than three usual intervals, and does not stretch it
        t.committed(&batch("st-2", &[("rain", t0 + 16 * H)]), &none, t0 + 16 * H);
        let d = t.take();
        assert_eq!(d.gaps.len(), 1);
        assert_eq!(
            d.days[0].interval_ms,
            Some(H),
            "the median of the last steps"
        );
    }

    /// Two metrics sent a second apart every five minutes: the interval is five minutes, not a
    /// second; positions are not counted as data supplied.
    #[test]
    fn the_usual_interval_is_per_metric_and_positions_do_not_count() {
        let mut t = SupplyTally::new(SupplySettings::default());
        let t0 = at("2026-11-10T00:00:00Z");
        let none = WriteOutcome::default();
        for i in 0..6 {
            let ts = t0 + i * 300_000;
            let items = batch(
                "st-3",
                &[("rain", ts), ("water_level", ts + 1000), ("lat", ts)],
            );
            t.committed(&items, &none, ts + 2000);
        }
        let d = t.take();
        let day = day(&d, "st-3", "2026-11-10");
        assert_eq!((day.received, day.metrics), (12, 2));
        assert_eq!(day.interval_ms, Some(300_000));
    }

    #[test]
    fn duplicates_are_taken_off_the_received() {
        let mut t = SupplyTally::new(SupplySettings::default());
        let ts = at("2026-11-10T00:00:00Z");
        let items = batch(
            "st-1",
            &[("rain", ts), ("rain", ts + 1000), ("rain", ts + 2000)],
        );
        let outcome = WriteOutcome {
            duplicates: 2,
            duplicated: vec![("st-1".into(), 2)],
            ..WriteOutcome::default()
        };
        t.committed(&items, &outcome, ts + 5000);
        let d = t.take();
        let day = day(&d, "st-1", "2026-11-10");
        assert_eq!((day.received, day.duplicates), (1, 2));
    }
}
