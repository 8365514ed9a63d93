//! Online backup and restore of the SQLite store, with SQLite's backup API.
//!
//! A backup is a directory: `iochub.db` (a consistent page copy taken while the hub runs) and
//! `manifest.json` (format, schema version, time, row count per table). The copy goes in chunks so
//! that progress can be shown; because a chunked copy restarts whenever the live database is
//! written, after a few restarts the rest is copied in one step, which holds one read snapshot
//! (WAL lets the writer go on meanwhile). A restore copies the pages back into a data directory
//! that has no store yet, then checks every table's row count against the manifest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::open_conn;
pub use crate::storage::backup::Manifest;
use crate::storage::backup::TABLES;
use crate::storage::{StoreError, StoreResult};

pub const FORMAT: &str = "iochub-sqlite-backup/1";
const DB_FILE: &str = "iochub.db";
const MANIFEST: &str = "manifest.json";
const PAGES_PER_STEP: i32 = 1024;
const MAX_RESTARTS: u32 = 3;

fn err(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Copies every page of `from` into `to`, reporting (pages done, pages total).
fn copy_pages(
    from: &Connection,
    to: &mut Connection,
    progress: &mut dyn FnMut(i32, i32),
) -> StoreResult<()> {
    let backup = Backup::new(from, to)?;
    let (mut restarts, mut last_remaining) = (0, i32::MAX);
    loop {
        let pages = if restarts > MAX_RESTARTS {
            -1
        } else {
            PAGES_PER_STEP
        };
        let step = backup.step(pages)?;
        let p = backup.progress();
        progress(p.pagecount - p.remaining, p.pagecount);
        match step {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Busy/Locked and future variants: the source is being written; wait a little.
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
        if p.remaining > last_remaining {
            restarts += 1; // the live database changed under the copy: it started over
        }
        last_remaining = p.remaining;
    }
}

fn census(conn: &Connection) -> StoreResult<(i64, Vec<(String, i64)>)> {
    let version = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let mut tables = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        // A store of an older schema lacks the newer tables: count what it has.
        let exists: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |r| r.get(0),
        )?;
        if exists == 0 {
            continue;
        }
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
        tables.push(((*t).to_owned(), n));
    }
    Ok((version, tables))
}

fn check_integrity(conn: &Connection, path: &Path) -> StoreResult<()> {
    let verdict: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(err(path, format!("integrity check failed: {verdict}")))
    }
}

/// Backs up the store in `data_dir` into the new directory `to`.
pub fn backup(
    data_dir: &Path,
    to: &Path,
    progress: &mut dyn FnMut(i32, i32),
) -> StoreResult<Manifest> {
    let source = data_dir.join(DB_FILE);
    if !source.exists() {
        return Err(err(&source, "no store here"));
    }
    let target = to.join(DB_FILE);
    if target.exists() {
        return Err(err(
            &target,
            "a backup is already there; choose a new directory",
        ));
    }
    std::fs::create_dir_all(to).map_err(|e| err(to, e))?;
    let from = open_conn(&source)?;
    let mut copy = Connection::open(&target).map_err(|e| err(&target, e))?;
    copy_pages(&from, &mut copy, progress)?;
    check_integrity(&copy, &target)?;
    let (schema_version, tables) = census(&copy)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        schema_version,
        created_at: crate::timefmt::format_ms(crate::timefmt::now_ms()),
        tables,
        layout: None,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| err(to, e))?;
    std::fs::write(to.join(MANIFEST), text).map_err(|e| err(to, e))?;
    Ok(manifest)
}

/// Restores the backup in `from` into `data_dir`, which must not hold a store yet.
pub fn restore(
    from: &Path,
    data_dir: &Path,
    progress: &mut dyn FnMut(i32, i32),
) -> StoreResult<Manifest> {
    let manifest_path = from.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| err(&manifest_path, e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| err(&manifest_path, e))?;
    if manifest.format != FORMAT {
        return Err(err(
            &manifest_path,
            format!("format {:?}, expected {FORMAT:?}", manifest.format),
        ));
    }
    let target: PathBuf = data_dir.join(DB_FILE);
    if target.exists() {
        return Err(err(
            &target,
            "a store is already there; restore into an empty data directory",
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| err(data_dir, e))?;
    let source = from.join(DB_FILE);
    let backup = Connection::open_with_flags(&source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err(&source, e))?;
    let mut restored = open_conn(&target)?;
    copy_pages(&backup, &mut restored, progress)?;
    check_integrity(&restored, &target)?;
    let (schema_version, tables) = census(&restored)?;
    if schema_version != manifest.schema_version || tables != manifest.tables {
        return Err(err(
            &target,
            format!(
                "restored {tables:?} (schema {schema_version}), manifest says {:?}",
                manifest.tables
            ),
        ));
    }
    Ok(manifest)
}
