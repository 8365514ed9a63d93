//! The embedded MQTT broker (rumqttd) of `iochub demo`: loopback by default, in memory only.
//!
//! rumqttd keeps sessions and retained messages in memory, has no shutdown, and allows 100
//! unacked QoS 1 messages per subscriber (a hard-coded window), so the batcher commits often.
//! Production uses an external broker (`iochub serve`). With `--mqtt-auth` it holds devices to
//! the registry's credentials and topic rule ([`crate::accounts::mqtt`]); without, it is open to
//! anyone who can reach it, which is why it listens on loopback by default.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use rumqttd::{Broker, Config, ConnectionSettings, PublishAuth, RouterConfig, ServerSettings};

use crate::accounts::mqtt::DeviceAccounts;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen for MQTT on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Starts the broker on its own threads; returns the address it listens on (port 0 picks one).
/// With `accounts`, every CONNECT and every PUBLISH is checked against them.
pub fn start(
    addr: SocketAddr,
    accounts: Option<Arc<DeviceAccounts>>,
) -> Result<SocketAddr, BrokerError> {
    // rumqttd binds by address and cannot be handed a listener or asked for its port. Hold the
    // port ourselves, bound but not listening, with SO_REUSEADDR (which rumqttd's bind also sets):
    // the kernel then picks a port for 0, rumqttd can listen on it, and nobody else is given it
    // in between. It is also a clear error up front where rumqttd would panic on its own thread.
    let bind_error = |e: std::io::Error| BrokerError::Bind {
        addr,
        reason: e.to_string(),
    };
    let hold = reserve(addr).map_err(bind_error)?; // held until rumqttd listens
    let addr = hold.local_addr().map_err(bind_error)?;
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_PAYLOAD_BYTES,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let publish_auth = accounts.map(|accounts| {
        let check = accounts.clone();
        connections.set_auth_handler(move |client_id, username, password| {
            let ok = check
                .current()
                .authenticate(&client_id, &username, &password);
            if !ok {
                crate::metrics::mqtt_auth_refused("connect");
                tracing::warn!(%client_id, %username, "MQTT connect refused: bad credentials");
            }
            async move { ok }
        });
        PublishAuth(Arc::new(move |client_id: &str, topic: &str| {
            let ok = accounts.current().may_publish(client_id, topic);
            if !ok {
                crate::metrics::mqtt_auth_refused("publish");
            }
            ok
        }))
    });
    let server = ServerSettings {
        name: "v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 20_000,
            max_outgoing_packet_count: 200,
            // The in-memory log behind offline sessions: 10 MiB x 10 segments.
            max_segment_size: 10 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
            publish_auth,
        },
        v4: Some(HashMap::from([("v4".to_owned(), server)])),
        ..Default::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(error) = broker.start() {
                tracing::error!(%error, "embedded broker stopped");
            }
        })
        .map_err(|e| BrokerError::Bind {
            addr,
            reason: e.to_string(),
        })?;
    // Ready once the port is listening. Neither a connect probe (rumqttd logs an error for every
    // aborted handshake) nor a bind probe (it could win the race and make rumqttd's bind fail):
    // the kernel's socket table says it without side effects.
    for _ in 0..500 {
        if listening(addr.port()) {
            tracing::info!(mqtt = %addr, "embedded MQTT broker listening");
            return Ok(addr);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(BrokerError::Bind {
        addr,
        reason: "the embedded broker did not start listening within 5 s".into(),
    })
}

fn reserve(addr: SocketAddr) -> std::io::Result<tokio::net::TcpSocket> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// True when a TCP socket on `port` is in LISTEN state (Linux `/proc/net/tcp{,6}`).
fn listening(port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let mut fields = line.split_whitespace();
                let local = fields.nth(1).unwrap_or("");
                let state = fields.nth(1).unwrap_or("");
                local.ends_with(&wanted) && state == "0A"
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_listening_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert!(listening(port));
        drop(l);
        assert!(!listening(port));
    }
}
