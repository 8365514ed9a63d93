//! Delivery of alert notifications to the agencies' webhooks (DESIGN §3b "Alert handling").
//!
//! The alert manager writes each notification into the store's outbox in the same transaction
//! as the alert change it announces; the [`Courier`] sends what is due, and records each attempt.
//! So a hub killed mid-delivery sends it again after the restart (at least once), and a delivery
//! is marked delivered only after the agency's system answered 2xx (never one it did not make).
//!
//! Each request: `POST` to the agency's URL with the stored body, `X-Iochub-Delivery` (the same
//! on every attempt: the receiver's idempotency key), `X-Iochub-Event`, and `X-Iochub-Signature:
//! sha256=<hex HMAC-SHA256 of the body with the agency's secret>`. A failure (no answer within
//! the timeout, a refused connection, a status that is not 2xx) is retried with exponential
//! backoff until `retry_for` has passed since the delivery was created; then it is dead, and the
//! alert manager marks the agency undelivered on the alert, which the supervisor sees.
//!
//! A slow or dead receiver costs only its own agency's slots: at most `per_agency` requests to
//! one agency are in flight, and `in_flight` in all; ingest and the alert manager never wait on
//! a webhook.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::lifecycle::SYSTEM;
use super::manager::AlertDesk;
use super::model::{AlertEvent, Attempt, Delivery, DeliveryState};
use crate::metrics as m;
use crate::storage::Store;
use crate::timefmt::now_ms;

/// How the courier retries.
#[derive(Debug, Clone, PartialEq)]
pub struct CourierSettings {
    /// One request's limit.
    pub timeout: Duration,
    /// How long after its creation a delivery is retried before it is dead.
    pub retry_for_ms: i64,
    pub first_backoff_ms: i64,
    pub max_backoff_ms: i64,
    pub per_agency: usize,
    pub in_flight: usize,
    /// A CA (PEM) the agencies' HTTPS certificates chain to; absent = the system roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for CourierSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_for_ms: 24 * 3_600_000,
            first_backoff_ms: 5_000,
            max_backoff_ms: 600_000,
            per_agency: 4,
            in_flight: 32,
            ca_file: None,
        }
    }
}

impl CourierSettings {
    /// The wait after the `attempts`-th failure: the first backoff, doubled each time, capped.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let doubled = self
            .first_backoff_ms
            .saturating_mul(1_i64 << attempts.saturating_sub(1).min(30));
        doubled.min(self.max_backoff_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CourierError {
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot build the webhook client: {0}")]
    Client(String),
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(body);
    format!(
        "sha256={}",
        crate::hex::encode(&mac.finalize().into_bytes())
    )
}

/// A new delivery id: 128 random bits, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    // As the session tokens: getrandom fails only where the OS has no entropy source at all.
    getrandom::fill(&mut bytes).expect("OS random source");
    crate::hex::encode(&bytes)
}

pub struct Courier {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    settings: CourierSettings,
    wake: Arc<Notify>,
    desk: AlertDesk,
}

impl Courier {
    /// `wake` is notified when new deliveries are committed; `desk` hears how each ended.
    pub fn new(
        store: Arc<dyn Store>,
        settings: CourierSettings,
        wake: Arc<Notify>,
        desk: AlertDesk,
    ) -> Result<Self, CourierError> {
        let tls = match crate::tls::client_config(settings.ca_file.as_deref()) {
            Ok(tls) => tls,
            // A machine without system roots can still deliver to http:// webhooks.
            Err(crate::tls::TlsError::NoRoots) if settings.ca_file.is_none() => {
                tracing::warn!(
                    "no system CA certificates: https:// webhooks will fail until webhook_ca_file is set"
                );
                crate::tls::client_config_with_roots(rustls::RootCertStore::empty())?
            }
            Err(e) => return Err(e.into()),
        };
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&tls))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("iochub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CourierError::Client(e.to_string()))?;
        Ok(Self {
            store,
            client,
            settings,
            wake,
            desk,
        })
    }

    /// Sends what is due until `stop`; what is in flight then is sent again after a restart.
    pub async fn run(self, stop: CancellationToken) {
        let mut sending: HashSet<String> = HashSet::new();
        let mut per_agency: HashMap<String, usize> = HashMap::new();
        // Each task sends one delivery and records the attempt (so recordings overlap too).
        let mut set: JoinSet<Delivery> = JoinSet::new();
        loop {
            if set.len() < self.settings.in_flight {
                match self.store.due_deliveries(now_ms(), 64).await {
                    Ok(due) => {
                        for d in due {
                            let busy = per_agency.get(&d.agency).copied().unwrap_or(0);
                            if sending.contains(&d.id)
                                || busy >= self.settings.per_agency
                                || set.len() >= self.settings.in_flight
                            {
                                continue;
                            }
                            sending.insert(d.id.clone());
                            *per_agency.entry(d.agency.clone()).or_default() += 1;
                            let (store, client, settings, desk) = (
                                self.store.clone(),
                                self.client.clone(),
                                self.settings.clone(),
                                self.desk.clone(),
                            );
                            set.spawn(async move {
                                let attempt = send(&*store, &client, &settings, &d).await;
                                record(&*store, &desk, &d, attempt).await;
                                d
                            });
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot read due deliveries"),
                }
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                Some(done) = set.join_next() => {
                    let Ok(d) = done else { continue };
                    sending.remove(&d.id);
                    if let Some(n) = per_agency.get_mut(&d.agency) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
        }
    }
}

/// Records one attempt; tells the alert manager when it ended the delivery.
async fn record(store: &dyn Store, desk: &AlertDesk, d: &Delivery, attempt: Attempt) {
    let state = attempt.state;
    match store.record_attempt(attempt).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => {
            // Not recorded: the delivery stays due and is sent again (at least once).
            tracing::warn!(%error, delivery = %d.id, "cannot record a delivery attempt");
            return;
        }
    }
    m::alert_delivery(state.as_str());
    match state {
        DeliveryState::Pending => {}
        DeliveryState::Delivered | DeliveryState::Dead => {
            let delivered = state == DeliveryState::Delivered;
            if !delivered {
                tracing::error!(delivery = %d.id, alert = d.alert, agency = %d.agency,
                    "webhook delivery dead: retries ran out");
            }
            desk.delivery_ended(d.alert, &d.agency, delivered).await;
        }
    }
}

/// One attempt; what it found, for the store.
async fn send(
    store: &dyn Store,
    client: &reqwest::Client,
    settings: &CourierSettings,
    d: &Delivery,
) -> Attempt {
    let now = now_ms();
    let webhook = match store.agency(&d.agency).await {
        Ok(a) => a.and_then(|a| a.webhook),
        Err(e) => return failed(settings, d, now, None, format!("storage: {e}")),
    };
    let Some(webhook) = webhook else {
        return ended(
            d,
            now,
            DeliveryState::Dead,
            None,
            Some("the agency has no webhook".into()),
        );
    };
    let answer = client
        .post(&webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Iochub-Delivery", &d.id)
        .header("X-Iochub-Event", &d.event)
        .header(
            "X-Iochub-Signature",
            signature(&webhook.secret, d.body.as_bytes()),
        )
        .body(d.body.clone())
        .send()
        .await;
    let now = now_ms();
    match answer {
        Ok(r) if r.status().is_success() => ended(
            d,
            now,
            DeliveryState::Delivered,
            Some(r.status().as_u16()),
            None,
        ),
        Ok(r) => {
            let status = r.status();
            failed(
                settings,
                d,
                now,
                Some(status.as_u16()),
                format!("answered {status}"),
            )
        }
        Err(e) => {
            let reason = if e.is_timeout() {
                format!("no answer within {:?}", settings.timeout)
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else {
                e.to_string()
            };
            failed(settings, d, now, None, reason)
        }
    }
}

/// A failed attempt: retried later, or dead once `retry_for` has passed.
fn failed(
    settings: &CourierSettings,
    d: &Delivery,
    now: i64,
    status: Option<u16>,
    error: String,
) -> Attempt {
    let next = now.saturating_add(settings.backoff_ms(d.attempts + 1));
    if next.saturating_sub(d.created_at) > settings.retry_for_ms {
        return ended(d, now, DeliveryState::Dead, status, Some(error));
    }
    Attempt {
        id: d.id.clone(),
        at_ms: now,
        state: DeliveryState::Pending,
        status,
        error: Some(error),
        next_attempt_at: next,
        event: None,
    }
}

/// The end of a delivery, with its timeline entry.
fn ended(
    d: &Delivery,
    now: i64,
    state: DeliveryState,
    status: Option<u16>,
    error: Option<String>,
) -> Attempt {
    let kind = match state {
        DeliveryState::Dead => "delivery_failed",
        _ => "delivered",
    };
    let event = AlertEvent::new(now, SYSTEM, kind).detail(json!({
        "delivery": d.id, "agency": d.agency, "event": d.event,
        "attempts": d.attempts + 1, "status": status, "error": error,
    }));
    Attempt {
        id: d.id.clone(),
        at_ms: now,
        state,
        status,
        error,
        next_attempt_at: now,
        event: Some(event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_the_body() {
        // RFC 4231, test case 2
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_retries_end() {
        let s = CourierSettings {
            first_backoff_ms: 1_000,
            max_backoff_ms: 10_000,
            retry_for_ms: 60_000,
            ..CourierSettings::default()
        };
        let waits: Vec<_> = (1..=6).map(|n| s.backoff_ms(n)).collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        let d = Delivery {
            id: "d1".into(),
            alert: 1,
            agency: "water".into(),
            event: "dispatch".into(),
            state: DeliveryState::Pending,
            attempts: 3,
            created_at: 0,
            next_attempt_at: 0,
            delivered_at: None,
            last_status: None,
            last_error: None,
            body: "{}".into(),
        };
        let retry = failed(&s, &d, 40_000, Some(500), "answered 500".into());
        assert_eq!(
            (retry.state, retry.next_attempt_at),
            (DeliveryState::Pending, 48_000)
        );
        assert!(retry.event.is_none());
        let dead = failed(&s, &d, 55_000, None, "connection failed".into());
        assert_eq!(dead.state, DeliveryState::Dead);
        assert_eq!(
            dead.event.map(|e| e.kind),
            Some("delivery_failed".to_owned())
        );
    }
}
