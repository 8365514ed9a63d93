//! The video wall's named layouts in PostgreSQL (`tiles` as jsonb).

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::error::{to_ms, to_time};
use crate::camera::wall::WallLayout;
use crate::storage::{StoreError, StoreResult};

const COLS: &str = "name, size, tiles::text, updated_at, updated_by";

fn row(r: &Row) -> StoreResult<WallLayout> {
    let size: i16 = r.try_get(1)?;
    let tiles: String = r.try_get(2)?;
    Ok(WallLayout {
        name: r.try_get(0)?,
        size: u8::try_from(size).map_err(|e| StoreError::Database(e.to_string()))?,
        tiles: serde_json::from_str(&tiles).map_err(|e| StoreError::Database(e.to_string()))?,
        updated_at: to_ms(r.try_get(3)?),
        updated_by: r.try_get(4)?,
    })
}

pub async fn all(c: &impl GenericClient) -> StoreResult<Vec<WallLayout>> {
    let sql = format!("SELECT {COLS} FROM wall_layouts ORDER BY name");
    c.query(&sql, &[]).await?.iter().map(row).collect()
}

/// Inserts or replaces; true when it was new.
pub async fn save(c: &impl GenericClient, l: &WallLayout) -> StoreResult<bool> {
    let tiles = serde_json::to_string(&l.tiles).map_err(|e| StoreError::Database(e.to_string()))?;
    let new: bool = c
        .query_one(
            "INSERT INTO wall_layouts (name, size, tiles, updated_at, updated_by)
             VALUES ($1, $2, $3::text::jsonb, $4, $5)
             ON CONFLICT (name) DO UPDATE SET size = EXCLUDED.size, tiles = EXCLUDED.tiles,
                 updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
             RETURNING (xmax = 0)",
            &[
                &l.name,
                &i16::from(l.size),
                &tiles,
                &to_time(l.updated_at),
                &l.updated_by,
            ],
        )
        .await?
        .try_get(0)?;
    Ok(new)
}

pub async fn delete(c: &impl GenericClient, name: &str) -> StoreResult<bool> {
    Ok(
        c.execute("DELETE FROM wall_layouts WHERE name = $1", &[&name])
            .await?
            == 1,
    )
}
