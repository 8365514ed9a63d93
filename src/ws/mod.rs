//! Live push over `GET /ws`: the feed the shards and the alert manager publish into, the device
//! directory used by `bbox` filters, and one pump per client.
//!
//! Bounds: the feed is a pair of bounded broadcast rings (telemetry, alerts); each client has a
//! bounded outgoing queue. A slow client gets its telemetry conflated to the latest value per
//! series plus a `lagged` notice; alerts are never conflated — they wait in a bounded per-client
//! queue, and a client too slow even for alerts is disconnected (it reconnects and re-reads open
//! alerts from the API). Publishing never waits on a client, so no client slows ingest.

pub mod client;
pub mod filter;
pub mod video;

use std::sync::Arc;

use iochub_devices::Reading;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::alerts::Alert;
use crate::pipeline::LiveSink;
pub use crate::pipeline::directory::{Directory, Positions};

/// Telemetry and status events, in the order shards produced them.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    Readings(Arc<Vec<Reading>>),
    Status {
        device: Arc<str>,
        online: bool,
        ts_ms: i64,
    },
    /// A device got (or moved to) a position: how a map learns of a new device.
    Position {
        device: Arc<str>,
        lon: f64,
        lat: f64,
    },
}

/// The publishing side of the live feed; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed {
    events: broadcast::Sender<LiveEvent>,
    alerts: broadcast::Sender<Arc<Alert>>,
    pub directory: Arc<Directory>,
}

impl LiveFeed {
    pub fn new(directory: Arc<Directory>) -> Self {
        Self {
            events: broadcast::channel(4096).0,
            alerts: broadcast::channel(16384).0,
            directory,
        }
    }

    /// Positions committed in a batch: updates the directory, then tells the clients of each
    /// device that now has both coordinates.
    pub fn located(&self, changes: &[(String, Option<f64>, Option<f64>)]) {
        if changes.is_empty() {
            return;
        }
        self.directory.locate(changes);
        if self.events.receiver_count() == 0 {
            return;
        }
        let positions = self.directory.snapshot();
        for (device, _, _) in changes {
            if let Some(&(lon, lat)) = positions.get(device) {
                let _ = self.events.send(LiveEvent::Position {
                    device: device.as_str().into(),
                    lon,
                    lat,
                });
            }
        }
    }

    pub fn alert(&self, alert: Alert) {
        let _ = self.alerts.send(Arc::new(alert));
    }

    pub fn subscribe(
        &self,
    ) -> (
        broadcast::Receiver<LiveEvent>,
        broadcast::Receiver<Arc<Alert>>,
    ) {
        (self.events.subscribe(), self.alerts.subscribe())
    }
}

/// What the shards publish: free when nobody listens.
impl LiveSink for LiveFeed {
    fn readings(&self, readings: &Arc<Vec<Reading>>) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(LiveEvent::Readings(readings.clone()));
        }
    }

    fn status(&self, device: &str, online: bool, ts_ms: i64) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(LiveEvent::Status {
                device: device.into(),
                online,
                ts_ms,
            });
        }
    }
}

/// `{"type":"telemetry",...}`
#[derive(Serialize)]
pub struct TelemetryFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub device: &'a str,
    pub metric: &'a str,
    pub ts: i64,
    pub value: f64,
}

/// `{"type":"alert",...}`: the stored alert plus `ts` (epoch ms of its last change).
#[derive(Serialize)]
pub struct AlertFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub alert: &'a Alert,
    pub ts: i64,
}

/// `{"type":"position",...}`: a device's new position (on the `devices` topic).
#[derive(Serialize)]
pub struct PositionFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub device: &'a str,
    pub lon: f64,
    pub lat: f64,
}

/// `{"type":"device",...}`: an online/offline change.
#[derive(Serialize)]
pub struct DeviceFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub device: &'a str,
    pub online: bool,
    pub ts: i64,
}
