//! A camera's health, measured on its main stream and reported as readings of its device
//! (`camera_online`, `camera_fps`, ...: docs/CONTRACT.md), so that the rules, alerts, handling
//! and reports that serve sensors serve cameras as they are.
//!
//! Counts (`camera_lost_packets`, `camera_reconnects`, `camera_stalls`) are per report: what
//! happened since the previous one, so a window rule sums them over any span it likes.

use std::time::Duration;

use iochub_devices::Reading;
use tokio::time::Instant;

use super::picture::Verdict;
use super::source::Frame;
use crate::pipeline::{Router, Work};
use crate::timefmt::now_ms;

/// One report.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub online: bool,
    /// `online` differs from the previous report's.
    pub online_changed: bool,
    pub fps: f64,
    pub kbps: f64,
    pub lost_packets: u64,
    /// Seconds since the last keyframe; none before the first.
    pub keyframe_age_s: Option<f64>,
    pub reconnects: u64,
    pub stalls: u64,
    /// The latest keyframe's verdict; none before the first or while the camera is offline.
    pub picture: Option<Verdict>,
}

impl Health {
    pub fn readings(&self, device: &str, ts_ms: i64) -> Vec<Reading> {
        let reading = |metric: &str, value: f64| Reading {
            device: device.to_owned(),
            metric: metric.to_owned(),
            ts_ms,
            value,
        };
        let mut out = vec![
            reading("camera_online", f64::from(u8::from(self.online))),
            reading("camera_fps", round(self.fps, 100.0)),
            reading("camera_kbps", round(self.kbps, 10.0)),
            reading("camera_lost_packets", self.lost_packets as f64),
            reading("camera_reconnects", self.reconnects as f64),
            reading("camera_stalls", self.stalls as f64),
        ];
        if let Some(age) = self.keyframe_age_s {
            out.push(reading("camera_keyframe_age_s", round(age, 10.0)));
        }
        if let Some(p) = self.picture {
            out.extend(picture_readings(p, device, ts_ms));
        }
        out
    }
}

fn picture_readings(p: Verdict, device: &str, ts_ms: i64) -> [Reading; 2] {
    let reading = |metric: &str, value: bool| Reading {
        device: device.to_owned(),
        metric: metric.to_owned(),
        ts_ms,
        value: f64::from(u8::from(value)),
    };
    [
        reading("camera_frozen", p.frozen),
        reading("camera_dark", p.dark),
    ]
}

fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// What a stream did since the last report.
#[derive(Debug)]
pub struct Meter {
    since: Instant,
    frames: u64,
    bytes: u64,
    lost: u64,
    reconnects: u64,
    stalls: u64,
    total_reconnects: u64,
    total_stalls: u64,
    last_keyframe: Option<Instant>,
    /// The previous frame's RTP timestamp, for the spacing of frames.
    last_timestamp: Option<i64>,
    online: Option<bool>,
    reported_online: Option<bool>,
    picture: Option<Verdict>,
    reported_picture: Option<Verdict>,
    rates: (Option<f64>, Option<f64>),
}

impl Meter {
    pub fn new(now: Instant) -> Self {
        Self {
            since: now,
            frames: 0,
            bytes: 0,
            lost: 0,
            reconnects: 0,
            stalls: 0,
            total_reconnects: 0,
            total_stalls: 0,
            last_keyframe: None,
            last_timestamp: None,
            online: None,
            reported_online: None,
            picture: None,
            reported_picture: None,
            rates: (None, None),
        }
    }

    /// Counts a frame; returns how far apart the stream's frames are: the longer of the
    /// declared spacing (the SPS gives a *maximum* rate) and the last two timestamps' (a camera
    /// may slow down, at night, below what it declares); 40 ms before either is known.
    pub fn frame(&mut self, frame: &Frame, now: Instant) -> Duration {
        self.frames += 1;
        self.bytes += frame.data.len() as u64;
        self.lost += u64::from(frame.lost_packets);
        if frame.keyframe {
            self.last_keyframe = Some(now);
        }
        let rate = f64::from(frame.params.clock_rate.max(1));
        let declared = frame
            .params
            .frame_rate
            .filter(|f| *f > 0.0)
            .map(|f| 1.0 / f);
        let measured = self
            .last_timestamp
            .filter(|prev| frame.timestamp > *prev)
            .map(|prev| (frame.timestamp - prev) as f64 / rate);
        let spacing = match (declared, measured) {
            (Some(d), Some(m)) => d.max(m),
            (Some(s), None) | (None, Some(s)) => s,
            (None, None) => 0.04,
        };
        self.last_timestamp = Some(frame.timestamp);
        Duration::from_secs_f64(spacing.clamp(0.001, 3600.0))
    }

    pub fn reconnected(&mut self) {
        self.reconnects += 1;
        self.total_reconnects += 1;
    }

    pub fn stalled(&mut self) {
        self.stalls += 1;
        self.total_stalls += 1;
    }

    /// Sets whether the camera delivers; true when that changed since the last report.
    pub fn set_online(&mut self, online: bool) -> bool {
        self.online = Some(online);
        self.reported_online != Some(online)
    }

    /// Sets what the latest keyframe showed; true when that changed since it was last
    /// reported.
    pub fn set_picture(&mut self, picture: Option<Verdict>) -> bool {
        self.picture = picture;
        self.reported_picture != picture
    }

    /// The picture was reported on its own ([`Reporter::report_picture`]).
    pub fn picture_reported(&mut self) {
        self.reported_picture = self.picture;
    }

    /// When the next report is due.
    pub fn due(&self, every: Duration) -> Instant {
        self.since + every
    }

    /// The report of the interval that ends now; starts the next one.
    pub fn take(&mut self, now: Instant) -> Health {
        let secs = now.duration_since(self.since).as_secs_f64().max(0.001);
        let online = self.online.unwrap_or(false);
        let health = Health {
            online,
            online_changed: self.reported_online != Some(online),
            fps: self.frames as f64 / secs,
            kbps: self.bytes as f64 * 8.0 / 1000.0 / secs,
            lost_packets: self.lost,
            keyframe_age_s: self
                .last_keyframe
                .map(|k| now.duration_since(k).as_secs_f64()),
            reconnects: self.reconnects,
            stalls: self.stalls,
            picture: self.picture,
        };
        self.rates = (Some(health.fps), Some(health.kbps));
        self.reported_online = Some(online);
        self.reported_picture = self.picture;
        (
            self.frames,
            self.bytes,
            self.lost,
            self.reconnects,
            self.stalls,
        ) = (0, 0, 0, 0, 0);
        self.since = now;
        health
    }

    /// For the status: fps and kbit/s of the last report, reconnects and stalls in all.
    pub fn rates(&self) -> (Option<f64>, Option<f64>, u64, u64) {
        (
            self.rates.0,
            self.rates.1,
            self.total_reconnects,
            self.total_stalls,
        )
    }
}

/// Sends a camera's health into the pipeline as its device's readings (and its online status
/// when that changed), like a device that published them.
#[derive(Clone)]
pub struct Reporter {
    pub device: String,
    pub router: Router,
}

impl Reporter {
    /// Queues the report without waiting, so that a busy pipeline never holds up the camera's
    /// frames: when the shard's queue is full the report is dropped and counted
    /// (`iochub_camera_health_dropped_total`), like a QoS 0 message the broker could not deliver.
    pub fn report(&self, health: Health) {
        let ts_ms = now_ms();
        let shard = self.router.shard_of(&self.device);
        let mut queued = true;
        if health.online_changed {
            let status = Work::Status {
                device: self.device.clone(),
                online: health.online,
                ts_ms,
            };
            queued &= self.router.try_send(shard, status);
        }
        let readings = Work::Readings(health.readings(&self.device, ts_ms));
        queued &= self.router.try_send(shard, readings);
        if !queued {
            crate::metrics::camera_health_dropped();
        }
    }

    /// Sends what the picture shows now, apart from the interval's rates (a report of a few
    /// milliseconds would make a nonsense of fps and kbit/s).
    pub fn report_picture(&self, picture: Verdict) {
        let readings = picture_readings(picture, &self.device, now_ms()).to_vec();
        let shard = self.router.shard_of(&self.device);
        if !self.router.try_send(shard, Work::Readings(readings)) {
            crate::metrics::camera_health_dropped();
        }
    }
}
