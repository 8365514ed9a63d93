//! docs/CONTRACT.md stays in step with the hub: every route of the OpenAPI document the running
//! hub serves is named there with its method, and every `/api/v1` route the contract names exists.

mod support;

use std::collections::BTreeSet;

use support::*;

/// `METHOD /path` for every operation of the served document.
async fn served_routes(hub: &Hub) -> BTreeSet<String> {
    let (status, doc) = hub.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200, "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    let mut routes = BTreeSet::new();
    for (path, ops) in paths {
        for method in ops.as_object().expect("operations").keys() {
            routes.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    routes
}

#[tokio::test]
async fn the_contract_names_every_served_route_and_no_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let served = served_routes(&hub).await;
    assert!(served.len() >= 10, "the document lists the API: {served:?}");

    let contract =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONTRACT.md"))
            .expect("docs/CONTRACT.md");
    // The contract writes `GET /a`, `GET /a/{id}` or `GET/PATCH /a` before a route's query.
    let named: BTreeSet<String> = contract
        .split('`')
        .filter_map(|span| {
            let (methods, rest) = span.split_once(' ')?;
            let path = rest.split(['?', ' ', '[']).next()?;
            let known = ["GET", "POST", "PATCH", "PUT", "DELETE"];
            let methods: Vec<&str> = methods.split('/').collect();
            (path.starts_with('/') && methods.iter().all(|m| known.contains(m))).then(|| {
                methods
                    .iter()
                    .map(|m| format!("{m} {path}"))
                    .collect::<Vec<_>>()
            })
        })
        .flatten()
        .collect();

    let missing: Vec<_> = served.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "routes the hub serves that docs/CONTRACT.md does not name: {missing:?}"
    );
    // Routes outside the generated document (the document itself, the WebSocket, metrics).
    let undocumented_by_design = ["GET /api/v1/openapi.json", "GET /ws", "GET /metrics"];
    let unknown: Vec<_> = named
        .iter()
        .filter(|r| r.contains(" /api/v1") || r.contains(" /healthz"))
        .filter(|r| !served.contains(*r) && !undocumented_by_design.contains(&r.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "routes docs/CONTRACT.md names that the hub does not serve: {unknown:?}"
    );
}
