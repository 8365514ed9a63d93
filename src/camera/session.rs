//! One stream of one camera, pulled by one task and fanned out to every viewer.
//!
//! The task opens the stream when someone watches (or always, for an `always_on` camera), hands
//! each frame to a bounded broadcast channel, and closes the stream a while after the last
//! viewer left. It is the camera's watchdog too, because retina has none: opening is bounded by
//! a timeout, and no frame for `max(2 frame intervals, 2 s)` is a stall, after which the stream
//! is opened again. Failures back off (immediately, then 0.5 s doubling to a ceiling), so a dead
//! camera costs a connection attempt now and then and nothing else. Whatever a camera does, it
//! ends this task's current stream at worst, never the hub.
//!
//! The main stream's task measures the camera's health (`super::health`) and reports it as
//! readings of the camera's device, with what its keyframes show (`super::picture`: frozen,
//! dark). An on-demand camera nobody watches is probed now and then for one keyframe, so its
//! `camera_online`, `camera_frozen` and `camera_dark` stay true to the camera.
//!
//! Every stream keeps its latest keyframe for snapshots.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::health::{Meter, Reporter};
use super::model::{CameraState, CameraStatus};
use super::picture::{Inspector, PictureError, Verdict};
use super::source::{Connector, Frame, FrameSource, OpenRequest, SourceError};
use crate::timefmt::now_ms;

/// How sessions behave; [`Settings::default`] is what the hub runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The longest a camera may take to answer DESCRIBE, SETUP and PLAY.
    pub open_timeout: Duration,
    /// The shortest silence that counts as a stall (longer for a camera slower than 1 fps).
    pub min_stall: Duration,
    /// How often health is reported.
    pub health_every: Duration,
    /// How long a stream stays open after its last viewer left.
    pub linger: Duration,
    /// How often an idle on-demand camera is asked whether it answers.
    pub probe_every: Duration,
    /// The ceiling of the wait between failed attempts.
    pub backoff_max: Duration,
    /// Frames a viewer may fall behind before it is skipped ahead to the next keyframe.
    pub viewer_queue: usize,
    /// How long a picture must stay the same to be frozen.
    pub frozen_after: Duration,
    /// The shortest time between two keyframes looked at: decoding is most of a camera's cost,
    /// and a verdict a few seconds later changes nothing (`frozen_after` needs two looks
    /// anyway, and the pack's rules hold a picture verdict for 30 s).
    pub picture_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            open_timeout: Duration::from_secs(5),
            min_stall: Duration::from_secs(2),
            health_every: Duration::from_secs(10),
            linger: Duration::from_secs(15),
            probe_every: Duration::from_secs(60),
            backoff_max: Duration::from_secs(10),
            viewer_queue: 64,
            frozen_after: Duration::from_secs(8),
            picture_every: Duration::from_secs(8),
        }
    }
}

/// A stream's latest keyframe, and when it came.
#[derive(Debug, Clone)]
pub struct Keyframe {
    pub frame: Arc<Frame>,
    pub at: Instant,
    pub at_ms: i64,
}

/// How long an idle camera's probe waits for a keyframe to judge (cameras send one every 1–4 s,
/// some "smart" encoders every 10 s).
const PROBE_KEYFRAME_WAIT: Duration = Duration::from_secs(12);

/// What a stream's task shares with its viewers.
pub struct Shared {
    pub frames: broadcast::Sender<Arc<Frame>>,
    pub status: watch::Sender<CameraStatus>,
    pub keyframe: watch::Sender<Option<Keyframe>>,
    /// The JPEG of the latest keyframe a snapshot was asked of (`Cameras::snapshot`).
    pub snapshot: tokio::sync::Mutex<Option<(Arc<Frame>, bytes::Bytes)>>,
    viewers: AtomicUsize,
    wanted: Notify,
}

impl Shared {
    pub fn new(settings: &Settings) -> Arc<Self> {
        Arc::new(Self {
            frames: broadcast::channel(settings.viewer_queue.max(2)).0,
            status: watch::channel(CameraStatus::new(CameraState::Idle, now_ms())).0,
            keyframe: watch::channel(None).0,
            snapshot: tokio::sync::Mutex::new(None),
            viewers: AtomicUsize::new(0),
            wanted: Notify::new(),
        })
    }

    pub fn viewers(&self) -> usize {
        self.viewers.load(Ordering::Relaxed)
    }

    /// A viewer arrives: the stream opens if it was idle. The guard counts it until dropped.
    pub fn join(self: &Arc<Self>) -> ViewerGuard {
        self.viewers.fetch_add(1, Ordering::Relaxed);
        self.status.send_modify(|s| s.viewers += 1);
        self.wanted.notify_one();
        ViewerGuard(self.clone())
    }
}

/// Counts one viewer of a stream while it lives.
pub struct ViewerGuard(Arc<Shared>);

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Ordering::Relaxed);
        self.0
            .status
            .send_modify(|s| s.viewers = s.viewers.saturating_sub(1));
    }
}

/// The waits between failed attempts: none for the first retry (a stall or a dropped
/// connection is usually over at once), then 0.5 s doubling up to the ceiling.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self {
            next: Duration::ZERO,
            max,
        }
    }

    fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (now * 2).clamp(Duration::from_millis(500), self.max);
        now
    }

    fn reset(&mut self) {
        self.next = Duration::ZERO;
    }
}

/// Why a stream stopped.
enum Ended {
    Cancelled,
    /// Nobody watches any more.
    Unwatched,
    /// No frame for this long.
    Stalled(Duration),
    Failed(SourceError),
}

/// One stream's task.
pub struct Session {
    pub shared: Arc<Shared>,
    pub request: OpenRequest,
    pub always_on: bool,
    pub connector: Arc<dyn Connector>,
    pub settings: Settings,
    /// Health goes here (the main stream only).
    pub reporter: Option<Reporter>,
    /// Looks at keyframes for a frozen or dark picture (the main stream only).
    pub inspector: Option<Inspector>,
    pub cancel: CancellationToken,
}

impl Session {
    pub async fn run(mut self) {
        let mut backoff = Backoff::new(self.settings.backoff_max);
        let mut meter = Meter::new(Instant::now());
        let mut epoch: u32 = 0;
        loop {
            if !self.wanted() && !self.idle(&mut meter).await {
                return;
            }
            // a retry keeps showing why the camera is offline or stalled
            if self.shared.status.borrow().state == CameraState::Idle {
                self.set_state(CameraState::Connecting, None);
            }
            let opened = tokio::select! {
                _ = self.cancel.cancelled() => return,
                r = self.open() => r,
            };
            let ended = match opened {
                Err(e) => Ended::Failed(e),
                Ok(source) => {
                    if epoch > 0 {
                        meter.reconnected();
                        self.publish_rates(&meter);
                    }
                    epoch = epoch.wrapping_add(1);
                    crate::metrics::camera_streams_open(1.0);
                    let ended = self.stream(source, epoch, &mut meter, &mut backoff).await;
                    crate::metrics::camera_streams_open(-1.0);
                    // a keyframe of this stream still being decoded is no verdict on the next
                    if let Some(inspector) = &mut self.inspector {
                        inspector.discard();
                    }
                    ended
                }
            };
            match ended {
                Ended::Cancelled => return,
                Ended::Unwatched => continue,
                Ended::Stalled(silence) => {
                    meter.stalled();
                    self.set_picture(&mut meter, None);
                    self.publish_rates(&meter);
                    let silence = (silence.as_secs_f64() * 10.0).round() / 10.0;
                    self.set_state(
                        CameraState::Stalled,
                        Some(format!("no frame for {silence} s; reconnecting")),
                    );
                    self.report_state(&mut meter, false);
                }
                Ended::Failed(e) => {
                    tracing::warn!(camera = %self.request.url, error = %e, "camera stream failed");
                    self.set_state(CameraState::Offline, Some(e.to_string()));
                    self.set_picture(&mut meter, None);
                    self.report_state(&mut meter, false);
                }
            }
            let wait = backoff.step();
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = self.sleep_reporting(wait, &mut meter) => {}
            }
        }
    }

    /// Opens the stream, within the open timeout.
    async fn open(&self) -> Result<Box<dyn FrameSource>, SourceError> {
        let limit = self.settings.open_timeout;
        match timeout(limit, self.connector.open(&self.request)).await {
            Ok(opened) => opened,
            Err(_) => Err(SourceError::Unreachable(format!(
                "no answer within {} s",
                limit.as_secs_f64()
            ))),
        }
    }

    fn wanted(&self) -> bool {
        self.always_on || self.shared.viewers() > 0
    }

    fn set_state(&self, state: CameraState, error: Option<String>) {
        self.shared.status.send_if_modified(|s| {
            let changed = s.state != state || s.error != error;
            if s.state != state {
                s.since = now_ms();
            }
            s.state = state;
            s.error = error;
            changed
        });
    }

    /// Reports health now when `online` changed, so an outage shows at once, not at the next
    /// interval.
    fn report_state(&mut self, meter: &mut Meter, online: bool) {
        if meter.set_online(online) {
            self.report(meter);
        }
    }

    fn report(&self, meter: &mut Meter) {
        if let Some(r) = &self.reporter {
            r.report(meter.take(Instant::now()));
        }
    }

    /// Takes what a keyframe showed (none: not known, as while offline); a change is reported
    /// at once, like an outage.
    fn set_picture(&self, meter: &mut Meter, picture: Option<Verdict>) {
        self.shared.status.send_if_modified(|s| {
            let next = (picture.map(|p| p.frozen), picture.map(|p| p.dark));
            let changed = (s.frozen, s.dark) != next;
            (s.frozen, s.dark) = next;
            changed
        });
        if meter.set_picture(picture)
            && let (Some(v), Some(r)) = (picture, &self.reporter)
        {
            r.report_picture(v);
            meter.picture_reported();
        }
    }

    fn judged(&self, meter: &mut Meter, verdict: Result<Verdict, PictureError>) {
        match verdict {
            Ok(v) => self.set_picture(meter, Some(v)),
            Err(e) => {
                crate::metrics::camera_picture_error();
                tracing::debug!(camera = %self.request.url, error = %e, "keyframe not judged");
            }
        }
    }

    /// Keeps a keyframe for snapshots and hands it to the inspector.
    fn keyframe(&mut self, frame: &Arc<Frame>) {
        self.shared.keyframe.send_replace(Some(Keyframe {
            frame: frame.clone(),
            at: Instant::now(),
            at_ms: now_ms(),
        }));
        if let Some(inspector) = &mut self.inspector {
            inspector.offer(frame);
        }
    }

    /// Waits, still reporting health on time (an offline camera keeps saying so).
    async fn sleep_reporting(&self, wait: Duration, meter: &mut Meter) {
        let until = Instant::now() + wait;
        loop {
            let next_report = meter.due(self.settings.health_every);
            if self.reporter.is_none() || next_report >= until {
                sleep_until(until).await;
                return;
            }
            sleep_until(next_report).await;
            self.report(meter);
        }
    }

    /// Nobody watches: probe now and then (the main stream) until a viewer comes. False when
    /// cancelled.
    async fn idle(&mut self, meter: &mut Meter) -> bool {
        self.set_state(CameraState::Idle, None);
        let mut next_probe = Instant::now();
        loop {
            let probing = self.reporter.is_some();
            tokio::select! {
                _ = self.cancel.cancelled() => return false,
                _ = self.shared.wanted.notified() => {}
                _ = sleep_until(next_probe), if probing => {
                    let cancel = self.cancel.clone();
                    let probed = tokio::select! {
                        _ = cancel.cancelled() => return false,
                        r = self.probe(meter) => r,
                    };
                    let error = probed.err().map(|e| e.to_string());
                    let online = error.is_none();
                    self.shared.status.send_modify(|s| s.error = error);
                    meter.set_online(online);
                    if !online {
                        self.set_picture(meter, None);
                    }
                    self.report(meter);
                    next_probe = Instant::now() + self.settings.probe_every;
                }
            }
            if self.wanted() {
                return true;
            }
        }
    }

    /// Opens the stream (a camera that opens is online), then waits a while for one keyframe
    /// to judge and keep for snapshots: a camera whose keyframes are further apart than that is
    /// online all the same, only not judged this time.
    async fn probe(&mut self, meter: &mut Meter) -> Result<(), SourceError> {
        let mut source = self.open().await?;
        let keyframe = timeout(PROBE_KEYFRAME_WAIT, async {
            loop {
                match source.next_frame().await {
                    Ok(frame) if frame.keyframe => return Some(Arc::new(frame)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
        });
        let Ok(Some(frame)) = keyframe.await else {
            return Ok(());
        };
        drop(source);
        self.keyframe(&frame);
        if let Some(inspector) = self.inspector.as_mut().filter(|i| i.judging()) {
            let verdict = inspector.verdict().await;
            self.judged(meter, verdict);
        }
        Ok(())
    }

    /// Pulls frames until the stream ends, stalls, or nobody watches any more.
    async fn stream(
        &mut self,
        mut source: Box<dyn FrameSource>,
        epoch: u32,
        meter: &mut Meter,
        backoff: &mut Backoff,
    ) -> Ended {
        let mut stall_after = self.settings.min_stall;
        let mut last_frame = Instant::now();
        let mut unwatched_since: Option<Instant> = None;
        let mut first = true;
        loop {
            let report_at = meter.due(self.settings.health_every);
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Ended::Cancelled,
                _ = sleep_until(last_frame + stall_after) => return Ended::Stalled(stall_after),
                _ = sleep_until(report_at), if self.reporter.is_some() => self.report(meter),
                verdict = judge(&mut self.inspector) => self.judged(meter, verdict),
                frame = source.next_frame() => {
                    let mut frame = match frame {
                        Ok(f) => f,
                        Err(e) => return Ended::Failed(e),
                    };
                    frame.epoch = epoch;
                    last_frame = Instant::now();
                    if first {
                        first = false;
                        backoff.reset();
                        self.online(&frame);
                        self.report_state(meter, true);
                    }
                    stall_after = meter.frame(&frame, last_frame).mul_f64(2.0).max(self.settings.min_stall);
                    let frame = Arc::new(frame);
                    if frame.keyframe {
                        self.keyframe(&frame);
                    }
                    // no receiver is not an error: an always_on camera may have no viewer
                    let _ = self.shared.frames.send(frame);
                }
            }
            self.publish_rates(meter);
            if self.wanted() {
                unwatched_since = None;
            } else {
                let since = *unwatched_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.settings.linger {
                    return Ended::Unwatched;
                }
            }
        }
    }

    fn online(&self, frame: &Frame) {
        self.shared.status.send_modify(|s| {
            if s.state != CameraState::Online {
                s.since = now_ms();
            }
            s.state = CameraState::Online;
            s.error = None;
            s.codec = Some(frame.params.codec.clone());
            s.width = Some(frame.params.width);
            s.height = Some(frame.params.height);
        });
    }

    fn publish_rates(&self, meter: &Meter) {
        let (fps, kbps, reconnects, stalls) = meter.rates();
        self.shared.status.send_if_modified(|s| {
            let next = (fps, kbps, reconnects, stalls);
            let changed = (s.fps, s.kbps, s.reconnects, s.stalls) != next;
            (s.fps, s.kbps, s.reconnects, s.stalls) = next;
            changed
        });
    }
}

/// The verdict on the keyframe being judged; pending while there is none.
async fn judge(inspector: &mut Option<Inspector>) -> Result<Verdict, PictureError> {
    match inspector {
        Some(i) => i.verdict().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
