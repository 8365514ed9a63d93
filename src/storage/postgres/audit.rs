//! The audit trail in PostgreSQL: appends take a transaction-scoped advisory lock, so that every
//! hub on the database numbers and chains one sequence.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::error::{to_ms, to_time};
use crate::audit::model::{AuditEvent, AuditQuery, AuditRecord, GENESIS};
use crate::storage::StoreResult;

/// "iochub-audit" in ASCII, truncated to 8 bytes.
const AUDIT_LOCK: i64 = 0x696f_6368_7562_6175;

const COLS: &str = "seq, ts, actor, address, action, target, result, detail, prev_hash, hash";

fn row(r: &Row) -> StoreResult<AuditRecord> {
    Ok(AuditRecord {
        seq: r.try_get(0)?,
        ts_ms: to_ms(r.try_get(1)?),
        actor: r.try_get(2)?,
        address: r.try_get(3)?,
        action: r.try_get(4)?,
        target: r.try_get(5)?,
        result: r.try_get(6)?,
        detail: r.try_get(7)?,
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

pub async fn append(
    c: &mut deadpool_postgres::Object,
    events: Vec<AuditEvent>,
) -> StoreResult<Vec<AuditRecord>> {
    let tx = c.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await?;
    let last = tx
        .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
        .await?;
    let (mut seq, mut prev): (i64, String) = match last {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => anchor(&tx).await?.unwrap_or((0, GENESIS.to_owned())),
    };
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO audit ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .await?;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        seq += 1;
        let r = AuditRecord::link(seq, e, &prev);
        tx.execute(
            &insert,
            &[
                &r.seq,
                &to_time(r.ts_ms),
                &r.actor,
                &r.address,
                &r.action,
                &r.target,
                &r.result,
                &r.detail,
                &r.prev_hash,
                &r.hash,
            ],
        )
        .await?;
        prev = r.hash.clone();
        out.push(r);
    }
    tx.commit().await?;
    Ok(out)
}

pub async fn query(c: &impl GenericClient, q: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
    let sql = format!(
        "SELECT {COLS} FROM audit
         WHERE ($1::timestamptz IS NULL OR ts >= $1) AND ($2::timestamptz IS NULL OR ts < $2)
           AND ($3::text IS NULL OR actor = $3)
           AND ($4::text IS NULL OR action = $4 OR action LIKE $4 || '.%')
           AND ($5::bigint IS NULL OR seq < $5)
         ORDER BY seq DESC LIMIT $6"
    );
    let rows = c
        .query(
            &sql,
            &[
                &q.from_ms.map(to_time),
                &q.to_ms.map(to_time),
                &q.actor,
                &q.action,
                &q.before_seq,
                &i64::from(q.limit),
            ],
        )
        .await?;
    let records: Vec<AuditRecord> = rows.iter().map(row).collect::<StoreResult<_>>()?;
    Ok(records.into_iter().filter(|r| q.matches(r)).collect())
}

pub async fn chain(
    c: &impl GenericClient,
    after_seq: i64,
    limit: u32,
) -> StoreResult<Vec<AuditRecord>> {
    let sql = format!("SELECT {COLS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2");
    c.query(&sql, &[&after_seq, &i64::from(limit)])
        .await?
        .iter()
        .map(row)
        .collect()
}

pub async fn anchor(c: &impl GenericClient) -> StoreResult<Option<(i64, String)>> {
    let row = c
        .query_opt("SELECT seq, hash FROM audit_anchor WHERE id = 1", &[])
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

pub async fn expire(c: &mut deadpool_postgres::Object, before_ms: i64) -> StoreResult<u64> {
    let tx = c.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await?;
    let newest_gone = tx
        .query_opt(
            "SELECT seq, hash FROM audit WHERE ts < $1 ORDER BY seq DESC LIMIT 1",
            &[&to_time(before_ms)],
        )
        .await?;
    let Some(r) = newest_gone else {
        return Ok(0);
    };
    let (seq, hash): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
    // Everything up to that record goes, so the kept records stay one run after the anchor.
    let n = tx
        .execute("DELETE FROM audit WHERE seq <= $1", &[&seq])
        .await?;
    tx.execute(
        "INSERT INTO audit_anchor (id, seq, hash) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        &[&seq, &hash],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
