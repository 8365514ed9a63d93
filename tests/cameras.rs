//! Cameras against a real RTSP server (GStreamer's, serving test patterns with digest auth): the
//! hub pulls the camera with retina, shows its status, stores its health as readings of the
//! camera's device and alerts on it through the ordinary rules; it notices a killed camera at
//! once, a silent one (SIGSTOP) within the watchdog's 2 s, and recovers by itself when the camera
//! comes back.

mod support;

use std::time::{Duration, Instant};

use iochub::accounts::Role;
use serde_json::{Value, json};
use support::camera::{PASSWORD, TestCamera};
use support::{Broker, Hub, Mosquitto, eventually};

const RULES: &str = r#"
[[rules]]
id = "camera-offline"
metric = "camera_online"
op = "<"
value = 1
severity = "warning"
category = "equipment"
"#;

async fn camera(hub: &Hub, id: &str) -> Value {
    let (status, body) = hub.get(&format!("/api/v1/cameras/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the camera's state is `state`; returns the camera.
async fn wait_state(hub: &Hub, id: &str, state: &str, within: Duration) -> Value {
    let what = format!("camera {id} {state}");
    eventually(&what, within, || async {
        let c = camera(hub, id).await;
        (c["status"]["state"] == state).then_some(c)
    })
    .await
}

async fn open_alerts(hub: &Hub, device: &str) -> Vec<String> {
    let (_, list) = hub
        .get(&format!("/api/v1/alerts?state=open&device={device}"))
        .await;
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["rule"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The camera's latest stored value of `metric`.
async fn latest(hub: &Hub, device: &str, metric: &str) -> Option<f64> {
    let now = support::now_ms();
    let r = hub
        .readings(device, metric, now - 600_000, now + 1000)
        .await;
    r.last().map(|&(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_from_the_config_is_pulled_measured_and_alerted_on() {
    let mut cam = TestCamera::start();
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[[cameras]]
id = "cam-bridge"
name = "Cầu Bằng Giang"
url = "{}"
sub_url = "rtsp://127.0.0.1:{}/sub"
lat = 22.666
lon = 106.258
always_on = true
"#,
        cam.url("main"),
        cam.port
    );
    let hub = Hub::start_serve(dir.path(), RULES, broker.url(), &config).await;

    let c = wait_state(&hub, "cam-bridge", "online", Duration::from_secs(15)).await;
    assert_eq!(c["url"], format!("rtsp://127.0.0.1:{}/main", cam.port));
    assert_eq!(c["credentials"], true);
    assert_eq!(c["name"], "Cầu Bằng Giang");
    assert_eq!(c["status"]["width"], 320);
    assert!(
        c["status"]["codec"].as_str().unwrap().starts_with("avc1."),
        "{c}"
    );
    let (_, list) = hub.get("/api/v1/cameras").await;
    assert!(
        !list.to_string().contains(PASSWORD),
        "credentials never shown"
    );
    let (_, device) = hub.get("/api/v1/devices/cam-bridge").await;
    assert_eq!(device["lat"], 22.666);

    // its health, every 10 s: 25 fps, a keyframe every second
    let fps = eventually("camera_fps stored", Duration::from_secs(25), || async {
        latest(&hub, "cam-bridge", "camera_fps")
            .await
            .filter(|v| *v > 0.0)
    })
    .await;
    assert!((20.0..=30.0).contains(&fps), "fps {fps}");
    let age = latest(&hub, "cam-bridge", "camera_keyframe_age_s")
        .await
        .unwrap();
    assert!(age <= 1.5, "keyframe age {age}");
    assert!(latest(&hub, "cam-bridge", "camera_kbps").await.unwrap() > 10.0);
    assert_eq!(latest(&hub, "cam-bridge", "camera_online").await, Some(1.0));
    assert!(open_alerts(&hub, "cam-bridge").await.is_empty());

    // killed: offline at once, stored, alerted
    cam.kill9();
    let killed = Instant::now();
    wait_state(&hub, "cam-bridge", "offline", Duration::from_secs(2)).await;
    let noticed = killed.elapsed();
    // the stream ended, and the retry made at once is refused
    eventually("the retry refused", Duration::from_secs(2), || async {
        let c = camera(&hub, "cam-bridge").await;
        let error = c["status"]["error"].as_str().unwrap_or("").to_owned();
        error.contains("does not answer").then_some(())
    })
    .await;
    let alerts = eventually("the offline alert", Duration::from_secs(5), || async {
        let a = open_alerts(&hub, "cam-bridge").await;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(alerts, ["camera-offline"]);
    // the reading commits apart from the alert
    eventually("camera_online 0 stored", Duration::from_secs(5), || async {
        (latest(&hub, "cam-bridge", "camera_online").await == Some(0.0)).then_some(())
    })
    .await;
    eprintln!("killed camera noticed after {noticed:?}");

    // back on the same port: the hub finds it by itself, and the alert clears
    cam.spawn();
    wait_state(&hub, "cam-bridge", "online", Duration::from_secs(15)).await;
    eventually("the alert cleared", Duration::from_secs(5), || async {
        open_alerts(&hub, "cam-bridge")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    let c = camera(&hub, "cam-bridge").await;
    assert!(c["status"]["reconnects"].as_u64().unwrap() >= 1, "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_camera_stalls_then_is_offline_and_returns() {
    let cam = TestCamera::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), RULES, Broker::Embedded(0)).await;
    let (status, body) = hub
        .call(
            "POST",
            "/api/v1/cameras",
            &hub.token,
            Some(
                json!({"id": "cam-pass", "url": cam.url("main"), "always_on": true,
                "name": "Đèo Mã Phục", "lat": 22.8, "lon": 106.1}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(!body.to_string().contains(PASSWORD));
    wait_state(&hub, "cam-pass", "online", Duration::from_secs(15)).await;
    let mut viewer = hub.video("cam-pass", None).await;
    let (mut last_time, sync) = next_fragment(&mut viewer).await;
    assert!(sync, "a viewer starts at a keyframe");
    for _ in 0..25 {
        last_time = next_fragment(&mut viewer).await.0;
    }

    // SIGSTOP: the connection stays open and nothing comes
    cam.pause();
    let paused = Instant::now();
    // the watchdog's 2 s after the last frame, give or take a poll on a busy machine
    let c = wait_state(&hub, "cam-pass", "stalled", Duration::from_secs(3)).await;
    eprintln!("stall noticed after {:?}", paused.elapsed());
    assert!(c["status"]["stalls"].as_u64().unwrap() >= 1, "{c}");
    // the reconnect gets no answer either
    let c = wait_state(&hub, "cam-pass", "offline", Duration::from_secs(8)).await;
    assert!(
        c["status"]["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 5 s"),
        "{c}"
    );
    assert_eq!(open_alerts(&hub, "cam-pass").await, ["camera-offline"]);

    cam.resume();
    wait_state(&hub, "cam-pass", "online", Duration::from_secs(20)).await;
    // the same viewer goes on: from a keyframe of the new session, its time still moving on
    let (time, sync) = next_fragment(&mut viewer).await;
    assert!(sync, "after a reconnect the viewer resumes at a keyframe");
    assert!(time > last_time, "{time} after {last_time}");
    let (later, _) = next_fragment(&mut viewer).await;
    assert!(later > time && later - time < 90_000, "{time} then {later}");
    eventually("the alert cleared", Duration::from_secs(5), || async {
        open_alerts(&hub, "cam-pass").await.is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_are_managed_through_the_api_and_a_wrong_password_is_named() {
    // basic auth here (the other tests' camera asks for digest)
    let cam = TestCamera::start_with(&["--auth", "basic"]);
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), RULES, Broker::Embedded(0)).await;
    let wrong = format!("rtsp://viewer:wrong@127.0.0.1:{}/main", cam.port);
    let new = json!({"id": "cam-gate", "url": wrong, "always_on": true});
    let (status, _) = hub
        .call("POST", "/api/v1/cameras", &hub.token, Some(new.clone()))
        .await;
    assert_eq!(status, 201);
    let (status, body) = hub
        .call("POST", "/api/v1/cameras", &hub.token, Some(new))
        .await;
    assert_eq!(status, 409, "{body}");
    let c = wait_state(&hub, "cam-gate", "offline", Duration::from_secs(10)).await;
    let error = c["status"]["error"].as_str().unwrap();
    assert!(error.contains("user name or password"), "{error}");
    // no snapshot either, and the answer says why at once
    let asked = Instant::now();
    let (status, body) = hub.get("/api/v1/cameras/cam-gate/snapshot.jpg").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "camera_unavailable");
    assert!(body.to_string().contains("user name or password"), "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    // bad input names its field
    for (body, field) in [
        (json!({"id": "x", "url": "http://127.0.0.1/live"}), "url"),
        (json!({"id": "a b", "url": "rtsp://127.0.0.1/live"}), "id"),
        (
            json!({"id": "x", "url": "rtsp://127.0.0.1/live", "transport": "sctp"}),
            "",
        ),
    ] {
        let (status, answer) = hub
            .call("POST", "/api/v1/cameras", &hub.token, Some(body))
            .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains(field), "{answer}");
    }

    // the right password, given apart from the URL
    let (status, body) = hub
        .call(
            "PATCH",
            "/api/v1/cameras/cam-gate",
            &hub.token,
            Some(json!({"password": PASSWORD, "name": "Cổng tỉnh"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Cổng tỉnh");
    wait_state(&hub, "cam-gate", "online", Duration::from_secs(15)).await;

    // a viewer may list but not edit
    let viewer = support::account(&hub, "watcher", Role::Viewer, json!({})).await;
    let (status, _) = hub.call("GET", "/api/v1/cameras", &viewer, None).await;
    assert_eq!(status, 200);
    let (status, _) = hub
        .call("DELETE", "/api/v1/cameras/cam-gate", &viewer, None)
        .await;
    assert_eq!(status, 403);

    let (status, _) = hub
        .call("DELETE", "/api/v1/cameras/cam-gate", &hub.token, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = hub.get("/api/v1/cameras/cam-gate").await;
    assert_eq!(status, 404);
    // the device stays, with its readings
    let (status, _) = hub.get("/api/v1/devices/cam-gate").await;
    assert_eq!(status, 200);
    let (_, audit) = hub.get("/api/v1/audit?action=camera.update").await;
    assert!(!audit.to_string().contains(PASSWORD), "{audit}");
}

/// A JPEG's size, from its baseline frame header: (width, height).
fn jpeg_size(jpeg: &[u8]) -> (u16, u16) {
    assert_eq!(&jpeg[..2], [0xff, 0xd8], "a JPEG");
    let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    let at = |i: usize| u16::from_be_bytes([jpeg[sof + i], jpeg[sof + i + 1]]);
    (at(7), at(5))
}

const PICTURE_RULES: &str = r#"
[[rules]]
id = "camera-frozen"
metric = "camera_frozen"
op = ">"
value = 0
severity = "warning"
category = "equipment"

[[rules]]
id = "camera-dark"
metric = "camera_dark"
op = ">"
value = 0
severity = "warning"
category = "equipment"
"#;

/// The camera's status once `check` holds, waiting at most `within`.
async fn wait_status(
    hub: &Hub,
    id: &str,
    what: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, within, || async {
        let c = camera(hub, id).await;
        check(&c["status"]).then_some(c)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dark_and_a_frozen_picture_are_noticed_and_a_snapshot_shows_the_camera() {
    let mut cam = TestCamera::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), PICTURE_RULES, Broker::Embedded(0)).await;
    let new = json!({"id": "cam-river", "url": cam.url("main"), "sub_url": cam.url("sub")});
    let (status, _) = hub
        .call("POST", "/api/v1/cameras", &hub.token, Some(new))
        .await;
    assert_eq!(status, 201);
    // on demand: the probe opens it for one keyframe, and judges that
    eventually("the probe's verdict", Duration::from_secs(15), || async {
        latest(&hub, "cam-river", "camera_dark").await
    })
    .await;
    assert_eq!(latest(&hub, "cam-river", "camera_dark").await, Some(0.0));
    assert_eq!(latest(&hub, "cam-river", "camera_frozen").await, Some(0.0));
    assert_eq!(camera(&hub, "cam-river").await["status"]["state"], "idle");

    // a snapshot of the idle camera opens it for its next keyframe
    let (status, kind, jpeg) = hub
        .get_bytes("/api/v1/cameras/cam-river/snapshot.jpg")
        .await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(jpeg_size(&jpeg), (320, 240));
    let (status, _, sub) = hub
        .get_bytes("/api/v1/cameras/cam-river/snapshot.jpg?stream=sub")
        .await;
    assert_eq!(status, 200);
    assert_eq!(jpeg_size(&sub), (160, 120));
    for (path, code) in [
        ("/api/v1/cameras/cam-river/snapshot.jpg?stream=big", 400),
        ("/api/v1/cameras/cam-nowhere/snapshot.jpg", 404),
    ] {
        assert_eq!(hub.get_bytes(path).await.0, code, "{path}");
    }

    // watched all the time from now on
    let (status, _) = hub
        .call(
            "PATCH",
            "/api/v1/cameras/cam-river",
            &hub.token,
            Some(json!({"always_on": true})),
        )
        .await;
    assert_eq!(status, 200);
    wait_state(&hub, "cam-river", "online", Duration::from_secs(15)).await;

    // the lens is covered: dark at the hub's next look (one keyframe every 8 s), alerted
    cam.pattern("black");
    let covered = Instant::now();
    wait_status(&hub, "cam-river", "dark", Duration::from_secs(12), |s| {
        s["dark"] == true
    })
    .await;
    eprintln!("dark noticed after {:?}", covered.elapsed());
    let (_, kind, black) = hub
        .get_bytes("/api/v1/cameras/cam-river/snapshot.jpg")
        .await;
    assert_eq!(kind, "image/jpeg");
    assert!(
        black.len() < jpeg.len(),
        "a black picture compresses better"
    );
    eventually("the dark alert", Duration::from_secs(5), || async {
        (open_alerts(&hub, "cam-river").await == ["camera-dark"]).then_some(())
    })
    .await;

    // the picture stops changing: frozen after 8 s of the same picture (two looks 8 or 9 s
    // apart, the first of them possibly still on the encoder's settling picture: 8 to ~27 s
    // after it froze), still online
    cam.pattern("bars");
    let froze = Instant::now();
    let c = wait_status(&hub, "cam-river", "frozen", Duration::from_secs(32), |s| {
        s["frozen"] == true
    })
    .await;
    let after = froze.elapsed();
    eprintln!("frozen noticed after {after:?}");
    assert!(after >= Duration::from_secs(8), "frozen after {after:?}");
    assert_eq!(c["status"]["state"], "online");
    assert_eq!(c["status"]["dark"], false);
    eventually("the frozen alert", Duration::from_secs(5), || async {
        (open_alerts(&hub, "cam-river").await == ["camera-frozen"]).then_some(())
    })
    .await;
    // the reading commits apart from the alert
    eventually("camera_frozen 1 stored", Duration::from_secs(5), || async {
        (latest(&hub, "cam-river", "camera_frozen").await == Some(1.0)).then_some(())
    })
    .await;

    // moving again: both clear
    cam.pattern("ball");
    wait_status(&hub, "cam-river", "moving", Duration::from_secs(15), |s| {
        s["frozen"] == false && s["dark"] == false
    })
    .await;
    eventually("the alerts cleared", Duration::from_secs(5), || async {
        open_alerts(&hub, "cam-river")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    // and stay clear: a small ball moving over black is not frozen, past the 8 s either (this
    // watches the status once a second for 18 s, two of the hub's looks or more: a property
    // that must hold all along)
    let errors = hub.metric("iochub_camera_picture_errors_total").await;
    for _ in 0..18 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let c = camera(&hub, "cam-river").await;
        assert_eq!(c["status"]["frozen"], false, "{c}");
    }
    assert_eq!(
        hub.metric("iochub_camera_picture_errors_total").await,
        errors,
        "every keyframe decoded"
    );
}

/// What a viewer of `/ws/video` received: text frames as JSON, binary frames as their first
/// box's type.
#[derive(Debug, PartialEq)]
enum Got {
    Text(Value),
    Box(String),
}

async fn next(ws: &mut support::ws::Ws) -> Got {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.stream.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return Got::Text(serde_json::from_str(&t).unwrap()),
            Message::Binary(b) => return Got::Box(String::from_utf8_lossy(&b[4..8]).into()),
            _ => {}
        }
    }
}

/// The next fragment's decode time (`tfdt`) and whether its sample is a sync sample (`trun`'s
/// sample flags), skipping text frames and init segments.
async fn next_fragment(ws: &mut support::ws::Ws) -> (u64, bool) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.stream.next())
            .await
            .expect("a frame within 20 s")
            .expect("open")
            .expect("a frame");
        let Message::Binary(b) = msg else { continue };
        if &b[4..8] != b"moof" {
            continue;
        }
        let at = |tag: &[u8]| b.windows(4).position(|w| w == tag).unwrap();
        let tfdt = at(b"tfdt");
        let time = u64::from_be_bytes(b[tfdt + 8..tfdt + 16].try_into().unwrap());
        let trun = at(b"trun");
        let flags = u32::from_be_bytes(b[trun + 24..trun + 28].try_into().unwrap());
        return (time, flags & 0x0001_0000 == 0);
    }
}

/// The hub's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_viewers_share_one_session_and_a_stuck_one_costs_nothing() {
    // 2 Mbit/s, so that a viewer that stops reading fills its buffers in seconds
    let cam = TestCamera::start_with(&["--bitrate", "2000", "--size", "640x480"]);
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), RULES, Broker::Embedded(0)).await;
    let new = json!({"id": "cam-market", "url": cam.url("main"), "lat": 22.67, "lon": 106.26});
    let (status, _) = hub
        .call("POST", "/api/v1/cameras", &hub.token, Some(new))
        .await;
    assert_eq!(status, 201);
    // on demand: probed (it answers), then idle until someone watches
    eventually(
        "the probe's camera_online",
        Duration::from_secs(15),
        || async { (latest(&hub, "cam-market", "camera_online").await == Some(1.0)).then_some(()) },
    )
    .await;
    assert_eq!(camera(&hub, "cam-market").await["status"]["state"], "idle");
    assert_eq!(hub.metric("iochub_camera_streams_open").await, 0.0);

    let mut viewers = Vec::new();
    for _ in 0..10 {
        viewers.push(hub.video("cam-market", None).await);
    }
    for v in &mut viewers {
        let Got::Text(status) = next(v).await else {
            panic!("a status first")
        };
        assert_eq!(status["type"], "status");
        let mime = loop {
            if let Got::Text(t) = next(v).await
                && t["type"] == "mse"
            {
                break t["mime"].as_str().unwrap().to_owned();
            }
        };
        assert!(mime.starts_with("video/mp4; codecs=\"avc1."), "{mime}");
        assert_eq!(next(v).await, Got::Box("ftyp".into()));
        for _ in 0..25 {
            loop {
                match next(v).await {
                    Got::Box(b) => {
                        assert_eq!(b, "moof");
                        break;
                    }
                    Got::Text(t) => assert_eq!(t["type"], "status", "{t}"),
                }
            }
        }
    }
    let c = camera(&hub, "cam-market").await;
    assert_eq!(c["status"]["viewers"], 10);
    assert_eq!(c["status"]["state"], "online");
    assert_eq!(
        hub.metric("iochub_camera_streams_open").await,
        1.0,
        "one pull for all"
    );
    assert_eq!(hub.metric("iochub_camera_viewers").await, 10.0);

    // one viewer stops reading (a 4 KiB receive buffer, never drained); the others go on
    let stuck = hub.video("cam-market", Some(4096)).await;
    let before = rss_kib(hub.pid());
    let started = Instant::now();
    let mut peak = before;
    loop {
        for v in &mut viewers {
            while let Ok(got) = tokio::time::timeout(Duration::from_millis(5), next(v)).await {
                drop(got);
            }
        }
        peak = peak.max(rss_kib(hub.pid()));
        let c = camera(&hub, "cam-market").await;
        if c["status"]["viewers"] == 10 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stuck viewer is never let go: {c}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // it was closed once its socket took no frame for 10 s; the hub's memory did not follow it
    eprintln!("stuck viewer let go after {:?}", started.elapsed());
    assert!(started.elapsed() >= Duration::from_secs(10));
    let grown = peak.saturating_sub(before);
    assert!(grown < 16 * 1024, "RSS grew {grown} KiB");
    for v in &mut viewers {
        let got = loop {
            if let Got::Box(b) = next(v).await {
                break b;
            }
        };
        assert_eq!(got, "moof", "the others still receive frames");
    }
    drop(stuck);

    // an edit of where the camera is pulled from restarts its stream: viewers are told (4002)
    let (status, _) = hub
        .call(
            "PATCH",
            "/api/v1/cameras/cam-market",
            &hub.token,
            Some(json!({"transport": "udp"})),
        )
        .await;
    assert_eq!(status, 200);
    for v in &mut viewers {
        assert_eq!(v.closed_within(Duration::from_secs(5)).await, Some(4002));
    }
    // and over UDP now, it plays as well
    let mut udp = hub.video("cam-market", None).await;
    let (first, sync) = next_fragment(&mut udp).await;
    assert!(sync);
    let (second, _) = next_fragment(&mut udp).await;
    assert_eq!(second - first, 3600, "25 fps in the 90 kHz clock");
    assert_eq!(camera(&hub, "cam-market").await["transport"], "udp");
    drop(udp);

    // everyone leaves: the stream closes after the linger time (15 s)
    drop(viewers);
    eventually("the stream closed", Duration::from_secs(25), || async {
        (hub.metric("iochub_camera_streams_open").await == 0.0).then_some(())
    })
    .await;
    wait_state(&hub, "cam-market", "idle", Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_needs_a_session_and_a_known_camera() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), RULES, Broker::Embedded(0)).await;
    let plain = reqwest::Client::new();
    let url = hub.url("/ws/video/cam-none");
    let upgrade = |req: reqwest::RequestBuilder| {
        req.header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    };
    let anonymous = upgrade(plain.get(&url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown = upgrade(plain.get(&url).bearer_auth(&hub.token))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = upgrade(
        plain
            .get(format!("{url}?stream=fish"))
            .bearer_auth(&hub.token),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_simulated_cameras_play_and_one_freezes_and_one_goes_dark() {
    use iochub_sim::cameras::{self as sim, Fault, Server};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cameras = sim::cameras();
    // the faults 3 s after the start instead of a minute or so
    for c in &mut cameras {
        if let Some(f) = &mut c.fault {
            f.start = Duration::from_secs(3);
        }
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(Server::new(cameras.clone(), 7).serve(listener, stopped));
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), PICTURE_RULES, Broker::Embedded(0)).await;
    for c in &cameras {
        let url = |s: &str| format!("rtsp://127.0.0.1:{port}/{}/{s}", c.key);
        let new = json!({"id": c.key, "name": c.name, "url": url("main"), "sub_url": url("sub"),
            "lat": c.lat, "lon": c.lon, "always_on": true});
        let (status, body) = hub
            .call("POST", "/api/v1/cameras", &hub.token, Some(new))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for c in &cameras {
        let c = wait_state(&hub, c.key, "online", Duration::from_secs(20)).await;
        assert_eq!(
            (
                c["status"]["width"].as_u64(),
                c["status"]["height"].as_u64()
            ),
            (Some(640), Some(360))
        );
    }

    // the one that freezes and the one whose lens is covered; the others neither
    let fault = |f: Fault| {
        cameras
            .iter()
            .find(|c| c.fault.is_some_and(|s| s.fault == f))
            .unwrap()
            .key
    };
    wait_status(
        &hub,
        fault(Fault::Freeze),
        "frozen",
        Duration::from_secs(30),
        |s| s["frozen"] == true,
    )
    .await;
    wait_status(
        &hub,
        fault(Fault::Dark),
        "dark",
        Duration::from_secs(15),
        |s| s["dark"] == true,
    )
    .await;
    // A property over time: the live ones stay neither frozen nor dark across two of the hub's
    // looks at their pictures (8 s apart), which a looped clip seen in step with them would not.
    let until = Instant::now() + Duration::from_secs(17);
    while Instant::now() < until {
        for c in cameras.iter().filter(|c| c.fault.is_none()) {
            let s = &camera(&hub, c.key).await["status"];
            assert_eq!(
                (&s["frozen"], &s["dark"]),
                (&json!(false), &json!(false)),
                "{}: {s}",
                c.key
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // snapshots of both streams, and live video in 10 fps steps of the 90 kHz clock
    let live = cameras[0].key;
    let (status, _, jpeg) = hub
        .get_bytes(&format!("/api/v1/cameras/{live}/snapshot.jpg"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(jpeg_size(&jpeg), (640, 360));
    let (_, _, sub) = hub
        .get_bytes(&format!("/api/v1/cameras/{live}/snapshot.jpg?stream=sub"))
        .await;
    assert_eq!(jpeg_size(&sub), (320, 180));
    let mut viewer = hub.video(live, None).await;
    let (first, sync) = next_fragment(&mut viewer).await;
    assert!(sync, "a viewer starts at a keyframe");
    let (second, _) = next_fragment(&mut viewer).await;
    assert_eq!(second - first, 9000);
    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}

/// How the hostile camera misbehaves.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// DESCRIBE answers with a session description that is not one.
    BadSdp,
    /// After PLAY, random bytes framed as interleaved RTP.
    GarbageRtp,
    /// After PLAY, one H.264 frame that never ends: FU-A fragments without an end, 2 MB/s.
    EndlessFrame,
}

/// A camera that speaks enough RTSP to be opened, then misbehaves as told; it serves any number
/// of connections until the test ends.
async fn hostile_camera(how: Hostile) -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut head = Vec::new();
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                        head.push(line);
                    }
                    let method = head[0].split(' ').next().unwrap_or("").to_owned();
                    let cseq = head
                        .iter()
                        .find_map(|l| l.strip_prefix("CSeq:"))
                        .unwrap_or(" 0")
                        .trim()
                        .to_owned();
                    let good_sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n\
                        a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==\r\n\
                        a=control:trackID=0\r\n";
                    let body = match (method.as_str(), how) {
                        ("DESCRIBE", Hostile::BadSdp) => {
                            "v=9\r\nm=\u{1}\u{2}garbage\r\n".to_owned()
                        }
                        ("DESCRIBE", _) => good_sdp.to_owned(),
                        _ => String::new(),
                    };
                    let mut reply = format!(
                        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 1234;timeout=60\r\n\
                         Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\
                         Content-Base: rtsp://127.0.0.1:{port}/x/\r\nContent-Type: application/sdp\r\n\
                         Public: OPTIONS, DESCRIBE, SETUP, PLAY\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if method != "DESCRIBE" {
                        reply = reply.replace("Content-Type: application/sdp\r\n", "");
                    }
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    if method == "PLAY" {
                        break;
                    }
                }
                // playing: misbehave until the hub hangs up
                let mut seq: u16 = 0;
                let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
                loop {
                    let mut packet = vec![b'$', 0, 0x05, 0xdc];
                    match how {
                        Hostile::GarbageRtp => {
                            for _ in 0..1500 {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                packet.push(x as u8);
                            }
                        }
                        _ => {
                            let start = if seq == 0 { 0x85 } else { 0x05 };
                            packet.extend([0x80, 96]);
                            packet.extend(seq.to_be_bytes());
                            packet.extend([0, 0, 0, 0, 0, 0, 0, 1, 0x7c, start]);
                            packet.resize(4 + 1500, 0xaa);
                        }
                    }
                    seq = seq.wrapping_add(1);
                    if write.write_all(&packet).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_micros(700)).await;
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_camera_costs_its_own_session_never_the_hub() {
    let good = TestCamera::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), RULES, Broker::Embedded(0)).await;
    let (status, _) = hub
        .call(
            "POST",
            "/api/v1/cameras",
            &hub.token,
            Some(json!({"id": "cam-good", "url": good.url("main"), "always_on": true})),
        )
        .await;
    assert_eq!(status, 201);
    for how in [Hostile::BadSdp, Hostile::GarbageRtp, Hostile::EndlessFrame] {
        let port = hostile_camera(how).await;
        let id = format!("cam-{how:?}").to_lowercase();
        let new = json!({"id": id, "url": format!("rtsp://127.0.0.1:{port}/x"), "always_on": true});
        let (status, body) = hub
            .call("POST", "/api/v1/cameras", &hub.token, Some(new))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    wait_state(&hub, "cam-good", "online", Duration::from_secs(15)).await;
    let rss_before = rss_kib(hub.pid());
    // each hostile camera ends up with an error on its own status; none ever gets online
    for (id, words) in [
        ("cam-badsdp", "broken stream"),
        ("cam-garbagertp", ""),
        ("cam-endlessframe", ""),
    ] {
        let c = wait_status(
            &hub,
            id,
            "a failing hostile camera",
            Duration::from_secs(15),
            |s| {
                matches!(s["state"].as_str(), Some("offline" | "stalled")) && s["error"].is_string()
            },
        )
        .await;
        eprintln!("{id}: {}", c["status"]);
        assert!(
            c["status"]["error"].as_str().unwrap().contains(words),
            "{c}"
        );
    }
    // a while later: they are still failing, and the good camera and the hub go on
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        // this watches the status every half second for 10 s: a property that must hold all along
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(camera(&hub, "cam-good").await["status"]["state"], "online");
        for id in ["cam-badsdp", "cam-garbagertp", "cam-endlessframe"] {
            assert_ne!(camera(&hub, id).await["status"]["state"], "online", "{id}");
        }
    }
    let grown = rss_kib(hub.pid()).saturating_sub(rss_before);
    eprintln!("hub RSS grew {grown} KiB over 10 s of hostile cameras");
    assert!(grown < 64 * 1024, "the hub's memory grew {grown} KiB");
    let (status, _) = hub.get("/healthz").await;
    assert!(status == 200 || status == 503, "the hub answers: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_layouts_are_saved_by_operators_opened_by_everyone_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(dir.path(), RULES, Broker::Embedded(0)).await;
    for id in ["cam-a", "cam-b"] {
        let cam = json!({"id": id, "url": "rtsp://127.0.0.1:9/x"});
        let (status, body) = hub
            .call("POST", "/api/v1/cameras", &hub.token, Some(cam))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let op = support::account(&hub, "night-op", Role::Operator, json!({})).await;
    let viewer = support::account(&hub, "wall-pc", Role::Viewer, json!({})).await;
    // a Vietnamese name travels percent-encoded in the path
    let path = "/api/v1/wall/layouts/L%C5%A9%20s%C3%B4ng%20B%E1%BA%B1ng";
    let flood = json!({"size": 4, "tiles": [null, "cam-b", "cam-a"]});
    let (status, saved) = hub.call("PUT", path, &op, Some(flood)).await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["name"], "Lũ sông Bằng");
    assert_eq!(saved["updated_by"], "night-op");
    let wider = json!({"size": 9, "tiles": ["cam-a", null, null]});
    let (status, saved) = hub.call("PUT", path, &op, Some(wider)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["tiles"], json!(["cam-a"]), "trailing empty tiles go");

    // everyone who reads the map opens it; a viewer may not change it
    let (status, got) = hub.call("GET", path, &viewer, None).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (got["size"].as_u64(), &got["tiles"]),
        (Some(9), &json!(["cam-a"]))
    );
    let (_, all) = hub.call("GET", "/api/v1/wall/layouts", &viewer, None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    let (status, _) = hub.call("DELETE", path, &viewer, None).await;
    assert_eq!(status, 403);
    let (status, _) = hub
        .call("PUT", path, &viewer, Some(json!({"size": 1, "tiles": []})))
        .await;
    assert_eq!(status, 403);

    // bad layouts name their field
    for (body, field) in [
        (json!({"size": 6, "tiles": []}), "size"),
        (json!({"size": 1, "tiles": ["cam-a", "cam-b"]}), "tiles"),
        (json!({"size": 4, "tiles": ["cam-nowhere"]}), "tiles"),
    ] {
        let (status, answer) = hub.call("PUT", path, &op, Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, answer) = hub
        .call(
            "PUT",
            "/api/v1/wall/layouts/%20",
            &op,
            Some(json!({"size": 1, "tiles": []})),
        )
        .await;
    assert_eq!((status, &answer["error"]["field"]), (400, &json!("name")));

    // a camera removed later leaves its tile empty on the wall: the layout keeps naming it
    let (status, _) = hub
        .call("DELETE", "/api/v1/cameras/cam-a", &hub.token, None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        hub.call("GET", path, &viewer, None).await.1["tiles"],
        json!(["cam-a"])
    );

    let (status, _) = hub.call("DELETE", path, &op, None).await;
    assert_eq!(status, 204);
    assert_eq!(hub.call("GET", path, &op, None).await.0, 404);
    assert_eq!(hub.call("DELETE", path, &op, None).await.0, 404);

    // answerable: who saved and removed which layout
    let (_, trail) = hub.get("/api/v1/audit?action=wall_layout.save").await;
    let saves: Vec<(&str, &str)> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "ok")
        .map(|r| (r["actor"].as_str().unwrap(), r["target"].as_str().unwrap()))
        .collect();
    assert_eq!(saves, [("night-op", "Lũ sông Bằng"); 2]);
    let (_, trail) = hub.get("/api/v1/audit?action=wall_layout.delete").await;
    assert!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["actor"] == "night-op"
                && r["target"] == "Lũ sông Bằng"
                && r["result"] == "ok"),
        "{trail}"
    );
}
