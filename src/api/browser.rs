//! What a browser is told and asked: the security headers on every response (a strict
//! Content-Security-Policy — the app loads nothing from elsewhere but the IOC's own basemap, when
//! one is configured —, no sniffing, no framing, no referrer), and the origin checks that keep
//! another site from using a logged-in browser: a WebSocket upgrade, a login, and any
//! cookie-authenticated request that changes something must come from the hub's own origin or
//! one of `allowed_origins`.

use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;

use crate::config::MapConfig;

/// The headers every response carries.
#[derive(Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// HTTPS only: browsers must not come back over plain HTTP for a year.
    hsts: bool,
}

/// `scheme://host[:port]` of a URL, for the policy.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && matches!(scheme, "http" | "https")).then(|| format!("{scheme}://{host}"))
}

impl SecurityHeaders {
    pub fn new(map: &MapConfig, hsts: bool) -> Self {
        let extra: Vec<String> = [&map.style, &map.tiles]
            .into_iter()
            .flatten()
            .filter_map(|u| origin_of(u))
            .collect();
        let extra = extra.join(" ");
        // Styles: the app sets colours in element styles (inline), scripts never run inline.
        // MapLibre runs its worker from a blob: URL and draws images from blob:/data: URLs; the
        // camera player feeds <video> from a MediaSource, whose URL is a blob: URL.
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob: {extra}; connect-src 'self' {extra}; worker-src 'self' blob:; \
             media-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        );
        Self {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
            hsts,
        }
    }

    pub fn apply(&self, mut resp: Response) -> Response {
        let h = resp.headers_mut();
        h.insert(
            HeaderName::from_static("content-security-policy"),
            self.csp.clone(),
        );
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
        ] {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        if self.hsts {
            h.insert(
                HeaderName::from_static("strict-transport-security"),
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        resp
    }
}

/// Whether the request's `Origin` is the hub's own (its `Host`) or an allowed one. `None`
/// without an `Origin` header (not a browser's cross-site request).
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> Option<bool> {
    let origin = headers.get(ORIGIN)?.to_str().unwrap_or("");
    if allowed.iter().any(|a| a == origin) {
        return Some(true);
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let own = origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && Some(rest) == host);
    Some(own)
}

/// Methods that change something.
pub fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn origins() {
        let own = headers(&[
            ("host", "ioc.local:8080"),
            ("origin", "http://ioc.local:8080"),
        ]);
        assert_eq!(origin_allowed(&own, &[]), Some(true));
        let tls = headers(&[("host", "ioc.local"), ("origin", "https://ioc.local")]);
        assert_eq!(origin_allowed(&tls, &[]), Some(true));
        let evil = headers(&[
            ("host", "ioc.local:8080"),
            ("origin", "http://evil.example"),
        ]);
        assert_eq!(origin_allowed(&evil, &[]), Some(false));
        assert_eq!(
            origin_allowed(&evil, &["http://evil.example".into()]),
            Some(true),
            "allow-listed"
        );
        let port = headers(&[
            ("host", "ioc.local:8080"),
            ("origin", "http://ioc.local:9090"),
        ]);
        assert_eq!(origin_allowed(&port, &[]), Some(false));
        assert_eq!(origin_allowed(&headers(&[("host", "x")]), &[]), None);
    }

    #[test]
    fn the_policy_names_the_basemap_origin_only() {
        let map = MapConfig {
            style: Some("https://tiles.ioc.local/styles/ioc.json".into()),
            tiles: None,
            attribution: None,
            ..MapConfig::default()
        };
        let csp = SecurityHeaders::new(&map, false).csp;
        let csp = csp.to_str().expect("ascii");
        assert!(
            csp.contains("connect-src 'self' https://tiles.ioc.local;"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let bare = SecurityHeaders::new(&MapConfig::default(), false).csp;
        assert!(!bare.to_str().expect("ascii").contains("https:"));
    }
}
