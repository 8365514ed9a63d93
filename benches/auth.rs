//! What authorisation costs per request and per live frame, on one core: finding a request's
//! route in the access table, the session check of a login session and of an integrator's API
//! token as the guard runs it (the in-process cache; the store is read only on a miss), and the
//! scope filter every WebSocket frame passes for an account narrowed to an area. Ingest never
//! passes any of these: readings arrive over MQTT, not HTTP.
//!
//! Run: `cargo bench --bench auth -- --noplot`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method};
use criterion::{Criterion, criterion_group, criterion_main};
use iochub::accounts::{AccountSettings, Accounts, NewAccount, Permission, Role, Scope, User};
use iochub::api::access;
use iochub::storage::sqlite::SqliteStore;
use iochub::ws::Positions;
use iochub::ws::filter::Filter;

const PASSWORD: &str = "bench password 2026";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let areas = Arc::new(iochub::demo::areas());
    let accounts = Accounts::new(store, AccountSettings::default(), areas.clone());
    let now = iochub::timefmt::now_ms();
    let (session, token) = rt.block_on(async {
        for (username, role) in [("op", Role::Operator), ("sys", Role::Integrator)] {
            let new = NewAccount {
                username: username.into(),
                display_name: username.into(),
                role,
                agency: None,
                areas: Vec::new(),
                contact: None,
                password: Some(PASSWORD.into()),
            };
            accounts.issue(new, now).await.expect("issue");
        }
        let login = accounts
            .login("op", PASSWORD.into(), None, now)
            .await
            .expect("login");
        let (_, token) = accounts
            .issue_token(
                "sys",
                "bench".into(),
                vec![Permission::DevicesRead],
                30,
                now,
            )
            .await
            .expect("token");
        (login.token, token)
    });
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {session}")).expect("header");
    headers.insert(axum::http::header::AUTHORIZATION, bearer);

    let mut g = c.benchmark_group("auth per request");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("route lookup in the access table (last route)", |b| {
        let last = access::ROUTES.last().expect("routes");
        let method = Method::from_bytes(last.method.as_bytes()).expect("method");
        b.iter(|| access::route(black_box(&method), black_box(last.path)))
    });
    // Every async bench pays one block_on; this is that floor, to subtract.
    g.bench_function("block_on floor", |b| b.iter(|| rt.block_on(async {})));
    g.bench_function("bearer + cached login session + permission", |b| {
        b.iter(|| {
            rt.block_on(async {
                let token = access::token_from(black_box(&headers)).expect("token");
                let live = accounts.authenticate(token, now, true).await.expect("live");
                live.may(Permission::DevicesRead)
            })
        })
    });
    g.bench_function("cached integrator API token + permission", |b| {
        b.iter(|| {
            rt.block_on(async {
                let live = accounts
                    .authenticate(black_box(&token), now, true)
                    .await
                    .expect("live");
                live.may(Permission::DevicesRead)
            })
        })
    });
    g.finish();

    // Per frame and client: the fan-out asks the filter of every subscribed client.
    let area = areas.feature_collection()["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["properties"]["level"] != "province")
        .filter_map(|f| areas.get(f["properties"]["id"].as_str()?))
        .find_map(|a| Some((area_point(&a)?, a)));
    let (inside, area) = area.expect("an area below the province with a station");
    let mut positions = Positions::new();
    positions.insert("inside".into(), inside);
    positions.insert("outside".into(), (0.0, 0.0));
    let scoped_user = User {
        areas: vec![area.id.clone()],
        ..User::new("scoped", Role::Operator, now)
    };
    let filter = |user: &User| Filter {
        telemetry: true,
        scope: Arc::new(Scope::of(user, None, &areas)),
        ..Filter::default()
    };
    let everyone = filter(&User::new("all", Role::Operator, now));
    let scoped = filter(&scoped_user);
    let mut g = c.benchmark_group("scope per WebSocket frame and client");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("whole province", |b| {
        b.iter(|| everyone.matches(black_box("inside"), &positions))
    });
    g.bench_function(format!("one area ({}), device inside", area.id), |b| {
        b.iter(|| scoped.matches(black_box("inside"), &positions))
    });
    g.bench_function(format!("one area ({}), device outside", area.id), |b| {
        b.iter(|| scoped.matches(black_box("outside"), &positions))
    });
    g.finish();
}

/// A point inside `area`: the first simulated station there.
fn area_point(area: &iochub::areas::Area) -> Option<(f64, f64)> {
    iochub_sim::province::stations()
        .iter()
        .map(|s| (s.lon, s.lat))
        .find(|&(lon, lat)| area.shape.contains(lon, lat))
}

criterion_group!(benches, bench);
criterion_main!(benches);
