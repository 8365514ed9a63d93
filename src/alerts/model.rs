//! An alert as the hub keeps it, stores it, serves it and pushes it live, and the entries of its
//! timeline.
//!
//! An alert has two axes: its *condition* (`active` while the rule still holds, `cleared_at` when
//! it stopped) and its *handling* ([`AlertState`]), which people move forward (DESIGN §3b "Alert
//! handling"). The lifecycle ([`super::lifecycle`]) and the handling rules ([`super::handling`])
//! decide every change; the stores only persist them.

use serde::{Deserialize, Serialize};

use crate::pipeline::{Op, Severity};

/// Where an alert is in its handling, in order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// New: nobody has taken it yet.
    Open,
    /// An IOC operator has taken it.
    Acknowledged,
    /// Forwarded to the competent agency.
    Dispatched,
    /// The agency is handling it.
    InProgress,
    /// Handled (or cleared by itself before anyone was sent).
    Resolved,
    /// Checked and filed by the IOC; final.
    Closed,
}

impl AlertState {
    pub const ALL: [AlertState; 6] = [
        Self::Open,
        Self::Acknowledged,
        Self::Dispatched,
        Self::InProgress,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Every state before `resolved`: someone still has to act.
    pub fn unresolved(self) -> bool {
        self < Self::Resolved
    }
}

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A rule on a device's readings.
    Rule,
    /// A field report (`POST /api/v1/incidents`): no device, a place.
    Field,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Field => "field",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Rule, Self::Field]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// An alert. At most one unresolved per (rule, device) for rule alerts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: i64,
    /// The rule's id; `field` for a field report.
    pub rule: String,
    /// The device's key; empty for a field report.
    pub device: String,
    pub metric: String,
    /// The latest value that kept the rule breached (or cleared it); null for a field report.
    #[schema(value_type = Option<f64>)]
    pub value: f64,
    /// The rule's threshold; null for a field report.
    #[schema(value_type = Option<f64>)]
    pub threshold: f64,
    /// The rule's comparison; null for a field report.
    pub op: Option<Op>,
    pub severity: Severity,
    /// The handling state.
    pub state: AlertState,
    /// The condition: the rule still holds.
    pub active: bool,
    /// Held open by the rule's flap hold: the condition keeps coming and going, so it is not
    /// resolved and opened (and paged) again each time.
    pub flapping: bool,
    /// When the condition last stopped holding (reading time), while it is not active.
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub cleared_at: Option<i64>,
    /// `flood|landslide|forest_fire|air_pollution|equipment|other`, from the rule or the report.
    pub category: Option<String>,
    /// The lead agency it is forwarded to.
    pub agency: Option<String>,
    /// Every agency it is forwarded to, the lead first (the others coordinate).
    pub agencies: Vec<String>,
    /// Agencies whose notification could not be delivered (retries ran out); the supervisor
    /// must reach them another way. A later delivery to the agency clears it.
    pub undelivered: Vec<String>,
    /// The account handling it.
    pub assignee: Option<String>,
    /// How it ended: `auto_cleared`, `handled`, `false_alarm`, `duplicate`.
    pub resolution: Option<String>,
    pub source: Source,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The configured areas its place lies in (communes, wards, the province).
    pub areas: Vec<String>,
    /// A field report's text.
    pub text: Option<String>,
    /// Wall-clock time the hub opened it: deadlines and escalation tiers count from here.
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub created_at: i64,
    /// The severity it opened with: its escalation is the one for this severity.
    pub opened_severity: Severity,
    /// Reading time that opened it (the report's time for a field report).
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub opened_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub updated_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub acknowledged_at: Option<i64>,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub dispatched_at: Option<i64>,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<i64>,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<i64>,
    /// Acknowledge by then (from `[[escalations]]`), while it is open.
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub ack_deadline: Option<i64>,
    /// Resolve by then (from `[[escalations]]`).
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub resolve_deadline: Option<i64>,
    /// How many escalation tiers have been applied.
    pub escalations: u32,
    /// When the next escalation tier is due, if any (a stored deadline, so it survives a restart).
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub next_escalation_at: Option<i64>,
    /// How many times the rule fired while this alert was unresolved.
    pub hits: u32,
}

impl Alert {
    /// A new alert, not yet stored (`id` 0): open, its condition not holding, nothing measured,
    /// placed or handled yet; the caller sets what it knows with struct update syntax.
    pub fn new(source: Source, rule: &str, device: &str, severity: Severity, now_ms: i64) -> Self {
        Alert {
            id: 0,
            rule: rule.to_owned(),
            device: device.to_owned(),
            metric: String::new(),
            value: f64::NAN,
            threshold: f64::NAN,
            op: None,
            severity,
            state: AlertState::Open,
            active: false,
            flapping: false,
            cleared_at: None,
            category: None,
            agency: None,
            agencies: Vec::new(),
            undelivered: Vec::new(),
            assignee: None,
            resolution: None,
            source,
            lat: None,
            lon: None,
            areas: Vec::new(),
            text: None,
            created_at: now_ms,
            opened_severity: severity,
            opened_at: now_ms,
            updated_at: now_ms,
            acknowledged_at: None,
            dispatched_at: None,
            resolved_at: None,
            closed_at: None,
            ack_deadline: None,
            resolve_deadline: None,
            escalations: 0,
            next_escalation_at: None,
            hits: 1,
        }
    }

    /// The place the alert is about, as (lon, lat).
    pub fn position(&self) -> Option<(f64, f64)> {
        self.lon.zip(self.lat)
    }

    /// Whether `agency` is among those it is forwarded to.
    pub fn forwarded_to(&self, agency: &str) -> bool {
        self.agencies.iter().any(|a| a == agency)
    }
}

/// Which handling states a query selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    Is(AlertState),
    /// Every state before `resolved`.
    Unresolved,
}

impl StateFilter {
    pub fn matches(self, state: AlertState) -> bool {
        match self {
            Self::Is(s) => s == state,
            Self::Unresolved => state.unresolved(),
        }
    }

    /// The states it selects, for a store's `state IN (…)`.
    pub fn states(self) -> Vec<&'static str> {
        AlertState::ALL
            .into_iter()
            .filter(|s| self.matches(*s))
            .map(AlertState::as_str)
            .collect()
    }
}

/// A selection of stored alerts, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub state: Option<StateFilter>,
    pub device: Option<String>,
    /// Forwarded to this agency (lead or coordinating).
    pub agency: Option<String>,
    pub severity: Option<Severity>,
    pub category: Option<String>,
    /// Lying in this area.
    pub area: Option<String>,
    pub source: Option<Source>,
    /// Opened at or after (epoch ms).
    pub from: Option<i64>,
    /// Opened before (epoch ms).
    pub to: Option<i64>,
    /// Only ids below this (paging).
    pub before: Option<i64>,
    /// The condition still holds (or still holds or the alert is unresolved: see
    /// [`AlertQuery::live`]).
    pub live: bool,
    pub limit: u32,
}

impl AlertQuery {
    /// Everything the lifecycle keeps in memory: alerts that are unresolved or whose condition
    /// still holds.
    pub fn live() -> Self {
        Self {
            live: true,
            limit: u32::MAX,
            ..Self::default()
        }
    }
}

/// One entry of an alert's timeline: a change of its condition or handling, a comment, an
/// assignment, a delivery, an escalation, with who did it and when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertEvent {
    /// Its place in the timeline (stores number them; 0 before it is stored).
    pub seq: i64,
    pub alert: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub ts: i64,
    /// The account that acted, or `system` (the rule, a timer, a delivery).
    pub actor: String,
    /// `opened`, `rebreached`, `cleared`, `auto_resolved`, an action's name (`acknowledge`,
    /// `dispatch`, …), `escalated`, `delivery`.
    pub kind: String,
    /// The handling state before and after, when it changed.
    pub from_state: Option<AlertState>,
    pub to_state: Option<AlertState>,
    /// The note or comment text.
    pub note: Option<String>,
    /// What else there is to say (the agency dispatched to, the assignee, the delivery's outcome);
    /// an object, empty when there is nothing.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl AlertEvent {
    pub fn new(ts: i64, actor: &str, kind: &str) -> Self {
        Self {
            seq: 0,
            alert: 0,
            ts,
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            from_state: None,
            to_state: None,
            note: None,
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    pub fn moved(mut self, from: AlertState, to: AlertState) -> Self {
        if from != to {
            self.from_state = Some(from);
            self.to_state = Some(to);
        }
        self
    }

    pub fn note(mut self, note: Option<&str>) -> Self {
        self.note = note.map(str::to_owned);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// One alert as the lifecycle or an action left it, for the store to persist with its new
/// timeline entries: a new alert to insert (its `id` is not yet known and ignored) or a stored
/// one to overwrite by id.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWrite {
    pub new: bool,
    pub alert: Alert,
    /// Timeline entries to append (their `alert` is filled in by the store).
    pub events: Vec<AlertEvent>,
    /// Notifications to agencies' webhooks that this change announces, stored with it.
    pub deliveries: Vec<Outgoing>,
    /// Photos its timeline entries bring, stored with it.
    pub attachments: Vec<Attachment>,
}

/// A photo attached to an alert, named by its SHA-256 (hex).
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub sha256: String,
    /// `image/jpeg` or `image/png`.
    pub mime: String,
    pub bytes: Vec<u8>,
    pub ts_ms: i64,
    pub actor: String,
}

/// Why a photo is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    #[error("not base64")]
    NotBase64,
    #[error("larger than {MAX_PHOTO_BYTES} bytes")]
    TooLarge,
    #[error("not a JPEG or PNG image")]
    NotAnImage,
}

/// The largest photo the hub keeps.
pub const MAX_PHOTO_BYTES: usize = 4 * 1024 * 1024;

impl Attachment {
    /// A photo from its base64 text (standard alphabet, as a browser's `FileReader` gives it,
    /// with or without a `data:` prefix): at most [`MAX_PHOTO_BYTES`], JPEG or PNG by its magic
    /// bytes.
    pub fn photo(base64_text: &str, actor: &str, ts_ms: i64) -> Result<Self, PhotoError> {
        use base64::Engine;
        let text = base64_text
            .split_once(";base64,")
            .map_or(base64_text, |(_, data)| data)
            .trim();
        if text.len() > MAX_PHOTO_BYTES / 3 * 4 + 8 {
            return Err(PhotoError::TooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| PhotoError::NotBase64)?;
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge);
        }
        let mime = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            "image/jpeg"
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else {
            return Err(PhotoError::NotAnImage);
        };
        let sha256 = crate::hex::sha256(&bytes);
        Ok(Self {
            sha256,
            mime: mime.to_owned(),
            bytes,
            ts_ms,
            actor: actor.to_owned(),
        })
    }
}

/// A notification to create with an alert write: the store builds its body from the alert as
/// written ([`delivery_body`]) in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The delivery id (`X-Iochub-Delivery`), the same on every attempt.
    pub id: String,
    pub agency: String,
    /// `dispatch`, `reopen`, `escalation`.
    pub event: String,
}

/// The JSON a webhook receives: `{"delivery","event","alert"}`.
pub fn delivery_body(out: &Outgoing, alert: &Alert) -> String {
    serde_json::json!({ "delivery": out.id, "event": out.event, "alert": alert }).to_string()
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not yet answered with a 2xx; retried with backoff.
    Pending,
    Delivered,
    /// Its retry time ran out; raised to the supervisor.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A notification to an agency's webhook, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub alert: i64,
    pub agency: String,
    pub event: String,
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub next_attempt_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub delivered_at: Option<i64>,
    /// The HTTP status of the last answer, if there was one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The body as signed and sent (not served by the API).
    #[serde(skip)]
    pub body: String,
}

/// The outcome of one attempt, for the store to record (with a timeline entry when it ends the
/// delivery).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub id: String,
    pub at_ms: i64,
    pub state: DeliveryState,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// When to try again, while pending.
    pub next_attempt_at: i64,
    /// The timeline entry of the alert when the delivery ends (delivered or dead).
    pub event: Option<AlertEvent>,
}

/// An action request that carried an `Idempotency-Key`: stored in the action's own transaction,
/// so that a repeat is answered with the alert as it stands instead of acting twice.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub actor: String,
    pub key: String,
    pub alert: i64,
    pub action: String,
    pub ts_ms: i64,
}

#[cfg(test)]
impl Alert {
    /// An open, active critical flood alert of `rule` on `device`, for tests.
    pub fn example(rule: &str, device: &str) -> Self {
        Alert {
            id: 1,
            metric: "water_level".into(),
            value: 5.5,
            threshold: 5.0,
            op: Some(Op::Ge),
            active: true,
            category: Some("flood".into()),
            ..Alert::new(Source::Rule, rule, device, Severity::Critical, 1_000)
        }
    }
}
