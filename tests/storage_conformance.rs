//! The storage contract, written once against `&dyn Store` and run against every backend:
//! SQLite, and PostgreSQL on a throwaway server (`support::postgres`).

mod support;

use std::sync::Arc;

use iochub::storage::*;
use iochub_devices::Reading;

const T0: i64 = 1_732_270_000_000;

fn readings(device: &str, metric: &str, points: &[(i64, f64)]) -> WriteItem {
    WriteItem::Readings(Arc::new(
        points
            .iter()
            .map(|&(ts, value)| Reading {
                device: device.into(),
                metric: metric.into(),
                ts_ms: ts,
                value,
            })
            .collect(),
    ))
}

fn query(device: &str, metric: &str, from: i64, to: i64, step: Option<i64>) -> ReadingsQuery {
    ReadingsQuery {
        device: device.into(),
        metric: metric.into(),
        from_ms: from,
        to_ms: to,
        step_ms: step,
        limit: 10_000,
    }
}

async fn write(store: &dyn Store, items: Vec<WriteItem>) -> WriteOutcome {
    store.write(Arc::new(items), T0).await.expect("write")
}

async fn writes_and_range_queries(store: &dyn Store) {
    let out = write(
        store,
        vec![readings(
            "s-1",
            "temperature",
            &[(T0, 20.0), (T0 + 1000, 21.0), (T0 + 2000, 22.0)],
        )],
    )
    .await;
    assert_eq!((out.inserted, out.duplicates), (3, 0));
    let pts = store
        .readings(query("s-1", "temperature", T0 + 1000, T0 + 3000, None))
        .await
        .expect("query");
    assert_eq!(
        pts,
        vec![
            Point::Raw {
                ts: T0 + 1000,
                value: 21.0
            },
            Point::Raw {
                ts: T0 + 2000,
                value: 22.0
            }
        ]
    );
    assert!(
        store
            .readings(query("s-1", "humidity", T0, T0 + 9000, None))
            .await
            .expect("query")
            .is_empty()
    );
    assert!(
        store
            .readings(query("nobody", "temperature", T0, T0 + 9000, None))
            .await
            .expect("query")
            .is_empty()
    );
    let mut q = query("s-1", "temperature", T0, T0 + 9000, None);
    q.limit = 2;
    assert_eq!(store.readings(q).await.expect("query").len(), 2);
}

async fn redelivery_is_idempotent(store: &dyn Store) {
    let item = readings("s-2", "water_level", &[(T0, 1.0), (T0 + 1, 2.0)]);
    write(store, vec![item.clone()]).await;
    let out = write(store, vec![item.clone(), item]).await;
    assert_eq!((out.inserted, out.duplicates), (0, 4));
    assert_eq!(
        store
            .readings(query("s-2", "water_level", T0, T0 + 10, None))
            .await
            .expect("query")
            .len(),
        2
    );
}

async fn aggregation_buckets(store: &dyn Store) {
    let pts: Vec<(i64, f64)> = (0..6).map(|i| (T0 + i * 20_000, (i + 1) as f64)).collect();
    write(store, vec![readings("s-3", "pm2_5", &pts)]).await;
    let buckets = store
        .readings(query("s-3", "pm2_5", T0, T0 + 120_000, Some(60_000)))
        .await
        .expect("query");
    let bucket = |ts, min, avg, max, count| Point::Bucket {
        ts,
        min,
        avg,
        max,
        count,
    };
    let b0 = T0 - T0 % 60_000;
    // T0 is 40 s into its minute: buckets follow the epoch grid, not the query start
    assert_eq!(
        buckets,
        vec![
            bucket(b0, 1.0, 1.0, 1.0, 1),
            bucket(b0 + 60_000, 2.0, 3.0, 4.0, 3),
            bucket(b0 + 120_000, 5.0, 5.5, 6.0, 2)
        ]
    );
}

async fn devices_register_themselves_with_latest_values_and_positions(store: &dyn Store) {
    write(
        store,
        vec![
            readings("s-4", "temperature", &[(T0, 20.0), (T0 + 5000, 25.0)]),
            readings("s-4", "lat", &[(T0, 22.66)]),
            readings("s-4", "lon", &[(T0, 106.25)]),
            WriteItem::Status {
                device: "s-4".into(),
                online: true,
                ts_ms: T0,
            },
        ],
    )
    .await;
    // an older reading arriving late does not replace the latest value
    write(
        store,
        vec![readings("s-4", "temperature", &[(T0 + 1000, 99.0)])],
    )
    .await;
    let d = store
        .device("s-4")
        .await
        .expect("device")
        .expect("registered");
    assert_eq!(
        (d.registered, d.online, d.lat, d.lon),
        (false, Some(true), Some(22.66), Some(106.25))
    );
    let t = d
        .latest
        .iter()
        .find(|l| l.metric == "temperature")
        .expect("latest temperature");
    assert_eq!((t.ts, t.value), (T0 + 5000, 25.0));
    write(
        store,
        vec![WriteItem::Status {
            device: "s-4".into(),
            online: false,
            ts_ms: T0 + 10,
        }],
    )
    .await;
    // a stale status (older than the one stored) is ignored
    write(
        store,
        vec![WriteItem::Status {
            device: "s-4".into(),
            online: true,
            ts_ms: T0 + 5,
        }],
    )
    .await;
    assert_eq!(
        store
            .device("s-4")
            .await
            .expect("device")
            .expect("device")
            .online,
        Some(false)
    );
    let patched = store
        .update_device(
            "s-4",
            DevicePatch {
                registered: Some(true),
                name: Some("Trạm Hợp Giang".into()),
                ..Default::default()
            },
        )
        .await
        .expect("patch")
        .expect("device");
    assert_eq!(
        (patched.registered, patched.name.as_deref(), patched.lat),
        (true, Some("Trạm Hợp Giang"), Some(22.66))
    );
    assert!(
        store
            .update_device("nobody", DevicePatch::default())
            .await
            .expect("patch")
            .is_none()
    );
    assert!(
        store
            .devices()
            .await
            .expect("devices")
            .iter()
            .any(|d| d.key == "s-4" && !d.latest.is_empty())
    );
}

fn fire(rule: &str, device: &str, value: f64, ts: i64) -> AlertChange {
    AlertChange::Fire {
        rule: rule.into(),
        device: device.into(),
        metric: "water_level".into(),
        op: ">=".into(),
        threshold: 5.0,
        severity: "critical".into(),
        value,
        ts_ms: ts,
    }
}

async fn one_open_alert_per_rule_and_device(store: &dyn Store) {
    let a = store
        .apply_alerts(vec![fire("r1", "a-1", 5.5, T0)], T0)
        .await
        .expect("alerts");
    let id = a[0].id;
    assert_eq!(
        (a[0].state, a[0].hits, a[0].opened_at),
        (AlertState::Open, 1, T0)
    );
    let a = store
        .apply_alerts(
            vec![
                fire("r1", "a-1", 6.0, T0 + 10),
                fire("r2", "a-1", 6.0, T0 + 10),
            ],
            T0,
        )
        .await
        .expect("alerts");
    assert_eq!(
        (a[0].id, a[0].hits, a[0].value, a[0].updated_at),
        (id, 2, 6.0, T0 + 10)
    );
    assert_ne!(a[1].id, id);
    let r2 = a[1].id;
    let open = AlertQuery {
        state: Some(AlertState::Open),
        device: Some("a-1".into()),
        limit: 100,
    };
    assert_eq!(store.alerts(open.clone()).await.expect("alerts").len(), 2);
    let clear = AlertChange::Clear {
        rule: "r1".into(),
        device: "a-1".into(),
        value: 4.0,
        ts_ms: T0 + 20,
    };
    let a = store
        .apply_alerts(vec![clear.clone()], T0)
        .await
        .expect("alerts");
    assert_eq!(
        (a[0].id, a[0].state, a[0].resolved_at),
        (id, AlertState::Resolved, Some(T0 + 20))
    );
    // a clear without a known value (rule removed) keeps the stored value
    let gone = AlertChange::Clear {
        rule: "r2".into(),
        device: "a-1".into(),
        value: f64::NAN,
        ts_ms: T0 + 25,
    };
    let a = store.apply_alerts(vec![gone], T0).await.expect("alerts");
    assert_eq!((a[0].state, a[0].value), (AlertState::Resolved, 6.0));
    // clearing what is not open changes nothing
    assert!(
        store
            .apply_alerts(vec![clear], T0)
            .await
            .expect("alerts")
            .is_empty()
    );
    // firing again after resolution opens a new alert
    let a = store
        .apply_alerts(vec![fire("r1", "a-1", 7.0, T0 + 30)], T0)
        .await
        .expect("alerts");
    assert_ne!(a[0].id, id);
    assert_eq!(
        store.alert(id).await.expect("alert").map(|a| a.state),
        Some(AlertState::Resolved)
    );
    assert_eq!(store.alerts(open).await.expect("alerts").len(), 1);
    assert_eq!(
        store.alert(r2).await.expect("alert").map(|a| a.state),
        Some(AlertState::Resolved)
    );
    let all = AlertQuery {
        state: None,
        device: Some("a-1".into()),
        limit: 100,
    };
    assert_eq!(store.alerts(all).await.expect("alerts").len(), 3);
}

async fn dead_letters_page_newest_first(store: &dyn Store) {
    let letter = |i: i64| DeadLetter {
        id: None,
        received_at: T0 + i,
        topic: "ioc/x/telemetry".into(),
        reason: "malformed_json".into(),
        detail: format!("case {i}"),
        payload: "{".into(),
    };
    write(
        store,
        vec![WriteItem::DeadLetters((0..5).map(letter).collect())],
    )
    .await;
    let page = store.dead_letters(3, None).await.expect("dead letters");
    assert_eq!(
        page.iter().map(|d| d.detail.as_str()).collect::<Vec<_>>(),
        ["case 4", "case 3", "case 2"]
    );
    let next = store
        .dead_letters(3, page[2].id)
        .await
        .expect("dead letters");
    assert_eq!(
        next.iter().map(|d| d.detail.as_str()).collect::<Vec<_>>(),
        ["case 1", "case 0"]
    );
}

async fn accounts_and_sessions(store: &dyn Store) {
    assert_eq!(store.user_count().await.expect("count"), 0);
    let user = User {
        username: "op".into(),
        password_hash: "h".into(),
        role: "operator".into(),
        locked: false,
    };
    store.create_user(user, T0).await.expect("create");
    assert!(
        store
            .create_user(
                User {
                    username: "op".into(),
                    password_hash: "x".into(),
                    role: "x".into(),
                    locked: false
                },
                T0
            )
            .await
            .is_err()
    );
    assert_eq!(
        store.user("op").await.expect("user").map(|u| u.role),
        Some("operator".into())
    );
    store
        .create_session(
            Session {
                token_hash: "t1".into(),
                username: "op".into(),
                expires_at_ms: T0 + 1000,
            },
            T0,
        )
        .await
        .expect("session");
    assert!(
        store
            .session("t1", T0 + 999)
            .await
            .expect("session")
            .is_some()
    );
    assert!(
        store
            .session("t1", T0 + 1000)
            .await
            .expect("session")
            .is_none(),
        "expired"
    );
    store.delete_session("t1").await.expect("delete");
    assert!(store.session("t1", T0).await.expect("session").is_none());
}

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// The hour T0 falls in; the rollup tests run their maintenance passes at `NOW`.
const H0: i64 = T0 - T0 % HOUR;
const NOW: i64 = H0 + 10 * MIN + 30_000;

/// What raw aggregation gives, computed here: epoch-grid buckets of `[from, to)`.
fn expected(points: &[(i64, f64)], from: i64, to: i64, step: i64) -> Vec<Point> {
    let mut b: std::collections::BTreeMap<i64, (f64, f64, f64, u64)> = Default::default();
    for &(ts, v) in points.iter().filter(|p| p.0 >= from && p.0 < to) {
        let e = b
            .entry(ts - ts % step)
            .or_insert((f64::INFINITY, f64::NEG_INFINITY, 0.0, 0));
        *e = (e.0.min(v), e.1.max(v), e.2 + v, e.3 + 1);
    }
    b.into_iter()
        .map(|(ts, (min, max, sum, count))| Point::Bucket {
            ts,
            min,
            avg: sum / count as f64,
            max,
            count,
        })
        .collect()
}

/// A reading every 20 s from three hours before H0 to half an hour after it. Values are
/// multiples of 0.5, so every sum is exact whatever the order of addition.
fn level_points() -> Vec<(i64, f64)> {
    (0..630)
        .map(|i| (H0 - 3 * HOUR + i * 20_000, (i % 13) as f64 * 0.5))
        .collect()
}

/// Unaligned ranges straddling the rollup watermark (NOW), at steps of each rollup level.
fn level_queries() -> Vec<(i64, i64, i64)> {
    let (from, to) = (H0 - 3 * HOUR + 7 * MIN + 5_000, H0 + 30 * MIN);
    vec![
        (from, to, MIN),
        (from, to, 5 * MIN),
        (from, to, HOUR),
        (from - 7 * MIN, to, 2 * HOUR),
        (from, to, 30_000),
    ]
}

async fn check_level(store: &dyn Store, points: &[(i64, f64)]) {
    for (from, to, step) in level_queries() {
        let got = store
            .readings(query("roll-1", "level", from, to, Some(step)))
            .await
            .expect("query");
        assert_eq!(got, expected(points, from, to, step), "step {step}");
    }
}

async fn rollups_answer_like_raw(store: &dyn Store) {
    let points = level_points();
    write(store, vec![readings("roll-1", "level", &points)]).await;
    check_level(store, &points).await; // raw only: nothing rolled yet
    let report = store
        .maintain(NOW, &RetentionPolicy::default())
        .await
        .expect("maintain");
    assert_eq!(report.rolled_to, Some(H0 + 10 * MIN));
    assert!(
        report.buckets_1m >= 190 && report.buckets_1h >= 3,
        "{report:?}"
    );
    check_level(store, &points).await; // rollups below the watermark, raw above it
}

async fn late_readings_are_rerolled(store: &dyn Store) {
    let late = (H0 - 2 * HOUR + 5 * MIN + 1_000, 100.0);
    write(store, vec![readings("roll-1", "level", &[late])]).await;
    let hourly = query("roll-1", "level", H0 - 3 * HOUR, H0, Some(HOUR));
    let mut points = level_points();
    points.push(late);
    // Right at once (the dirty minute is read raw until re-rolled), and after the next pass.
    check_level(store, &points).await;
    let report = store
        .maintain(NOW, &RetentionPolicy::default())
        .await
        .expect("maintain");
    assert_eq!(
        (report.dirty_minutes, report.buckets_1m, report.buckets_1h),
        (1, 1, 1)
    );
    check_level(store, &points).await;
    assert_eq!(
        store.readings(hourly).await.expect("query"),
        expected(&points, H0 - 3 * HOUR, H0, HOUR)
    );
}

async fn retention_drops_old_raw_data_and_keeps_rollups(store: &dyn Store) {
    // Newer than the 90 days of the passes so far (older raw data would be below the raw floor
    // already, and rightly not rolled from an incomplete minute).
    let policy = RetentionPolicy {
        raw_days: 30,
        rollup_days: 50,
    };
    let d1 = (T0 - 40 * DAY) - (T0 - 40 * DAY) % HOUR;
    let d2 = (T0 - 60 * DAY) - (T0 - 60 * DAY) % HOUR;
    let old = [(d1 + 1_000, 1.0), (d1 + 61_000, 3.0)];
    write(
        store,
        vec![
            readings("old-1", "level", &old),
            readings("old-2", "level", &[(d2 + 1_000, 5.0)]),
        ],
    )
    .await;
    let report = store.maintain(NOW, &policy).await.expect("maintain");
    assert!(
        report.raw_rows_dropped + report.partitions_dropped.len() as u64 > 0,
        "{report:?}"
    );
    assert_eq!(
        report.dirty_minutes, 3,
        "both old series rolled before retention"
    );
    assert_eq!(
        report.rollup_rows_dropped, 2,
        "old-2: its minute and its hour"
    );
    for device in ["old-1", "old-2"] {
        let raw = query(device, "level", d2, d1 + DAY, None);
        assert!(store.readings(raw).await.expect("query").is_empty());
    }
    // the rollups of old-1 stay (rolled before its raw data went), those of old-2 are too old
    for step in [MIN, HOUR] {
        assert_eq!(
            store
                .readings(query("old-1", "level", d1, d1 + HOUR, Some(step)))
                .await
                .expect("query"),
            expected(&old, d1, d1 + HOUR, step)
        );
    }
    let gone = query("old-2", "level", d2, d2 + HOUR, Some(HOUR));
    assert!(store.readings(gone).await.expect("query").is_empty());
    // newer raw data stays
    let recent = query("s-1", "temperature", T0, T0 + 9000, None);
    assert_eq!(store.readings(recent).await.expect("query").len(), 3);

    // a second pass at the same time changes nothing
    let again = store.maintain(NOW, &policy).await.expect("maintain");
    assert!(!again.changed(), "{again:?}");
    assert_eq!(again.rolled_to, report.rolled_to);
    let mut points = level_points();
    points.push((H0 - 2 * HOUR + 5 * MIN + 1_000, 100.0));
    check_level(store, &points).await;
}

/// The whole contract, in order, on one fresh store.
async fn conformance(store: &dyn Store) {
    writes_and_range_queries(store).await;
    redelivery_is_idempotent(store).await;
    aggregation_buckets(store).await;
    devices_register_themselves_with_latest_values_and_positions(store).await;
    one_open_alert_per_rule_and_device(store).await;
    dead_letters_page_newest_first(store).await;
    accounts_and_sessions(store).await;
    rollups_answer_like_raw(store).await;
    late_readings_are_rerolled(store).await;
    retention_drops_old_raw_data_and_keeps_rollups(store).await;
}

#[tokio::test]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sqlite::SqliteStore::open(dir.path()).expect("open");
    conformance(&store).await;
    // the rollup tables the stepped queries read are filled
    let conn = rusqlite::Connection::open(dir.path().join("iochub.db")).expect("raw open");
    let n: i64 = conn
        .query_row("SELECT count(*) FROM readings_1h", [], |r| r.get(0))
        .expect("count");
    assert!(n >= 4, "{n} hourly rollups");
    drop(conn);
    // and what it stored survives reopening
    drop(store);
    let store = sqlite::SqliteStore::open(dir.path()).expect("reopen");
    assert_eq!(
        store
            .readings(query("s-1", "temperature", T0, T0 + 9000, None))
            .await
            .expect("query")
            .len(),
        3
    );
    let open = AlertQuery {
        state: Some(AlertState::Open),
        device: None,
        limit: 100,
    };
    assert_eq!(store.alerts(open).await.expect("alerts").len(), 1);
}

#[tokio::test]
async fn sqlite_refuses_a_schema_newer_than_the_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(sqlite::SqliteStore::open(dir.path()).expect("open"));
    let conn = rusqlite::Connection::open(dir.path().join("iochub.db")).expect("raw open");
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
        [],
    )
    .expect("bump");
    drop(conn);
    match sqlite::SqliteStore::open(dir.path()) {
        Err(StoreError::SchemaTooNew { found: 999, .. }) => {}
        other => panic!("expected SchemaTooNew, got {:?}", other.err()),
    }
}

/// A raw connection to the test server, for what the `Store` trait does not show.
async fn raw_pg(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("raw connect");
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn postgres_conforms() {
    let pg = support::postgres::Postgres::start();
    let store = postgres::PostgresStore::connect(&pg.url())
        .await
        .expect("connect");
    conformance(&store).await;

    // readings live in daily partitions, made on demand
    let raw = raw_pg(&pg.url()).await;
    let partitions: Vec<String> = raw
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'readings'::regclass ORDER BY 1",
            &[],
        )
        .await
        .expect("partitions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let n: i64 = raw
        .query_one("SELECT count(*) FROM readings_1h", &[])
        .await
        .expect("count")
        .get(0);
    assert!(n >= 4, "{n} hourly rollups");
    // (retention dropped the days 40 and 60 days before T0, partition and all)
    assert_eq!(partitions, ["readings_p20241122"]);
    for day in ["readings_p20241013", "readings_p20240923"] {
        let gone: Option<String> = raw
            .query_one(&format!("SELECT to_regclass('{day}')::text"), &[])
            .await
            .expect("to_regclass")
            .get(0);
        assert_eq!(gone, None, "{day}");
    }

    // two stores (two hubs) writing into a new day and new series at once do not trip on each
    // other: both commit, and each reading is stored once
    let other = postgres::PostgresStore::connect(&pg.url())
        .await
        .expect("second connect");
    let day = T0 + 3 * 86_400_000;
    let batch = || readings("race-1", "rain_1h", &[(day, 1.0), (day + 1, 2.0)]);
    let (a, b) = tokio::join!(
        store.write(Arc::new(vec![batch()]), T0),
        other.write(Arc::new(vec![batch()]), T0)
    );
    let (a, b) = (a.expect("first writer"), b.expect("second writer"));
    assert_eq!(
        (a.inserted + b.inserted, a.duplicates + b.duplicates),
        (2, 2)
    );
    drop(other);

    // and what it stored survives reconnecting
    drop(store);
    let store = postgres::PostgresStore::connect(&pg.url())
        .await
        .expect("reconnect");
    assert_eq!(
        store
            .readings(query("s-1", "temperature", T0, T0 + 9000, None))
            .await
            .expect("query")
            .len(),
        3
    );
    let open = AlertQuery {
        state: Some(AlertState::Open),
        device: None,
        limit: 100,
    };
    assert_eq!(store.alerts(open).await.expect("alerts").len(), 1);
    // the series cache starts empty after a reconnect: ids are found again, not duplicated
    let out = write(&store, vec![readings("s-1", "temperature", &[(T0, 20.0)])]).await;
    assert_eq!((out.inserted, out.duplicates), (0, 1));
}

#[tokio::test]
async fn postgres_refuses_a_schema_newer_than_the_binary() {
    let pg = support::postgres::Postgres::start();
    drop(
        postgres::PostgresStore::connect(&pg.url())
            .await
            .expect("connect"),
    );
    raw_pg(&pg.url())
        .await
        .execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (999, now())",
            &[],
        )
        .await
        .expect("bump");
    match postgres::PostgresStore::connect(&pg.url()).await {
        Err(StoreError::SchemaTooNew { found: 999, .. }) => {}
        other => panic!("expected SchemaTooNew, got {:?}", other.err()),
    }
}
