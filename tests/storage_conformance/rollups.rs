//! Rollups and retention: rolled-up answers equal raw aggregation, late data is re-rolled,
//! retention drops old raw data but keeps rollups, and maintenance is idempotent.

use iochub::storage::*;

use super::contract::*;

pub(crate) const MIN: i64 = 60_000;
pub(crate) const HOUR: i64 = 3_600_000;
pub(crate) const DAY: i64 = 86_400_000;
/// The hour T0 falls in; the rollup tests run their maintenance passes at `NOW`.
pub(crate) const H0: i64 = T0 - T0 % HOUR;
pub(crate) const NOW: i64 = H0 + 10 * MIN + 30_000;

/// What raw aggregation gives, computed here: epoch-grid buckets of `[from, to)`.
pub(crate) fn expected(points: &[(i64, f64)], from: i64, to: i64, step: i64) -> Vec<Point> {
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
pub(crate) fn level_points() -> Vec<(i64, f64)> {
    (0..630)
        .map(|i| (H0 - 3 * HOUR + i * 20_000, (i % 13) as f64 * 0.5))
        .collect()
}

/// Unaligned ranges straddling the rollup watermark (NOW), at steps of each rollup level.
pub(crate) fn level_queries() -> Vec<(i64, i64, i64)> {
    let (from, to) = (H0 - 3 * HOUR + 7 * MIN + 5_000, H0 + 30 * MIN);
    vec![
        (from, to, MIN),
        (from, to, 5 * MIN),
        (from, to, HOUR),
        (from - 7 * MIN, to, 2 * HOUR),
        (from, to, 30_000),
    ]
}

pub(crate) async fn check_level(store: &dyn Store, points: &[(i64, f64)]) {
    for (from, to, step) in level_queries() {
        let got = store
            .readings(query("roll-1", "level", from, to, Some(step)))
            .await
            .expect("query");
        assert_eq!(got, expected(points, from, to, step), "step {step}");
    }
}

/// Series beside `roll-1`, one reading each: more than a backend rolls in one transaction
/// (SQLite: 1,000 series per slice), so that every slice must be rolled.
const WIDE: usize = 2_500;

pub(crate) async fn rollups_answer_like_raw(store: &dyn Store) {
    let points = level_points();
    write(store, vec![readings("roll-1", "level", &points)]).await;
    let wide = |i: usize| format!("wide-{i:04}");
    let wide_point = |i: usize| (H0 - HOUR + 30_000 + i as i64, 0.5 * (i % 7) as f64);
    let items = (0..WIDE)
        .map(|i| readings(&wide(i), "level", &[wide_point(i)]))
        .collect();
    write(store, items).await;
    check_level(store, &points).await; // raw only: nothing rolled yet
    let report = store
        .maintain(NOW, &RetentionPolicy::default())
        .await
        .expect("maintain");
    assert_eq!(report.rolled_to, Some(H0 + 10 * MIN));
    assert!(
        report.buckets_1m >= 190 + WIDE as u64 && report.buckets_1h >= 3 + WIDE as u64,
        "{report:?}"
    );
    check_level(store, &points).await; // rollups below the watermark, raw above it
    // Below the watermark only rollups are read: a series the pass missed would answer nothing.
    for i in [0, WIDE / 2, WIDE - 1] {
        let (from, to) = (H0 - HOUR, H0);
        let got = store
            .readings(query(&wide(i), "level", from, to, Some(MIN)))
            .await
            .expect("query");
        assert_eq!(
            got,
            expected(&[wide_point(i)], from, to, MIN),
            "{}",
            wide(i)
        );
    }
}

pub(crate) async fn late_readings_are_rerolled(store: &dyn Store) {
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

/// `whole_chunks`: rollup retention drops whole chunks (TimescaleDB's continuous aggregates), so
/// rollups a little older than the cut may stay until their chunk is wholly past it.
pub(crate) async fn retention_drops_old_raw_data_and_keeps_rollups(
    store: &dyn Store,
    whole_chunks: bool,
) {
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
    if !whole_chunks {
        assert_eq!(
            report.rollup_rows_dropped, 2,
            "old-2: its minute and its hour"
        );
    }
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
    if !whole_chunks {
        let gone = query("old-2", "level", d2, d2 + HOUR, Some(HOUR));
        assert!(store.readings(gone).await.expect("query").is_empty());
    }
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
