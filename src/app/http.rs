//! The HTTP stage: the listener (API, WebSocket, dashboard) and the banner that tells a person
//! where everything is.

use std::net::SocketAddr;

use axum::serve::ListenerExt;
use tokio_util::sync::CancellationToken;

use super::AppError;
use crate::api::{self, AppState};
use crate::config::HubConfig;

/// Per-connection kernel send buffer. A fixed size turns off Linux's autotuning (up to 4 MiB per
/// socket), so a stalled WebSocket viewer costs a bounded amount of kernel memory and falls into
/// conflation quickly. 256 KiB still fills a LAN link.
const HTTP_SEND_BUFFER: u32 = 256 * 1024;

/// Binds `addr` now (so a taken port is an error at start, not in a task).
pub fn listen(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), AppError> {
    let bound = bind(addr).and_then(|l| {
        let local = l.local_addr()?;
        Ok((l, local))
    });
    bound.map_err(|e| AppError::Http {
        addr,
        reason: e.to_string(),
    })
}

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(HTTP_SEND_BUFFER)?; // inherited by accepted sockets
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves until `stop` is cancelled, then lets open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: CancellationToken,
) -> std::io::Result<()> {
    // Live frames are small and sparse: without TCP_NODELAY a frame can wait for the ACK of the
    // previous one (Nagle against delayed ACK), ~40 ms on an alert.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    // The client's address reaches the handlers (the audit trail records it).
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

pub fn print_banner(http: SocketAddr, mqtt: &str, cfg: &HubConfig, admin_password: Option<&str>) {
    let login = match admin_password {
        Some(p) => format!(
            "admin / {p}   (generated on first start and shown only now; choose your own at the first login)"
        ),
        None => "admin / the password set on first start (IOCHUB_ADMIN_PASSWORD or the one printed then)".into(),
    };
    let mqtt_access = match cfg.broker {
        crate::config::BrokerConfig::Embedded { auth: true, .. } => {
            "device credentials required (--mqtt-auth); each device publishes only to ioc/{its key}/…"
        }
        crate::config::BrokerConfig::Embedded { auth: false, .. } => {
            "OPEN: anyone who reaches this port may publish (keep it on loopback; --mqtt-auth requires credentials)"
        }
        crate::config::BrokerConfig::External { .. } => {
            "the broker's own (iochub mosquitto-auth writes its password file and ACL)"
        }
    };
    println!(
        "\niochub is running\n  dashboard:   http://{http}/  (video wall: http://{http}/wall/)\n  \
         HTTP API:    http://{http}/api/v1  (OpenAPI: http://{http}/api/v1/openapi.json)\n  \
         MQTT:        {mqtt}  (publish to ioc/{{device}}/telemetry)\n  MQTT access: {mqtt_access}\n  data:        {}\n  rules:       {}\n  \
         log in:      {login}\n  token:       curl -s -X POST http://{http}/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"username\":\"admin\",\"password\":\"...\"}}'\n",
        cfg.data_dir.display(),
        cfg.rules.display(),
    );
}
