//! Test harness, by part; each talks to the real processes through their public contract:
//!
//! - `accounts`: accounts issued through the admin API, logged in, and integrators' tokens
//! - `hub`: the real `iochub` binary in a temp dir, on port 0, its address read from its log
//! - `broker`: a throwaway Mosquitto
//! - `camera`: a real RTSP camera (GStreamer's RTSP server serving test patterns)
//! - `postgres`: a throwaway PostgreSQL 15 server
//! - `mqtt`: the device side, an MQTT publisher that waits for the broker's acks
//! - `ws`: a WebSocket client of the hub's live feed
//! - `port`: [`PortHold`], a port held for a server that cannot bind port 0 and tell which it got
//!
//! Here: [`eventually`] and [`now_ms`].
//!
//! Every test crate compiles all of these and uses only some (storage_conformance only
//! `postgres`), so `dead_code` is allowed on the `mod` lines below and on this file's items, and
//! nowhere in the test files themselves.

#[allow(dead_code)]
pub mod accounts;
#[allow(dead_code)]
pub mod broker;
#[allow(dead_code)]
pub mod camera;
#[allow(dead_code)]
pub mod hub;
#[allow(dead_code)]
pub mod mqtt;
#[allow(dead_code)]
pub mod port;
#[allow(dead_code)]
pub mod postgres;
#[allow(dead_code)]
pub mod ws;

// What the test files use through `support::*`; each uses some, hence `unused_imports`.
#[allow(unused_imports)]
pub use accounts::{GOOD, account, api_token};
#[allow(unused_imports)]
pub use broker::Mosquitto;
#[allow(unused_imports)]
pub use hub::{Broker, DEFAULT_RULES, Hub, assert_all_stored_once, committed_at_least};
#[allow(unused_imports)]
pub use mqtt::{Publisher, stream};
#[allow(unused_imports)]
pub use port::PortHold;

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
