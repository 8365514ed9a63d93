//! The audit trail in SQLite: appended under the writer, numbered and chained in the same
//! transaction as the insert.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::audit::model::{AuditEvent, AuditQuery, AuditRecord, GENESIS};
use crate::storage::StoreResult;

const COLS: &str = "seq, ts, actor, address, action, target, result, detail, prev_hash, hash";

fn row(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.get(0)?,
        ts_ms: r.get(1)?,
        actor: r.get(2)?,
        address: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        result: r.get(6)?,
        detail: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// The link the next record continues from: the last record, else the expiry anchor, else the
/// genesis.
fn last_link(conn: &Connection) -> StoreResult<(i64, String)> {
    let last = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match last {
        Some(l) => l,
        None => anchor(conn)?.unwrap_or((0, GENESIS.to_owned())),
    })
}

pub fn append(conn: &mut Connection, events: Vec<AuditEvent>) -> StoreResult<Vec<AuditRecord>> {
    // IMMEDIATE: the write lock before the chain's head is read, so another process appending
    // at the same time (`iochub backup` beside the hub) waits rather than forking the chain.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (mut seq, mut prev) = last_link(&tx)?;
    let mut out = Vec::with_capacity(events.len());
    {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO audit ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))?;
        for e in events {
            seq += 1;
            let r = AuditRecord::link(seq, e, &prev);
            insert.execute(params![
                r.seq,
                r.ts_ms,
                r.actor,
                r.address,
                r.action,
                r.target,
                r.result,
                r.detail,
                r.prev_hash,
                r.hash
            ])?;
            prev = r.hash.clone();
            out.push(r);
        }
    }
    tx.commit()?;
    Ok(out)
}

pub fn query(conn: &Connection, q: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
    let sql = format!(
        "SELECT {COLS} FROM audit
         WHERE (?1 IS NULL OR ts >= ?1) AND (?2 IS NULL OR ts < ?2) AND (?3 IS NULL OR actor = ?3)
           AND (?4 IS NULL OR action = ?4 OR action LIKE ?4 || '.%') AND (?5 IS NULL OR seq < ?5)
         ORDER BY seq DESC LIMIT ?6"
    );
    let rows: Vec<AuditRecord> = conn
        .prepare(&sql)?
        .query_map(
            params![q.from_ms, q.to_ms, q.actor, q.action, q.before_seq, q.limit],
            row,
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows.into_iter().filter(|r| q.matches(r)).collect())
}

pub fn chain(conn: &Connection, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
    let sql = format!("SELECT {COLS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![after_seq, limit], row)?
        .collect::<Result<_, _>>()?)
}

pub fn anchor(conn: &Connection) -> StoreResult<Option<(i64, String)>> {
    Ok(conn
        .query_row("SELECT seq, hash FROM audit_anchor WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

pub fn expire(conn: &mut Connection, before_ms: i64) -> StoreResult<u64> {
    let tx = conn.transaction()?;
    let newest_gone: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit WHERE ts < ?1 ORDER BY seq DESC LIMIT 1",
            [before_ms],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((seq, hash)) = newest_gone else {
        return Ok(0);
    };
    // Everything up to that record goes (a later record with an earlier clock goes with it), so
    // the kept records stay one unbroken run after the anchor.
    let n = tx.execute("DELETE FROM audit WHERE seq <= ?1", [seq])?;
    tx.execute(
        "INSERT INTO audit_anchor (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![seq, hash],
    )?;
    tx.commit()?;
    Ok(n as u64)
}
