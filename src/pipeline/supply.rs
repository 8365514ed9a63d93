//! Data-supply counts: what the batcher tallies about each device's committed readings (per
//! local day) and hands the store to add up, for the data-supply report.
//!
//! Latency is the time from a reading's own timestamp to the commit that stored it (what a
//! reader of the IOC's data waits), kept as a histogram over fixed bounds so that days and
//! devices add up exactly and a median or p95 is read off the merged counts.

/// Upper bounds of the latency buckets, in seconds; the last bucket is everything above.
pub const LATENCY_BOUNDS_S: [f64; 14] = [
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21_600.0,
    86_400.0,
];
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_S.len() + 1;

/// The bucket of a latency in milliseconds (negative: a device clock ahead; counts as 0).
pub fn latency_bucket(ms: i64) -> usize {
    let s = ms.max(0) as f64 / 1000.0;
    LATENCY_BOUNDS_S
        .iter()
        .position(|b| s <= *b)
        .unwrap_or(LATENCY_BOUNDS_S.len())
}

/// One device's counts for one local day (`day`: `YYYY-MM-DD`), to be added to what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplyDay {
    pub device: String,
    pub day: String,
    /// Readings stored (a reading sent again is not counted twice).
    pub received: u64,
    /// Readings sent again: already stored, absorbed.
    pub duplicates: u64,
    /// Stored within the configured live time of their timestamp.
    pub live: u64,
    /// Per latency bucket ([`LATENCY_BOUNDS_S`]).
    pub latency: [u64; LATENCY_BUCKETS],
    /// The earliest and latest reading timestamp of the day seen so far.
    pub first_ts: i64,
    pub last_ts: i64,
    /// How many metrics the device reported that day (the most seen in one tally).
    pub metrics: u32,
    /// The device's usual interval when tallied: the median of its last steps forward, so an
    /// outage does not stretch it (None until three are known).
    pub interval_ms: Option<i64>,
}

/// A silence in a device's readings longer than the outage threshold: `from` is the last
/// reading before it, `to` the first after it (reading time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplyGap {
    pub device: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// What the batcher hands the store in one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplyDelta {
    pub days: Vec<SupplyDay>,
    pub gaps: Vec<SupplyGap>,
}

impl SupplyDelta {
    pub fn is_empty(&self) -> bool {
        self.days.is_empty() && self.gaps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_bounds() {
        assert_eq!(latency_bucket(-5), 0);
        assert_eq!(latency_bucket(1000), 0);
        assert_eq!(latency_bucket(1001), 1);
        assert_eq!(latency_bucket(300_000), 7);
        assert_eq!(latency_bucket(86_400_001), LATENCY_BUCKETS - 1);
    }
}
