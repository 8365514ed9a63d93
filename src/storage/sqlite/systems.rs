//! Connected systems in SQLite (times as epoch ms; key patterns as a JSON list).

use rusqlite::{Connection, Row, params};

use crate::storage::StoreResult;
use crate::storage::codec::to_json;
use crate::systems::System;

const COLS: &str = "id, name, owner, expected_interval_s, devices, created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<System> {
    Ok(System {
        id: r.get(0)?,
        name: r.get(1)?,
        owner: r.get(2)?,
        expected_interval_s: r.get(3)?,
        devices: super::read::json_list(r, 4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

pub fn all(conn: &Connection) -> StoreResult<Vec<System>> {
    let sql = format!("SELECT {COLS} FROM systems ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert(conn: &Connection, s: &System) -> StoreResult<bool> {
    let n = conn.execute(
        "INSERT INTO systems (id, name, owner, expected_interval_s, devices, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        params![
            s.id,
            s.name,
            s.owner,
            s.expected_interval_s,
            to_json(&s.devices),
            s.created_at,
            s.updated_at
        ],
    )?;
    Ok(n == 1)
}

pub fn save(conn: &Connection, s: &System) -> StoreResult<bool> {
    let n = conn.execute(
        "UPDATE systems SET name = ?2, owner = ?3, expected_interval_s = ?4, devices = ?5,
             updated_at = ?6
         WHERE id = ?1",
        params![
            s.id,
            s.name,
            s.owner,
            s.expected_interval_s,
            to_json(&s.devices),
            s.updated_at
        ],
    )?;
    Ok(n == 1)
}
