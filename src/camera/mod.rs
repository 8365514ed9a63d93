//! Cameras: ingest of video beside the MQTT ingest of readings. Each camera stream is pulled
//! once, by one task (`session`), however many browsers watch it; the task is the camera's
//! watchdog, and measures its health into readings of the camera's device (`health`), which
//! then flow through the same rules, alerts and reports as any sensor's.
//!
//! Keyframes are decoded (`picture`) for the frozen and dark checks and for snapshots
//! (`snapshot`).
//!
//! This module keeps the running sessions and nothing else: which cameras exist is the store's
//! (the app hands them over at start and the API after each edit), and what a viewer does with
//! the frames is the WebSocket's.

pub mod fmp4;
pub mod health;
pub mod model;
pub mod picture;
pub mod rtsp;
pub mod session;
pub mod snapshot;
pub mod source;
#[cfg(test)]
mod testing;
pub mod wall;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, broadcast, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::health::Reporter;
use self::model::{Camera, CameraStatus, StreamKind};
use self::picture::Inspector;
use self::session::{Session, Settings, Shared, ViewerGuard};
use self::snapshot::{Snapshot, SnapshotError};
use self::source::{Connector, Frame, OpenRequest};
use crate::pipeline::Router;

/// The running cameras.
#[derive(Clone)]
pub struct Cameras {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Arc<dyn Connector>,
    /// Where health readings go; taken when the cameras stop, so that nothing here keeps the
    /// shards alive past their turn to stop.
    router: Mutex<Option<Router>>,
    settings: Settings,
    /// Keyframes decoded at once, across all cameras (`picture::slots`).
    decoding: Arc<Semaphore>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    entries: Mutex<HashMap<String, Entry>>,
}

/// One camera: its main stream's session, and its sub-stream's once someone asked for it.
struct Entry {
    camera: Camera,
    main: Arc<Shared>,
    sub: Option<Arc<Shared>>,
    cancel: CancellationToken,
}

/// A viewer of one stream: frames as they come (a viewer that falls `viewer_queue` frames
/// behind is told how many it missed, and skips ahead), the stream's status, and a token that
/// says the stream is gone.
pub struct Viewer {
    pub frames: broadcast::Receiver<Arc<Frame>>,
    pub status: watch::Receiver<CameraStatus>,
    /// Cancelled when the camera's sessions stop (an edit that restarts them, a removal, the
    /// hub stopping): the viewer should go, and may come back.
    pub gone: CancellationToken,
    _guard: ViewerGuard,
}

impl Cameras {
    /// Sessions stop when `cancel` is cancelled; [`Cameras::stopped`] waits for them.
    pub fn new(
        connector: Arc<dyn Connector>,
        router: Router,
        settings: Settings,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connector,
                router: Mutex::new(Some(router)),
                settings,
                decoding: picture::slots(),
                cancel,
                tracker: TaskTracker::new(),
                entries: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // a panic elsewhere while holding it leaves a map that is still whole
        self.inner
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a camera or takes its edit; its sessions start over when where or how it is pulled
    /// changed (their viewers are disconnected and reconnect).
    pub fn set(&self, camera: Camera) {
        let mut entries = self.entries();
        if let Some(e) = entries.get_mut(&camera.id) {
            if !e.camera.source_differs(&camera) && e.camera.always_on == camera.always_on {
                e.camera = camera;
                return;
            }
            e.cancel.cancel();
        }
        let entry = self.start(camera);
        entries.insert(entry.camera.id.clone(), entry);
    }

    /// Stops a camera's sessions; false when there was none.
    pub fn remove(&self, id: &str) -> bool {
        match self.entries().remove(id) {
            Some(e) => {
                e.cancel.cancel();
                true
            }
            None => false,
        }
    }

    fn start(&self, camera: Camera) -> Entry {
        let cancel = self.inner.cancel.child_token();
        let main = Shared::new(&self.inner.settings);
        let router = (self.inner.router.lock())
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let reporter = router.map(|router| Reporter {
            device: camera.id.clone(),
            router,
        });
        self.spawn(&camera, StreamKind::Main, &main, reporter, &cancel);
        Entry {
            camera,
            main,
            sub: None,
            cancel,
        }
    }

    fn spawn(
        &self,
        camera: &Camera,
        kind: StreamKind,
        shared: &Arc<Shared>,
        reporter: Option<Reporter>,
        cancel: &CancellationToken,
    ) {
        let session = Session {
            shared: shared.clone(),
            request: OpenRequest {
                url: camera.stream_url(kind).to_owned(),
                credentials: camera.credentials.clone(),
                transport: camera.transport,
            },
            always_on: camera.always_on && kind == StreamKind::Main,
            connector: self.inner.connector.clone(),
            settings: self.inner.settings.clone(),
            inspector: (kind == StreamKind::Main).then(|| {
                Inspector::new(
                    self.inner.decoding.clone(),
                    self.inner.settings.frozen_after,
                    self.inner.settings.picture_every,
                )
            }),
            reporter,
            cancel: cancel.clone(),
        };
        self.inner.tracker.spawn(session.run());
    }

    /// The main stream's status.
    pub fn status(&self, id: &str) -> Option<CameraStatus> {
        let entries = self.entries();
        let e = entries.get(id)?;
        let status = e.main.status.borrow().clone();
        let sub_viewers = e.sub.as_ref().map_or(0, |s| s.viewers() as u32);
        Some(CameraStatus {
            viewers: status.viewers + sub_viewers,
            ..status
        })
    }

    /// Starts watching a stream (opening it when idle); none for an unknown camera. A camera
    /// without a sub-stream serves its main stream for `Sub`.
    pub fn watch(&self, id: &str, kind: StreamKind) -> Option<Viewer> {
        let (shared, gone) = self.stream(id, kind)?;
        // subscribe before joining, so the frames the join's opening brings are all seen
        let frames = shared.frames.subscribe();
        let status = shared.status.subscribe();
        Some(Viewer {
            frames,
            status,
            gone,
            _guard: shared.join(),
        })
    }

    /// A JPEG of the stream's latest keyframe (opening the stream when idle); none for an
    /// unknown camera.
    pub async fn snapshot(
        &self,
        id: &str,
        kind: StreamKind,
    ) -> Option<Result<Snapshot, SnapshotError>> {
        let (shared, gone) = self.stream(id, kind)?;
        let wait = self.inner.settings.open_timeout * 2;
        Some(snapshot::take(&shared, &gone, &self.inner.decoding, wait).await)
    }

    /// A stream's shared side (its session started when it is a sub-stream nobody asked for
    /// yet), and the token of the camera's sessions.
    fn stream(&self, id: &str, kind: StreamKind) -> Option<(Arc<Shared>, CancellationToken)> {
        let mut entries = self.entries();
        let e = entries.get_mut(id)?;
        let shared = match (kind, e.camera.sub_url.is_some()) {
            (StreamKind::Sub, true) => match &e.sub {
                Some(s) => s.clone(),
                None => {
                    let sub = Shared::new(&self.inner.settings);
                    self.spawn(&e.camera, StreamKind::Sub, &sub, None, &e.cancel);
                    e.sub = Some(sub.clone());
                    sub
                }
            },
            _ => e.main.clone(),
        };
        Some((shared, e.cancel.clone()))
    }

    /// Waits until every session has stopped (after the cancel token given to `new`), and lets
    /// go of the router.
    pub async fn stopped(&self) {
        // let go first: if a session outlives the wait, only its own clone stays behind
        (self.inner.router.lock())
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }
}
