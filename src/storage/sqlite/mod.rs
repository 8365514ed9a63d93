//! The embedded SQLite backend (`iochub demo`, small sites).
//!
//! WAL mode with `synchronous=FULL`: a committed batch survives a power cut, which is what lets the
//! batcher ack after commit. One writer connection (SQLite has one writer anyway) guarded by a
//! mutex that is taken once per batch, never per reading; a small pool of reader connections for
//! the API. All work runs on blocking threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use parking_lot::Mutex as FairMutex;

use async_trait::async_trait;
use rusqlite::{Connection, params};

mod accounts;
mod alerts;
mod audit;
pub mod backup;
mod buckets;
mod cameras;
mod maintenance;
mod read;
mod supply;
mod systems;
mod wall;
mod write;

use read::*;
use write::{Writer, with_writer, write_items};

use super::*;
use crate::accounts::model::{Agency, ApiToken, Session, User};
use crate::alerts::model::{
    ActionRecord, Alert, AlertEvent, AlertQuery, AlertWrite, Attachment, Attempt, Delivery,
};
use crate::audit::model::{AuditEvent, AuditQuery, AuditRecord};
use crate::camera::model::Camera;
use crate::camera::wall::WallLayout;
use crate::pipeline::supply::SupplyGap;
use crate::pipeline::{DeadLetter, WriteItem};
use crate::reports::model::IssuedReport;
use crate::storage::codec;

/// Schema steps, applied in order; the number of entries is the schema version this binary knows.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/001_init.sql"),
    include_str!("../../../migrations/sqlite/002_rollups.sql"),
    include_str!("../../../migrations/sqlite/003_accounts.sql"),
    include_str!("../../../migrations/sqlite/004_audit.sql"),
    include_str!("../../../migrations/sqlite/005_session_idle.sql"),
    include_str!("../../../migrations/sqlite/006_api_tokens.sql"),
    include_str!("../../../migrations/sqlite/007_device_credentials.sql"),
    include_str!("../../../migrations/sqlite/008_second_factor.sql"),
    include_str!("../../../migrations/sqlite/009_alert_handling.sql"),
    include_str!("../../../migrations/sqlite/010_deliveries.sql"),
    include_str!("../../../migrations/sqlite/011_systems.sql"),
    include_str!("../../../migrations/sqlite/012_supply.sql"),
    include_str!("../../../migrations/sqlite/013_issued_reports.sql"),
    include_str!("../../../migrations/sqlite/014_flapping.sql"),
    include_str!("../../../migrations/sqlite/015_cameras.sql"),
    include_str!("../../../migrations/sqlite/016_wall_layouts.sql"),
];
const READER_POOL: usize = 4;
/// The schema step that began the data-supply tally (`012_supply.sql`).
const SUPPLY_SCHEMA: i64 = 12;

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// parking_lot's, for its fair unlock: see [`write::with_writer`].
    writer: FairMutex<Writer>,
    readers: Mutex<Vec<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Page cache of the writer: readings land on the pages of their series all over the B-tree, so a
/// larger cache keeps commit cost from growing with the database. Readers keep SQLite's default.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

pub(super) fn open_conn(path: &Path) -> StoreResult<Connection> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 10000;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(open_err)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `DIR/iochub.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let path = dir.join("iochub.db");
        let mut conn = open_conn(&path)?;
        conn.execute_batch(&format!("PRAGMA cache_size = -{WRITER_CACHE_KIB};"))?;
        migrate(&mut conn)?;
        let claimed = buckets::watermarks(&conn)?.claimed.unwrap_or(i64::MIN);
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: FairMutex::new(Writer {
                    conn,
                    series: HashMap::new(),
                    claimed,
                }),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut p| p.pop());
            let conn = match pooled {
                Some(c) => c,
                None => open_conn(&inner.path)?,
            };
            let out = f(&conn);
            if let Ok(mut p) = inner.readers.lock()
                && p.len() < READER_POOL
            {
                p.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn write_tx<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || with_writer(&inner, f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Applies the schema steps this database has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let current: i64 = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![i as i64 + 1, crate::timefmt::now_ms()],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn write(&self, items: Arc<Vec<WriteItem>>, now_ms: i64) -> StoreResult<WriteOutcome> {
        self.write_tx(move |w| write_items(w, &items, now_ms)).await
    }

    async fn devices(&self) -> StoreResult<Vec<Device>> {
        self.read(|conn| {
            let sql = format!("SELECT {DEVICE_COLS} FROM devices ORDER BY key");
            let mut devices: Vec<Device> = conn
                .prepare(&sql)?
                .query_map([], device_row)?
                .collect::<Result<_, _>>()?;
            let mut latest = latest_of(conn, None)?.into_iter().peekable();
            for d in &mut devices {
                while let Some((dev, _)) = latest.peek() {
                    match dev.as_str().cmp(d.key.as_str()) {
                        std::cmp::Ordering::Less => {
                            latest.next();
                        }
                        std::cmp::Ordering::Equal => {
                            if let Some((_, l)) = latest.next() {
                                d.latest.push(l);
                            }
                        }
                        std::cmp::Ordering::Greater => break,
                    }
                }
            }
            Ok(devices)
        })
        .await
    }

    async fn device(&self, key: &str) -> StoreResult<Option<Device>> {
        let key = key.to_owned();
        self.read(move |conn| device_by_key(conn, &key)).await
    }

    async fn update_device(&self, key: &str, patch: DevicePatch) -> StoreResult<Option<Device>> {
        let key = key.to_owned();
        self.write_tx(move |w| {
            let tx = w.conn.transaction()?;
            let n = tx.execute(
                "UPDATE devices SET name = coalesce(?2, name), lat = coalesce(?3, lat),
                     lon = coalesce(?4, lon), registered = coalesce(?5, registered),
                     gateway = CASE WHEN ?6 IS NULL THEN gateway ELSE nullif(?6, '') END,
                     system = CASE WHEN ?7 IS NULL THEN system ELSE nullif(?7, '') END,
                     tags = coalesce(?8, tags), areas = coalesce(?10, areas),
                     expected_interval_s = CASE WHEN ?9 IS NULL THEN expected_interval_s
                                                ELSE nullif(?9, 0.0) END
                 WHERE key = ?1",
                params![
                    key,
                    patch.name,
                    patch.lat,
                    patch.lon,
                    patch.registered,
                    patch.gateway,
                    patch.system,
                    patch.tags.as_ref().map(codec::to_json),
                    patch.expected_interval_s,
                    patch.areas.as_ref().map(codec::to_json)
                ],
            )?;
            let d = if n == 0 {
                None
            } else {
                device_by_key(&tx, &key)?
            };
            tx.commit()?;
            Ok(d)
        })
        .await
    }

    async fn add_device(&self, key: &str, now_ms: i64) -> StoreResult<bool> {
        let key = key.to_owned();
        self.write_tx(move |w| {
            let n = w.conn.execute(
                "INSERT INTO devices (key, registered, first_seen, last_seen)
                 VALUES (?1, 1, ?2, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, now_ms],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn set_device_credential(&self, c: DeviceCredential) -> StoreResult<()> {
        self.write_tx(move |w| {
            w.conn.execute(
                "INSERT INTO device_credentials (device, hash, issued_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device) DO UPDATE SET hash = ?2, issued_at = ?3",
                params![c.device, c.hash, c.issued_at_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn device_credentials(&self) -> StoreResult<Vec<DeviceCredential>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT device, hash, issued_at FROM device_credentials ORDER BY device",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DeviceCredential {
                    device: r.get(0)?,
                    hash: r.get(1)?,
                    issued_at_ms: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delete_device_credential(&self, device: &str) -> StoreResult<bool> {
        let device = device.to_owned();
        self.write_tx(move |w| {
            let n = w
                .conn
                .execute("DELETE FROM device_credentials WHERE device = ?1", [device])?;
            Ok(n > 0)
        })
        .await
    }

    async fn readings(&self, q: ReadingsQuery) -> StoreResult<Vec<Point>> {
        self.read(move |conn| buckets::readings(conn, &q)).await
    }

    async fn maintain(
        &self,
        now_ms: i64,
        policy: &RetentionPolicy,
    ) -> StoreResult<MaintenanceReport> {
        let (inner, policy) = (self.inner.clone(), *policy);
        tokio::task::spawn_blocking(move || maintenance::maintain(&inner, now_ms, policy))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn save_alerts(&self, writes: Arc<Vec<AlertWrite>>) -> StoreResult<Vec<i64>> {
        self.write_tx(move |w| {
            let tx = w.conn.transaction()?;
            let ids = writes
                .iter()
                .map(|write| alerts::save(&tx, write))
                .collect::<StoreResult<Vec<_>>>()?;
            tx.commit()?;
            Ok(ids)
        })
        .await
    }

    async fn save_action(
        &self,
        write: AlertWrite,
        request: Option<ActionRecord>,
    ) -> StoreResult<i64> {
        self.write_tx(move |w| {
            let tx = w.conn.transaction()?;
            let id = alerts::save(&tx, &write)?;
            if let Some(r) = &request {
                alerts::save_request(
                    &tx,
                    &ActionRecord {
                        alert: id,
                        ..r.clone()
                    },
                )?;
            }
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn action_request(&self, actor: &str, key: &str) -> StoreResult<Option<ActionRecord>> {
        let (actor, key) = (actor.to_owned(), key.to_owned());
        self.read(move |conn| alerts::request(conn, &actor, &key))
            .await
    }

    async fn alerts(&self, q: AlertQuery) -> StoreResult<Vec<Alert>> {
        self.read(move |conn| alerts::alerts(conn, &q)).await
    }

    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>> {
        self.read(move |conn| alerts::alert(conn, id)).await
    }

    async fn alert_timeline(&self, id: i64) -> StoreResult<Vec<AlertEvent>> {
        self.read(move |conn| alerts::timeline(conn, id)).await
    }

    async fn alerts_for_report(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<(Vec<Alert>, Vec<AlertEvent>)> {
        self.read(move |conn| alerts::for_report(conn, from_ms, to_ms))
            .await
    }

    async fn attachment(&self, alert: i64, sha256: &str) -> StoreResult<Option<Attachment>> {
        let sha256 = sha256.to_owned();
        self.read(move |conn| alerts::attachment(conn, alert, &sha256))
            .await
    }

    async fn due_deliveries(&self, now_ms: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.read(move |conn| alerts::due_deliveries(conn, now_ms, limit))
            .await
    }

    async fn deliveries(&self, alert: Option<i64>, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.read(move |conn| alerts::deliveries(conn, alert, limit))
            .await
    }

    async fn record_attempt(&self, attempt: Attempt) -> StoreResult<bool> {
        self.write_tx(move |w| {
            let tx = w.conn.transaction()?;
            let recorded = alerts::record_attempt(&tx, &attempt)?;
            tx.commit()?;
            Ok(recorded)
        })
        .await
    }

    async fn supply(&self, first_day: &str, last_day: &str) -> StoreResult<Vec<DeviceSupply>> {
        let (first, last) = (first_day.to_owned(), last_day.to_owned());
        self.read(move |conn| supply::supply(conn, &first, &last))
            .await
    }

    async fn supply_gaps(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<SupplyGap>> {
        self.read(move |conn| supply::gaps(conn, from_ms, to_ms))
            .await
    }

    async fn rejections(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Rejections>> {
        self.read(move |conn| supply::rejections(conn, from_ms, to_ms))
            .await
    }

    async fn reports_since(&self) -> StoreResult<i64> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT coalesce(max(applied_at), 0) FROM schema_migrations WHERE version = ?1",
                [SUPPLY_SCHEMA],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn insert_issued_report(
        &self,
        report: IssuedReport,
        first_only: bool,
    ) -> StoreResult<Option<IssuedReport>> {
        self.write_tx(move |w| {
            let tx = w.conn.transaction()?;
            let stored = supply::insert_issued(&tx, &report, first_only)?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn issued_reports(&self) -> StoreResult<Vec<IssuedReport>> {
        self.read(supply::issued).await
    }

    async fn issued_report(&self, id: i64) -> StoreResult<Option<IssuedReport>> {
        self.read(move |conn| supply::issued_one(conn, id)).await
    }

    async fn dead_letters(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> StoreResult<Vec<DeadLetter>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, received_at, topic, reason, detail, payload FROM dead_letters
                     WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2",
                )?
                .query_map(params![before_id, limit], |r| {
                    Ok(DeadLetter {
                        id: r.get(0)?,
                        received_at: r.get(1)?,
                        topic: r.get(2)?,
                        reason: r.get(3)?,
                        detail: r.get(4)?,
                        payload: r.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.read(accounts::users).await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.read(move |conn| accounts::user(conn, &username)).await
    }

    async fn user_count(&self) -> StoreResult<u64> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    async fn insert_user(&self, user: User) -> StoreResult<bool> {
        self.write_tx(move |w| accounts::insert_user(&w.conn, &user))
            .await
    }

    async fn save_user(&self, user: User, end_sessions: bool) -> StoreResult<bool> {
        self.write_tx(move |w| accounts::save_user(&mut w.conn, &user, end_sessions))
            .await
    }

    async fn login_failed(
        &self,
        username: &str,
        now_ms: i64,
        max_failures: u32,
        lockout_ms: i64,
    ) -> StoreResult<()> {
        let username = username.to_owned();
        self.write_tx(move |w| {
            accounts::login_failed(&w.conn, &username, now_ms, max_failures, lockout_ms)
        })
        .await
    }

    async fn swap_second_factor(
        &self,
        username: &str,
        expected: &SecondFactor,
        new: &SecondFactor,
    ) -> StoreResult<bool> {
        let (username, expected, new) = (username.to_owned(), expected.clone(), new.clone());
        self.write_tx(move |w| accounts::swap_second_factor(&w.conn, &username, &expected, &new))
            .await
    }

    async fn systems(&self) -> StoreResult<Vec<System>> {
        self.read(systems::all).await
    }

    async fn insert_system(&self, system: System) -> StoreResult<bool> {
        self.write_tx(move |w| systems::insert(&w.conn, &system))
            .await
    }

    async fn save_system(&self, system: System) -> StoreResult<bool> {
        self.write_tx(move |w| systems::save(&w.conn, &system))
            .await
    }

    async fn cameras(&self) -> StoreResult<Vec<Camera>> {
        self.read(cameras::all).await
    }

    async fn insert_camera(&self, camera: Camera) -> StoreResult<bool> {
        self.write_tx(move |w| cameras::insert(&w.conn, &camera))
            .await
    }

    async fn save_camera(&self, camera: Camera) -> StoreResult<bool> {
        self.write_tx(move |w| cameras::save(&w.conn, &camera))
            .await
    }

    async fn delete_camera(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write_tx(move |w| cameras::delete(&w.conn, &id)).await
    }

    async fn wall_layouts(&self) -> StoreResult<Vec<WallLayout>> {
        self.read(wall::all).await
    }

    async fn save_wall_layout(&self, layout: WallLayout) -> StoreResult<bool> {
        self.write_tx(move |w| wall::save(&w.conn, &layout)).await
    }

    async fn delete_wall_layout(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write_tx(move |w| wall::delete(&w.conn, &name)).await
    }

    async fn agencies(&self) -> StoreResult<Vec<Agency>> {
        self.read(accounts::agencies).await
    }

    async fn agency(&self, id: &str) -> StoreResult<Option<Agency>> {
        let id = id.to_owned();
        self.read(move |conn| accounts::agency(conn, &id)).await
    }

    async fn insert_agency(&self, agency: Agency) -> StoreResult<bool> {
        self.write_tx(move |w| accounts::insert_agency(&w.conn, &agency))
            .await
    }

    async fn save_agency(&self, agency: Agency) -> StoreResult<bool> {
        self.write_tx(move |w| accounts::save_agency(&w.conn, &agency))
            .await
    }

    async fn create_session(&self, s: Session, now_ms: i64) -> StoreResult<()> {
        self.write_tx(move |w| accounts::create_session(&w.conn, &s, now_ms))
            .await
    }

    async fn touch_session(&self, token_hash: &str, seen_ms: i64) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write_tx(move |w| accounts::touch_session(&w.conn, &token_hash, seen_ms))
            .await
    }

    async fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Session>> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| accounts::session(conn, &token_hash, now_ms))
            .await
    }

    async fn delete_other_sessions(&self, username: &str, keep: &str) -> StoreResult<()> {
        let (username, keep) = (username.to_owned(), keep.to_owned());
        self.write_tx(move |w| {
            w.conn.execute(
                "DELETE FROM sessions WHERE username = ?1 AND token_hash <> ?2",
                [username, keep],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write_tx(move |w| {
            w.conn
                .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await
    }

    async fn insert_api_token(&self, token: ApiToken) -> StoreResult<()> {
        self.write_tx(move |w| accounts::insert_api_token(&w.conn, &token))
            .await
    }

    async fn api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(accounts::api_tokens).await
    }

    async fn live_api_token(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<ApiToken>> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| accounts::live_api_token(conn, &token_hash, now_ms))
            .await
    }

    async fn revoke_api_token(&self, id: &str, now_ms: i64) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write_tx(move |w| accounts::revoke_api_token(&w.conn, &id, now_ms))
            .await
    }

    async fn touch_api_token(&self, id: &str, used_ms: i64) -> StoreResult<()> {
        let id = id.to_owned();
        self.write_tx(move |w| accounts::touch_api_token(&w.conn, &id, used_ms))
            .await
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<AuditRecord>> {
        self.write_tx(move |w| audit::append(&mut w.conn, events))
            .await
    }

    async fn audit(&self, q: AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        self.read(move |conn| audit::query(conn, &q)).await
    }

    async fn audit_chain(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        self.read(move |conn| audit::chain(conn, after_seq, limit))
            .await
    }

    async fn audit_anchor(&self) -> StoreResult<Option<(i64, String)>> {
        self.read(audit::anchor).await
    }

    async fn expire_audit(&self, before_ms: i64) -> StoreResult<u64> {
        self.write_tx(move |w| audit::expire(&mut w.conn, before_ms))
            .await
    }
}
