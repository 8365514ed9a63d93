//! The session against a camera made up in the test: frames pushed through a channel, opens
//! that succeed, fail or hang as the test says. Time is tokio's paused clock, so a 2 s stall
//! takes no time and happens exactly when the clock says.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use async_trait::async_trait;
use bytes::Bytes;
use iochub_devices::Reading;
use tokio::sync::mpsc;

use super::*;
use openh264::encoder::Encoder;
use openh264::formats::YUVBuffer;

use crate::camera::model::Transport;
use crate::camera::picture;
use crate::camera::source::VideoParams;
use crate::camera::testing::{black, keyframe, scene};
use crate::pipeline::{Router, ShardInput, Work};
use tokio::time::sleep;

/// What the next open does.
enum Open {
    Refuse(SourceError),
    Hang,
    Stream(mpsc::Receiver<Result<Frame, SourceError>>),
}

#[derive(Default)]
struct FakeCamera {
    script: Mutex<VecDeque<Open>>,
    opens: AtomicUsize,
}

#[async_trait]
impl Connector for Arc<FakeCamera> {
    async fn open(&self, _: &OpenRequest) -> Result<Box<dyn FrameSource>, SourceError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        let next = self.script.lock().unwrap().pop_front();
        match next {
            Some(Open::Refuse(e)) => Err(e),
            Some(Open::Stream(rx)) => Ok(Box::new(FakeStream(rx))),
            Some(Open::Hang) => std::future::pending().await,
            None => Err(SourceError::Unreachable("connection refused".into())),
        }
    }
}

struct FakeStream(mpsc::Receiver<Result<Frame, SourceError>>);

#[async_trait]
impl FrameSource for FakeStream {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        match self.0.recv().await {
            Some(r) => r,
            // the test dropped the sender: a camera that stops sending without closing
            None => std::future::pending().await,
        }
    }
}

fn params() -> Arc<VideoParams> {
    Arc::new(VideoParams {
        codec: "avc1.42C01E".into(),
        sample_entry: Bytes::new(),
        extra_data: Bytes::new(),
        width: 320,
        height: 240,
        clock_rate: 90_000,
        frame_rate: None,
    })
}

fn frame(n: i64, params: &Arc<VideoParams>) -> Frame {
    Frame {
        timestamp: n * 3600,
        keyframe: n % 25 == 0,
        data: Bytes::from(vec![0u8; 1000]),
        params: params.clone(),
        lost_packets: 0,
        epoch: 0,
    }
}

struct Rig {
    camera: Arc<FakeCamera>,
    shared: Arc<Shared>,
    inputs: mpsc::Receiver<ShardInput>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn settings() -> Settings {
    Settings {
        health_every: Duration::from_secs(10),
        ..Settings::default()
    }
}

fn rig(script: Vec<Open>, always_on: bool) -> Rig {
    rig_with(script, always_on, None)
}

fn rig_with(script: Vec<Open>, always_on: bool, inspector: Option<Inspector>) -> Rig {
    let camera = Arc::new(FakeCamera {
        script: Mutex::new(script.into()),
        opens: AtomicUsize::new(0),
    });
    let (tx, inputs) = mpsc::channel(1000);
    let settings = settings();
    let shared = Shared::new(&settings);
    let cancel = CancellationToken::new();
    let session = Session {
        shared: shared.clone(),
        request: OpenRequest {
            url: "rtsp://cam/main".into(),
            credentials: None,
            transport: Transport::Tcp,
        },
        always_on,
        connector: Arc::new(camera.clone()),
        settings,
        reporter: Some(Reporter {
            device: "cam-1".into(),
            router: Router::new(vec![tx]),
        }),
        inspector,
        cancel: cancel.clone(),
    };
    let task = tokio::spawn(session.run());
    Rig {
        camera,
        shared,
        inputs,
        cancel,
        task,
    }
}

impl Rig {
    /// Every reading reported so far, and the online statuses.
    fn drain(&mut self) -> (Vec<Reading>, Vec<bool>) {
        let (mut readings, mut statuses) = (Vec::new(), Vec::new());
        while let Ok(input) = self.inputs.try_recv() {
            match input.work {
                Work::Readings(r) => readings.extend(r),
                Work::Status { online, .. } => statuses.push(online),
                other => panic!("unexpected work {other:?}"),
            }
        }
        (readings, statuses)
    }

    fn state(&self) -> CameraState {
        self.shared.status.borrow().state
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap();
    }
}

fn values(readings: &[Reading], metric: &str) -> Vec<f64> {
    readings
        .iter()
        .filter(|r| r.metric == metric)
        .map(|r| r.value)
        .collect()
}

/// Sends `n` frames 40 ms apart, from frame number `from`.
async fn send_frames(tx: &mpsc::Sender<Result<Frame, SourceError>>, from: i64, n: i64) {
    let p = params();
    for i in from..from + n {
        if tx.send(Ok(frame(i, &p))).await.is_err() {
            return; // the session dropped the stream
        }
        sleep(Duration::from_millis(40)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_camera_is_a_stall_after_two_seconds_and_is_reopened() {
    let (tx1, rx1) = mpsc::channel(100);
    let (tx2, rx2) = mpsc::channel(100);
    let mut rig = rig(vec![Open::Stream(rx1), Open::Stream(rx2)], true);
    send_frames(&tx1, 0, 50).await; // 2 s of video
    assert_eq!(rig.state(), CameraState::Online);
    let (_, statuses) = rig.drain();
    assert_eq!(statuses, [true], "online is reported at the first frame");

    // the camera goes quiet but keeps the connection (SIGSTOP)
    let quiet = Instant::now();
    sleep(Duration::from_millis(1900)).await;
    assert_eq!(
        rig.state(),
        CameraState::Online,
        "1.9 s of silence is not a stall yet"
    );
    assert_eq!(rig.camera.opens.load(Ordering::SeqCst), 1);
    let mut status = rig.shared.status.subscribe();
    status
        .wait_for(|s| s.state != CameraState::Online)
        .await
        .unwrap();
    // the stall is noticed 2 s after the last frame, which came 40 ms before `quiet`
    assert!(quiet.elapsed() <= Duration::from_secs(2));
    let (readings, statuses) = rig.drain();
    assert_eq!(statuses, [false]);
    assert_eq!(values(&readings, "camera_online"), [0.0]);
    assert_eq!(values(&readings, "camera_stalls"), [1.0]);

    // reopened at once; frames flow again
    send_frames(&tx2, 50, 10).await;
    assert_eq!(rig.camera.opens.load(Ordering::SeqCst), 2);
    assert_eq!(rig.state(), CameraState::Online);
    let s = rig.shared.status.borrow().clone();
    assert_eq!((s.reconnects, s.stalls), (1, 1));
    let (_, statuses) = rig.drain();
    assert_eq!(statuses, [true]);
    drop(tx1);
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_killed_camera_is_offline_at_once_and_backs_off_until_it_returns() {
    let (tx1, rx1) = mpsc::channel(100);
    let (tx2, rx2) = mpsc::channel(100);
    let refused = || Open::Refuse(SourceError::Unreachable("connection refused".into()));
    let mut rig = rig(
        vec![
            Open::Stream(rx1),
            refused(),
            refused(),
            refused(),
            refused(),
            Open::Stream(rx2),
        ],
        true,
    );
    send_frames(&tx1, 0, 25).await;
    let (_, statuses) = rig.drain();
    assert_eq!(statuses, [true]);

    // killed: the connection closes, and the camera refuses the retry made at once
    let killed = Instant::now();
    tx1.send(Err(SourceError::Ended)).await.unwrap();
    let mut status = rig.shared.status.subscribe();
    status
        .wait_for(|s| {
            s.state == CameraState::Offline && rig.camera.opens.load(Ordering::SeqCst) == 2
        })
        .await
        .unwrap();
    assert!(
        killed.elapsed() < Duration::from_millis(10),
        "offline at once"
    );
    let (readings, statuses) = rig.drain();
    assert_eq!(statuses, [false]);
    assert_eq!(values(&readings, "camera_online"), [0.0]);
    assert!(
        status
            .borrow()
            .error
            .as_deref()
            .unwrap()
            .contains("connection refused"),
        "{:?}",
        status.borrow()
    );

    // retries after 0.5, 1 and 2 s more are refused; the one 4 s later finds it back
    while rig.camera.opens.load(Ordering::SeqCst) < 6 {
        sleep(Duration::from_millis(10)).await;
    }
    let back = killed.elapsed();
    assert!(
        back >= Duration::from_millis(7500) && back < Duration::from_millis(7600),
        "{back:?}"
    );
    assert_eq!(rig.state(), CameraState::Offline, "until the first frame");
    send_frames(&tx2, 0, 75).await;
    assert_eq!(rig.state(), CameraState::Online);
    let (readings, statuses) = rig.drain();
    assert_eq!(statuses, [true]);
    assert!(values(&readings, "camera_online").contains(&1.0));
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_camera_that_does_not_answer_times_out() {
    let rig = rig(vec![Open::Hang, Open::Hang], true);
    let mut status = rig.shared.status.subscribe();
    let start = Instant::now();
    status
        .wait_for(|s| s.state == CameraState::Offline)
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(
        status
            .borrow()
            .error
            .as_deref()
            .unwrap()
            .contains("no answer within 5 s"),
        "{:?}",
        status.borrow()
    );
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_on_demand_camera_opens_for_a_viewer_and_closes_after_the_last_leaves() {
    let (tx, rx) = mpsc::channel(100);
    // the idle camera is probed first (one open, until a keyframe), then watched (a second)
    let (probe_tx, probe_rx) = mpsc::channel(1);
    probe_tx.send(Ok(frame(0, &params()))).await.unwrap();
    let mut rig = rig(vec![Open::Stream(probe_rx), Open::Stream(rx)], false);
    sleep(Duration::from_millis(10)).await;
    assert!(rig.shared.keyframe.borrow().is_some(), "kept for snapshots");
    assert_eq!(rig.camera.opens.load(Ordering::SeqCst), 1, "probed once");
    assert_eq!(rig.state(), CameraState::Idle);
    let (readings, statuses) = rig.drain();
    assert_eq!(values(&readings, "camera_online"), [1.0]);
    assert_eq!(statuses, [true]);
    drop(probe_tx);

    let mut frames = rig.shared.frames.subscribe();
    let viewer = rig.shared.join();
    assert_eq!(rig.shared.status.borrow().viewers, 1);
    send_frames(&tx, 0, 25).await;
    assert_eq!(rig.camera.opens.load(Ordering::SeqCst), 2);
    assert_eq!(rig.state(), CameraState::Online);
    assert_eq!(frames.recv().await.unwrap().timestamp, 0);

    drop(viewer);
    assert_eq!(rig.shared.status.borrow().viewers, 0);
    // frames keep coming for the linger time, then the stream closes
    send_frames(&tx, 25, 25 * 14).await;
    assert_eq!(rig.state(), CameraState::Online, "14 s: still lingering");
    send_frames(&tx, 25 * 15, 50).await;
    assert_eq!(rig.state(), CameraState::Idle);
    assert!(tx.is_closed(), "the stream was dropped");
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn health_is_measured_over_each_interval() {
    let (tx, rx) = mpsc::channel(100);
    let mut rig = rig(vec![Open::Stream(rx)], true);
    let p = params();
    // 10 s at 25 fps, 1000 bytes a frame, a keyframe each second, 3 packets lost on the way
    for i in 0..250 {
        let mut f = frame(i, &p);
        if i == 100 {
            f.lost_packets = 3;
        }
        tx.send(Ok(f)).await.unwrap();
        sleep(Duration::from_millis(40)).await;
    }
    sleep(Duration::from_millis(100)).await;
    let (readings, _) = rig.drain();
    // one report at the first frame (online), one 10 s after the session began
    let fps = values(&readings, "camera_fps");
    assert_eq!(fps.len(), 2, "{readings:?}");
    assert!((fps[1] - 25.0).abs() < 0.2, "{fps:?}");
    let kbps = values(&readings, "camera_kbps");
    assert!(
        (kbps[1] - 200.0).abs() < 2.0,
        "1000 B × 25/s = 200 kbit/s: {kbps:?}"
    );
    assert_eq!(values(&readings, "camera_lost_packets"), [0.0, 3.0]);
    // none before the first keyframe; then the one at 9.0 s, 1 s before the report
    let age = values(&readings, "camera_keyframe_age_s");
    assert_eq!(age.len(), 1, "{age:?}");
    assert!((age[0] - 1.0).abs() < 0.05, "{age:?}");
    assert_eq!(values(&readings, "camera_reconnects"), [0.0, 0.0]);
    rig.stop().await;
}

#[test]
fn backoff_retries_at_once_then_doubles_to_its_ceiling() {
    let mut b = Backoff::new(Duration::from_secs(4));
    let steps: Vec<u64> = (0..6).map(|_| b.step().as_millis() as u64).collect();
    assert_eq!(steps, [0, 500, 1000, 2000, 4000, 4000]);
    b.reset();
    assert_eq!(b.step(), Duration::ZERO);
}

/// The `n`th keyframe of a 1 fps stream of real H.264 pictures.
fn picture_frame(encoder: &mut Encoder, picture: &YUVBuffer, n: i64) -> Result<Frame, SourceError> {
    let frame = keyframe(encoder, picture);
    Ok(Frame {
        timestamp: n * 90_000,
        ..(*frame).clone()
    })
}

#[tokio::test(start_paused = true)]
async fn a_dark_picture_is_reported_at_once_and_a_frozen_one_after_eight_seconds() {
    let (tx, rx) = mpsc::channel(100);
    // every keyframe looked at (a keyframe a second here)
    let every = Duration::from_secs(1);
    let inspector = Inspector::new(picture::slots(), Duration::from_secs(8), every);
    let mut rig = rig_with(vec![Open::Stream(rx)], true, Some(inspector));
    let mut status = rig.shared.status.subscribe();
    let mut encoder = Encoder::new().unwrap();
    let mut n = 0;
    let mut send = async |picture: &YUVBuffer| {
        tx.send(picture_frame(&mut encoder, picture, n))
            .await
            .unwrap();
        n += 1;
    };

    // a live scene: every keyframe codes the sensor's noise anew
    for seed in 0..3 {
        send(&scene(seed)).await;
        sleep(Duration::from_secs(1)).await;
    }
    let s = status.borrow_and_update().clone();
    assert_eq!((s.frozen, s.dark), (Some(false), Some(false)));
    assert_eq!(values(&rig.drain().0, "camera_dark"), [0.0]);

    // the lens is covered: reported at once, not at the next 10 s report
    send(&black()).await;
    status.wait_for(|s| s.dark == Some(true)).await.unwrap();
    let (readings, _) = rig.drain();
    assert_eq!(values(&readings, "camera_dark"), [1.0]);
    assert_eq!(
        values(&readings, "camera_frozen"),
        [0.0],
        "dark is not also frozen"
    );
    sleep(Duration::from_secs(1)).await;

    // the picture freezes: the same one, keyframe after keyframe
    let still = scene(9);
    let froze = Instant::now();
    while status.borrow().frozen != Some(true) {
        assert!(
            froze.elapsed() < Duration::from_secs(12),
            "not frozen after 12 s"
        );
        send(&still).await;
        sleep(Duration::from_secs(1)).await;
    }
    assert!(
        froze.elapsed() >= Duration::from_secs(8),
        "frozen after {:?}",
        froze.elapsed()
    );
    let (readings, _) = rig.drain();
    assert_eq!(values(&readings, "camera_frozen").last(), Some(&1.0));
    assert_eq!(values(&readings, "camera_dark").last(), Some(&0.0));
    assert_eq!(
        rig.state(),
        CameraState::Online,
        "a frozen camera still delivers"
    );
    drop(tx);
    rig.stop().await;
}
