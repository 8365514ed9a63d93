//! Test harness, by part; each talks to the real processes through their public contract:
//!
//! - `hub`: the real `iochub` binary in a temp dir, on port 0, its address read from its log
//! - `broker`: a throwaway Mosquitto
//! - `postgres`: a throwaway PostgreSQL 15 server
//! - `mqtt`: the device side, an MQTT publisher that waits for the broker's acks
//! - `ws`: a WebSocket client of the hub's live feed
//!
//! Here: what they share, [`eventually`] and [`PortHold`].
//!
//! Every test crate compiles all of these and uses only some (storage_conformance only
//! `postgres`), so `dead_code` is allowed on the `mod` lines below and on this file's items, and
//! nowhere in the test files themselves.

#[allow(dead_code)]
pub mod broker;
#[allow(dead_code)]
pub mod hub;
#[allow(dead_code)]
pub mod mqtt;
#[allow(dead_code)]
pub mod postgres;
#[allow(dead_code)]
pub mod ws;

#[allow(unused_imports)]
pub use broker::Mosquitto;
#[allow(unused_imports)]
pub use hub::{Broker, DEFAULT_RULES, Hub, PASSWORD, assert_all_stored_once, committed_at_least};
#[allow(unused_imports)]
pub use mqtt::{Publisher, stream};

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it returns Some, or fails the test after `timeout`.
#[allow(dead_code)]
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[allow(dead_code)]
pub fn now_ms() -> i64 {
    iochub::timefmt::now_ms()
}

/// A port on 127.0.0.1 that nobody else is given while this is held, for a server that cannot
/// bind port 0 and tell which port it got (Mosquitto: `listener 0` means a unix socket;
/// PostgreSQL: `port` must be 1 or more) or for a server's restart on the port it had.
///
/// The socket is bound with SO_REUSEADDR and never listens. A server that sets SO_REUSEADDR too
/// (Mosquitto, PostgreSQL, the hub and its rumqttd all do) can still bind and listen on the
/// port; Linux gives a bound port to no one asking for port 0 or connecting out, so unlike a
/// port found by binding and dropping a listener, a parallel test cannot take it in between.
#[allow(dead_code)]
pub struct PortHold {
    pub port: u16,
    _socket: tokio::net::TcpSocket,
}

#[allow(dead_code)]
impl PortHold {
    /// A port the kernel picks.
    pub fn any() -> Self {
        Self::on(0).expect("a free port on 127.0.0.1")
    }

    /// Holds `port`; fails while another socket listens on it.
    pub fn on(port: u16) -> std::io::Result<Self> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        Ok(Self {
            port: socket.local_addr()?.port(),
            _socket: socket,
        })
    }
}
