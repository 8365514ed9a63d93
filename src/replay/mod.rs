//! Stored readings replayed through the rules: a backtest of a rules file over a range
//! ([`backtest`]), and the warm-up that refills window, rate, anomaly and `all` rules from the
//! store when the hub starts ([`warmup`]), so that a 72-hour rule does not start blind.
//!
//! Both read a device's readings the same way ([`DeviceReader`]): per metric, a page of [`PAGE`]
//! at a time, merged into reading-time order, and handed on in slices so that memory holds one
//! slice of one device.

pub mod backtest;
pub mod warmup;

use iochub_devices::Reading;

use crate::storage::{Point, ReadingsQuery, Store, StoreError};

/// Readings per query.
pub const PAGE: u32 = 50_000;

/// Reads one device's readings of some metrics, merged into reading-time order (ties: by
/// metric name; the order of readings inside one message is not stored).
pub struct DeviceReader<'a> {
    store: &'a dyn Store,
    /// One reading per metric, rewritten for each point.
    templates: Vec<Reading>,
    merged: Vec<(i64, u16, f64)>,
}

impl<'a> DeviceReader<'a> {
    /// `metrics` sorted; at most 65,536 of them.
    pub fn new(store: &'a dyn Store, device: &str, metrics: &[&str]) -> Self {
        let templates = metrics
            .iter()
            .take(usize::from(u16::MAX) + 1)
            .map(|m| Reading {
                device: device.to_owned(),
                metric: (*m).to_owned(),
                ts_ms: 0,
                value: 0.0,
            })
            .collect();
        Self {
            store,
            templates,
            merged: Vec::new(),
        }
    }

    /// The readings of `[from_ms, to_ms)` whose metric's own range starts at or before them
    /// (`since[i]` for metric `i`; `i64::MIN`: all), handed to `each` in time order; returns how
    /// many.
    pub async fn read(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        since: Option<&[i64]>,
        each: &mut (dyn FnMut(&Reading) + Send),
    ) -> Result<u64, StoreError> {
        self.fetch(from_ms, to_ms, since).await?;
        for &(ts, m, value) in &self.merged {
            let r = &mut self.templates[usize::from(m)];
            r.ts_ms = ts;
            r.value = value;
            each(r);
        }
        Ok(self.merged.len() as u64)
    }

    /// The same readings as `(ts, metric index, value)`, in time order, handed over (for a
    /// reader on another task).
    pub async fn points(
        &mut self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u16, f64)>, StoreError> {
        self.fetch(from_ms, to_ms, None).await?;
        Ok(std::mem::take(&mut self.merged))
    }

    async fn fetch(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        since: Option<&[i64]>,
    ) -> Result<(), StoreError> {
        self.merged.clear();
        for (m, template) in self.templates.iter().enumerate() {
            let mut from = from_ms.max(since.and_then(|s| s.get(m).copied()).unwrap_or(i64::MIN));
            while from < to_ms {
                let points = self
                    .store
                    .readings(ReadingsQuery {
                        device: template.device.clone(),
                        metric: template.metric.clone(),
                        from_ms: from,
                        to_ms,
                        step_ms: None,
                        limit: PAGE,
                    })
                    .await?;
                let full = points.len() == PAGE as usize;
                for p in points {
                    if let Point::Raw { ts, value } = p {
                        self.merged.push((ts, m as u16, value));
                        from = ts + 1;
                    }
                }
                if !full {
                    break;
                }
            }
        }
        self.merged.sort_unstable_by_key(|&(ts, m, _)| (ts, m));
        Ok(())
    }
}
