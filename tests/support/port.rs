//! [`PortHold`]: for servers that cannot bind port 0 and tell which port they got, and for a
//! server's restart on the port it had. Also used by `benches/rollups.rs`, with `postgres.rs`.

/// A port on 127.0.0.1 that nobody else is given while this is held, for a server that cannot
/// bind port 0 and tell which port it got (Mosquitto: `listener 0` means a unix socket;
/// PostgreSQL: `port` must be 1 or more) or for a server's restart on the port it had.
///
/// The socket is bound with SO_REUSEADDR and never listens. A server that sets SO_REUSEADDR too
/// (Mosquitto, PostgreSQL, the hub and its rumqttd all do) can still bind and listen on the
/// port; Linux gives a bound port to no one asking for port 0 or connecting out, so unlike a
/// port found by binding and dropping a listener, a parallel test cannot take it in between.
pub struct PortHold {
    pub port: u16,
    _socket: tokio::net::TcpSocket,
}

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
