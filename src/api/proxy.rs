//! The client's address when the hub sits behind reverse proxies (nginx, HAProxy, a load
//! balancer). The audit trail must name the address a person acted from, and the login limit
//! must count per client, not per proxy; but `X-Forwarded-For` is whatever the sender wrote. So
//! it is believed only from a peer in `trusted_proxies`, and read from the right: each trusted
//! proxy appends the address it received from, and the first address from the right that is not
//! a trusted proxy is the client. Without `trusted_proxies` the header is ignored.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header every common proxy appends to (`proxy_add_x_forwarded_for` in nginx).
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client of a request that arrived from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Several headers count as one list, in order (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // A hop that is not an address: nothing left of it can be trusted.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One hop as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443`, `1.2.3.4:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| canonical(s.ip()))
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:10.0.0.1`) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(FORWARDED_FOR, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer_and_is_read_from_the_right() {
        let trusted: Vec<IpNet> = ["127.0.0.1/32", "10.0.0.0/8"]
            .iter()
            .map(|e| e.parse().expect("network"))
            .collect();
        let xff = headers(&["203.0.113.7"]);
        assert_eq!(
            client_ip(ip("198.51.100.2"), &xff, &trusted),
            ip("198.51.100.2"),
            "untrusted peer"
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff, &[]),
            ip("127.0.0.1"),
            "nothing trusted"
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );

        // A spoofed leftmost entry is passed over: the client is the first untrusted from the right.
        let chain = headers(&["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &chain, &trusted),
            ip("203.0.113.7")
        );
        // Every hop trusted: the leftmost.
        let inner = headers(&["10.9.9.9, 10.1.2.3"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &inner, &trusted), ip("10.9.9.9"));
        // Garbage stops the walk at the last address believed.
        let junk = headers(&["203.0.113.7, unknown, 10.1.2.3"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &junk, &trusted), ip("10.1.2.3"));
        // Ports and brackets as some proxies write them; IPv4 through an IPv6 socket.
        let ported = headers(&["[2001:db8::1]:51000"]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &ported, &trusted),
            ip("2001:db8::1")
        );
    }
}
