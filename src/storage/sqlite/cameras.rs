//! Cameras' video side in SQLite (times as epoch ms).

use rusqlite::{Connection, Row, params};

use crate::camera::model::{Camera, Credentials, Transport};
use crate::storage::StoreResult;

const COLS: &str =
    "id, url, sub_url, username, password, always_on, transport, created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Camera> {
    let username: Option<String> = r.get(3)?;
    let password: Option<String> = r.get(4)?;
    let transport: String = r.get(6)?;
    Ok(Camera {
        id: r.get(0)?,
        url: r.get(1)?,
        sub_url: r.get(2)?,
        credentials: username.map(|username| Credentials {
            username,
            password: password.unwrap_or_default(),
        }),
        always_on: r.get(5)?,
        transport: Transport::parse(&transport).unwrap_or_default(),
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

pub fn all(conn: &Connection) -> StoreResult<Vec<Camera>> {
    let sql = format!("SELECT {COLS} FROM cameras ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert(conn: &Connection, cam: &Camera) -> StoreResult<bool> {
    let (username, password) = split(cam);
    let n = conn.execute(
        "INSERT INTO cameras (id, url, sub_url, username, password, always_on, transport,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
        params![
            cam.id,
            cam.url,
            cam.sub_url,
            username,
            password,
            cam.always_on,
            cam.transport.as_str(),
            cam.created_at,
            cam.updated_at
        ],
    )?;
    Ok(n == 1)
}

pub fn save(conn: &Connection, cam: &Camera) -> StoreResult<bool> {
    let (username, password) = split(cam);
    let n = conn.execute(
        "UPDATE cameras SET url = ?2, sub_url = ?3, username = ?4, password = ?5,
             always_on = ?6, transport = ?7, updated_at = ?8
         WHERE id = ?1",
        params![
            cam.id,
            cam.url,
            cam.sub_url,
            username,
            password,
            cam.always_on,
            cam.transport.as_str(),
            cam.updated_at
        ],
    )?;
    Ok(n == 1)
}

pub fn delete(conn: &Connection, id: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM cameras WHERE id = ?1", [id])? == 1)
}

fn split(cam: &Camera) -> (Option<&str>, Option<&str>) {
    match &cam.credentials {
        Some(c) => (Some(&c.username), Some(&c.password)),
        None => (None, None),
    }
}
