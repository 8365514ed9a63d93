//! The WebSocket listener: subscribes to the hub's `alerts` and records, for every alert that
//! opens for a `load-` device, `receive time − ts` (the frame's `ts` is the alert's `updated_at`,
//! which is the breaching reading's time when the alert opens). With `senml` it listens to a
//! flow's `websocket out` instead (Node-RED, for the comparison), where every pack whose first
//! value breaches is an alert.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::warn;

use super::now_us;
use super::payload::{DEVICE_PREFIX, senml_alert};
use super::report::{Tally, latency_us};

/// The subscription the listener sends.
const SUBSCRIBE: &str = r#"{"op":"subscribe","topics":["alerts"]}"#;

/// Why the listener could not subscribe, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("{0}")]
    Connect(#[from] tungstenite::Error),
    #[error("the token is not a valid header value")]
    Token,
    #[error("closed by the hub: {0}")]
    Closed(String),
    #[error("hub refused: {0}")]
    Refused(String),
    #[error("connection ended")]
    Ended,
}

/// What one text frame of the hub means to the run.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    /// The subscription is in place: from now on no alert is missed.
    Subscribed,
    /// The hub refused the subscription.
    Refused,
    /// An alert of a `load-` device opened (its first firing, not a repeat); `ts` in ms.
    Opened { ts_ms: i64 },
    /// Anything else: another device's alert, a repeat, an update, another frame type.
    Other,
}

/// Reads one text frame of the hub.
pub(crate) fn hub_frame(text: &str) -> Frame {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Frame::Other;
    };
    let str_of = |k: &str| v.get(k).and_then(|s| s.as_str());
    match str_of("type") {
        Some("subscribed") => Frame::Subscribed,
        Some("error") => Frame::Refused,
        Some("alert") => {
            let open = str_of("state") == Some("open");
            let ours = str_of("device").is_some_and(|d| d.starts_with(DEVICE_PREFIX));
            // Repeat firings also arrive as `open` (hits > 1); only the opening counts.
            let first = v
                .get("hits")
                .and_then(|h| h.as_u64())
                .is_none_or(|h| h <= 1);
            match v.get("ts").and_then(|t| t.as_i64()) {
                Some(ts_ms) if open && ours && first => Frame::Opened { ts_ms },
                _ => Frame::Other,
            }
        }
        _ => Frame::Other,
    }
}

/// Listens until the connection ends; `ready` gets `Ok` once subscribed (at once with `senml`:
/// a flow pushes to whoever is connected) or the error that prevented it.
pub(crate) async fn listen(
    url: String,
    token: Option<String>,
    senml: bool,
    tally: Arc<Tally>,
    ready: oneshot::Sender<Result<(), ListenError>>,
) {
    let mut ready = Some(ready);
    let error = match receive(&url, token, senml, &tally, &mut ready).await {
        Ok(()) => ListenError::Ended,
        Err(e) => e,
    };
    match ready.take() {
        Some(r) => {
            let _ = r.send(Err(error));
        }
        None => warn!(url, error = %error, "WebSocket listener stopped"),
    }
}

async fn receive(
    url: &str,
    token: Option<String>,
    senml: bool,
    tally: &Tally,
    ready: &mut Option<oneshot::Sender<Result<(), ListenError>>>,
) -> Result<(), ListenError> {
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        let value =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ListenError::Token)?;
        request.headers_mut().insert("authorization", value);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let confirm = |ready: &mut Option<oneshot::Sender<_>>| {
        if let Some(r) = ready.take() {
            let _ = r.send(Ok(()));
        }
    };
    if senml {
        confirm(ready);
    } else {
        socket.send(Message::Text(SUBSCRIBE.into())).await?;
    }
    while let Some(msg) = socket.next().await {
        let text = match msg? {
            Message::Text(t) => t,
            Message::Close(frame) => return Err(ListenError::Closed(format!("{frame:?}"))),
            _ => continue,
        };
        let received_us = now_us();
        if senml {
            if let Some((_, sent_ms)) = senml_alert(text.as_str()) {
                tally.record_alert(latency_us(received_us, sent_ms));
            }
            continue;
        }
        match hub_frame(text.as_str()) {
            Frame::Subscribed => confirm(ready),
            Frame::Refused => return Err(ListenError::Refused(text.as_str().to_owned())),
            Frame::Opened { ts_ms } => tally.record_alert(latency_us(received_us, ts_ms)),
            Frame::Other => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_opening_of_a_load_alert_counts() {
        assert_eq!(
            hub_frame(r#"{"type":"subscribed","topics":["alerts"]}"#),
            Frame::Subscribed
        );
        assert_eq!(
            hub_frame(r#"{"type":"error","error":"bad topic"}"#),
            Frame::Refused
        );
        let alert = |state: &str, device: &str, hits: u64| {
            hub_frame(&format!(
                r#"{{"type":"alert","id":7,"state":"{state}","device":"{device}","hits":{hits},"ts":1732270000123}}"#
            ))
        };
        assert_eq!(
            alert("open", "load-00042", 1),
            Frame::Opened {
                ts_ms: 1_732_270_000_123
            }
        );
        assert_eq!(
            alert("open", "load-00042", 2),
            Frame::Other,
            "a repeat firing"
        );
        assert_eq!(alert("resolved", "load-00042", 1), Frame::Other);
        assert_eq!(alert("open", "wl-01", 1), Frame::Other, "not a load device");
        assert_eq!(
            hub_frame(r#"{"type":"alert","state":"open","device":"load-1","ts":5}"#),
            Frame::Opened { ts_ms: 5 },
            "no hits field: an opening"
        );
        assert_eq!(
            hub_frame(r#"{"type":"alert","state":"open","device":"load-1"}"#),
            Frame::Other,
            "no time, no latency"
        );
        assert_eq!(hub_frame("not json"), Frame::Other);
        assert_eq!(hub_frame(r#"{"type":"telemetry"}"#), Frame::Other);
    }
}
