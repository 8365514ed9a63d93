//! The alert manager: the one owner of the live alerts. It takes the engine's fire/clear
//! decisions in batches and people's handling actions one at a time (through an [`AlertDesk`]),
//! lets the [`Lifecycle`] and the handling rules decide what they do, has the store commit that,
//! and only then applies it and pushes the alerts live.
//!
//! One owner means no lock and no race between a rule clearing an alert and an operator
//! dispatching it: whichever comes first is decided first. Decisions and actions queue in bounded
//! channels; a slow store blocks the shards (and so ingest), never drops a decision. An alert is
//! pushed only after it is committed, so the id a wall display shows always exists. A failed
//! rule commit is retried with the same decisions; a failed action is answered with the error
//! and leaves the alert as it was.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{Notify, mpsc, oneshot};

use super::escalation::{self, Due};
use super::handling::{self, Action, Actor, Refusal, Request};
use super::lifecycle::{Context, Lifecycle};
use super::model::{ActionRecord, Alert, AlertQuery, AlertWrite, Outgoing};
use crate::accounts::Scope;
use crate::accounts::model::Role;
use crate::areas::Areas;
use crate::engine::RuleSet;
use crate::health::Health;
use crate::metrics as m;
use crate::pipeline::AlertChange;
use crate::storage::{Store, StoreError, StoreResult};
use crate::timefmt::now_ms;

const MAX_BATCH: usize = 1000;
/// Actions waiting for the manager; past this, callers wait (the HTTP request with them).
const DESK_QUEUE: usize = 256;

/// A device's position (lon, lat), if known.
pub type Locate = Arc<dyn Fn(&str) -> Option<(f64, f64)> + Send + Sync>;

/// Why an action was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// No such alert, or not one the caller sees.
    #[error("no alert {0}")]
    NotFound(i64),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The Idempotency-Key was used before for another action or alert.
    #[error("Idempotency-Key {key:?} was used for {action} on alert {alert}")]
    KeyReused {
        key: String,
        action: String,
        alert: i64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the alert manager has stopped")]
    Stopped,
}

/// One handling action, as the API hands it over.
pub struct ActionOrder {
    pub id: i64,
    pub action: Action,
    pub request: Request,
    pub actor: Actor,
    /// What the caller sees: an alert outside it is answered as not found.
    pub scope: Arc<Scope>,
    pub idempotency_key: Option<String>,
}

enum Command {
    Act {
        order: ActionOrder,
        reply: oneshot::Sender<Result<Alert, ActError>>,
    },
    Report {
        incident: Incident,
        reply: oneshot::Sender<Result<Alert, ActError>>,
    },
    /// A webhook delivery to `agency` about `alert` ended (delivered, or dead).
    DeliveryEnded {
        alert: i64,
        agency: String,
        delivered: bool,
    },
}

/// A field report (`POST /api/v1/incidents`): an incident seen by a person, not a device.
pub struct Incident {
    pub category: String,
    pub severity: crate::pipeline::Severity,
    pub lat: f64,
    pub lon: f64,
    pub text: String,
    /// Who saw it, as the report says (a citizen's name or phone), if given.
    pub reporter: Option<String>,
    pub photo: Option<super::model::Attachment>,
    pub actor: Actor,
    pub idempotency_key: Option<String>,
}

/// Where the API hands handling actions to the manager; cheap to clone.
#[derive(Clone)]
pub struct AlertDesk {
    tx: mpsc::Sender<Command>,
}

impl AlertDesk {
    /// Takes the action; answers with the alert as it left it (or as it stands, for a repeated
    /// Idempotency-Key).
    pub async fn act(&self, order: ActionOrder) -> Result<Alert, ActError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Act { order, reply })
            .await
            .map_err(|_| ActError::Stopped)?;
        answer.await.map_err(|_| ActError::Stopped)?
    }

    /// Opens a field alert from a report; answers with it (or, for a repeated Idempotency-Key,
    /// with the alert the first report opened).
    pub async fn report(&self, incident: Incident) -> Result<Alert, ActError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Report { incident, reply })
            .await
            .map_err(|_| ActError::Stopped)?;
        answer.await.map_err(|_| ActError::Stopped)?
    }

    /// The courier's report: a delivery ended (a dead one marks the agency undelivered on the
    /// alert; a delivered one clears it).
    pub async fn delivery_ended(&self, alert: i64, agency: &str, delivered: bool) {
        let _ = self
            .tx
            .send(Command::DeliveryEnded {
                alert,
                agency: agency.to_owned(),
                delivered,
            })
            .await;
    }
}

pub struct AlertManager {
    store: Arc<dyn Store>,
    lifecycle: Lifecycle,
    health: Arc<Health>,
    rules: Arc<ArcSwap<RuleSet>>,
    areas: Arc<Areas>,
    locate: Locate,
    desk: mpsc::Receiver<Command>,
    /// Told when deliveries are committed, so the courier sends them at once.
    courier: Arc<Notify>,
}

impl AlertManager {
    /// Picks up the live alerts of the store; returns the manager and its desk.
    pub async fn load(
        store: Arc<dyn Store>,
        health: Arc<Health>,
        rules: Arc<ArcSwap<RuleSet>>,
        areas: Arc<Areas>,
        locate: Locate,
        courier: Arc<Notify>,
    ) -> StoreResult<(Self, AlertDesk)> {
        let live = store.alerts(AlertQuery::live()).await?;
        let (tx, desk) = mpsc::channel(DESK_QUEUE);
        let manager = Self {
            store,
            lifecycle: Lifecycle::new(live),
            health,
            rules,
            areas,
            locate,
            desk,
            courier,
        };
        Ok((manager, AlertDesk { tx }))
    }

    /// (device, rule) of every alert whose condition holds, to seed the shards at start.
    pub fn active_pairs(&self) -> Vec<(String, String)> {
        self.lifecycle.active_pairs()
    }

    /// Runs until every sender of `rx` is gone; `publish` gets each committed alert change.
    pub async fn run(mut self, mut rx: mpsc::Receiver<AlertChange>, publish: impl Fn(Alert)) {
        let mut batch = Vec::new();
        // Escalation deadlines are stored; the tick only asks which are due.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.escalate(&publish).await,
                first = rx.recv() => {
                    let Some(first) = first else { break };
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(c) => batch.push(c),
                            Err(_) => break,
                        }
                    }
                    self.decide(&batch, &publish).await;
                    batch.clear();
                }
                Some(command) = self.desk.recv() => match command {
                    Command::Act { order, reply } => {
                        let outcome = self.act(order).await;
                        if let Ok(alert) = &outcome {
                            publish(alert.clone());
                        }
                        let _ = reply.send(outcome);
                    }
                    Command::Report { incident, reply } => {
                        let outcome = self.report(incident).await;
                        if let Ok(alert) = &outcome {
                            publish(alert.clone());
                        }
                        let _ = reply.send(outcome);
                    }
                    Command::DeliveryEnded { alert, agency, delivered } => {
                        match self.delivery_ended(alert, agency, delivered).await {
                            Ok(Some(alert)) => publish(alert),
                            Ok(None) => {}
                            Err(error) => tracing::warn!(%error, alert, "cannot mark the delivery"),
                        }
                    }
                },
            }
        }
    }

    async fn decide(&mut self, batch: &[AlertChange], publish: &impl Fn(Alert)) {
        let mut decided = {
            let rules = self.rules.load();
            let ctx = Context {
                policy: &rules.policy,
                areas: &self.areas,
                locate: &*self.locate,
                now_ms: now_ms(),
            };
            self.lifecycle.decide(batch, &ctx)
        };
        // Auto-dispatched alerts notify their agencies like a dispatch by hand.
        for write in &mut decided.writes {
            if write.events.iter().any(|e| e.kind == "dispatch") {
                write.deliveries = self.outgoing(&write.alert.agencies, "dispatch").await;
            }
        }
        let notify = decided.writes.iter().any(|w| !w.deliveries.is_empty());
        let writes = Arc::new(decided.writes.clone());
        let ids = if writes.is_empty() {
            Vec::new()
        } else {
            self.commit(writes).await
        };
        if notify {
            self.courier.notify_one();
        }
        for alert in self.lifecycle.commit(decided, &ids) {
            match (alert.state.unresolved(), alert.hits) {
                (false, _) => m::alert_resolved(),
                (_, 1) => m::alert_opened(),
                _ => m::alert_updated(),
            }
            tracing::info!(id = alert.id, rule = %alert.rule, device = %alert.device,
                state = alert.state.as_str(), active = alert.active, value = alert.value, "alert");
            publish(alert);
        }
    }

    /// Commits until the store takes it, with backoff; says so on /healthz meanwhile.
    async fn commit(&self, writes: Arc<Vec<AlertWrite>>) -> Vec<i64> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = std::time::Instant::now();
            match self.store.save_alerts(writes.clone()).await {
                Ok(ids) => {
                    m::alert_commit(started.elapsed());
                    self.health.set_degraded("alerts", None);
                    return ids;
                }
                Err(error) => {
                    tracing::error!(%error, "alert commit failed; retrying");
                    self.health.set_degraded("alerts", Some(error.to_string()));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// The alert `id` as it stands: the live one, else the stored one.
    async fn current(&self, id: i64) -> Result<Option<Alert>, ActError> {
        match self.lifecycle.get(id) {
            Some(a) => Ok(Some(a.clone())),
            None => Ok(self.store.alert(id).await?),
        }
    }

    async fn act(&mut self, order: ActionOrder) -> Result<Alert, ActError> {
        let ActionOrder {
            id,
            action,
            request,
            actor,
            scope,
            idempotency_key,
        } = order;
        let locate = self.locate.clone();
        let visible = |a: &Alert| scope.sees(a, locate(&a.device));
        let alert = self
            .current(id)
            .await?
            .filter(|a| visible(a))
            .ok_or(ActError::NotFound(id))?;
        if let Some(key) = &idempotency_key
            && let Some(earlier) = self.store.action_request(&actor.username, key).await?
        {
            return if earlier.alert == id && earlier.action == action.as_str() {
                Ok(alert)
            } else {
                Err(ActError::KeyReused {
                    key: key.clone(),
                    action: earlier.action,
                    alert: earlier.alert,
                })
            };
        }
        let now = now_ms();
        let (mut next, event) = {
            let rules = self.rules.load();
            let route = rules.policy.route(&alert);
            handling::act(&alert, action, &request, &actor, route, now)?
        };
        if !next.state.unresolved() {
            next.next_escalation_at = None;
        }
        self.check(&alert, &next, action, &actor).await?;
        // The agencies hear of a dispatch (the newly named ones) and of a reopening.
        let deliveries = match action {
            Action::Dispatch => {
                let new: Vec<String> = next
                    .agencies
                    .iter()
                    .filter(|a| {
                        alert.state != super::model::AlertState::Dispatched
                            || !alert.forwarded_to(a)
                    })
                    .cloned()
                    .collect();
                self.outgoing(&new, "dispatch").await
            }
            Action::Reopen => self.outgoing(&next.agencies, "reopen").await,
            _ => Vec::new(),
        };
        let notify = !deliveries.is_empty();
        let write = AlertWrite {
            new: false,
            alert: next.clone(),
            events: vec![event],
            deliveries,
            attachments: request.photo.into_iter().collect(),
        };
        let record = idempotency_key.map(|key| ActionRecord {
            actor: actor.username.clone(),
            key,
            alert: id,
            action: action.as_str().to_owned(),
            ts_ms: now,
        });
        self.store.save_action(write, record).await?;
        if notify {
            self.courier.notify_one();
        }
        m::alert_action(action.as_str());
        tracing::info!(id, action = action.as_str(), actor = %actor.username,
            state = next.state.as_str(), "alert action");
        self.lifecycle.apply(next.clone());
        Ok(next)
    }

    /// A field alert: placed in its areas, given its deadlines, forwarded when its route says
    /// `auto_dispatch`, stored with its photo.
    async fn report(&mut self, incident: Incident) -> Result<Alert, ActError> {
        let actor = incident.actor.username.clone();
        if let Some(key) = &incident.idempotency_key
            && let Some(earlier) = self.store.action_request(&actor, key).await?
        {
            return match self.store.alert(earlier.alert).await? {
                Some(alert) if earlier.action == "report" => Ok(alert),
                _ => Err(ActError::KeyReused {
                    key: key.clone(),
                    action: earlier.action,
                    alert: earlier.alert,
                }),
            };
        }
        let now = now_ms();
        // no rule holds a condition for a report: it ends when people resolve it
        let mut alert = Alert {
            category: Some(incident.category.clone()),
            lat: Some(incident.lat),
            lon: Some(incident.lon),
            areas: self.areas.containing(incident.lon, incident.lat),
            text: Some(incident.text.clone()),
            ..Alert::new(
                super::model::Source::Field,
                "field",
                "",
                incident.severity,
                now,
            )
        };
        let mut detail = serde_json::json!({ "reporter": incident.reporter });
        if let Some(p) = &incident.photo {
            detail["photo"] = serde_json::json!(p.sha256);
        }
        let mut events = vec![
            super::model::AlertEvent::new(now, &actor, "reported")
                .note(Some(&incident.text))
                .detail(detail),
        ];
        {
            let rules = self.rules.load();
            let ctx = Context {
                policy: &rules.policy,
                areas: &self.areas,
                locate: &*self.locate,
                now_ms: now,
            };
            events.extend(super::lifecycle::place(&mut alert, &ctx));
        }
        let deliveries = if alert.agencies.is_empty() {
            Vec::new()
        } else {
            self.outgoing(&alert.agencies, "dispatch").await
        };
        let notify = !deliveries.is_empty();
        let write = AlertWrite {
            new: true,
            alert: alert.clone(),
            events,
            deliveries,
            attachments: incident.photo.into_iter().collect(),
        };
        let record = incident.idempotency_key.map(|key| ActionRecord {
            actor: actor.clone(),
            key,
            alert: 0,
            action: "report".into(),
            ts_ms: now,
        });
        alert.id = self.store.save_action(write, record).await?;
        if notify {
            self.courier.notify_one();
        }
        m::alert_opened();
        tracing::info!(id = alert.id, category = %incident.category, actor = %actor, "field report");
        self.lifecycle.apply(alert.clone());
        Ok(alert)
    }

    /// Applies the escalation tiers that are due (see [`escalation`]), each committed on its own.
    async fn escalate(&mut self, publish: &impl Fn(Alert)) {
        let now = now_ms();
        let due: Vec<Due> = {
            let rules = self.rules.load();
            self.lifecycle
                .live()
                .filter_map(|a| escalation::due(a, &rules.policy, now))
                .collect()
        };
        for d in due {
            let (alert, events, deliveries) = match d {
                Due::Tier {
                    alert,
                    event,
                    renotify,
                } => {
                    let deliveries = if renotify {
                        self.outgoing(&alert.agencies, "escalation").await
                    } else {
                        Vec::new()
                    };
                    (alert, vec![event], deliveries)
                }
                Due::Later(alert) => (alert, Vec::new(), Vec::new()),
            };
            let (escalated, notify) = (!events.is_empty(), !deliveries.is_empty());
            let write = AlertWrite {
                new: false,
                alert: alert.clone(),
                events,
                deliveries,
                attachments: Vec::new(),
            };
            if let Err(error) = self.store.save_action(write, None).await {
                // Not applied: the next tick tries again.
                tracing::warn!(%error, id = alert.id, "cannot store an escalation");
                self.health.set_degraded("alerts", Some(error.to_string()));
                return;
            }
            if notify {
                self.courier.notify_one();
            }
            self.lifecycle.apply(alert.clone());
            if escalated {
                m::alert_escalated();
                tracing::warn!(
                    id = alert.id,
                    tier = alert.escalations,
                    severity = alert.severity.as_str(),
                    "alert escalated"
                );
                publish(alert);
            }
        }
    }

    /// A notification of `event` for each of `agencies` that has a webhook.
    async fn outgoing(&self, agencies: &[String], event: &str) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for id in agencies {
            match self.store.agency(id).await {
                Ok(Some(a)) if a.webhook.is_some() => out.push(Outgoing {
                    id: super::delivery::new_id(),
                    agency: id.clone(),
                    event: event.to_owned(),
                }),
                Ok(_) => {}
                // Without the registry the notification cannot be addressed; the alert is still
                // dispatched and shown to the agency's handlers.
                Err(error) => tracing::warn!(%error, agency = %id, "cannot read the agency"),
            }
        }
        out
    }

    /// Marks (or clears) an agency undelivered on the alert; the alert if it changed.
    async fn delivery_ended(
        &mut self,
        id: i64,
        agency: String,
        delivered: bool,
    ) -> Result<Option<Alert>, ActError> {
        let Some(alert) = self.current(id).await? else {
            return Ok(None);
        };
        let listed = alert.undelivered.contains(&agency);
        if delivered != listed {
            return Ok(None);
        }
        let mut next = alert.clone();
        if delivered {
            next.undelivered.retain(|a| *a != agency);
        } else {
            next.undelivered.push(agency);
        }
        let write = AlertWrite {
            new: false,
            alert: next.clone(),
            events: Vec::new(),
            deliveries: Vec::new(),
            attachments: Vec::new(),
        };
        self.store.save_action(write, None).await?;
        self.lifecycle.apply(next.clone());
        Ok(Some(next))
    }

    /// What the handling rules cannot know: that the agencies and the assignee exist, and that a
    /// reopened alert would not be a second unresolved one of its rule and device.
    async fn check(
        &self,
        before: &Alert,
        after: &Alert,
        action: Action,
        actor: &Actor,
    ) -> Result<(), ActError> {
        let invalid = |field: &str, message: String| {
            ActError::Refused(Refusal::Invalid {
                field: field.to_owned(),
                message,
            })
        };
        match action {
            Action::Dispatch => {
                for agency in &after.agencies {
                    if self.store.agency(agency).await?.is_none() {
                        return Err(invalid("agency", format!("no agency {agency:?}")));
                    }
                }
            }
            Action::Assign => {
                let name = after.assignee.as_deref().unwrap_or_default();
                let user = self
                    .store
                    .user(name)
                    .await?
                    .filter(|u| u.state == crate::accounts::model::AccountState::Active)
                    .ok_or_else(|| invalid("user", format!("no active account {name:?}")))?;
                let ioc = matches!(user.role, Role::Admin | Role::Supervisor | Role::Operator);
                let of_agency = user
                    .agency
                    .as_deref()
                    .is_some_and(|a| after.forwarded_to(a));
                if actor.agency.is_some() && user.agency != actor.agency {
                    return Err(ActError::Refused(Refusal::Forbidden(
                        "an agency assigns its own people".into(),
                    )));
                }
                if !ioc && !of_agency {
                    return Err(invalid(
                        "user",
                        format!("{name:?} is neither IOC duty nor of an agency it is forwarded to"),
                    ));
                }
            }
            Action::Reopen => {
                if let Some(other) =
                    self.lifecycle
                        .unresolved_of(&before.rule, &before.device, before.id)
                    && before.source == super::model::Source::Rule
                {
                    return Err(ActError::Refused(Refusal::Conflict {
                        reason: format!(
                            "alert {} of the same rule and device is unresolved; handle that one",
                            other.id
                        ),
                        state: before.state,
                    }));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
