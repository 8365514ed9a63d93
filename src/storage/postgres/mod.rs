//! The PostgreSQL backend (`iochub serve` with `database_url`): native PostgreSQL 14+ with
//! `readings` partitioned by day (declarative range partitioning), written with binary COPY —
//! or, where the server has TimescaleDB, a hypertable with continuous aggregates (`timescale.rs`).
//!
//! Owns the connection pool (deadpool, a few connections: one batcher writes, the alert manager
//! and the API read), the schema (`schema.rs`, from `migrations/pg/`), the daily partitions
//! (`partition.rs`), the series-id cache (`series.rs`), the write path (`write.rs`, batches encoded
//! for COPY by `copy.rs`) and the
//! reads (`read.rs`, bucketed from the rollups by `buckets.rs`). Durability is the server's: a write returns after its transaction
//! committed, so the batcher may ack after it. Nothing here blocks the async runtime.
//!
//! TLS: `sslmode=require` in the URL connects over TLS (rustls with ring, through
//! tokio-postgres-rustls) and verifies the server's certificate against `database_ca_file` or the
//! system's roots; without it connections are plain, fine on loopback or a private link.

mod accounts;
mod alerts;
mod audit;
pub mod backup;
mod buckets;
mod cameras;
pub mod copy;
mod error;
mod maintenance;
mod partition;
mod read;
mod schema;
mod series;
mod supply;
mod systems;
mod timescale;
mod wall;
mod write;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host, SslMode};

use self::error::{PgError, PgResult, describe, describe_pool, to_ms, to_time};
use self::partition::{Partitions, day_of};
use self::series::SeriesIds;
pub use self::timescale::Layout;
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

/// Connections in the pool: the batcher and the alert manager hold one each while they commit,
/// and the API reads with the rest.
const POOL_SIZE: usize = 8;
/// How long a new connection may take to be made (TCP, startup, staging table), unless the URL
/// says otherwise with `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a free connection before the call fails (and is retried by the
/// batcher, or answered with an error by the API).
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct PostgresStore {
    pool: Pool,
    /// `postgres://user@host:port/db`, without the password, for messages.
    target: String,
    ids: SeriesIds,
    partitions: Partitions,
    layout: Layout,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`), brings the schema
    /// up to date, and returns the store. Fails with [`StoreError::Open`] when the URL is not
    /// valid or the server cannot be reached, and [`StoreError::SchemaTooNew`] when the database
    /// was migrated by a newer iochub.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, None).await
    }

    /// Like [`PostgresStore::connect`]; with `sslmode=require` in the URL the server's
    /// certificate is checked against the PEM bundle `ca_file` (the system's roots without it).
    pub async fn connect_with(url: &str, ca_file: Option<&std::path::Path>) -> StoreResult<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Open {
            path: "database_url".into(),
            reason: format!(
                "not a valid PostgreSQL URL ({}); expected \
                 postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
                describe(&e)
            ),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("iochub");
        }
        let target = target_of(&config);
        let open_err = |reason: String| StoreError::Open {
            path: target.clone(),
            reason,
        };
        let manager_config = ManagerConfig {
            // Only checks that the socket is open: a clean-up query (`DISCARD ALL`) would
            // drop the staging table each connection keeps.
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if config.get_ssl_mode() == SslMode::Require {
            let tls = rustls_connector(ca_file).map_err(|e| open_err(format!("TLS: {e}")))?;
            Manager::from_config(config, tls, manager_config)
        } else {
            Manager::from_config(config, NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .post_create(Hook::async_fn(|client, _| {
                Box::pin(async move {
                    client
                        .batch_execute(write::STAGING_DDL)
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| open_err(format!("cannot build the connection pool: {e}")))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| open_err(format!("cannot connect: {}", describe_pool(&e))))?;
        let version = schema::migrate(&mut client).await.map_err(|e| match e {
            PgError::SchemaTooNew { .. } => e.into(),
            other => open_err(format!("cannot bring the schema up to date: {other}")),
        })?;
        let layout = timescale::layout(&mut client)
            .await
            .map_err(|e| open_err(format!("cannot set up the TimescaleDB layout: {e}")))?;
        tracing::info!(target = %target, schema = version, layout = layout.name(), "PostgreSQL store ready");
        drop(client);
        Ok(Self {
            pool,
            target,
            ids: SeriesIds::default(),
            partitions: Partitions::default(),
            layout,
        })
    }

    /// Native daily partitions, or TimescaleDB hypertable and continuous aggregates.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Where this store is, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn client(&self) -> PgResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    async fn write_batch(&self, items: &[WriteItem], now_ms: i64) -> PgResult<WriteOutcome> {
        let mut client = self.client().await?;
        if self.layout == Layout::Timescale {
            // Hypertables make their chunks themselves.
            return write::write_items(&mut client, &self.ids, items, now_ms).await;
        }
        let days = self.partitions.missing(items.iter().flat_map(|i| match i {
            WriteItem::Readings(r) => r.iter().map(|r| day_of(r.ts_ms)).collect(),
            _ => Vec::new(),
        }));
        self.partitions.ensure(&mut client, days).await?;
        write::write_items(&mut client, &self.ids, items, now_ms).await
    }
}

/// TLS for `sslmode=require`: rustls (ring), the server verified against `ca_file` or the
/// system's roots — the same trust setup as the MQTT connection.
pub(crate) fn rustls_connector(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, crate::tls::TlsError> {
    let config = crate::tls::client_config(ca_file)?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(
        (*config).clone(),
    ))
}

/// `postgres://user@host:port/dbname` of a config: the URL without its password.
fn target_of(c: &tokio_postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = c.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}:{port}/{db}")
}

#[async_trait]
impl Store for PostgresStore {
    /// Shards own disjoint devices, so their batches touch disjoint `devices`, `series` and
    /// `rollup_dirty` rows: concurrent commits neither block nor deadlock each other.
    fn parallel_writes(&self) -> bool {
        true
    }

    async fn write(&self, items: Arc<Vec<WriteItem>>, now_ms: i64) -> StoreResult<WriteOutcome> {
        match self.write_batch(&items, now_ms).await {
            Ok(out) => Ok(out),
            Err(e) => {
                // What the failed transaction did is gone; so must be what we learnt from it.
                self.ids.forget();
                self.partitions.forget();
                Err(e.into())
            }
        }
    }

    async fn devices(&self) -> StoreResult<Vec<Device>> {
        Ok(read::all_devices(&self.client().await?).await?)
    }

    async fn device(&self, key: &str) -> StoreResult<Option<Device>> {
        Ok(read::device_by_key(&self.client().await?, key).await?)
    }

    async fn update_device(&self, key: &str, patch: DevicePatch) -> StoreResult<Option<Device>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE devices SET name = coalesce($2, name), lat = coalesce($3, lat),
                     lon = coalesce($4, lon), registered = coalesce($5, registered),
                     gateway = CASE WHEN $6::text IS NULL THEN gateway ELSE nullif($6, '') END,
                     system = CASE WHEN $7::text IS NULL THEN system ELSE nullif($7, '') END,
                     tags = coalesce($8, tags), areas = coalesce($10, areas),
                     expected_interval_s = CASE WHEN $9::float8 IS NULL THEN expected_interval_s
                                                ELSE nullif($9, 0.0) END
                 WHERE key = $1",
                &[
                    &key,
                    &patch.name,
                    &patch.lat,
                    &patch.lon,
                    &patch.registered,
                    &patch.gateway,
                    &patch.system,
                    &patch.tags,
                    &patch.expected_interval_s,
                    &patch.areas,
                ],
            )
            .await?;
        let device = if n == 0 {
            None
        } else {
            read::device_by_key(&tx, key).await?
        };
        tx.commit().await?;
        Ok(device)
    }

    async fn add_device(&self, key: &str, now_ms: i64) -> StoreResult<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO devices (key, registered, first_seen, last_seen)
                 VALUES ($1, true, $2, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &to_time(now_ms)],
            )
            .await?;
        Ok(n == 1)
    }

    async fn set_device_credential(&self, c: DeviceCredential) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO device_credentials (device, hash, issued_at) VALUES ($1, $2, $3)
                 ON CONFLICT (device) DO UPDATE SET hash = $2, issued_at = $3",
                &[&c.device, &c.hash, &to_time(c.issued_at_ms)],
            )
            .await?;
        Ok(())
    }

    async fn device_credentials(&self) -> StoreResult<Vec<DeviceCredential>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT device, hash, issued_at FROM device_credentials ORDER BY device",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceCredential {
                    device: r.try_get(0)?,
                    hash: r.try_get(1)?,
                    issued_at_ms: to_ms(r.try_get(2)?),
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(Into::into)
    }

    async fn delete_device_credential(&self, device: &str) -> StoreResult<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM device_credentials WHERE device = $1",
                &[&device],
            )
            .await?;
        Ok(n > 0)
    }

    async fn readings(&self, q: ReadingsQuery) -> StoreResult<Vec<Point>> {
        let client = self.client().await?;
        if let Some(points) = buckets::readings(&client, &q).await? {
            return Ok(points);
        }
        Ok(read::readings(&client, &q).await?)
    }

    async fn maintain(
        &self,
        now_ms: i64,
        policy: &RetentionPolicy,
    ) -> StoreResult<MaintenanceReport> {
        let mut client = self.client().await?;
        Ok(
            maintenance::maintain(&mut client, self.layout, &self.partitions, now_ms, *policy)
                .await?,
        )
    }

    async fn save_alerts(&self, writes: Arc<Vec<AlertWrite>>) -> StoreResult<Vec<i64>> {
        let mut client = self.client().await?;
        if let [write] = writes.as_slice()
            && write.deliveries.is_empty()
        {
            // The usual case: one statement, committed on its own, one round trip.
            return Ok(vec![alerts::save(&client, write).await?]);
        }
        // Several (a burst): one transaction, applied one after the other. Not pipelined: a
        // statement not yet prepared on this connection takes extra round trips, so a later
        // write could overtake an earlier one.
        let tx = client.transaction().await?;
        let mut ids = Vec::with_capacity(writes.len());
        for write in writes.iter() {
            ids.push(alerts::save(&tx, write).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn save_action(
        &self,
        write: AlertWrite,
        request: Option<ActionRecord>,
    ) -> StoreResult<i64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id = alerts::save(&tx, &write).await?;
        if let Some(r) = request {
            alerts::save_request(&tx, &ActionRecord { alert: id, ..r }).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn action_request(&self, actor: &str, key: &str) -> StoreResult<Option<ActionRecord>> {
        Ok(alerts::request(&self.client().await?, actor, key).await?)
    }

    async fn alerts(&self, q: AlertQuery) -> StoreResult<Vec<Alert>> {
        Ok(alerts::alerts(&self.client().await?, &q).await?)
    }

    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>> {
        Ok(alerts::alert(&self.client().await?, id).await?)
    }

    async fn alert_timeline(&self, id: i64) -> StoreResult<Vec<AlertEvent>> {
        Ok(alerts::timeline(&self.client().await?, id).await?)
    }

    async fn alerts_for_report(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<(Vec<Alert>, Vec<AlertEvent>)> {
        Ok(alerts::for_report(&self.client().await?, from_ms, to_ms).await?)
    }

    async fn attachment(&self, alert: i64, sha256: &str) -> StoreResult<Option<Attachment>> {
        Ok(alerts::attachment(&self.client().await?, alert, sha256).await?)
    }

    async fn due_deliveries(&self, now_ms: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        Ok(alerts::due_deliveries(&self.client().await?, now_ms, limit).await?)
    }

    async fn deliveries(&self, alert: Option<i64>, limit: u32) -> StoreResult<Vec<Delivery>> {
        Ok(alerts::deliveries(&self.client().await?, alert, limit).await?)
    }

    async fn record_attempt(&self, attempt: Attempt) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let recorded = alerts::record_attempt(&tx, &attempt).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn supply(&self, first_day: &str, last_day: &str) -> StoreResult<Vec<DeviceSupply>> {
        Ok(supply::supply(&self.client().await?, first_day, last_day).await?)
    }

    async fn supply_gaps(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<SupplyGap>> {
        Ok(supply::gaps(&self.client().await?, from_ms, to_ms).await?)
    }

    async fn rejections(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Rejections>> {
        Ok(supply::rejections(&self.client().await?, from_ms, to_ms).await?)
    }

    async fn reports_since(&self) -> StoreResult<i64> {
        // The schema step that began the data-supply tally (`014_supply.sql`).
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT max(applied_at) FROM schema_migrations WHERE version = 14",
                &[],
            )
            .await
            .map_err(PgError::from)?;
        let at: Option<std::time::SystemTime> = row.try_get(0).map_err(PgError::from)?;
        Ok(at.map_or(0, to_ms))
    }

    async fn insert_issued_report(
        &self,
        report: IssuedReport,
        first_only: bool,
    ) -> StoreResult<Option<IssuedReport>> {
        Ok(supply::insert_issued(&mut self.client().await?, &report, first_only).await?)
    }

    async fn issued_reports(&self) -> StoreResult<Vec<IssuedReport>> {
        Ok(supply::issued(&self.client().await?).await?)
    }

    async fn issued_report(&self, id: i64) -> StoreResult<Option<IssuedReport>> {
        Ok(supply::issued_one(&self.client().await?, id).await?)
    }

    async fn dead_letters(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> StoreResult<Vec<DeadLetter>> {
        Ok(read::dead_letters(&self.client().await?, limit, before_id).await?)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        accounts::users(&self.client().await?).await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<User>> {
        accounts::user(&self.client().await?, username).await
    }

    async fn user_count(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let row = client.query_one("SELECT count(*) FROM users", &[]).await?;
        let n: i64 = row.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_user(&self, user: User) -> StoreResult<bool> {
        accounts::insert_user(&self.client().await?, &user).await
    }

    async fn save_user(&self, user: User, end_sessions: bool) -> StoreResult<bool> {
        accounts::save_user(&mut self.client().await?, &user, end_sessions).await
    }

    async fn login_failed(
        &self,
        username: &str,
        now_ms: i64,
        max_failures: u32,
        lockout_ms: i64,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        accounts::login_failed(&client, username, now_ms, max_failures, lockout_ms).await
    }

    async fn swap_second_factor(
        &self,
        username: &str,
        expected: &SecondFactor,
        new: &SecondFactor,
    ) -> StoreResult<bool> {
        let client = self.client().await?;
        accounts::swap_second_factor(&client, username, expected, new).await
    }

    async fn systems(&self) -> StoreResult<Vec<System>> {
        systems::all(&self.client().await?).await
    }

    async fn insert_system(&self, system: System) -> StoreResult<bool> {
        systems::insert(&self.client().await?, &system).await
    }

    async fn save_system(&self, system: System) -> StoreResult<bool> {
        systems::save(&self.client().await?, &system).await
    }

    async fn cameras(&self) -> StoreResult<Vec<Camera>> {
        cameras::all(&self.client().await?).await
    }

    async fn insert_camera(&self, camera: Camera) -> StoreResult<bool> {
        cameras::insert(&self.client().await?, &camera).await
    }

    async fn save_camera(&self, camera: Camera) -> StoreResult<bool> {
        cameras::save(&self.client().await?, &camera).await
    }

    async fn delete_camera(&self, id: &str) -> StoreResult<bool> {
        cameras::delete(&self.client().await?, id).await
    }

    async fn wall_layouts(&self) -> StoreResult<Vec<WallLayout>> {
        wall::all(&self.client().await?).await
    }

    async fn save_wall_layout(&self, layout: WallLayout) -> StoreResult<bool> {
        wall::save(&self.client().await?, &layout).await
    }

    async fn delete_wall_layout(&self, name: &str) -> StoreResult<bool> {
        wall::delete(&self.client().await?, name).await
    }

    async fn agencies(&self) -> StoreResult<Vec<Agency>> {
        accounts::agencies(&self.client().await?).await
    }

    async fn agency(&self, id: &str) -> StoreResult<Option<Agency>> {
        accounts::agency(&self.client().await?, id).await
    }

    async fn insert_agency(&self, agency: Agency) -> StoreResult<bool> {
        accounts::insert_agency(&self.client().await?, &agency).await
    }

    async fn save_agency(&self, agency: Agency) -> StoreResult<bool> {
        accounts::save_agency(&self.client().await?, &agency).await
    }

    async fn create_session(&self, s: Session, now_ms: i64) -> StoreResult<()> {
        accounts::create_session(&self.client().await?, &s, now_ms).await
    }

    async fn touch_session(&self, token_hash: &str, seen_ms: i64) -> StoreResult<()> {
        accounts::touch_session(&self.client().await?, token_hash, seen_ms).await
    }

    async fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Session>> {
        accounts::session(&self.client().await?, token_hash, now_ms).await
    }

    async fn delete_other_sessions(&self, username: &str, keep: &str) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM sessions WHERE username = $1 AND token_hash <> $2",
                &[&username, &keep],
            )
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(())
    }

    async fn insert_api_token(&self, token: ApiToken) -> StoreResult<()> {
        accounts::insert_api_token(&self.client().await?, &token).await
    }

    async fn api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        accounts::api_tokens(&self.client().await?).await
    }

    async fn live_api_token(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<ApiToken>> {
        accounts::live_api_token(&self.client().await?, token_hash, now_ms).await
    }

    async fn revoke_api_token(&self, id: &str, now_ms: i64) -> StoreResult<bool> {
        accounts::revoke_api_token(&self.client().await?, id, now_ms).await
    }

    async fn touch_api_token(&self, id: &str, used_ms: i64) -> StoreResult<()> {
        accounts::touch_api_token(&self.client().await?, id, used_ms).await
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<AuditRecord>> {
        audit::append(&mut self.client().await?, events).await
    }

    async fn audit(&self, q: AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        audit::query(&self.client().await?, &q).await
    }

    async fn audit_chain(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        audit::chain(&self.client().await?, after_seq, limit).await
    }

    async fn audit_anchor(&self) -> StoreResult<Option<(i64, String)>> {
        audit::anchor(&self.client().await?).await
    }

    async fn expire_audit(&self, before_ms: i64) -> StoreResult<u64> {
        audit::expire(&mut self.client().await?, before_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_never_shows_the_password() {
        let c: tokio_postgres::Config = "postgres://hub:s3cret@db.local:5433/iochub"
            .parse()
            .expect("url");
        assert_eq!(target_of(&c), "postgres://hub@db.local:5433/iochub");
    }

    #[tokio::test]
    async fn a_wrong_url_says_so() {
        match PostgresStore::connect("mysql://nope").await {
            Err(StoreError::Open { reason, .. }) => {
                assert!(reason.contains("not a valid PostgreSQL URL"), "{reason}")
            }
            other => panic!("expected Open, got {:?}", other.err()),
        }
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let url = format!("postgres://iochub:secret@127.0.0.1:{port}/iochub");
        match PostgresStore::connect(&url).await {
            Err(StoreError::Open { path, reason }) => {
                assert_eq!(path, format!("postgres://iochub@127.0.0.1:{port}/iochub"));
                assert!(reason.contains("refused"), "{reason}");
                assert!(!reason.contains("secret"), "{reason}");
            }
            other => panic!("expected Open, got {:?}", other.err()),
        }
    }
}
