//! One WebSocket client: a reader (subscribe messages), a pump (filter, conflate, prioritise) and a
//! writer (the socket), run as three futures of one task.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};

use super::filter::{ClientMsg, Filter};
use super::{AlertFrame, DeviceFrame, LiveEvent, LiveFeed, TelemetryFrame};
use crate::metrics as m;

/// Frames queued for the socket; past this a client counts as slow.
const OUT_QUEUE: usize = 512;
/// Frames written to the socket per flush.
const WRITE_BURST: usize = 256;
/// Alerts and replies waiting for a slow client; past this it is disconnected.
const MAX_URGENT: usize = 10_000;

pub async fn serve(socket: WebSocket, feed: LiveFeed) {
    m::ws_clients(1.0);
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUT_QUEUE);
    let (ctl_tx, ctl_rx) = mpsc::channel::<String>(16);
    let (filter_tx, filter_rx) = watch::channel::<Option<Filter>>(None);

    let writer = async {
        // Feed whatever is queued, then flush once: one write per burst, not per frame.
        while let Some(frame) = out_rx.recv().await {
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
                    Ok(ClientMsg::Subscribe { topics, devices, bbox, area }) => {
                        match Filter::from_subscribe(&topics, devices, bbox, area) {
                            Ok(f) => {
                                let _ = filter_tx.send(Some(f));
                                serde_json::json!({"type": "subscribed", "topics": topics})
                            }
                            Err(e) => serde_json::json!({"type": "error", "message": e}),
                        }
                    }
                    Ok(ClientMsg::Unsubscribe {}) => {
                        let _ = filter_tx.send(None);
                        serde_json::json!({"type": "unsubscribed"})
                    }
                    Err(e) => serde_json::json!({"type": "error", "message": format!("bad message: {e}")}),
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
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
        reason = pump => if let Err(reason) = reason {
            tracing::info!(reason, "closing WebSocket client");
        },
    }
    m::ws_clients(-1.0);
}

/// Moves frames from the feed to the client's queue: replies and alerts first and never
/// dropped, telemetry conflated per series while the client is behind.
async fn pump(
    feed: LiveFeed,
    mut filter_rx: watch::Receiver<Option<Filter>>,
    out: mpsc::Sender<String>,
    mut ctl: mpsc::Receiver<String>,
) -> Result<(), &'static str> {
    let (mut events, mut alerts) = feed.subscribe();
    let mut filter: Option<Filter> = None;
    let mut urgent: VecDeque<String> = VecDeque::new();
    let mut conflated: HashMap<(Arc<str>, String), String> = HashMap::new();
    let mut lag_notice = false;
    let mut missed = 0u64;
    loop {
        let backlog = !urgent.is_empty() || lag_notice || !conflated.is_empty();
        tokio::select! {
            biased;
            permit = out.reserve(), if backlog => {
                let permit = permit.map_err(|_| "socket closed")?;
                if let Some(frame) = urgent.pop_front() {
                    permit.send(frame);
                } else if lag_notice {
                    lag_notice = false;
                    permit.send(serde_json::json!({"type": "lagged", "conflated": conflated.len(), "missed": missed}).to_string());
                    missed = 0;
                } else if let Some(key) = conflated.keys().next().cloned()
                    && let Some(frame) = conflated.remove(&key)
                {
                    permit.send(frame);
                }
            }
            c = ctl.recv() => match c {
                Some(frame) => urgent.push_back(frame),
                None => return Ok(()),
            },
            r = filter_rx.changed() => {
                r.map_err(|_| "reader gone")?;
                filter = filter_rx.borrow_and_update().clone();
            }
            a = alerts.recv() => match a {
                Ok(alert) => {
                    let Some(f) = filter.as_ref().filter(|f| f.alerts) else { continue };
                    if f.matches(&alert.device, &feed.directory.snapshot()) {
                        let frame = AlertFrame { kind: "alert", alert: &alert, ts: alert.updated_at };
                        urgent.push_back(serde_json::to_string(&frame).unwrap_or_default());
                        if urgent.len() > MAX_URGENT {
                            return Err("too slow to take alerts");
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => return Err("missed alerts; client must resync"),
                Err(RecvError::Closed) => return Ok(()),
            },
            e = events.recv() => match e {
                Ok(event) => {
                    let Some(f) = filter.as_ref() else { continue };
                    let mut offer = |key: (Arc<str>, String), frame: String| {
                        let frame = if conflated.is_empty() {
                            match out.try_send(frame) {
                                Ok(()) => return,
                                Err(e) => match e {
                                    mpsc::error::TrySendError::Full(f) => f,
                                    mpsc::error::TrySendError::Closed(_) => return,
                                },
                            }
                        } else {
                            frame
                        };
                        if conflated.is_empty() {
                            lag_notice = true;
                            m::ws_lagged();
                        }
                        if conflated.insert(key, frame).is_some() {
                            m::ws_conflated();
                        }
                    };
                    match event {
                        LiveEvent::Readings(readings) if f.telemetry => {
                            let positions = feed.directory.snapshot();
                            for r in readings.iter().filter(|r| f.matches(&r.device, &positions)) {
                                let frame = TelemetryFrame { kind: "telemetry", device: &r.device, metric: &r.metric, ts: r.ts_ms, value: r.value };
                                offer((r.device.as_str().into(), r.metric.clone()), serde_json::to_string(&frame).unwrap_or_default());
                            }
                        }
                        LiveEvent::Status { device, online, ts_ms } if f.devices_topic || f.telemetry => {
                            if f.matches(&device, &feed.directory.snapshot()) {
                                let frame = DeviceFrame { kind: "device", device: &device, online, ts: ts_ms };
                                offer((device.clone(), String::new()), serde_json::to_string(&frame).unwrap_or_default());
                            }
                        }
                        _ => {}
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    missed += n;
                    lag_notice = true;
                    m::ws_lagged();
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}
