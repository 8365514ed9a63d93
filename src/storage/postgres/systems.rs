//! Connected systems in PostgreSQL.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::error::{to_ms, to_time};
use crate::storage::StoreResult;
use crate::systems::System;

const COLS: &str = "id, name, owner, expected_interval_s, devices, created_at, updated_at";

fn row(r: &Row) -> StoreResult<System> {
    Ok(System {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        owner: r.try_get(2)?,
        expected_interval_s: r.try_get(3)?,
        devices: r.try_get(4)?,
        created_at: to_ms(r.try_get(5)?),
        updated_at: to_ms(r.try_get(6)?),
    })
}

pub async fn all(c: &impl GenericClient) -> StoreResult<Vec<System>> {
    let sql = format!("SELECT {COLS} FROM systems ORDER BY id");
    c.query(&sql, &[]).await?.iter().map(row).collect()
}

pub async fn insert(c: &impl GenericClient, s: &System) -> StoreResult<bool> {
    let n = c
        .execute(
            "INSERT INTO systems (id, name, owner, expected_interval_s, devices, created_at,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[
                &s.id,
                &s.name,
                &s.owner,
                &s.expected_interval_s,
                &s.devices,
                &to_time(s.created_at),
                &to_time(s.updated_at),
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn save(c: &impl GenericClient, s: &System) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE systems SET name = $2, owner = $3, expected_interval_s = $4, devices = $5,
                 updated_at = $6
             WHERE id = $1",
            &[
                &s.id,
                &s.name,
                &s.owner,
                &s.expected_interval_s,
                &s.devices,
                &to_time(s.updated_at),
            ],
        )
        .await?;
    Ok(n == 1)
}
