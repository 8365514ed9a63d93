//! A WebSocket client of the hub's live feed (`/ws`) or of a camera's video (`/ws/video`),
//! authenticated with the hub's token.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::Hub;

impl Hub {
    /// A WebSocket client subscribed to `topics`, authenticated with the bearer token.
    pub async fn ws(&self, subscribe: Value) -> Ws {
        self.ws_on(subscribe, None, &self.token).await
    }

    /// Like [`Hub::ws`], as the account whose token this is.
    pub async fn ws_as(&self, token: &str, subscribe: Value) -> Ws {
        self.ws_on(subscribe, None, token).await
    }

    /// Like [`Hub::ws`], over a socket with a 4 KiB receive buffer (a slow reader fills it fast).
    pub async fn ws_small_buffer(&self, subscribe: Value) -> Ws {
        self.ws_on(subscribe, Some(4096), &self.token).await
    }

    async fn ws_on(&self, subscribe: Value, recv_buffer: Option<u32>, token: &str) -> Ws {
        let mut ws = self.connect("/ws", recv_buffer, token).await;
        ws.stream
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .expect("subscribe");
        let ack = ws
            .next_json(Duration::from_secs(10))
            .await
            .expect("subscribe reply");
        assert_eq!(ack["type"], "subscribed", "{ack}");
        ws
    }

    /// A viewer of `/ws/video/{camera}` (`path_and_query` after `/ws/video/`), with the
    /// hub's token; a small receive buffer makes a viewer that does not read fill up fast.
    pub async fn video(&self, path_and_query: &str, recv_buffer: Option<u32>) -> Ws {
        let path = format!("/ws/video/{path_and_query}");
        self.connect(&path, recv_buffer, &self.token).await
    }

    async fn connect(&self, path: &str, recv_buffer: Option<u32>, token: &str) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let tcp = socket
            .connect(([127, 0, 0, 1], self.http).into())
            .await
            .expect("connect");
        let mut req = format!("ws://127.0.0.1:{}{path}", self.http)
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (stream, _) =
            tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("ws connect");
        Ws { stream }
    }
}

pub struct Ws {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    pub async fn next_json(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(timeout, self.stream.next())
                .await
                .ok()??
                .ok()?;
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).ok();
            }
        }
    }

    /// Waits up to `timeout` for the server to close the socket; returns the close code (0 when
    /// the connection just ended), or None when it is still open then.
    pub async fn closed_within(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(0),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(frame.map_or(0, |f| u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Reads frames until one satisfies `pred`.
    pub async fn until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self
                .next_json(left)
                .await
                .expect("expected WebSocket frame did not arrive");
            if pred(&frame) {
                return frame;
            }
        }
    }
}
