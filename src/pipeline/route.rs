//! The edge between ingest and the shards: work goes to a shard by a hash of the device key, so
//! one device always lands on one shard (the single owner of its rule state).

use iochub_devices::Reading;
use tokio::sync::mpsc;

use super::{ShardInput, Ticket, Work};

#[derive(Clone)]
pub struct Router {
    shards: Vec<mpsc::Sender<ShardInput>>,
}

/// FNV-1a: stable across runs and platforms, so placement is reproducible.
fn hash(device: &str) -> u64 {
    device.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Router {
    pub fn new(shards: Vec<mpsc::Sender<ShardInput>>) -> Self {
        assert!(!shards.is_empty(), "at least one shard");
        Self { shards }
    }

    pub fn shard_of(&self, device: &str) -> usize {
        (hash(device) % self.shards.len() as u64) as usize
    }

    /// Splits a message's readings per shard; the common single-device message stays one part.
    pub fn split(&self, readings: Vec<Reading>) -> Vec<(usize, Vec<Reading>)> {
        let Some(first) = readings.first() else {
            return Vec::new();
        };
        let s0 = self.shard_of(&first.device);
        if readings
            .iter()
            .all(|r| r.device == first.device || self.shard_of(&r.device) == s0)
        {
            return vec![(s0, readings)];
        }
        let mut parts: Vec<(usize, Vec<Reading>)> = Vec::new();
        for r in readings {
            let s = self.shard_of(&r.device);
            match parts.iter_mut().find(|(i, _)| *i == s) {
                Some((_, v)) => v.push(r),
                None => parts.push((s, vec![r])),
            }
        }
        parts
    }

    /// Queues work on a shard, waiting while its queue is full (backpressure to ingest).
    pub async fn send(&self, shard: usize, ticket: Option<Ticket>, work: Work) -> Result<(), ()> {
        self.shards[shard]
            .send(ShardInput { ticket, work })
            .await
            .map_err(|_| ())
    }

    /// Queues work on a shard without waiting; false when its queue is full (or it stopped).
    pub fn try_send(&self, shard: usize, work: Work) -> bool {
        self.shards[shard]
            .try_send(ShardInput { ticket: None, work })
            .is_ok()
    }

    /// Tells every shard the time, without waiting: a shard whose queue is full skips this tick
    /// and sees the next.
    pub fn tick(&self, now_ms: i64) {
        for shard in &self.shards {
            let _ = shard.try_send(ShardInput {
                ticket: None,
                work: Work::Tick { now_ms },
            });
        }
    }

    pub fn queue_depths(&self) -> Vec<usize> {
        self.shards
            .iter()
            .map(|s| s.max_capacity() - s.capacity())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(device: &str) -> Reading {
        Reading {
            device: device.into(),
            metric: "m".into(),
            ts_ms: 0,
            value: 0.0,
        }
    }

    #[test]
    fn split_keeps_each_device_on_one_shard() {
        let senders: Vec<_> = (0..4).map(|_| mpsc::channel(1).0).collect();
        let router = Router::new(senders);
        let devices: Vec<String> = (0..40).map(|i| format!("dev-{i}")).collect();
        let readings: Vec<_> = devices.iter().map(|d| r(d)).collect();
        let parts = router.split(readings);
        assert!(parts.len() > 1, "40 devices spread over 4 shards");
        assert_eq!(parts.iter().map(|(_, v)| v.len()).sum::<usize>(), 40);
        for (s, v) in &parts {
            assert!(v.iter().all(|r| router.shard_of(&r.device) == *s));
        }
        assert_eq!(router.split(vec![r("a"), r("a")]).len(), 1);
    }
}
