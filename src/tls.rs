//! TLS with rustls and the ring provider only (no second crypto library in the build): the
//! client side of the ingest connection (`mqtts://`), trusting the CA in `mqtt_ca_file` or,
//! without one, the system's roots; and the server side of HTTPS (`tls_cert_file`).
//!
//! rumqttc's own `mqtts://` handling builds its default configuration eagerly and panics when the
//! platform has no certificates or no process-wide crypto provider; so the URL is parsed as plain
//! `mqtt://` and the transport set here, with every failure a clear error instead.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, ServerConfig};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA certificates from {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("no trusted root certificates: set mqtt_ca_file (IOCHUB_MQTT_CA_FILE)")]
    NoRoots,
    #[error("cannot read the certificate chain {path}: {reason}")]
    CertFile { path: String, reason: String },
    #[error("cannot read the private key {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The HTTPS server's configuration: the chain in `cert_file` (PEM, leaf first) and its key in
/// `key_file` (PEM: PKCS#8, PKCS#1 or SEC1). TLS 1.2 and 1.3 with rustls' safe defaults; HTTP/1.1
/// only (the WebSocket upgrade is an HTTP/1.1 mechanism).
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_err = |reason: String| TlsError::CertFile {
        path: cert_file.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no PEM certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsError::KeyFile {
        path: key_file.display().to_string(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration trusting `ca_file` (PEM) or the system roots.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let err = |reason: String| TlsError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| err(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(e.to_string()))?;
            if certs.is_empty() {
                return Err(err("no PEM certificate in the file".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| err(e.to_string()))?;
            }
        }
        None => {
            // Unreadable system certificates are skipped; none at all is an error.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(TlsError::NoRoots);
            }
        }
    }
    client_config_with_roots(roots)
}

/// A client configuration (ring) trusting exactly `roots`.
pub fn client_config_with_roots(
    roots: rustls::RootCertStore,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Splits `mqtts://…` into (true, the same URL as `mqtt://…` with port 8883 made explicit);
/// other URLs come back unchanged with false.
pub fn split_scheme(url: &str) -> (bool, String) {
    let Some(rest) = url
        .strip_prefix("mqtts://")
        .or_else(|| url.strip_prefix("ssl://"))
    else {
        return (false, url.to_owned());
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_part = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let has_port = host_part
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()));
    let authority = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:8883")
    };
    (true, format!("mqtt://{authority}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_default_port() {
        assert_eq!(
            split_scheme("mqtt://h:1883"),
            (false, "mqtt://h:1883".into())
        );
        assert_eq!(split_scheme("mqtts://h"), (true, "mqtt://h:8883".into()));
        assert_eq!(
            split_scheme("mqtts://u:p@h:9000?x=1"),
            (true, "mqtt://u:p@h:9000?x=1".into())
        );
        assert_eq!(
            split_scheme("mqtts://u:p@h?x=1"),
            (true, "mqtt://u:p@h:8883?x=1".into())
        );
    }

    #[test]
    fn a_bad_ca_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("iochub-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate").expect("write");
        let e = client_config(Some(&empty)).expect_err("no certificate");
        assert!(e.to_string().contains("empty.pem"), "{e}");
        let e = client_config(Some(&dir.join("missing.pem"))).expect_err("missing");
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
