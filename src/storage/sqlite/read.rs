//! Row mapping and the shared read queries.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::storage::*;

pub(super) const DEVICE_COLS: &str = "key, name, lat, lon, registered, online, first_seen, \
     last_seen, gateway, system, tags, expected_interval_s, areas";

pub(super) fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        key: r.get(0)?,
        name: r.get(1)?,
        lat: r.get(2)?,
        lon: r.get(3)?,
        registered: r.get(4)?,
        online: r.get(5)?,
        first_seen: r.get(6)?,
        last_seen: r.get(7)?,
        gateway: r.get(8)?,
        system: r.get(9)?,
        system_from: if r.get_ref(9)?.as_str_or_null()?.is_some() {
            "device"
        } else {
            "none"
        },
        tags: json_list(r, 10)?,
        areas: json_list(r, 12)?,
        expected_interval_s: r.get(11)?,
        latest: Vec::new(),
    })
}

/// A JSON list of strings kept in a text column.
pub(super) fn json_list(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn latest_of(
    conn: &Connection,
    device: Option<&str>,
) -> StoreResult<Vec<(String, LatestValue)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, metric, last_value, last_ts FROM series
         WHERE last_ts IS NOT NULL AND (?1 IS NULL OR device = ?1) ORDER BY device, metric",
    )?;
    let rows = stmt.query_map(params![device], |r| {
        Ok((
            r.get(0)?,
            LatestValue {
                metric: r.get(1)?,
                value: r.get(2)?,
                ts: r.get(3)?,
                unit: None,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn device_by_key(conn: &Connection, key: &str) -> StoreResult<Option<Device>> {
    let sql = format!("SELECT {DEVICE_COLS} FROM devices WHERE key = ?1");
    let Some(mut d) = conn.query_row(&sql, [key], device_row).optional()? else {
        return Ok(None);
    };
    d.latest = latest_of(conn, Some(key))?
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    Ok(Some(d))
}
