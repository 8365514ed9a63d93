//! Backup and restore of the PostgreSQL store with `pg_dump` / `pg_restore` (directory format).
//!
//! A backup is a directory: `pg/` (pg_dump's directory format) and `manifest.json` (format,
//! schema version, time, rows per table). The counts and the dump see the same data: the hub holds
//! one REPEATABLE READ transaction, exports its snapshot, counts the tables in it, and runs
//! `pg_dump --snapshot` on that snapshot while ingest goes on. A restore goes into an empty
//! database and is checked against the manifest. The PostgreSQL client tools come from the
//! `postgresql-client` package (`pg_dump` on PATH, or in `IOCHUB_PG_BIN`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_postgres::{Client, NoTls};

pub use crate::storage::backup::Manifest;
use crate::storage::backup::TABLES;
use crate::storage::{StoreError, StoreResult};

pub const FORMAT: &str = "iochub-pg-backup/1";
fn err(what: impl std::fmt::Display, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: what.to_string(),
        reason: reason.to_string(),
    }
}

fn tool(name: &str) -> PathBuf {
    match std::env::var_os("IOCHUB_PG_BIN") {
        Some(dir) => Path::new(&dir).join(name),
        None => PathBuf::from(name),
    }
}

/// The CA bundle that signs the server's certificate (`sslmode=require`): libpq's own
/// `PGSSLROOTCERT` (which pg_dump and pg_restore read too), else `IOCHUB_DATABASE_CA_FILE`.
fn ca_file() -> Option<PathBuf> {
    std::env::var_os("PGSSLROOTCERT")
        .or_else(|| std::env::var_os("IOCHUB_DATABASE_CA_FILE"))
        .map(PathBuf::from)
}

async fn connect(url: &str) -> StoreResult<Client> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| err("database_url", format!("not a valid PostgreSQL URL: {e}")))?;
    let refused = |e: tokio_postgres::Error| err("database_url", format!("cannot connect: {e}"));
    let client = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        let tls = super::postgres::rustls_connector(ca_file().as_deref())
            .map_err(|e| err("database_url", format!("TLS: {e}")))?;
        let (client, connection) = config.connect(tls).await.map_err(refused)?;
        tokio::spawn(watch(connection));
        client
    } else {
        let (client, connection) = config.connect(NoTls).await.map_err(refused)?;
        tokio::spawn(watch(connection));
        client
    };
    Ok(client)
}

async fn watch(connection: impl std::future::Future<Output = Result<(), tokio_postgres::Error>>) {
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "backup connection closed");
    }
}

async fn census(client: &Client) -> StoreResult<(i64, Vec<(String, i64)>)> {
    let db = |e: tokio_postgres::Error| StoreError::Database(e.to_string());
    let version: i64 = client
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .await
        .map_err(db)?
        .get(0);
    let mut tables = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        // A database of an older schema lacks the newer tables: count what it has.
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[t])
            .await
            .map_err(db)?
            .get(0);
        if !exists {
            continue;
        }
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .await
            .map_err(db)?
            .get(0);
        tables.push(((*t).to_owned(), n));
    }
    Ok((version, tables))
}

/// Runs a PostgreSQL client tool, passing its verbose lines through as progress.
async fn run_tool(
    name: &str,
    args: &[&std::ffi::OsStr],
    progress: &mut dyn FnMut(&str),
) -> StoreResult<()> {
    let mut cmd = tokio::process::Command::new(tool(name));
    if let Some(ca) = ca_file() {
        // With a root certificate, libpq's sslmode=require also verifies the server.
        cmd.env("PGSSLROOTCERT", ca);
    }
    let mut child = cmd
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            err(
                name,
                format!("cannot run (install postgresql-client, or set IOCHUB_PG_BIN): {e}"),
            )
        })?;
    let mut last = String::new();
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            progress(&line);
            last = line;
        }
    }
    let status = child.wait().await.map_err(|e| err(name, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(err(name, format!("failed ({status}): {last}")))
    }
}

/// Backs up the database at `url` into the new directory `to`.
pub async fn backup(url: &str, to: &Path, progress: &mut dyn FnMut(&str)) -> StoreResult<Manifest> {
    if to.join("manifest.json").exists() || to.join("pg").exists() {
        return Err(err(
            to.display(),
            "a backup is already there; choose a new directory",
        ));
    }
    std::fs::create_dir_all(to).map_err(|e| err(to.display(), e))?;
    let client = connect(url).await?;
    let db = |e: tokio_postgres::Error| StoreError::Database(e.to_string());
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(db)?;
    let snapshot: String = client
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .map_err(db)?
        .get(0);
    let (schema_version, tables) = census(&client).await?;
    let layout = client
        .query_opt(
            "SELECT kind FROM storage_layout WHERE to_regclass('storage_layout') IS NOT NULL",
            &[],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get::<_, String>(0));
    let dir = to.join("pg");
    let snap = format!("--snapshot={snapshot}");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--format=directory".as_ref(),
        "--verbose".as_ref(),
        "--no-owner".as_ref(),
        snap.as_ref(),
        "--file".as_ref(),
        dir.as_os_str(),
        "--dbname".as_ref(),
        url.as_ref(),
    ];
    let dumped = run_tool("pg_dump", &args, progress).await;
    client.batch_execute("COMMIT").await.map_err(db)?;
    dumped?;
    let manifest = Manifest {
        format: FORMAT.into(),
        schema_version,
        created_at: crate::timefmt::format_ms(crate::timefmt::now_ms()),
        tables,
        layout,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| err(to.display(), e))?;
    std::fs::write(to.join("manifest.json"), text).map_err(|e| err(to.display(), e))?;
    Ok(manifest)
}

/// Restores the backup in `from` into the empty database at `url`, and checks it.
pub async fn restore(
    from: &Path,
    url: &str,
    progress: &mut dyn FnMut(&str),
) -> StoreResult<Manifest> {
    let path = from.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| err(path.display(), e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| err(path.display(), e))?;
    if manifest.format != FORMAT {
        return Err(err(
            path.display(),
            format!("format {:?}, expected {FORMAT:?}", manifest.format),
        ));
    }
    let client = connect(url).await?;
    let existing: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(|e| StoreError::Database(e.to_string()))?
        .get(0);
    if existing {
        return Err(err(
            "database_url",
            "the database already holds an iochub store; restore into an empty database",
        ));
    }
    let dir = from.join("pg");
    let timescale = manifest.layout.as_deref() == Some("timescaledb");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--verbose".as_ref(),
        "--no-owner".as_ref(),
        "--exit-on-error".as_ref(),
        "--dbname".as_ref(),
        url.as_ref(),
        dir.as_os_str(),
    ];
    let db = |e: tokio_postgres::Error| StoreError::Database(e.to_string());
    if timescale {
        // TimescaleDB's documented restore: its catalog is restored with its triggers off.
        client
            .batch_execute(
                "CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore()",
            )
            .await
            .map_err(db)?;
    } else {
        args.insert(3, "--single-transaction".as_ref());
    }
    let restored = run_tool("pg_restore", &args, progress).await;
    if timescale {
        client
            .batch_execute("SELECT timescaledb_post_restore()")
            .await
            .map_err(db)?;
    }
    restored?;
    let (schema_version, tables) = census(&client).await?;
    if schema_version != manifest.schema_version || tables != manifest.tables {
        return Err(err(
            "database_url",
            format!(
                "restored {tables:?} (schema {schema_version}), manifest says {:?}",
                manifest.tables
            ),
        ));
    }
    Ok(manifest)
}
