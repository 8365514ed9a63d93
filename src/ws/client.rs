//! One WebSocket client: a reader (subscribe messages), a pump (filter, conflate, prioritise) and a
//! writer (the socket), run as three futures of one task.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};

use super::filter::{ClientMsg, Filter};
use super::{
    AlertFrame, DeviceFrame, LiveEvent, LiveFeed, PositionFrame, Positions, TelemetryFrame,
};
use crate::accounts::Scope;
use crate::areas::Areas;
use crate::metrics as m;

/// Frames queued for the socket; past this a client counts as slow.
const OUT_QUEUE: usize = 512;
/// Frames written to the socket per flush.
const WRITE_BURST: usize = 256;
/// Alerts and replies waiting for a slow client; past this it is disconnected.
const MAX_URGENT: usize = 10_000;

/// What the client's session allows, and when it ends.
pub struct SessionBound {
    pub scope: Arc<Scope>,
    /// Cancelled when the session is ended (logout, lock, revoke): the socket closes at once.
    pub ended: tokio_util::sync::CancellationToken,
    /// The session's absolute end (epoch ms): the socket closes then.
    pub expires_at_ms: i64,
    /// Asked every [`LIVE_CHECK`]: false once the session is over for a reason no one cancels
    /// (its idle timeout passed; the store no longer has it), and the socket closes.
    pub still_live: StillLive,
}

/// Whether the session behind a socket is still live; never counts as the person's activity.
pub type StillLive = Box<dyn Fn() -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// How often a socket asks whether its session is still live.
pub const LIVE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Close code for a session that ended (4000-4999: the application's own).
pub const SESSION_ENDED: u16 = 4001;

pub async fn serve(socket: WebSocket, feed: LiveFeed, areas: Arc<Areas>, session: SessionBound) {
    let SessionBound {
        scope,
        ended,
        expires_at_ms,
        still_live,
    } = session;
    let (close_tx, mut close_rx) = mpsc::channel::<&'static str>(1);
    m::ws_clients(1.0);
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUT_QUEUE);
    let (ctl_tx, ctl_rx) = mpsc::channel::<String>(16);
    let (filter_tx, filter_rx) = watch::channel::<Option<Filter>>(None);

    let writer = async {
        // Feed whatever is queued, then flush once: one write per burst, not per frame.
        loop {
            let frame = tokio::select! {
                f = out_rx.recv() => match f {
                    Some(f) => f,
                    None => break,
                },
                Some(reason) = close_rx.recv() => {
                    let frame = axum::extract::ws::CloseFrame {
                        code: SESSION_ENDED,
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return;
                }
            };
            if sink.feed(Message::Text(frame.into())).await.is_err() {
                return;
            }
            for _ in 0..WRITE_BURST {
                match out_rx.try_recv() {
                    Ok(frame) => {
                        if sink.feed(Message::Text(frame.into())).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    };
    let reader = async {
        while let Some(Ok(msg)) = stream.next().await {
            let reply = match msg {
                Message::Text(text) => match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(ClientMsg::Subscribe {
                        topics,
                        devices,
                        bbox,
                        area,
                    }) => match Filter::from_subscribe(&topics, devices, bbox, area, &areas) {
                        Ok(f) => {
                            let f = Filter {
                                scope: scope.clone(),
                                ..f
                            };
                            let _ = filter_tx.send(Some(f));
                            serde_json::json!({"type": "subscribed", "topics": topics})
                        }
                        Err(e) => serde_json::json!({"type": "error", "message": e}),
                    },
                    Ok(ClientMsg::Unsubscribe {}) => {
                        let _ = filter_tx.send(None);
                        serde_json::json!({"type": "unsubscribed"})
                    }
                    Err(e) => {
                        serde_json::json!({"type": "error", "message": format!("bad message: {e}")})
                    }
                },
                Message::Close(_) => break,
                _ => continue,
            };
            if ctl_tx.send(reply.to_string()).await.is_err() {
                break;
            }
        }
    };
    let pump = pump(feed, filter_rx, out_tx, ctl_rx);
    let session_end = session_end(&ended, expires_at_ms, &still_live);
    let writer_until_closed = async {
        tokio::select! {
            () = writer => {}
            () = async {
                let reason = session_end.await;
                tracing::info!(reason, "closing WebSocket client");
                let _ = close_tx.send(reason).await;
                std::future::pending::<()>().await;
            } => {}
        }
    };
    tokio::select! {
        _ = writer_until_closed => {}
        _ = reader => {}
        reason = pump => if let Err(reason) = reason {
            tracing::info!(reason, "closing WebSocket client");
        },
    }
    m::ws_clients(-1.0);
}

/// Resolves when the session behind a socket is over, with why.
pub async fn session_end(
    ended: &tokio_util::sync::CancellationToken,
    expires_at_ms: i64,
    still_live: &StillLive,
) -> &'static str {
    let left_ms = (expires_at_ms - crate::timefmt::now_ms()).max(0);
    let expiry = tokio::time::sleep(std::time::Duration::from_millis(left_ms.unsigned_abs()));
    tokio::pin!(expiry);
    let mut check = tokio::time::interval(LIVE_CHECK);
    check.tick().await; // the first tick is at once: the session was just checked
    loop {
        tokio::select! {
            () = ended.cancelled() => break "session ended",
            () = &mut expiry => break "session expired",
            _ = check.tick() => if !still_live().await {
                break "session idle or gone";
            },
        }
    }
}

/// Per-client backlog: replies and alerts (never dropped), and telemetry conflated per series
/// while the client is behind.
struct Backlog {
    out: mpsc::Sender<String>,
    urgent: VecDeque<String>,
    conflated: HashMap<(Arc<str>, String), String>,
    lag_notice: bool,
    missed: u64,
}

impl Backlog {
    fn is_empty(&self) -> bool {
        self.urgent.is_empty() && !self.lag_notice && self.conflated.is_empty()
    }

    /// Sends the most important waiting frame: urgent first, then the lag notice, then the
    /// conflated latest values.
    fn send_one(&mut self, permit: mpsc::Permit<'_, String>) {
        if let Some(frame) = self.urgent.pop_front() {
            permit.send(frame);
        } else if self.lag_notice {
            self.lag_notice = false;
            let notice = serde_json::json!({
                "type": "lagged", "conflated": self.conflated.len(), "missed": self.missed
            });
            permit.send(notice.to_string());
            self.missed = 0;
        } else if let Some(key) = self.conflated.keys().next().cloned()
            && let Some(frame) = self.conflated.remove(&key)
        {
            permit.send(frame);
        }
    }

    fn urgent(&mut self, frame: String) -> Result<(), &'static str> {
        self.urgent.push_back(frame);
        if self.urgent.len() > MAX_URGENT {
            return Err("too slow to take alerts");
        }
        Ok(())
    }

    /// Queues a telemetry frame, or keeps it as the latest of its series when the client is
    /// behind; never waits.
    fn offer(&mut self, key: (Arc<str>, String), frame: String) {
        let frame = if self.conflated.is_empty() {
            match self.out.try_send(frame) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(frame)) => {
                    self.lag_notice = true;
                    m::ws_lagged();
                    frame
                }
            }
        } else {
            frame
        };
        if self.conflated.insert(key, frame).is_some() {
            m::ws_conflated();
        }
    }

    fn event(&mut self, event: LiveEvent, f: &Filter, positions: &Positions) {
        match event {
            LiveEvent::Readings(readings) if f.telemetry => {
                for r in readings.iter().filter(|r| f.matches(&r.device, positions)) {
                    let frame = TelemetryFrame {
                        kind: "telemetry",
                        device: &r.device,
                        metric: &r.metric,
                        ts: r.ts_ms,
                        value: r.value,
                    };
                    let text = serde_json::to_string(&frame).unwrap_or_default();
                    self.offer((r.device.as_str().into(), r.metric.clone()), text);
                }
            }
            LiveEvent::Status {
                device,
                online,
                ts_ms,
            } if (f.devices_topic || f.telemetry) && f.matches(&device, positions) => {
                let frame = DeviceFrame {
                    kind: "device",
                    device: &device,
                    online,
                    ts: ts_ms,
                };
                let text = serde_json::to_string(&frame).unwrap_or_default();
                self.offer((device.clone(), String::new()), text);
            }
            LiveEvent::Position { device, lon, lat }
                if f.devices_topic && f.matches(&device, positions) =>
            {
                let frame = PositionFrame {
                    kind: "position",
                    device: &device,
                    lon,
                    lat,
                };
                let text = serde_json::to_string(&frame).unwrap_or_default();
                // Its own conflation slot: a lagging client keeps the latest position and the
                // latest status of a device.
                self.offer((device.clone(), "@position".into()), text);
            }
            _ => {}
        }
    }
}

/// Moves frames from the feed to the client's queue until the client or the feed goes away.
async fn pump(
    feed: LiveFeed,
    mut filter_rx: watch::Receiver<Option<Filter>>,
    out: mpsc::Sender<String>,
    mut ctl: mpsc::Receiver<String>,
) -> Result<(), &'static str> {
    let (mut events, mut alerts) = feed.subscribe();
    let mut filter: Option<Filter> = None;
    let mut backlog = Backlog {
        out: out.clone(),
        urgent: VecDeque::new(),
        conflated: HashMap::new(),
        lag_notice: false,
        missed: 0,
    };
    loop {
        tokio::select! {
            biased;
            permit = out.reserve(), if !backlog.is_empty() => {
                backlog.send_one(permit.map_err(|_| "socket closed")?);
            }
            c = ctl.recv() => match c {
                Some(frame) => backlog.urgent(frame)?,
                None => return Ok(()),
            },
            r = filter_rx.changed() => {
                r.map_err(|_| "reader gone")?;
                filter = filter_rx.borrow_and_update().clone();
            }
            a = alerts.recv() => match a {
                Ok(alert) => {
                    let Some(f) = filter.as_ref().filter(|f| f.alerts) else { continue };
                    if f.matches_alert(&alert, &feed.directory.snapshot()) {
                        let frame = AlertFrame { kind: "alert", alert: &alert, ts: alert.updated_at };
                        backlog.urgent(serde_json::to_string(&frame).unwrap_or_default())?;
                    }
                }
                Err(RecvError::Lagged(_)) => return Err("missed alerts; client must resync"),
                Err(RecvError::Closed) => return Ok(()),
            },
            e = events.recv() => match e {
                Ok(event) => {
                    if let Some(f) = filter.as_ref() {
                        backlog.event(event, f, &feed.directory.snapshot());
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    backlog.missed += n;
                    backlog.lag_notice = true;
                    m::ws_lagged();
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}
