//! Alerts on SQLite: each alert as the lifecycle or an action left it, its timeline, the
//! remembered answers to requests with an Idempotency-Key, and the console's queries.
//! Lists (agencies, areas) are JSON arrays; timeline details are JSON text.

use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use crate::alerts::model::{
    ActionRecord, Alert, AlertEvent, AlertQuery, AlertState, AlertWrite, Attachment, Attempt,
    Delivery, DeliveryState, Source, delivery_body,
};
use crate::pipeline::{Op, Severity};
use crate::storage::{StoreError, StoreResult};

pub(super) const ALERT_COLS: &str = "id, rule, device, metric, value, threshold, op, severity, \
     state, opened_at, updated_at, resolved_at, hits, active, cleared_at, category, agency, \
     agencies, assignee, resolution, source, lat, lon, areas, text, acknowledged_at, \
     dispatched_at, closed_at, ack_deadline, resolve_deadline, escalations, next_escalation_at, \
     undelivered, created_at, opened_severity, flapping";

const INSERT: &str = "INSERT INTO alerts (rule, device, metric, value, threshold, op, severity,
     state, opened_at, updated_at, resolved_at, hits, active, cleared_at, category, agency,
     agencies, assignee, resolution, source, lat, lon, areas, text, acknowledged_at,
     dispatched_at, closed_at, ack_deadline, resolve_deadline, escalations, next_escalation_at,
     undelivered, created_at, opened_severity, flapping)
 VALUES (:rule, :device, :metric, :value, :threshold, :op, :severity, :state, :opened_at,
     :updated_at, :resolved_at, :hits, :active, :cleared_at, :category, :agency, :agencies,
     :assignee, :resolution, :source, :lat, :lon, :areas, :text, :acknowledged_at,
     :dispatched_at, :closed_at, :ack_deadline, :resolve_deadline, :escalations,
     :next_escalation_at, :undelivered, :created_at, :opened_severity, :flapping)
 RETURNING id";

const UPDATE: &str = "UPDATE alerts SET metric = :metric, value = :value,
     threshold = :threshold, op = :op, severity = :severity, state = :state,
     updated_at = :updated_at, resolved_at = :resolved_at, hits = :hits, active = :active,
     cleared_at = :cleared_at, category = :category, agency = :agency, agencies = :agencies,
     assignee = :assignee, resolution = :resolution, lat = :lat, lon = :lon, areas = :areas,
     text = :text, acknowledged_at = :acknowledged_at, dispatched_at = :dispatched_at,
     closed_at = :closed_at, ack_deadline = :ack_deadline, resolve_deadline = :resolve_deadline,
     escalations = :escalations, next_escalation_at = :next_escalation_at,
     undelivered = :undelivered, flapping = :flapping
 WHERE id = :id";

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Persists one alert and its new timeline entries; returns its id (a new one for a new alert).
pub(super) fn save(tx: &Connection, write: &AlertWrite) -> StoreResult<i64> {
    let a = &write.alert;
    let (agencies, areas) = (json_list(&a.agencies), json_list(&a.areas));
    let undelivered = json_list(&a.undelivered);
    let p = named_params! {
        ":id": a.id, ":rule": a.rule, ":device": a.device, ":metric": a.metric,
        ":value": a.value, ":threshold": a.threshold, ":op": a.op.map(Op::as_str),
        ":severity": a.severity.as_str(), ":state": a.state.as_str(), ":opened_at": a.opened_at,
        ":updated_at": a.updated_at, ":resolved_at": a.resolved_at, ":hits": a.hits,
        ":active": a.active, ":cleared_at": a.cleared_at, ":category": a.category,
        ":agency": a.agency, ":agencies": agencies, ":assignee": a.assignee,
        ":resolution": a.resolution, ":source": a.source.as_str(), ":lat": a.lat, ":lon": a.lon,
        ":areas": areas, ":text": a.text, ":acknowledged_at": a.acknowledged_at,
        ":dispatched_at": a.dispatched_at, ":closed_at": a.closed_at,
        ":ack_deadline": a.ack_deadline, ":resolve_deadline": a.resolve_deadline,
        ":escalations": a.escalations, ":next_escalation_at": a.next_escalation_at,
        ":undelivered": undelivered, ":created_at": a.created_at,
        ":opened_severity": a.opened_severity.as_str(), ":flapping": a.flapping,
    };
    let id = if write.new {
        let mut stmt = tx.prepare_cached(INSERT)?;
        // An insert does not use :id; SQLite refuses a named parameter it does not know.
        let p: Vec<_> = p
            .iter()
            .filter(|(name, _)| *name != ":id")
            .copied()
            .collect();
        stmt.query_row(p.as_slice(), |r| r.get(0))?
    } else {
        let mut stmt = tx.prepare_cached(UPDATE)?;
        let p: Vec<_> = p
            .iter()
            .filter(|(name, _)| {
                ![
                    ":rule",
                    ":device",
                    ":opened_at",
                    ":source",
                    ":created_at",
                    ":opened_severity",
                ]
                .contains(name)
            })
            .copied()
            .collect();
        if stmt.execute(p.as_slice())? != 1 {
            return Err(StoreError::Database(format!(
                "alert {} is not stored",
                a.id
            )));
        }
        a.id
    };
    for e in &write.events {
        append_event(tx, id, e)?;
    }
    for p in &write.attachments {
        tx.prepare_cached(
            "INSERT INTO attachments (alert_id, sha256, mime, size, bytes, created_at, actor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            id,
            p.sha256,
            p.mime,
            i64::try_from(p.bytes.len()).unwrap_or(i64::MAX),
            p.bytes,
            p.ts_ms,
            p.actor
        ])?;
    }
    if !write.deliveries.is_empty() {
        let alert = Alert { id, ..a.clone() };
        let mut stmt = tx.prepare_cached(
            "INSERT INTO deliveries (id, alert_id, agency, event, body, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?;
        for out in &write.deliveries {
            let created = write.events.last().map_or(a.updated_at, |e| e.ts);
            stmt.execute(params![
                out.id,
                id,
                out.agency,
                out.event,
                delivery_body(out, &alert),
                created
            ])?;
        }
    }
    Ok(id)
}

fn append_event(tx: &Connection, id: i64, e: &AlertEvent) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO alert_events (alert_id, ts, actor, kind, from_state, to_state, note, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        e.ts,
        e.actor,
        e.kind,
        e.from_state.map(AlertState::as_str),
        e.to_state.map(AlertState::as_str),
        e.note,
        e.detail.to_string(),
    ])?;
    Ok(())
}

const DELIVERY_COLS: &str = "id, alert_id, agency, event, state, attempts, created_at, \
     next_attempt_at, delivered_at, last_status, last_error, body";

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        alert: r.get(1)?,
        agency: r.get(2)?,
        event: r.get(3)?,
        state: named(r, 4, DeliveryState::parse)?,
        attempts: r.get(5)?,
        created_at: r.get(6)?,
        next_attempt_at: r.get(7)?,
        delivered_at: r.get(8)?,
        last_status: r.get(9)?,
        last_error: r.get(10)?,
        body: r.get(11)?,
    })
}

/// Pending deliveries due by `now_ms`, oldest first.
pub(super) fn due_deliveries(
    conn: &Connection,
    now_ms: i64,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries
         WHERE state = 'pending' AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, created_at LIMIT ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![now_ms, limit], delivery_row)?
        .collect::<Result<_, _>>()?)
}

/// An alert's deliveries (or every alert's), newest first.
pub(super) fn deliveries(
    conn: &Connection,
    alert: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE (?1 IS NULL OR alert_id = ?1)
         ORDER BY created_at DESC, id LIMIT ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![alert, limit], delivery_row)?
        .collect::<Result<_, _>>()?)
}

/// Records one attempt (only on a pending delivery: a late answer never overrides an end) and,
/// when it ends the delivery, its timeline entry. False when the delivery was not pending.
pub(super) fn record_attempt(tx: &Connection, a: &Attempt) -> StoreResult<bool> {
    let alert: Option<i64> = tx
        .prepare_cached(
            "UPDATE deliveries SET state = ?2, attempts = attempts + 1, next_attempt_at = ?3,
                 delivered_at = CASE WHEN ?2 = 'delivered' THEN ?4 END,
                 last_status = ?5, last_error = ?6
             WHERE id = ?1 AND state = 'pending' RETURNING alert_id",
        )?
        .query_row(
            params![
                a.id,
                a.state.as_str(),
                a.next_attempt_at,
                a.at_ms,
                a.status,
                a.error
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(alert) = alert else {
        return Ok(false);
    };
    if let Some(e) = &a.event {
        append_event(tx, alert, e)?;
    }
    Ok(true)
}

pub(super) fn save_request(tx: &Connection, r: &ActionRecord) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO alert_requests (actor, key, alert_id, action, ts)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![r.actor, r.key, r.alert, r.action, r.ts_ms])?;
    Ok(())
}

pub(super) fn request(
    conn: &Connection,
    actor: &str,
    key: &str,
) -> StoreResult<Option<ActionRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT actor, key, alert_id, action, ts FROM alert_requests
             WHERE actor = ?1 AND key = ?2",
        )?
        .query_row(params![actor, key], |r| {
            Ok(ActionRecord {
                actor: r.get(0)?,
                key: r.get(1)?,
                alert: r.get(2)?,
                action: r.get(3)?,
                ts_ms: r.get(4)?,
            })
        })
        .optional()?)
}

/// A column holding one of a closed set of names (an operator, a severity, a state).
fn named<T>(r: &Row<'_>, col: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = r.get(col)?;
    parse(&text).ok_or_else(|| bad(col, format!("unknown value {text:?}")))
}

fn bad(col: usize, reason: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, reason.into())
}

fn list(r: &Row<'_>, col: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(col)?;
    serde_json::from_str(&text).map_err(|e| bad(col, e.to_string()))
}

pub(super) fn alert_row(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let (opened_at, severity) = (r.get(9)?, named(r, 7, Severity::parse)?);
    Ok(Alert {
        id: r.get(0)?,
        rule: r.get(1)?,
        device: r.get(2)?,
        metric: r.get(3)?,
        value: r.get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
        threshold: r.get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
        op: r.get::<_, Option<String>>(6)?.and_then(|s| Op::parse(&s)),
        severity,
        state: named(r, 8, AlertState::parse)?,
        opened_at,
        updated_at: r.get(10)?,
        resolved_at: r.get(11)?,
        hits: r.get(12)?,
        active: r.get(13)?,
        cleared_at: r.get(14)?,
        category: r.get(15)?,
        agency: r.get(16)?,
        agencies: list(r, 17)?,
        assignee: r.get(18)?,
        resolution: r.get(19)?,
        source: named(r, 20, Source::parse)?,
        lat: r.get(21)?,
        lon: r.get(22)?,
        areas: list(r, 23)?,
        text: r.get(24)?,
        acknowledged_at: r.get(25)?,
        dispatched_at: r.get(26)?,
        closed_at: r.get(27)?,
        ack_deadline: r.get(28)?,
        resolve_deadline: r.get(29)?,
        escalations: r.get(30)?,
        next_escalation_at: r.get(31)?,
        undelivered: list(r, 32)?,
        created_at: r.get::<_, Option<i64>>(33)?.unwrap_or(opened_at),
        opened_severity: match r.get::<_, Option<String>>(34)? {
            Some(s) => {
                Severity::parse(&s).ok_or_else(|| bad(34, format!("unknown severity {s:?}")))?
            }
            None => severity,
        },
        flapping: r.get(35)?,
    })
}

pub(super) fn alerts(conn: &Connection, q: &AlertQuery) -> StoreResult<Vec<Alert>> {
    let states = q
        .state
        .map(|s| serde_json::to_string(&s.states()).unwrap_or_default());
    let sql = format!(
        "SELECT {ALERT_COLS} FROM alerts
         WHERE (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
           AND (:device IS NULL OR device = :device)
           AND (:agency IS NULL OR EXISTS (SELECT 1 FROM json_each(agencies) WHERE value = :agency))
           AND (:severity IS NULL OR severity = :severity)
           AND (:category IS NULL OR category = :category)
           AND (:area IS NULL OR EXISTS (SELECT 1 FROM json_each(areas) WHERE value = :area))
           AND (:source IS NULL OR source = :source)
           AND (:from IS NULL OR opened_at >= :from)
           AND (:to IS NULL OR opened_at < :to)
           AND (:before IS NULL OR id < :before)
           AND (NOT :live OR resolved_at IS NULL OR active = 1)
         ORDER BY id DESC LIMIT :limit"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(
            named_params! {
                ":states": states, ":device": q.device, ":agency": q.agency,
                ":severity": q.severity.map(Severity::as_str), ":category": q.category,
                ":area": q.area, ":source": q.source.map(Source::as_str), ":from": q.from,
                ":to": q.to, ":before": q.before, ":live": q.live, ":limit": q.limit,
            },
            alert_row,
        )?
        .collect::<Result<_, _>>()?)
}

pub(super) fn alert(conn: &Connection, id: i64) -> StoreResult<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], alert_row).optional()?)
}

/// A stored detail as the API shows it: an object (`null` from an earlier version is `{}`).
fn object(v: serde_json::Value) -> serde_json::Value {
    if v.is_null() {
        serde_json::json!({})
    } else {
        v
    }
}

pub(super) fn timeline(conn: &Connection, id: i64) -> StoreResult<Vec<AlertEvent>> {
    events(
        conn,
        "SELECT seq, alert_id, ts, actor, kind, from_state, to_state, note, detail
         FROM alert_events WHERE alert_id = ?1 ORDER BY seq",
        params![id],
    )
}

/// What a report of `[from, to)` reads: the alerts opened in it, those opened before it and not
/// resolved before it starts (each part by its own index: years of resolved alerts are never
/// scanned); and their timeline entries before `to` that moved the handling
/// state, dispatched or escalated (comments and deliveries do not count), oldest first.
pub(super) fn for_report(
    conn: &Connection,
    from: i64,
    to: i64,
) -> StoreResult<(Vec<Alert>, Vec<AlertEvent>)> {
    let sql = format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE created_at >= ?1 AND created_at < ?2
         UNION ALL
         SELECT {ALERT_COLS} FROM alerts WHERE resolved_at >= ?1 AND created_at < ?1
         UNION ALL
         SELECT {ALERT_COLS} FROM alerts WHERE resolved_at IS NULL AND created_at < ?1
         ORDER BY id"
    );
    let alerts: Vec<Alert> = conn
        .prepare_cached(&sql)?
        .query_map(params![from, to], alert_row)?
        .collect::<Result<_, _>>()?;
    let ids = serde_json::to_string(&alerts.iter().map(|a| a.id).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    let events = events(
        conn,
        "SELECT seq, alert_id, ts, actor, kind, from_state, to_state, note, detail
         FROM alert_events
         WHERE alert_id IN (SELECT value FROM json_each(?1)) AND ts < ?2
           AND (to_state IS NOT NULL OR kind IN ('escalated', 'dispatch'))
         ORDER BY seq",
        params![ids, to],
    )?;
    Ok((alerts, events))
}

fn events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<AlertEvent>> {
    let state = |r: &Row<'_>, col| -> rusqlite::Result<Option<AlertState>> {
        Ok(r.get::<_, Option<String>>(col)?
            .and_then(|s| AlertState::parse(&s)))
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params, |r| {
            let detail: String = r.get(8)?;
            Ok(AlertEvent {
                seq: r.get(0)?,
                alert: r.get(1)?,
                ts: r.get(2)?,
                actor: r.get(3)?,
                kind: r.get(4)?,
                from_state: state(r, 5)?,
                to_state: state(r, 6)?,
                note: r.get(7)?,
                detail: object(serde_json::from_str(&detail).map_err(|e| bad(8, e.to_string()))?),
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub(super) fn attachment(
    conn: &Connection,
    alert: i64,
    sha256: &str,
) -> StoreResult<Option<Attachment>> {
    Ok(conn
        .prepare_cached(
            "SELECT sha256, mime, bytes, created_at, actor FROM attachments
             WHERE alert_id = ?1 AND sha256 = ?2",
        )?
        .query_row(params![alert, sha256], |r| {
            Ok(Attachment {
                sha256: r.get(0)?,
                mime: r.get(1)?,
                bytes: r.get(2)?,
                ts_ms: r.get(3)?,
                actor: r.get(4)?,
            })
        })
        .optional()?)
}
