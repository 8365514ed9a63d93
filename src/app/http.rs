//! The HTTP stage: the listener (API, WebSocket, dashboard) and the banner that tells a person
//! where everything is.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{HOST, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
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

/// Serves until `stop` is cancelled, then lets open requests finish; over TLS when `tls` is
/// given (HTTPS and WSS on the same port).
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState,
    stop: CancellationToken,
) -> std::io::Result<()> {
    // The client's address reaches the handlers (the audit trail records it).
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = stop.cancelled_owned();
    match tls {
        // tap_io is what gives a custom listener axum's `ConnectInfo<SocketAddr>`.
        Some(config) => {
            let listener = TlsListener::new(listener, config).tap_io(|_| {});
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            let listener = listener.tap_io(no_delay);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// Live frames are small and sparse: without TCP_NODELAY a frame can wait for the ACK of the
/// previous one (Nagle against delayed ACK), ~40 ms on an alert.
fn no_delay(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
}

/// TLS handshakes in progress at once; more wait in the kernel's accept queue.
const HANDSHAKES: usize = 256;
/// A client that has not finished its handshake by then is dropped (a slow-loris guard).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TCP connections and hands axum only those that finished a TLS handshake. Handshakes
/// run concurrently (bounded, with a timeout) on their own tasks, so one slow or hostile client
/// never holds up the others' accepts.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(listener: tokio::net::TcpListener, config: Arc<rustls::ServerConfig>) -> Self {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = mpsc::channel(HANDSHAKES);
        let acceptor = tokio::spawn(accept_tls(listener, TlsAcceptor::from(config), tx));
        TlsListener {
            ready,
            local,
            acceptor,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor is gone (aborted on shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_tls(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let permits = Arc::new(Semaphore::new(HANDSHAKES));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (mut tcp, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: axum's own loop waits too.
                tracing::warn!(error = %e, "HTTPS accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        no_delay(&mut tcp);
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// The plain-HTTP listener of `http_redirect`: every request is sent (308) to the same path on
/// the HTTPS address, so nothing is ever served in the clear.
pub async fn redirect_to_https(
    listener: tokio::net::TcpListener,
    https_port: u16,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(host_without_port)
            .unwrap_or("localhost");
        let port = if https_port == 443 {
            String::new()
        } else {
            format!(":{https_port}")
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let target = format!("https://{host}{port}{path}");
        match HeaderValue::from_str(&target) {
            Ok(location) => {
                (StatusCode::PERMANENT_REDIRECT, [(LOCATION, location)]).into_response()
            }
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

/// `host` of `host[:port]` (and of `[v6]:port`).
fn host_without_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
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
    let scheme = if cfg.https.is_some() { "https" } else { "http" };
    println!(
        "\niochub is running\n  dashboard:   {scheme}://{http}/  (video wall: {scheme}://{http}/wall/)\n  \
         HTTP API:    {scheme}://{http}/api/v1  (OpenAPI: {scheme}://{http}/api/v1/openapi.json)\n  \
         MQTT:        {mqtt}  (publish to ioc/{{device}}/telemetry)\n  MQTT access: {mqtt_access}\n  data:        {}\n  rules:       {}\n  \
         log in:      {login}\n  token:       curl -s -X POST {scheme}://{http}/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"username\":\"admin\",\"password\":\"...\"}}'\n",
        cfg.data_dir.display(),
        cfg.rules.display(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_keeps_the_host_and_drops_the_plain_port() {
        assert_eq!(host_without_port("ioc.local:80"), "ioc.local");
        assert_eq!(host_without_port("ioc.local"), "ioc.local");
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
    }
}
