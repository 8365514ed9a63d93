//! The video wall's named layouts in SQLite (`tiles` as JSON text, times as epoch ms).

use rusqlite::{Connection, params};

use crate::camera::wall::WallLayout;
use crate::storage::{StoreError, StoreResult};

pub fn all(conn: &Connection) -> StoreResult<Vec<WallLayout>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, size, tiles, updated_at, updated_by FROM wall_layouts ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u8>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, size, tiles, updated_at, updated_by) = row?;
        out.push(WallLayout {
            name,
            size,
            tiles: serde_json::from_str(&tiles).map_err(|e| StoreError::Database(e.to_string()))?,
            updated_at,
            updated_by,
        });
    }
    Ok(out)
}

/// Inserts or replaces; true when it was new.
pub fn save(conn: &Connection, l: &WallLayout) -> StoreResult<bool> {
    let tiles = serde_json::to_string(&l.tiles).map_err(|e| StoreError::Database(e.to_string()))?;
    let existed: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM wall_layouts WHERE name = ?1)",
        [&l.name],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO wall_layouts (name, size, tiles, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (name) DO UPDATE SET size = excluded.size, tiles = excluded.tiles,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![l.name, l.size, tiles, l.updated_at, l.updated_by],
    )?;
    Ok(!existed)
}

pub fn delete(conn: &Connection, name: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM wall_layouts WHERE name = ?1", [name])? == 1)
}
