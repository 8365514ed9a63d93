//! What a rule remembers of one series, in a size fixed when the rule is compiled: the reading
//! rate changes how full a bucket is, never how many there are.
//!
//! - [`Buckets`] (window and rate rules): the window cut into [`BUCKETS`] buckets of
//!   `window / BUCKETS`, plus the one being filled, in a ring. A bucket keeps one accumulator and a
//!   count (12 bytes), so a series costs about 600 bytes per window or rate rule, whatever its
//!   rate. The aggregate covers at least the last `window` and at most `window + window /
//!   BUCKETS` (the bucket width rounded up to a millisecond): the oldest edge moves a bucket at a
//!   time. A reading later than the ring's oldest
//!   bucket is not counted (the caller counts it as late); one inside the ring is added to its
//!   bucket, as if it had come in order.
//! - [`Ewma`] (anomaly rules): the exponentially weighted mean and variance of a series, 40 bytes.
//!   After a silence of [`RESET_HALF_LIVES`] half-lives the old readings weigh nothing (under
//!   0.1 %): the series starts over and warms up again, instead of judging new readings against
//!   a spread that has decayed to nothing.
//! - [`Latest`] (all rules): the newest value and time of each condition's metric.

use crate::engine::rules::Agg;

/// Buckets per window (and the ring holds one more, the bucket being filled).
pub const BUCKETS: usize = 48;
const RING: usize = BUCKETS + 1;

#[derive(Debug, Clone)]
pub struct Buckets {
    agg: Agg,
    width_ms: i64,
    /// Index (`ts / width_ms`) of the newest bucket; `None` before the first reading.
    head: Option<i64>,
    acc: [f64; RING],
    count: [u32; RING],
}

impl Buckets {
    pub fn new(agg: Agg, window_ms: i64) -> Self {
        let mut b = Self {
            agg,
            // rounded up: the ring always spans the whole window
            width_ms: (window_ms.saturating_add(BUCKETS as i64 - 1) / BUCKETS as i64).max(1),
            head: None,
            acc: [0.0; RING],
            count: [0; RING],
        };
        b.acc = [b.empty(); RING];
        b
    }

    /// An empty bucket's accumulator: 0 for sums, NaN for min and max (which `f64::min` and
    /// `f64::max` pass over, so the window's extreme is one branch-free fold).
    fn empty(&self) -> f64 {
        match self.agg {
            Agg::Min | Agg::Max | Agg::Spread => f64::NAN,
            Agg::Sum | Agg::Avg | Agg::Count => 0.0,
        }
    }

    /// Adds a reading; false when it is older than the ring (not counted).
    pub fn add(&mut self, ts_ms: i64, v: f64) -> bool {
        let idx = ts_ms.div_euclid(self.width_ms);
        let head = match self.head {
            None => {
                self.head = Some(idx);
                idx
            }
            Some(h) if idx > h => {
                // Empty the buckets the window moved past (all of them after a long gap).
                let moved = (idx - h).min(RING as i64);
                let empty = self.empty();
                for i in 0..moved {
                    let slot = (idx - i).rem_euclid(RING as i64) as usize;
                    self.acc[slot] = empty;
                    self.count[slot] = 0;
                }
                self.head = Some(idx);
                idx
            }
            Some(h) => h,
        };
        if idx <= head - RING as i64 {
            return false;
        }
        let slot = idx.rem_euclid(RING as i64) as usize;
        let (acc, n) = (&mut self.acc[slot], &mut self.count[slot]);
        *acc = match self.agg {
            Agg::Min => acc.min(v),
            // a spread window is two rings, of the lowest and the highest ([`Spread`])
            Agg::Max | Agg::Spread => acc.max(v),
            Agg::Count => 0.0,
            Agg::Sum | Agg::Avg => *acc + v,
        };
        *n = n.saturating_add(1);
        true
    }

    /// Readings in the window.
    pub fn readings(&self) -> u32 {
        self.count.iter().sum()
    }

    /// The aggregate over the window; `None` for avg, min or max of an empty window.
    pub fn value(&self) -> Option<f64> {
        let extreme = |v: f64| (!v.is_nan()).then_some(v);
        match self.agg {
            Agg::Count => Some(self.count.iter().map(|&c| f64::from(c)).sum()),
            Agg::Sum => Some(self.acc.iter().sum()),
            Agg::Avg => {
                let n: f64 = self.count.iter().map(|&c| f64::from(c)).sum();
                (n > 0.0).then(|| self.acc.iter().sum::<f64>() / n)
            }
            Agg::Min => extreme(self.acc.iter().copied().fold(f64::NAN, f64::min)),
            Agg::Max | Agg::Spread => extreme(self.acc.iter().copied().fold(f64::NAN, f64::max)),
        }
    }
}

/// A gap this many half-lives long starts an anomaly series over.
pub const RESET_HALF_LIVES: f64 = 10.0;

/// A window's spread (highest minus lowest): a ring of the lowest and a ring of the highest.
#[derive(Debug, Clone)]
pub struct Spread {
    low: Buckets,
    high: Buckets,
}

impl Spread {
    pub fn new(window_ms: i64) -> Self {
        Self {
            low: Buckets::new(Agg::Min, window_ms),
            high: Buckets::new(Agg::Max, window_ms),
        }
    }

    /// Adds a reading; false when it is older than the rings (not counted).
    pub fn add(&mut self, ts_ms: i64, v: f64) -> bool {
        self.low.add(ts_ms, v) & self.high.add(ts_ms, v)
    }

    /// Highest minus lowest over the window; `None` with fewer than two readings in it (one
    /// reading has no spread: it says nothing of a stuck sensor).
    pub fn value(&self) -> Option<f64> {
        if self.high.readings() < 2 {
            return None;
        }
        Some(self.high.value()? - self.low.value()?)
    }
}

/// Exponentially weighted mean and variance with a half-life in time: a reading `dt` older than
/// the newest weighs `0.5^(dt / half_life)`. Kept as West's weighted incremental form (1979): the
/// weight total `w`, the mean, and `s`, the weighted sum of squared deviations; decaying `w` and `s`
/// together keeps the mean and the variance `s / w` exact for those weights.
#[derive(Debug, Clone, Default)]
pub struct Ewma {
    w: f64,
    mean: f64,
    s: f64,
    n: u32,
    last_ms: i64,
}

impl Ewma {
    /// Readings seen so far (since the series last started over).
    pub fn count(&self) -> u32 {
        self.n
    }

    /// The readings' total weight: how many recent readings the mean and spread stand on.
    pub fn weight(&self) -> f64 {
        self.w
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The weighted (population) standard deviation.
    pub fn sd(&self) -> f64 {
        if self.w > 0.0 {
            (self.s / self.w).max(0.0).sqrt()
        } else {
            0.0
        }
    }

    /// How many standard deviations `x` lies from the mean (infinite when the series has been
    /// perfectly flat and `x` differs; 0 when equal).
    pub fn z(&self, x: f64) -> f64 {
        let sd = self.sd();
        let d = x - self.mean;
        if sd > 0.0 {
            d / sd
        } else if d == 0.0 {
            0.0
        } else {
            d.signum() * f64::INFINITY
        }
    }

    /// Folds a reading in. A reading older than the newest is folded in without decay (as if it
    /// came now).
    pub fn add(&mut self, ts_ms: i64, x: f64, half_life_ms: i64) {
        if self.n > 0 && ts_ms > self.last_ms {
            let halvings = (ts_ms - self.last_ms) as f64 / half_life_ms as f64;
            if halvings >= RESET_HALF_LIVES {
                *self = Ewma::default();
            } else {
                let decay = 0.5f64.powf(halvings);
                self.w *= decay;
                self.s *= decay;
            }
        }
        self.w += 1.0;
        let d = x - self.mean;
        self.mean += d / self.w;
        self.s += d * (x - self.mean);
        self.n = self.n.saturating_add(1);
        self.last_ms = self.last_ms.max(ts_ms);
    }
}

/// The newest value and time of each condition of an `all` rule.
#[derive(Debug, Clone)]
pub struct Latest(Box<[(f64, i64)]>);

impl Latest {
    pub fn new(conditions: usize) -> Self {
        Self(vec![(f64::NAN, i64::MIN); conditions].into_boxed_slice())
    }

    /// Records `v` at `ts_ms` for condition `i`, unless it already has a newer reading.
    pub fn set(&mut self, i: usize, ts_ms: i64, v: f64) {
        if let Some(slot) = self.0.get_mut(i)
            && ts_ms >= slot.1
        {
            *slot = (v, ts_ms);
        }
    }

    /// Condition `i`'s value when it was read at or after `since_ms`.
    pub fn fresh(&self, i: usize, since_ms: i64) -> Option<f64> {
        self.0
            .get(i)
            .filter(|s| s.1 != i64::MIN && s.1 >= since_ms)
            .map(|s| s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_its_buckets_and_forgets_what_slid_out() {
        // a 48-minute window: one-minute buckets
        let mut b = Buckets::new(Agg::Sum, 48 * 60_000);
        assert!(b.add(0, 1.0) && b.add(30_000, 2.0) && b.add(60_000, 4.0));
        assert_eq!(b.value(), Some(7.0));
        // 48 minutes on: the ring holds buckets 1..=49, bucket 0 (3.0) slid out
        assert!(b.add(49 * 60_000, 8.0));
        assert_eq!(b.value(), Some(12.0));
        // late but inside the ring: counted in its bucket
        assert!(b.add(2 * 60_000, 16.0));
        assert_eq!(b.value(), Some(28.0));
        // older than the ring: refused
        assert!(!b.add(0, 100.0));
        assert_eq!(b.value(), Some(28.0));
        // a long gap empties everything
        assert!(b.add(1000 * 60_000, 1.5));
        assert_eq!(b.value(), Some(1.5));
    }

    #[test]
    fn every_aggregate() {
        let values = [3.0, -1.0, 4.0, 1.5];
        let agg = |a| {
            let mut b = Buckets::new(a, 60_000);
            for (i, v) in values.iter().enumerate() {
                b.add(i as i64 * 1000, *v);
            }
            b.value()
        };
        assert_eq!(agg(Agg::Sum), Some(7.5));
        assert_eq!(agg(Agg::Avg), Some(1.875));
        assert_eq!(agg(Agg::Min), Some(-1.0));
        assert_eq!(agg(Agg::Max), Some(4.0));
        assert_eq!(agg(Agg::Count), Some(4.0));
        let empty = Buckets::new(Agg::Avg, 60_000);
        assert_eq!(empty.value(), None);
        assert_eq!(Buckets::new(Agg::Sum, 60_000).value(), Some(0.0));
    }

    #[test]
    fn a_spread_is_the_highest_minus_the_lowest_in_the_window() {
        let mut s = Spread::new(48 * 60_000);
        assert_eq!(s.value(), None);
        assert!(s.add(0, 2.0) && s.add(60_000, 2.0));
        assert_eq!(s.value(), Some(0.0));
        assert!(s.add(120_000, 2.5));
        assert_eq!(s.value(), Some(0.5));
        // 2.0 at minutes 0 and 1 slid out: only 2.5 and 2.5
        assert!(s.add(50 * 60_000, 2.5));
        assert_eq!(s.value(), Some(0.0));
    }

    #[test]
    fn ewma_of_a_flat_series_has_no_spread() {
        let mut e = Ewma::default();
        for t in 0..5 {
            e.add(t * 1000, 2.0, 60_000);
        }
        assert_eq!((e.mean(), e.sd(), e.count()), (2.0, 0.0, 5));
        assert_eq!(e.z(2.0), 0.0);
        assert_eq!(e.z(2.5), f64::INFINITY);
        assert_eq!(e.z(1.0), f64::NEG_INFINITY);
    }

    #[test]
    fn a_long_silence_starts_the_series_over() {
        let mut e = Ewma::default();
        for (t, x) in [(0, 1.0), (1, 2.0), (2, 3.0)] {
            e.add(t * 1000, x, 1000);
        }
        assert_eq!(e.count(), 3);
        // 9 half-lives on: decayed, still the same series
        e.add(11_000, 2.0, 1000);
        assert_eq!(e.count(), 4);
        assert!(e.weight() < 1.01);
        // 10 half-lives on: a new series of one reading
        e.add(21_000, 5.0, 1000);
        assert_eq!((e.count(), e.mean(), e.weight()), (1, 5.0, 1.0));
    }

    #[test]
    fn latest_keeps_the_newest() {
        let mut l = Latest::new(2);
        l.set(0, 10, 1.0);
        l.set(0, 5, 2.0);
        assert_eq!(l.fresh(0, 10), Some(1.0));
        assert_eq!(l.fresh(0, 11), None);
        assert_eq!(l.fresh(1, i64::MIN), None);
    }
}
