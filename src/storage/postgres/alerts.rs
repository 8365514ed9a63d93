//! Alerts on PostgreSQL: each alert as the lifecycle or an action left it with its new timeline
//! entries (one statement: the entries travel as one JSON parameter, so a lone alert commit stays
//! one round trip), the remembered requests with an Idempotency-Key, and the console's queries.

use std::sync::LazyLock;
use std::time::SystemTime;

use serde_json::json;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::error::{PgError, PgResult, to_ms, to_time};
use super::read::GenericClient;
use crate::alerts::model::{
    ActionRecord, Alert, AlertEvent, AlertQuery, AlertState, AlertWrite, Attachment, Attempt,
    Delivery, DeliveryState, Source, delivery_body,
};
use crate::pipeline::{Op, Severity};

pub(super) const ALERT_COLS: &str = "id, rule, device, metric, value, threshold, op, severity, \
     state, opened_at, updated_at, resolved_at, hits, active, cleared_at, category, agency, \
     agencies, assignee, resolution, source, lat, lon, areas, text, acknowledged_at, \
     dispatched_at, closed_at, ack_deadline, resolve_deadline, escalations, next_escalation_at, \
     undelivered, created_at, opened_severity, flapping";

/// The timeline entries of a write, appended from `$1` (JSON) for the alert `a.id`.
const EVENTS: &str = "e AS (
    INSERT INTO alert_events (alert_id, ts, actor, kind, from_state, to_state, note, detail)
    SELECT a.id, 'epoch'::timestamptz + x.ts * interval '1 millisecond', x.actor, x.kind,
           x.from_state, x.to_state, x.note, coalesce(x.detail, '{}'::jsonb)
    FROM a, jsonb_to_recordset($1::text::jsonb) AS x(i int, ts bigint, actor text, kind text,
         from_state text, to_state text, note text, detail jsonb)
    ORDER BY x.i)";

/// `$2` … `$30`: the alert's mutable fields, in this order.
const FIELDS: &str = "metric, value, threshold, op, severity, state, updated_at, resolved_at, \
     hits, active, cleared_at, category, agency, agencies, assignee, resolution, lat, lon, areas, \
     text, acknowledged_at, dispatched_at, closed_at, ack_deadline, resolve_deadline, \
     escalations, next_escalation_at, undelivered, flapping";

/// Built once: the statement text is also the key of the connection's prepared-statement cache.
static INSERT: LazyLock<String> = LazyLock::new(insert_sql);
static UPDATE: LazyLock<String> = LazyLock::new(update_sql);

fn insert_sql() -> String {
    let values: Vec<String> = (2..=36).map(|i| format!("${i}")).collect();
    format!(
        "WITH a AS (INSERT INTO alerts ({FIELDS}, rule, device, opened_at, source, created_at,
                                    opened_severity)
                    VALUES ({}) RETURNING id), {EVENTS}
         SELECT id FROM a",
        values.join(", ")
    )
}

fn update_sql() -> String {
    let sets: Vec<String> = FIELDS
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, f)| format!("{f} = ${}", i + 2))
        .collect();
    format!(
        "WITH a AS (UPDATE alerts SET {} WHERE id = $31 RETURNING id), {EVENTS}
         SELECT id FROM a",
        sets.join(", ")
    )
}

/// The timeline entries as the JSON the statement reads (`i` keeps their order).
fn events_json(events: &[AlertEvent]) -> serde_json::Value {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "i": i, "ts": e.ts, "actor": e.actor, "kind": e.kind,
                "from_state": e.from_state.map(AlertState::as_str),
                "to_state": e.to_state.map(AlertState::as_str),
                "note": e.note, "detail": e.detail,
            })
        })
        .collect()
}

/// Persists one alert and its new timeline entries in one statement; returns its id (a new one
/// for a new alert).
pub(super) async fn save(c: &impl GenericClient, write: &AlertWrite) -> PgResult<i64> {
    let a = &write.alert;
    let events = events_json(&write.events).to_string();
    let opt_time = |t: Option<i64>| t.map(to_time);
    let (updated_at, resolved_at, cleared_at) = (
        to_time(a.updated_at),
        opt_time(a.resolved_at),
        opt_time(a.cleared_at),
    );
    let (acknowledged_at, dispatched_at, closed_at) = (
        opt_time(a.acknowledged_at),
        opt_time(a.dispatched_at),
        opt_time(a.closed_at),
    );
    let (ack_deadline, resolve_deadline, next_escalation_at) = (
        opt_time(a.ack_deadline),
        opt_time(a.resolve_deadline),
        opt_time(a.next_escalation_at),
    );
    let hits = i32::try_from(a.hits).unwrap_or(i32::MAX);
    let escalations = i32::try_from(a.escalations).unwrap_or(i32::MAX);
    let finite = |v: f64| v.is_finite().then_some(v);
    let (value, threshold) = (finite(a.value), finite(a.threshold));
    let (op, severity, state) = (a.op.map(Op::as_str), a.severity.as_str(), a.state.as_str());
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &events,
        &a.metric,
        &value,
        &threshold,
        &op,
        &severity,
        &state,
        &updated_at,
        &resolved_at,
        &hits,
        &a.active,
        &cleared_at,
        &a.category,
        &a.agency,
        &a.agencies,
        &a.assignee,
        &a.resolution,
        &a.lat,
        &a.lon,
        &a.areas,
        &a.text,
        &acknowledged_at,
        &dispatched_at,
        &closed_at,
        &ack_deadline,
        &resolve_deadline,
        &escalations,
        &next_escalation_at,
        &a.undelivered,
        &a.flapping,
    ];
    let (opened_at, created_at) = (to_time(a.opened_at), to_time(a.created_at));
    let (source, opened_severity) = (a.source.as_str(), a.opened_severity.as_str());
    let id: i64 = if write.new {
        params.extend([
            &a.rule as &(dyn ToSql + Sync),
            &a.device,
            &opened_at,
            &source,
            &created_at,
            &opened_severity,
        ]);
        let stmt = c.prepare_cached(&INSERT).await?;
        c.query_one(&stmt, &params).await?.try_get(0)?
    } else {
        params.push(&a.id);
        let stmt = c.prepare_cached(&UPDATE).await?;
        match c.query_opt(&stmt, &params).await? {
            Some(row) => row.try_get(0)?,
            None => return Err(PgError::Invariant(format!("alert {} is not stored", a.id))),
        }
    };
    for p in &write.attachments {
        let (size, at) = (
            i32::try_from(p.bytes.len()).unwrap_or(i32::MAX),
            to_time(p.ts_ms),
        );
        c.execute(
            "INSERT INTO attachments (alert_id, sha256, mime, size, bytes, created_at, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[&id, &p.sha256, &p.mime, &size, &p.bytes, &at, &p.actor],
        )
        .await?;
    }
    if !write.deliveries.is_empty() {
        let alert = Alert { id, ..a.clone() };
        let created = to_time(write.events.last().map_or(a.updated_at, |e| e.ts));
        let stmt = c
            .prepare_cached(
                "INSERT INTO deliveries (id, alert_id, agency, event, body, created_at,
                                         next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .await?;
        for out in &write.deliveries {
            let body = delivery_body(out, &alert);
            c.execute(
                &stmt,
                &[&out.id, &id, &out.agency, &out.event, &body, &created],
            )
            .await?;
        }
    }
    Ok(id)
}

const DELIVERY_COLS: &str = "id, alert_id, agency, event, state, attempts, created_at, \
     next_attempt_at, delivered_at, last_status, last_error, body";

fn delivery_row(r: &Row) -> PgResult<Delivery> {
    Ok(Delivery {
        id: r.try_get(0)?,
        alert: r.try_get(1)?,
        agency: r.try_get(2)?,
        event: r.try_get(3)?,
        state: named(r, 4, DeliveryState::parse)?,
        attempts: u32::try_from(r.try_get::<_, i32>(5)?).unwrap_or(0),
        created_at: to_ms(r.try_get(6)?),
        next_attempt_at: to_ms(r.try_get(7)?),
        delivered_at: opt_ms(r, 8)?,
        last_status: r
            .try_get::<_, Option<i32>>(9)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: r.try_get(10)?,
        body: r.try_get(11)?,
    })
}

pub(super) async fn due_deliveries(
    c: &impl GenericClient,
    now_ms: i64,
    limit: u32,
) -> PgResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries
         WHERE state = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at, created_at LIMIT $2"
    );
    let (now, limit) = (to_time(now_ms), i64::from(limit));
    c.query(&sql, &[&now, &limit])
        .await?
        .iter()
        .map(delivery_row)
        .collect()
}

pub(super) async fn deliveries(
    c: &impl GenericClient,
    alert: Option<i64>,
    limit: u32,
) -> PgResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE ($1::bigint IS NULL OR alert_id = $1)
         ORDER BY created_at DESC, id LIMIT $2"
    );
    let limit = i64::from(limit);
    c.query(&sql, &[&alert, &limit])
        .await?
        .iter()
        .map(delivery_row)
        .collect()
}

/// Records one attempt on a pending delivery and, when it ends the delivery, its timeline entry.
pub(super) async fn record_attempt(c: &impl GenericClient, a: &Attempt) -> PgResult<bool> {
    let (next, at) = (to_time(a.next_attempt_at), to_time(a.at_ms));
    let status = a.status.map(i32::from);
    let row = c
        .query_opt(
            "UPDATE deliveries SET state = $2, attempts = attempts + 1, next_attempt_at = $3,
                 delivered_at = CASE WHEN $2 = 'delivered' THEN $4::timestamptz END,
                 last_status = $5, last_error = $6
             WHERE id = $1 AND state = 'pending' RETURNING alert_id",
            &[&a.id, &a.state.as_str(), &next, &at, &status, &a.error],
        )
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    if let Some(e) = &a.event {
        let alert: i64 = row.try_get(0)?;
        let (ts, from, to) = (
            to_time(e.ts),
            e.from_state.map(AlertState::as_str),
            e.to_state.map(AlertState::as_str),
        );
        let detail = e.detail.to_string();
        c.execute(
            "INSERT INTO alert_events (alert_id, ts, actor, kind, from_state, to_state, note, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)",
            &[&alert, &ts, &e.actor, &e.kind, &from, &to, &e.note, &detail],
        )
        .await?;
    }
    Ok(true)
}

pub(super) async fn save_request(c: &impl GenericClient, r: &ActionRecord) -> PgResult<()> {
    let ts = to_time(r.ts_ms);
    c.execute(
        "INSERT INTO alert_requests (actor, key, alert_id, action, ts) VALUES ($1, $2, $3, $4, $5)",
        &[&r.actor, &r.key, &r.alert, &r.action, &ts],
    )
    .await?;
    Ok(())
}

pub(super) async fn request(
    c: &impl GenericClient,
    actor: &str,
    key: &str,
) -> PgResult<Option<ActionRecord>> {
    let row = c
        .query_opt(
            "SELECT actor, key, alert_id, action, ts FROM alert_requests
             WHERE actor = $1 AND key = $2",
            &[&actor, &key],
        )
        .await?;
    row.map(|r| {
        Ok(ActionRecord {
            actor: r.try_get(0)?,
            key: r.try_get(1)?,
            alert: r.try_get(2)?,
            action: r.try_get(3)?,
            ts_ms: to_ms(r.try_get(4)?),
        })
    })
    .transpose()
}

/// A column holding one of a closed set of names (a severity, a state, a source).
fn named<T>(r: &Row, col: usize, parse: fn(&str) -> Option<T>) -> PgResult<T> {
    let text: String = r.try_get(col)?;
    parse(&text).ok_or_else(|| PgError::Invariant(format!("column {col}: unknown value {text:?}")))
}

fn opt_ms(r: &Row, col: usize) -> PgResult<Option<i64>> {
    Ok(r.try_get::<_, Option<SystemTime>>(col)?.map(to_ms))
}

pub(super) fn alert_row(r: &Row) -> PgResult<Alert> {
    let (opened_at, severity) = (to_ms(r.try_get(9)?), named(r, 7, Severity::parse)?);
    Ok(Alert {
        id: r.try_get(0)?,
        rule: r.try_get(1)?,
        device: r.try_get(2)?,
        metric: r.try_get(3)?,
        value: r.try_get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
        threshold: r.try_get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
        op: r
            .try_get::<_, Option<String>>(6)?
            .and_then(|s| Op::parse(&s)),
        severity,
        state: named(r, 8, AlertState::parse)?,
        opened_at,
        updated_at: to_ms(r.try_get(10)?),
        resolved_at: opt_ms(r, 11)?,
        hits: u32::try_from(r.try_get::<_, i32>(12)?).unwrap_or(0),
        active: r.try_get(13)?,
        cleared_at: opt_ms(r, 14)?,
        category: r.try_get(15)?,
        agency: r.try_get(16)?,
        agencies: r.try_get(17)?,
        assignee: r.try_get(18)?,
        resolution: r.try_get(19)?,
        source: named(r, 20, Source::parse)?,
        lat: r.try_get(21)?,
        lon: r.try_get(22)?,
        areas: r.try_get(23)?,
        text: r.try_get(24)?,
        acknowledged_at: opt_ms(r, 25)?,
        dispatched_at: opt_ms(r, 26)?,
        closed_at: opt_ms(r, 27)?,
        ack_deadline: opt_ms(r, 28)?,
        resolve_deadline: opt_ms(r, 29)?,
        escalations: u32::try_from(r.try_get::<_, i32>(30)?).unwrap_or(0),
        next_escalation_at: opt_ms(r, 31)?,
        undelivered: r.try_get(32)?,
        created_at: opt_ms(r, 33)?.unwrap_or(opened_at),
        opened_severity: match r.try_get::<_, Option<String>>(34)? {
            Some(s) => Severity::parse(&s)
                .ok_or_else(|| PgError::Invariant(format!("unknown severity {s:?}")))?,
            None => severity,
        },
        flapping: r.try_get(35)?,
    })
}

pub(super) async fn alerts(c: &impl GenericClient, q: &AlertQuery) -> PgResult<Vec<Alert>> {
    let sql = format!(
        "SELECT {ALERT_COLS} FROM alerts
         WHERE ($1::text[] IS NULL OR state = ANY($1))
           AND ($2::text IS NULL OR device = $2)
           AND ($3::text IS NULL OR $3 = ANY(agencies))
           AND ($4::text IS NULL OR severity = $4)
           AND ($5::text IS NULL OR category = $5)
           AND ($6::text IS NULL OR $6 = ANY(areas))
           AND ($7::text IS NULL OR source = $7)
           AND ($8::timestamptz IS NULL OR opened_at >= $8)
           AND ($9::timestamptz IS NULL OR opened_at < $9)
           AND ($10::bigint IS NULL OR id < $10)
           AND (NOT $11 OR resolved_at IS NULL OR active)
         ORDER BY id DESC LIMIT $12"
    );
    let stmt = c.prepare_cached(&sql).await?;
    let states: Option<Vec<&str>> = q.state.map(|s| s.states());
    let severity = q.severity.map(Severity::as_str);
    let source = q.source.map(Source::as_str);
    let (from, to) = (q.from.map(to_time), q.to.map(to_time));
    let limit = i64::from(q.limit);
    c.query(
        &stmt,
        &[
            &states,
            &q.device,
            &q.agency,
            &severity,
            &q.category,
            &q.area,
            &source,
            &from,
            &to,
            &q.before,
            &q.live,
            &limit,
        ],
    )
    .await?
    .iter()
    .map(alert_row)
    .collect()
}

pub(super) async fn alert(c: &impl GenericClient, id: i64) -> PgResult<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1");
    c.query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(alert_row)
        .transpose()
}

pub(super) async fn timeline(c: &impl GenericClient, id: i64) -> PgResult<Vec<AlertEvent>> {
    let rows = c
        .query(
            "SELECT seq, alert_id, ts, actor, kind, from_state, to_state, note, detail::text
             FROM alert_events WHERE alert_id = $1 ORDER BY seq",
            &[&id],
        )
        .await?;
    event_rows(&rows)
}

/// What a report of `[from, to)` reads: the alerts opened in it, those opened before it and not
/// resolved before it starts (each part by its own index: years of resolved alerts are never
/// scanned); and their timeline entries before `to` that moved the handling
/// state, dispatched or escalated (comments and deliveries do not count), oldest first.
pub(super) async fn for_report(
    c: &impl GenericClient,
    from: i64,
    to: i64,
) -> PgResult<(Vec<Alert>, Vec<AlertEvent>)> {
    let sql = format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE created_at >= $1 AND created_at < $2
         UNION ALL
         SELECT {ALERT_COLS} FROM alerts WHERE resolved_at >= $1 AND created_at < $1
         UNION ALL
         SELECT {ALERT_COLS} FROM alerts WHERE resolved_at IS NULL AND created_at < $1
         ORDER BY id"
    );
    let (from, to) = (to_time(from), to_time(to));
    let alerts = c
        .query(&sql, &[&from, &to])
        .await?
        .iter()
        .map(alert_row)
        .collect::<PgResult<Vec<_>>>()?;
    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    let rows = c
        .query(
            "SELECT seq, alert_id, ts, actor, kind, from_state, to_state, note, detail::text
             FROM alert_events
             WHERE alert_id = ANY($1) AND ts < $2
               AND (to_state IS NOT NULL OR kind IN ('escalated', 'dispatch'))
             ORDER BY seq",
            &[&ids, &to],
        )
        .await?;
    Ok((alerts, event_rows(&rows)?))
}

fn event_rows(rows: &[Row]) -> PgResult<Vec<AlertEvent>> {
    let state = |r: &Row, col| -> PgResult<Option<AlertState>> {
        Ok(r.try_get::<_, Option<String>>(col)?
            .and_then(|s| AlertState::parse(&s)))
    };
    rows.iter()
        .map(|r| {
            Ok(AlertEvent {
                seq: r.try_get(0)?,
                alert: r.try_get(1)?,
                ts: to_ms(r.try_get(2)?),
                actor: r.try_get(3)?,
                kind: r.try_get(4)?,
                from_state: state(r, 5)?,
                to_state: state(r, 6)?,
                note: r.try_get(7)?,
                detail: match serde_json::from_str(r.try_get(8)?)
                    .map_err(|e| PgError::Invariant(format!("alert event detail: {e}")))?
                {
                    serde_json::Value::Null => json!({}),
                    v => v,
                },
            })
        })
        .collect()
}

pub(super) async fn attachment(
    c: &impl GenericClient,
    alert: i64,
    sha256: &str,
) -> PgResult<Option<Attachment>> {
    let row = c
        .query_opt(
            "SELECT sha256, mime, bytes, created_at, actor FROM attachments
             WHERE alert_id = $1 AND sha256 = $2",
            &[&alert, &sha256],
        )
        .await?;
    row.map(|r| {
        Ok(Attachment {
            sha256: r.try_get(0)?,
            mime: r.try_get(1)?,
            bytes: r.try_get(2)?,
            ts_ms: to_ms(r.try_get(3)?),
            actor: r.try_get(4)?,
        })
    })
    .transpose()
}
