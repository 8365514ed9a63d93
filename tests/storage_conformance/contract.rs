//! The core of the storage contract: writes, idempotency, queries, devices, alerts, dead letters,
//! accounts.

use std::sync::Arc;

use iochub::pipeline::{DeadLetter, WriteItem};
use iochub::storage::*;
use iochub_devices::Reading;

pub(crate) const T0: i64 = 1_732_270_000_000;

pub(crate) fn readings(device: &str, metric: &str, points: &[(i64, f64)]) -> WriteItem {
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

pub(crate) fn query(
    device: &str,
    metric: &str,
    from: i64,
    to: i64,
    step: Option<i64>,
) -> ReadingsQuery {
    ReadingsQuery {
        device: device.into(),
        metric: metric.into(),
        from_ms: from,
        to_ms: to,
        step_ms: step,
        limit: 10_000,
    }
}

pub(crate) async fn write(store: &dyn Store, items: Vec<WriteItem>) -> WriteOutcome {
    store.write(Arc::new(items), T0).await.expect("write")
}

pub(crate) async fn writes_and_range_queries(store: &dyn Store) {
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

pub(crate) async fn redelivery_is_idempotent(store: &dyn Store) {
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

pub(crate) async fn aggregation_buckets(store: &dyn Store) {
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

pub(crate) async fn devices_register_themselves_with_latest_values_and_positions(
    store: &dyn Store,
) {
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

pub(crate) async fn devices_from_the_config_are_known_before_they_report(store: &dyn Store) {
    let at = T0 + 3_600_000;
    assert!(store.add_device("cfg-1", at).await.expect("add"));
    // known already (it reported, or an earlier start added it): left as it is
    assert!(!store.add_device("cfg-1", at + 1).await.expect("add"));
    assert!(!store.add_device("s-4", at).await.expect("add"));
    let d = store.device("cfg-1").await.expect("device").expect("cfg-1");
    assert_eq!(
        (d.registered, d.first_seen, d.last_seen, d.online),
        (true, at, at, None)
    );
    assert!(d.latest.is_empty() && d.tags.is_empty());
    let tagged = DevicePatch {
        tags: Some(vec!["slope".into()]),
        ..Default::default()
    };
    let d = store
        .update_device("cfg-1", tagged)
        .await
        .expect("patch")
        .expect("cfg-1");
    assert_eq!(d.tags, ["slope"]);
    // its first reading moves last_seen on, not first_seen back
    write(
        store,
        vec![readings("cfg-1", "rain", &[(at + 10_000, 0.2)])],
    )
    .await;
    let d = store.device("cfg-1").await.expect("device").expect("cfg-1");
    assert_eq!(d.first_seen, at);
    assert_eq!(d.tags, ["slope"]);
    assert_eq!(d.latest.len(), 1);
}

pub(crate) async fn dead_letters_page_newest_first(store: &dyn Store) {
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

/// The wall's named layouts: saved, replaced by name (Unicode names and empty tiles kept),
/// listed by name, removed.
pub async fn wall_layouts_round_trip(store: &dyn Store) {
    use iochub::camera::wall::WallLayout;
    let layout = |name: &str, size: u8, tiles: &[Option<&str>], at: i64| WallLayout {
        name: name.into(),
        size,
        tiles: tiles.iter().map(|t| t.map(str::to_owned)).collect(),
        updated_at: at,
        updated_by: "op".into(),
    };
    assert!(store.wall_layouts().await.expect("list").is_empty());
    let flood = layout("Lũ sông Bằng", 4, &[Some("cam-a"), None, Some("cam-b")], T0);
    assert!(store.save_wall_layout(flood.clone()).await.expect("save"));
    assert!(
        store
            .save_wall_layout(layout("A-night", 1, &[Some("cam-c")], T0))
            .await
            .expect("save")
    );
    let wider = layout("Lũ sông Bằng", 9, &[None, Some("cam-b")], T0 + 1000);
    assert!(
        !store
            .save_wall_layout(wider.clone())
            .await
            .expect("replace")
    );
    let all = store.wall_layouts().await.expect("list");
    assert_eq!(
        all.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["A-night", "Lũ sông Bằng"]
    );
    assert_eq!(all[1], wider);
    assert!(store.delete_wall_layout("A-night").await.expect("delete"));
    assert!(!store.delete_wall_layout("A-night").await.expect("delete"));
    assert_eq!(store.wall_layouts().await.expect("list"), vec![wider]);
}
