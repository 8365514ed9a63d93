//! `iochub-sim viewers`: N WebSocket viewers of one hub camera (`/ws/video/{camera}`), each
//! reading its frames as fast as they come, for the benchmarks' cost per viewer
//! (scripts/bench, phase `cameras`). A viewer counts what it got and decodes nothing: the load
//! on the hub is a browser's, the viewer's own cost is a socket read.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

/// What one viewer got.
#[derive(Debug, Default, Serialize)]
pub struct ViewerReport {
    /// Binary frames after the init segment: one per video frame.
    pub fragments: u64,
    pub bytes: u64,
    /// Init segments (one, or more if the stream's parameters changed).
    pub inits: u64,
    pub status_frames: u64,
    /// Fragments per second from the first one to the end.
    pub fps: f64,
    pub kbps: f64,
    /// Why it ended before the time was up, if it did.
    pub error: Option<String>,
}

/// All viewers of a run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub viewers: usize,
    pub seconds: f64,
    pub fragments: u64,
    pub bytes: u64,
    /// The lowest fps of any viewer.
    pub min_fps: f64,
    pub failed: usize,
    pub each: Vec<ViewerReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("bad URL or token: {0}")]
    Request(tungstenite::Error),
}

/// Runs `viewers` viewers of `url` (ws://host:port/ws/video/{camera}[?stream=sub]) for
/// `duration`.
pub async fn run(
    url: &str,
    token: Option<&str>,
    viewers: usize,
    duration: Duration,
) -> Result<Report, ViewerError> {
    let mut request = url.into_client_request().map_err(ViewerError::Request)?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| ViewerError::Request(tungstenite::Error::HttpFormat(e.into())))?;
        request.headers_mut().insert("authorization", value);
    }
    let started = Instant::now();
    let end = started + duration;
    let mut set = JoinSet::new();
    for _ in 0..viewers {
        let request = request.clone();
        set.spawn(async move {
            let mut r = ViewerReport::default();
            if let Err(e) = watch(request, end, &mut r).await {
                r.error = Some(e.to_string());
            }
            r
        });
    }
    let mut each = Vec::with_capacity(viewers);
    while let Some(r) = set.join_next().await {
        each.push(r.unwrap_or_else(|e| ViewerReport {
            error: Some(e.to_string()),
            ..ViewerReport::default()
        }));
    }
    Ok(Report {
        viewers,
        seconds: started.elapsed().as_secs_f64(),
        fragments: each.iter().map(|r| r.fragments).sum(),
        bytes: each.iter().map(|r| r.bytes).sum(),
        min_fps: each.iter().map(|r| r.fps).fold(f64::INFINITY, f64::min),
        failed: each.iter().filter(|r| r.error.is_some()).count(),
        each,
    })
}

async fn watch(
    request: tungstenite::handshake::client::Request,
    end: Instant,
    r: &mut ViewerReport,
) -> Result<(), tungstenite::Error> {
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut first: Option<Instant> = None;
    let deadline = tokio::time::Instant::from_std(end);
    loop {
        let msg = tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            msg = socket.next() => msg,
        };
        match msg {
            None => return Err(tungstenite::Error::ConnectionClosed),
            Some(Err(e)) => return Err(e),
            Some(Ok(Message::Binary(data))) => {
                // an init segment (`ftyp` + `moov`), else a fragment (`moof` + `mdat`)
                if data.get(4..8) == Some(b"ftyp") {
                    r.inits += 1;
                    continue;
                }
                first.get_or_insert_with(Instant::now);
                r.fragments += 1;
                r.bytes += data.len() as u64;
            }
            Some(Ok(Message::Text(t))) => {
                if t.contains("\"status\"") {
                    r.status_frames += 1;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(tungstenite::Error::Io(std::io::Error::other(format!(
                    "closed by the hub: {frame:?}"
                ))));
            }
            Some(Ok(_)) => {}
        }
    }
    if let Some(first) = first {
        let secs = first.elapsed().as_secs_f64().max(1e-3);
        r.fps = (r.fragments as f64 / secs * 10.0).round() / 10.0;
        r.kbps = (r.bytes as f64 * 8.0 / 1000.0 / secs).round();
    }
    let _ = socket.close(None).await;
    Ok(())
}
