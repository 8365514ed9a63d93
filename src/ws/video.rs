//! `GET /ws/video/{camera}`: one camera stream to one browser, as fragmented MP4 for Media
//! Source Extensions.
//!
//! The socket carries, in order: a text frame `{"type":"mse","mime":"video/mp4; codecs=…"}`,
//! the init segment (binary), then one fragment per frame (binary) from a keyframe on; a new
//! `mse` frame and init segment when the camera changes its parameters; and text frames
//! `{"type":"status", …}` whenever the camera's status changes (so a tile can say "stalled").
//!
//! Bounds: the viewer reads the session's broadcast ring; one that falls a ring's length behind
//! loses its place and waits for the next keyframe (never a queue of its own), and one whose
//! socket takes no frame for [`SEND_TIMEOUT`] is closed. Either way the hub holds at most the
//! ring (64 frames, a few seconds of video, shared by every viewer: the slowest one keeps it
//! full) and one fragment per viewer. When the camera's sessions stop (an edit, a removal) the
//! viewer is closed with code 4002 and the browser reconnects.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{Sink, SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::client::{SESSION_ENDED, SessionBound, session_end};
use crate::camera::Viewer;
use crate::camera::fmp4::{Timeline, fragment, init_segment, mime};
use crate::camera::model::CameraStatus;
use crate::camera::source::{Frame, VideoParams};
use crate::metrics as m;

/// The longest a viewer's socket may take one frame before the viewer is closed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Close code when the camera's stream went away (edited, removed): the browser reconnects.
const STREAM_RESTARTED: u16 = 4002;
/// Close code for a viewer that stopped reading.
const TOO_SLOW: u16 = 4003;

/// Why the stream to a viewer ended.
#[derive(Debug, PartialEq)]
enum End {
    Session(&'static str),
    StreamGone,
    SocketClosed,
    TooSlow,
}

pub async fn serve(socket: WebSocket, mut viewer: Viewer, session: SessionBound) {
    m::camera_viewers(1.0);
    let (mut sink, mut incoming) = socket.split();
    let reader = async {
        // a viewer says nothing; its messages are read so that a close is seen
        while let Some(Ok(msg)) = incoming.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    };
    let ended = tokio::select! {
        end = send(&mut sink, &mut viewer.frames, &mut viewer.status, &viewer.gone) => end,
        () = reader => End::SocketClosed,
        reason = session_end(&session.ended, session.expires_at_ms, &session.still_live) => {
            End::Session(reason)
        }
    };
    let close = |code, reason: &'static str| CloseFrame {
        code,
        reason: reason.into(),
    };
    let frame = match ended {
        End::Session(reason) => Some(close(SESSION_ENDED, reason)),
        End::StreamGone => Some(close(STREAM_RESTARTED, "the camera's stream restarted")),
        End::TooSlow => Some(close(TOO_SLOW, "this viewer stopped reading")),
        End::SocketClosed => None,
    };
    if let Some(frame) = frame {
        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    }
    m::camera_viewers(-1.0);
}

/// One message to the socket, within [`SEND_TIMEOUT`].
async fn put<S: Sink<Message> + Unpin>(sink: &mut S, msg: Message) -> Result<(), End> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::SocketClosed),
        Err(_) => Err(End::TooSlow),
    }
}

/// The frame spacing to assume before two frames were seen.
fn default_spacing(p: &VideoParams) -> u32 {
    match p.frame_rate {
        Some(fps) if fps > 0.0 => (f64::from(p.clock_rate) / fps) as u32,
        _ => p.clock_rate / 25,
    }
}

/// The viewer's stream, until it ends: the socket is generic so that a test can hold a sink
/// that stops taking frames.
async fn send<S: Sink<Message> + Unpin>(
    sink: &mut S,
    frames: &mut broadcast::Receiver<Arc<Frame>>,
    status: &mut watch::Receiver<CameraStatus>,
    gone: &CancellationToken,
) -> End {
    let mut params: Option<Arc<VideoParams>> = None;
    let mut timeline = Timeline::default();
    let mut waiting_for_keyframe = true;
    let mut epoch: Option<u32> = None;
    let first = serde_json::to_value(&*status.borrow_and_update()).unwrap_or_default();
    if let Err(end) = put(sink, status_frame(first)).await {
        return end;
    }
    loop {
        let frame = tokio::select! {
            () = gone.cancelled() => return End::StreamGone,
            frame = frames.recv() => frame,
            changed = status.changed() => {
                if changed.is_err() {
                    return End::StreamGone;
                }
                let status = serde_json::to_value(&*status.borrow_and_update())
                    .unwrap_or_default();
                if let Err(end) = put(sink, status_frame(status)).await {
                    return end;
                }
                continue;
            }
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(RecvError::Lagged(_)) => {
                m::camera_viewer_skipped();
                waiting_for_keyframe = true;
                continue;
            }
            Err(RecvError::Closed) => return End::StreamGone,
        };
        if epoch.is_some_and(|e| e != frame.epoch) {
            // the session reconnected: new timestamps, and decoding starts over at a keyframe
            timeline.rebase(default_spacing(&frame.params));
            waiting_for_keyframe = true;
        }
        epoch = Some(frame.epoch);
        if waiting_for_keyframe && !frame.keyframe {
            continue;
        }
        waiting_for_keyframe = false;
        let changed = params
            .as_ref()
            .is_none_or(|p| !Arc::ptr_eq(p, &frame.params) && **p != *frame.params);
        if changed {
            let announce = json!({"type": "mse", "mime": mime(&frame.params)});
            if let Err(end) = put(sink, Message::Text(announce.to_string().into())).await {
                return end;
            }
            let init = init_segment(&frame.params);
            if let Err(end) = put(sink, Message::Binary(init)).await {
                return end;
            }
        }
        if changed || params.is_none() {
            params = Some(frame.params.clone());
        }
        let spacing = default_spacing(&frame.params);
        let (seq, time, duration) = timeline.next(frame.timestamp, spacing);
        let fragment = fragment(seq, time, duration, frame.keyframe, &frame.data);
        if let Err(end) = put(sink, Message::Binary(fragment)).await {
            return end;
        }
    }
}

fn status_frame(mut status: serde_json::Value) -> Message {
    if let Some(o) = status.as_object_mut() {
        o.insert("type".into(), "status".into());
    }
    Message::Text(status.to_string().into())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::mpsc;
    use tokio_util::sync::PollSender;

    use super::*;
    use crate::camera::model::CameraState;

    fn params() -> Arc<VideoParams> {
        Arc::new(VideoParams {
            codec: "avc1.42C01E".into(),
            sample_entry: Bytes::from_static(b"\0\0\0\x10avc1fakeentry"),
            extra_data: Bytes::new(),
            width: 320,
            height: 240,
            clock_rate: 90_000,
            frame_rate: Some(25.0),
        })
    }

    /// Frame `n`, a keyframe when `key`; its payload names it.
    fn frame(n: u32, key: bool, params: &Arc<VideoParams>) -> Arc<Frame> {
        Arc::new(Frame {
            timestamp: i64::from(n) * 3600,
            keyframe: key,
            data: Bytes::from(format!("frame-{n:04}")),
            params: params.clone(),
            lost_packets: 0,
            epoch: 0,
        })
    }

    /// The frame a fragment carries (its payload ends the `mdat`), or the message's kind.
    fn carried(msg: &Message) -> String {
        match msg {
            Message::Binary(b)
                if b.len() >= 10 && b.starts_with(&[0, 0]) && &b[4..8] == b"moof" =>
            {
                String::from_utf8_lossy(&b[b.len() - 10..]).into_owned()
            }
            Message::Binary(_) => "init".into(),
            Message::Text(t) => t.to_string(),
            other => format!("{other:?}"),
        }
    }

    struct Rig {
        ring: broadcast::Sender<Arc<Frame>>,
        socket: mpsc::Receiver<Message>,
        task: tokio::task::JoinHandle<End>,
        _status: watch::Sender<CameraStatus>,
        gone: CancellationToken,
    }

    /// A viewer on a ring of `ring` frames, whose socket holds one message until read.
    fn rig(ring: usize) -> Rig {
        let (tx, mut frames) = broadcast::channel(ring);
        let (status_tx, mut status) = watch::channel(CameraStatus::new(CameraState::Online, 0));
        let (to_socket, socket) = mpsc::channel(1);
        let mut sink = PollSender::new(to_socket);
        let gone = CancellationToken::new();
        let stop = gone.clone();
        let task =
            tokio::spawn(async move { send(&mut sink, &mut frames, &mut status, &stop).await });
        Rig {
            ring: tx,
            socket,
            task,
            _status: status_tx,
            gone,
        }
    }

    async fn read(rig: &mut Rig) -> String {
        carried(&rig.socket.recv().await.expect("the socket is open"))
    }

    #[tokio::test(start_paused = true)]
    async fn a_viewer_that_falls_a_ring_behind_skips_to_the_next_keyframe() {
        let mut rig = rig(8);
        let p = params();
        assert!(read(&mut rig).await.contains("\"status\""));
        let _ = rig.ring.send(frame(0, true, &p));
        let _ = rig.ring.send(frame(1, false, &p));
        assert!(read(&mut rig).await.contains("\"mse\""));
        assert_eq!(read(&mut rig).await, "init");
        assert_eq!(read(&mut rig).await, "frame-0000");
        assert_eq!(read(&mut rig).await, "frame-0001");
        // the socket stops taking frames while the camera sends three rings' worth
        for n in 2..26 {
            let _ = rig.ring.send(frame(n, false, &p));
            tokio::task::yield_now().await;
        }
        // the viewer lost its place: what was in flight arrives, then nothing until a keyframe
        let _ = rig.ring.send(frame(26, true, &p));
        let _ = rig.ring.send(frame(27, false, &p));
        let mut got = Vec::new();
        loop {
            let next = read(&mut rig).await;
            got.push(next.clone());
            if next == "frame-0027" {
                break;
            }
        }
        let at = got
            .iter()
            .position(|f| f == "frame-0026")
            .expect("the keyframe");
        assert!(at <= 2, "at most the frames in flight before it: {got:?}");
        assert_eq!(got.len(), at + 2, "{got:?}");
        assert!(
            got[..at].iter().all(|f| f.as_str() < "frame-0004"),
            "{got:?}"
        );
        rig.gone.cancel();
        assert_eq!(rig.task.await.expect("task"), End::StreamGone);
    }

    #[tokio::test(start_paused = true)]
    async fn a_socket_that_takes_nothing_for_the_send_timeout_ends_the_viewer() {
        let mut rig = rig(8);
        let p = params();
        assert!(read(&mut rig).await.contains("\"status\""));
        for n in 0..4 {
            let _ = rig.ring.send(frame(n, n == 0, &p));
        }
        // never read again: the paused clock runs to the timeout
        let started = tokio::time::Instant::now();
        assert_eq!(rig.task.await.expect("task"), End::TooSlow);
        assert!(started.elapsed() >= SEND_TIMEOUT, "{:?}", started.elapsed());
    }
}
