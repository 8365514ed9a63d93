//! Cameras' video side in PostgreSQL.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::error::{to_ms, to_time};
use crate::camera::model::{Camera, Credentials, Transport};
use crate::storage::StoreResult;

const COLS: &str =
    "id, url, sub_url, username, password, always_on, transport, created_at, updated_at";

fn row(r: &Row) -> StoreResult<Camera> {
    let username: Option<String> = r.try_get(3)?;
    let password: Option<String> = r.try_get(4)?;
    let transport: String = r.try_get(6)?;
    Ok(Camera {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        sub_url: r.try_get(2)?,
        credentials: username.map(|username| Credentials {
            username,
            password: password.unwrap_or_default(),
        }),
        always_on: r.try_get(5)?,
        transport: Transport::parse(&transport).unwrap_or_default(),
        created_at: to_ms(r.try_get(7)?),
        updated_at: to_ms(r.try_get(8)?),
    })
}

pub async fn all(c: &impl GenericClient) -> StoreResult<Vec<Camera>> {
    let sql = format!("SELECT {COLS} FROM cameras ORDER BY id");
    c.query(&sql, &[]).await?.iter().map(row).collect()
}

pub async fn insert(c: &impl GenericClient, cam: &Camera) -> StoreResult<bool> {
    let (username, password) = split(cam);
    let n = c
        .execute(
            "INSERT INTO cameras (id, url, sub_url, username, password, always_on, transport,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            &[
                &cam.id,
                &cam.url,
                &cam.sub_url,
                &username,
                &password,
                &cam.always_on,
                &cam.transport.as_str(),
                &to_time(cam.created_at),
                &to_time(cam.updated_at),
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn save(c: &impl GenericClient, cam: &Camera) -> StoreResult<bool> {
    let (username, password) = split(cam);
    let n = c
        .execute(
            "UPDATE cameras SET url = $2, sub_url = $3, username = $4, password = $5,
                 always_on = $6, transport = $7, updated_at = $8
             WHERE id = $1",
            &[
                &cam.id,
                &cam.url,
                &cam.sub_url,
                &username,
                &password,
                &cam.always_on,
                &cam.transport.as_str(),
                &to_time(cam.updated_at),
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn delete(c: &impl GenericClient, id: &str) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM cameras WHERE id = $1", &[&id])
        .await?
        == 1)
}

fn split(cam: &Camera) -> (Option<&str>, Option<&str>) {
    match &cam.credentials {
        Some(c) => (Some(&c.username), Some(&c.password)),
        None => (None, None),
    }
}
