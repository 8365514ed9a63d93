//! Backtest: how often a set of rules would have fired on the readings the store holds.
//!
//! The stored readings are replayed through the same [`Evaluator`] the shards run, one device at
//! a time (every rule's state is per device) and in reading-time order within a device, so a
//! backtest and the live hub open the same alerts at the same times. A silence (`no_data`) is
//! measured on the readings' clock: it opens when the rule's `for` passed since the last reading
//! (or since `from`), and closes at the next reading.
//!
//! The store is read on a task of its own, a slice ahead of the evaluation, so that the database
//! and the evaluator work at once. Bounds: a device's readings are read a month at a time, a page
//! of [`super::PAGE`] per query, and at most two slices wait, so memory holds a few device-months
//! of the metrics the rules look at; the evaluator forgets a device once it is done. It only
//! reads, so it can run beside a running hub.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use iochub_devices::Reading;

use super::DeviceReader;
use crate::areas::Areas;
use crate::engine::Evaluator;
use crate::engine::rules::{Kind, Places, RuleSet};
use crate::pipeline::AlertChange;
use crate::pipeline::directory::Labels;
use crate::storage::{Store, StoreError};

/// A device's readings are replayed this much at a time.
const SLICE_MS: i64 = 31 * 24 * 3_600_000;
/// Alerts listed per rule (all are counted).
pub const LISTED: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("`from` must be before `to`")]
    EmptyRange,
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct Request {
    pub rules: Arc<RuleSet>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Only these devices (all when `None`).
    pub devices: Option<Vec<String>>,
}

/// Where a replay is.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub devices_done: usize,
    pub devices: usize,
    pub readings: u64,
}

/// One alert the rules would have opened.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Opened {
    pub device: String,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub opened_at: i64,
    /// Null: still open at `to`.
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleOutcome {
    pub id: String,
    /// Alerts it would have opened.
    pub opened: u64,
    /// The first [`LISTED`] of them, in device then time order.
    pub alerts: Vec<Opened>,
    /// Time spent in alert, summed over the devices (an alert open at `to` counts until `to`).
    pub time_in_alert_s: f64,
    /// `time_in_alert_s` over the time the rule watched: the range times the devices it covers
    /// that had readings in it (0–1).
    pub share_in_alert: f64,
    /// Devices the rule covered that had readings in the range.
    pub devices: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub rules: Vec<RuleOutcome>,
    /// Readings replayed.
    pub readings: u64,
    pub readings_per_s: f64,
    pub devices: usize,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub from: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub to: i64,
}

#[derive(Default)]
struct Tally {
    opened: u64,
    alerts: Vec<Opened>,
    in_alert_ms: i64,
    devices: usize,
    /// The open alert of the device being replayed: when it opened.
    open_since: Option<i64>,
}

impl Tally {
    fn open(&mut self, device: &str, ts_ms: i64) {
        if self.open_since.is_some() {
            return; // an update of the open alert (a flap hold ending), not a new one
        }
        self.open_since = Some(ts_ms);
        self.opened += 1;
        if self.alerts.len() < LISTED {
            self.alerts.push(Opened {
                device: device.to_owned(),
                opened_at: ts_ms,
                closed_at: None,
            });
        }
    }

    fn close(&mut self, device: &str, ts_ms: i64) {
        let Some(since) = self.open_since.take() else {
            return;
        };
        self.in_alert_ms += ts_ms.saturating_sub(since).max(0);
        if let Some(last) = self.alerts.last_mut()
            && last.device == device
            && last.opened_at == since
        {
            last.closed_at = Some(ts_ms);
        }
    }

    /// The device is done: an alert still open counts until `to`.
    fn end_device(&mut self, to_ms: i64) {
        if let Some(since) = self.open_since.take() {
            self.in_alert_ms += to_ms.saturating_sub(since).max(0);
        }
    }
}

/// Replays the store's readings of `[from, to)` through `req.rules`.
pub async fn run(
    store: Arc<dyn Store>,
    areas: Arc<Areas>,
    req: &Request,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Outcome, BacktestError> {
    if req.from_ms >= req.to_ms {
        return Err(BacktestError::EmptyRange);
    }
    let started = Instant::now();
    let rules = req.rules.clone();
    let mut devices = store.devices().await?;
    if let Some(only) = &req.devices {
        devices.retain(|d| only.contains(&d.key));
    }
    devices.sort_by(|a, b| a.key.cmp(&b.key));
    let places = Places {
        positions: Arc::new(
            devices
                .iter()
                .filter_map(|d| Some((d.key.clone(), (d.lon?, d.lat?))))
                .collect(),
        ),
        labels: Arc::new(
            devices
                .iter()
                .map(|d| {
                    let labels = Labels {
                        tags: d.tags.clone(),
                        areas: d.areas.clone(),
                    };
                    (d.key.clone(), labels)
                })
                .collect(),
        ),
        areas,
    };
    let mut eval = Evaluator::new(rules.clone(), req.from_ms);
    eval.set_places(places.clone());
    let mut tallies: Vec<Tally> = rules.rules.iter().map(|_| Tally::default()).collect();
    let index: HashMap<&str, usize> = rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (&*r.id, i))
        .collect();
    let mut state = Progress {
        devices: devices.len(),
        ..Progress::default()
    };
    // What to read of each device: the metrics the rules covering it look at.
    let plan: Vec<(String, Vec<String>, Vec<usize>)> = devices
        .iter()
        .map(|device| {
            let covering: Vec<usize> = (0..rules.rules.len())
                .filter(|&i| rules.rules[i].covers(&device.key, &places))
                .collect();
            let any = covering
                .iter()
                .any(|&i| matches!(rules.rules[i].kind, Kind::NoData { metric: None, .. }));
            let mut metrics: Vec<String> = device
                .latest
                .iter()
                .map(|l| l.metric.clone())
                .filter(|m| {
                    any || covering
                        .iter()
                        .any(|&i| rules.rules[i].kind.metrics().contains(&m.as_str()))
                })
                .collect();
            metrics.sort_unstable();
            (device.key.clone(), metrics, covering)
        })
        .collect();
    // The store is read on its own task, a device-slice ahead of the evaluation (bounded: two
    // slices wait at most), so the database's work and the evaluation overlap.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Slice, StoreError>>(2);
    let reader = {
        let jobs: Vec<(String, Vec<String>)> = plan
            .iter()
            .map(|(d, m, _)| (d.clone(), m.clone()))
            .collect();
        let (from, to) = (req.from_ms, req.to_ms);
        tokio::spawn(read_ahead(store.clone(), jobs, from, to, tx))
    };
    let mut changes = Vec::new();
    for (n, (device, metrics, covering)) in plan.iter().enumerate() {
        // silence counts from `from` at the earliest, as it counts from a hub's start
        eval.heard_before(device, None, req.from_ms);
        for m in metrics {
            eval.heard_before(device, Some(m), req.from_ms);
        }
        let mut templates: Vec<Reading> = metrics
            .iter()
            .map(|m| Reading {
                device: device.clone(),
                metric: m.clone(),
                ts_ms: 0,
                value: 0.0,
            })
            .collect();
        let mut read = 0u64;
        loop {
            let slice = match rx.recv().await {
                Some(slice) => slice?,
                None => break,
            };
            debug_assert_eq!(slice.device, n);
            for &(ts, m, value) in &slice.points {
                let r = &mut templates[usize::from(m)];
                r.ts_ms = ts;
                r.value = value;
                eval.tick_device(device, ts, &mut changes);
                eval.evaluate(r, ts, &mut changes);
            }
            read += slice.points.len() as u64;
            if slice.last {
                break;
            }
        }
        state.readings += read;
        if read > 0 {
            for &i in covering {
                tallies[i].devices += 1;
            }
        }
        // a silence that runs to the end of the range
        eval.tick_device(device, req.to_ms, &mut changes);
        for change in changes.drain(..) {
            let (rule, _) = change.key();
            let Some(&i) = index.get(rule) else { continue };
            match &change {
                AlertChange::Fire(f) if f.ts_ms < req.to_ms => tallies[i].open(&f.device, f.ts_ms),
                AlertChange::Fire(_) => {}
                AlertChange::Clear(c) => tallies[i].close(&c.device, c.ts_ms),
            }
        }
        for t in &mut tallies {
            t.end_device(req.to_ms);
        }
        eval.forget(device);
        state.devices_done += 1;
        progress(&state);
    }
    reader.abort();
    let span_s = (req.to_ms - req.from_ms) as f64 / 1000.0;
    let secs = started.elapsed().as_secs_f64();
    Ok(Outcome {
        rules: rules
            .rules
            .iter()
            .zip(tallies)
            .map(|(r, t)| {
                let time_in_alert_s = t.in_alert_ms as f64 / 1000.0;
                let watched = span_s * t.devices as f64;
                RuleOutcome {
                    id: r.id.to_string(),
                    opened: t.opened,
                    alerts: t.alerts,
                    time_in_alert_s,
                    share_in_alert: if watched > 0.0 {
                        (time_in_alert_s / watched).min(1.0)
                    } else {
                        0.0
                    },
                    devices: t.devices,
                }
            })
            .collect(),
        readings: state.readings,
        readings_per_s: if secs > 0.0 {
            state.readings as f64 / secs
        } else {
            0.0
        },
        devices: devices.len(),
        from: req.from_ms,
        to: req.to_ms,
    })
}

/// One slice of one device's readings, in time order, from the reader task.
struct Slice {
    /// The device's place in the plan.
    device: usize,
    points: Vec<(i64, u16, f64)>,
    /// The device's last slice.
    last: bool,
}

/// Slices read at once: the database works on the next devices while the evaluation runs.
const READ_AHEAD: usize = 3;

/// Reads every device's readings of its metrics, a slice at a time, in plan order (up to
/// [`READ_AHEAD`] slices read at once), into `tx`; stops at the first error (sent on) or when
/// the evaluation is gone.
async fn read_ahead(
    store: Arc<dyn Store>,
    plan: Vec<(String, Vec<String>)>,
    from_ms: i64,
    to_ms: i64,
    tx: tokio::sync::mpsc::Sender<Result<Slice, StoreError>>,
) {
    use futures_util::StreamExt;
    let mut slices = Vec::new();
    for (n, _) in plan.iter().enumerate() {
        let mut slice_from = from_ms;
        loop {
            let slice_to = slice_from.saturating_add(SLICE_MS).min(to_ms);
            slices.push((n, slice_from, slice_to, slice_to >= to_ms));
            if slice_to >= to_ms {
                break;
            }
            slice_from = slice_to;
        }
    }
    let plan = Arc::new(plan);
    let mut read = futures_util::stream::iter(slices)
        .map(|(n, from, to, last)| {
            let (store, plan) = (store.clone(), plan.clone());
            async move {
                let (device, metrics) = &plan[n];
                let names: Vec<&str> = metrics.iter().map(String::as_str).collect();
                let points = if names.is_empty() {
                    Vec::new()
                } else {
                    DeviceReader::new(store.as_ref(), device, &names)
                        .points(from, to)
                        .await?
                };
                Ok(Slice {
                    device: n,
                    points,
                    last,
                })
            }
        })
        .buffered(READ_AHEAD);
    while let Some(slice) = read.next().await {
        let failed = slice.is_err();
        if tx.send(slice).await.is_err() || failed {
            return;
        }
    }
}
