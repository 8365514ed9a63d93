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
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::client::{SESSION_ENDED, SessionBound, session_end};
use crate::camera::Viewer;
use crate::camera::fmp4::{Timeline, fragment, init_segment, mime};
use crate::camera::source::VideoParams;
use crate::metrics as m;

/// The longest a viewer's socket may take one frame before the viewer is closed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Close code when the camera's stream went away (edited, removed): the browser reconnects.
const STREAM_RESTARTED: u16 = 4002;
/// Close code for a viewer that stopped reading.
const TOO_SLOW: u16 = 4003;

/// Why the stream to a viewer ended.
enum End {
    Session(&'static str),
    StreamGone,
    SocketClosed,
    TooSlow,
}

pub async fn serve(socket: WebSocket, viewer: Viewer, session: SessionBound) {
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
        end = send(&mut sink, viewer) => end,
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

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// One message to the socket, within [`SEND_TIMEOUT`].
async fn put(sink: &mut Sink, msg: Message) -> Result<(), End> {
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

async fn send(sink: &mut Sink, mut viewer: Viewer) -> End {
    let mut params: Option<Arc<VideoParams>> = None;
    let mut timeline = Timeline::default();
    let mut waiting_for_keyframe = true;
    let mut epoch: Option<u32> = None;
    let status = serde_json::to_value(&*viewer.status.borrow_and_update()).unwrap_or_default();
    if let Err(end) = put(sink, status_frame(status)).await {
        return end;
    }
    loop {
        let frame = tokio::select! {
            () = viewer.gone.cancelled() => return End::StreamGone,
            frame = viewer.frames.recv() => frame,
            changed = viewer.status.changed() => {
                if changed.is_err() {
                    return End::StreamGone;
                }
                let status = serde_json::to_value(&*viewer.status.borrow_and_update())
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
