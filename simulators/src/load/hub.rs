//! The hub as a run sees it: its `/metrics`, scraped over HTTP (reqwest) before the run, every
//! second during it, when sending stops and through the grace period.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};

use super::prometheus;

/// How long one scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);
/// The hub's gauge of MQTT messages received but not yet acknowledged.
const UNACKED: &str = "iochub_ingest_unacked_messages";

/// One scrape of the hub's ingest counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HubSample {
    /// The counter named by `--hub-metric` (readings committed, by default).
    pub readings: f64,
    /// `iochub_ingest_unacked_messages`.
    pub unacked: f64,
}

/// Why the hub could not be scraped.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("--http must be an http:// URL, not {0:?}")]
    Url(String),
    #[error("HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("GET {url}: {source}")]
    Get {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// The hub's `/metrics` endpoint and how to ask it.
#[derive(Debug, Clone)]
pub struct Hub {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    metric: String,
}

impl Hub {
    /// The hub at `base` (`http://host:port[/prefix]`), asked with `token` for `metric`.
    pub fn new(base: &str, token: Option<String>, metric: String) -> Result<Hub, ScrapeError> {
        if !base.starts_with("http://") {
            return Err(ScrapeError::Url(base.to_owned()));
        }
        let client = reqwest::Client::builder()
            .timeout(SCRAPE_TIMEOUT)
            .build()
            .map_err(ScrapeError::Client)?;
        Ok(Hub {
            client,
            url: format!("{}/metrics", base.trim_end_matches('/')),
            token,
            metric,
        })
    }

    /// The counters now (a counter the hub does not show yet is 0).
    pub async fn sample(&self) -> Result<HubSample, ScrapeError> {
        let get = |source| ScrapeError::Get {
            url: self.url.clone(),
            source,
        };
        let mut request = self
            .client
            .get(&self.url)
            .header(ACCEPT, HeaderValue::from_static("text/plain"));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let text = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(get)?
            .text()
            .await
            .map_err(get)?;
        Ok(HubSample {
            readings: prometheus::sum(&text, &self.metric).unwrap_or(0.0),
            unacked: prometheus::sum(&text, UNACKED).unwrap_or(0.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_bases() {
        let metric = || "iochub_ingest_readings_total".to_owned();
        let hub = Hub::new("http://127.0.0.1:8080/", None, metric()).expect("valid");
        assert_eq!(hub.url, "http://127.0.0.1:8080/metrics");
        let hub = Hub::new("http://hub/iochub", None, metric()).expect("valid");
        assert_eq!(hub.url, "http://hub/iochub/metrics");
        let err = Hub::new("127.0.0.1:8080", None, metric()).expect_err("no scheme");
        assert_eq!(
            err.to_string(),
            "--http must be an http:// URL, not \"127.0.0.1:8080\""
        );
    }

    #[tokio::test]
    async fn a_scrape_sends_the_token_and_reads_a_chunked_body() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.expect("read");
                assert!(n > 0, "request cut short");
                request.extend_from_slice(&buf[..n]);
            }
            let body = "iochub_ingest_readings_total 42\niochub_ingest_unacked_messages 7\n";
            let (a, b) = body.split_at(20);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n\
                 {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            );
            conn.write_all(response.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&request).to_ascii_lowercase()
        });
        let hub = Hub::new(
            &base,
            Some("s3cret".into()),
            "iochub_ingest_readings_total".into(),
        )
        .expect("valid");
        let sample = hub.sample().await.expect("scraped");
        assert_eq!(
            sample,
            HubSample {
                readings: 42.0,
                unacked: 7.0
            }
        );
        let request = server.await.expect("server");
        assert!(
            request.starts_with("get /metrics http/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("authorization: bearer s3cret\r\n"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn a_refused_scrape_names_the_url() {
        // A port nothing listens on: bind one, then let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let hub = Hub::new(&format!("http://127.0.0.1:{port}"), None, "x".into()).expect("valid");
        let err = hub.sample().await.expect_err("nothing listens");
        assert!(
            err.to_string()
                .starts_with(&format!("GET http://127.0.0.1:{port}/metrics: ")),
            "{err}"
        );
    }
}
