//! Accounts against the running hub: the role matrix on every route (from the hub's own table),
//! the account lifecycle (issue, forced change, lock, unlock, reset, revoke), the failed-login
//! lockout, the agency registry, and the area scope over HTTP and `/ws`.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use iochub::accounts::{Permission, Role};
use iochub::api::access::ROUTES;
use serde_json::{Value, json};
use support::*;

/// A concrete path for a route of the table.
fn concrete(path: &str) -> String {
    path.replace("{device}", "wl-01")
        .replace("{camera}", "cam-01")
        .replace(
            "{id}",
            if path.contains("agencies") {
                "ca-tinh"
            } else {
                "1"
            },
        )
        .replace("{username}", "target")
}

#[tokio::test]
async fn the_role_matrix_holds_on_every_route_of_the_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;

    // The table names every route the hub serves, and no other.
    let (status, doc) = hub.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let mut served: BTreeSet<String> = [
        "GET /api/v1/openapi.json",
        "GET /ws",
        "GET /ws/video/{camera}",
        "GET /metrics",
    ]
    .map(String::from)
    .into();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("ops").keys() {
            served.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let table: BTreeSet<String> = ROUTES
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        served, table,
        "the access table and the served routes differ"
    );

    let mut tokens = Vec::new();
    for role in Role::ALL {
        let name = format!("as-{}", role.as_str().replace('_', "-"));
        let extra = match role {
            Role::AgencyHandler => json!({"agency": "ca-tinh"}),
            _ => json!({}),
        };
        let mut token = account(&hub, &name, role, extra).await;
        if role == Role::Integrator {
            token = api_token(&hub, &name, json!([])).await;
        }
        tokens.push((role, token));
    }
    account(&hub, "target", Role::Viewer, json!({})).await;

    // Every answer below is one the document names for its operation (scripts/fuzz-api found
    // the guard's 401 and 403 missing from most).
    // (/api/v1/openapi.json, /ws, /ws/video and /metrics are outside the document).
    let documented = |method: &str, path: &str, status: u16| {
        let op = &doc["paths"][path][method.to_lowercase()];
        op.is_null() || !op["responses"][status.to_string()].is_null()
    };
    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| r.path != "/api/v1/auth/logout") {
        let path = concrete(route.path);
        let body = (route.method != "GET").then(|| json!({}));
        if route.permission != Permission::Public {
            let (status, answer) = hub.call(route.method, &path, "", body.clone()).await;
            assert_eq!(
                status, 401,
                "{} {path} without a session: {answer}",
                route.method
            );
            assert!(
                documented(route.method, route.path, status),
                "{} {path}",
                route.method
            );
        }
        for (role, token) in &tokens {
            let (status, answer) = hub.call(route.method, &path, token, body.clone()).await;
            assert!(
                documented(route.method, route.path, status),
                "{role:?}: {} {path} answered {status}, which its document does not name: {answer}",
                route.method
            );
            if role.may(route.permission) {
                assert!(
                    status != 401 && status != 403,
                    "{role:?} may {} {path}, got {status}: {answer}",
                    route.method
                );
            } else {
                assert_eq!(
                    status, 403,
                    "{role:?} may not {} {path}: {answer}",
                    route.method
                );
                assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 150, "{checked} cells checked");

    // A path segment that is not UTF-8 once decoded: the JSON error naming it, not axum's text.
    for (method, path, field) in [
        ("GET", "/api/v1/devices/%FF", "device"),
        ("POST", "/api/v1/users/%FF/lock", "username"),
        ("DELETE", "/api/v1/tokens/%C3%28", "id"),
    ] {
        let (status, answer) = hub.call(method, path, &hub.token, None).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (400, Some(field)),
            "{method} {path}: {answer}"
        );
    }

    // Logging out ends the session server-side, for every role that logs in.
    for (role, token) in tokens.iter().filter(|(r, _)| *r != Role::Integrator) {
        let (status, _) = hub.call("POST", "/api/v1/auth/logout", token, None).await;
        assert_eq!(status, 204, "{role:?}");
        let (status, _) = hub.call("GET", "/api/v1/auth/me", token, None).await;
        assert_eq!(status, 401, "{role:?}: the token is dead after the logout");
    }
}

#[tokio::test]
async fn an_account_is_issued_changed_locked_reset_and_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();

    let new = json!({"username": "op1", "role": "operator", "display_name": "Nông Văn Dền",
        "contact": "0912 000 111", "password": "tạm thời 12345"});
    let (status, issued) = hub
        .call("POST", "/api/v1/users", &admin, Some(new.clone()))
        .await;
    assert_eq!(status, 201, "{issued}");
    assert!(
        issued.get("temporary_password").is_none(),
        "a given password is not echoed"
    );
    assert!(issued.get("password_hash").is_none());

    // Until the password is changed, everything else is refused.
    let (status, login) = hub.login_as("op1", "tạm thời 12345").await;
    assert_eq!(
        (status, login["must_change_password"].clone()),
        (200, json!(true))
    );
    let op = login["token"].as_str().expect("token").to_owned();
    let (status, body) = hub.call("GET", "/api/v1/devices", &op, None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("password_change_required"))
    );
    let (status, me) = hub.call("GET", "/api/v1/auth/me", &op, None).await;
    assert_eq!(status, 200);
    assert_eq!(me["role"], "operator");
    assert_eq!(me["must_change_password"], true);
    for (weak, why) in [
        ("short", "at least 12"),
        ("qwerty123456", "common"),
        ("my op1 password", "username"),
    ] {
        let change = json!({"current": "tạm thời 12345", "new": weak});
        let (status, body) = hub
            .call("POST", "/api/v1/auth/password", &op, Some(change))
            .await;
        assert_eq!(status, 400, "{weak}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(why),
            "{body}"
        );
        assert_eq!(body["error"]["field"], "new");
    }
    let wrong = json!({"current": "not it at all", "new": GOOD});
    let (status, body) = hub
        .call("POST", "/api/v1/auth/password", &op, Some(wrong))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("current"))
    );
    let (_, second) = hub.login_as("op1", "tạm thời 12345").await;
    let other = second["token"]
        .as_str()
        .expect("a second session")
        .to_owned();
    let change = json!({"current": "tạm thời 12345", "new": GOOD});
    let (status, _) = hub
        .call("POST", "/api/v1/auth/password", &op, Some(change))
        .await;
    assert_eq!(status, 204);
    let (status, _) = hub.call("GET", "/api/v1/devices", &op, None).await;
    assert_eq!(
        status, 200,
        "the same session works once the password is changed"
    );
    let (status, _) = hub.call("GET", "/api/v1/auth/me", &other, None).await;
    assert_eq!(
        status, 401,
        "the account's other session ended with the change"
    );

    // List and search.
    let (_, found) = hub
        .call("GET", "/api/v1/users?q=d%E1%BB%81n", &admin, None)
        .await;
    let names: Vec<&str> = found
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(names, ["op1"], "search by display name, case-insensitive");
    let (_, found) = hub
        .call("GET", "/api/v1/users?role=admin", &admin, None)
        .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));

    // Locking ends the session at once; the locked account is named only to its password.
    let (status, locked) = hub
        .call("POST", "/api/v1/users/op1/lock", &admin, None)
        .await;
    assert_eq!((status, locked["state"].clone()), (200, json!("locked")));
    let (status, _) = hub.call("GET", "/api/v1/devices", &op, None).await;
    assert_eq!(status, 401, "a locked account's session is gone");
    let (status, body) = hub.login_as("op1", GOOD).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("locked")
    );
    let (status, body) = hub.login_as("op1", "wrong password here").await;
    assert_eq!(
        status, 401,
        "a wrong password says nothing about the lock: {body}"
    );
    let (status, _) = hub
        .call("POST", "/api/v1/users/op1/unlock", &admin, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(hub.login_as("op1", GOOD).await.0, 200);

    // A reset gives a temporary password and ends the sessions.
    let (_, login) = hub.login_as("op1", GOOD).await;
    let op = login["token"].as_str().expect("token").to_owned();
    let (status, reset) = hub
        .call("POST", "/api/v1/users/op1/reset-password", &admin, None)
        .await;
    assert_eq!(status, 200, "{reset}");
    let temporary = reset["temporary_password"]
        .as_str()
        .expect("generated once")
        .to_owned();
    assert_eq!(hub.call("GET", "/api/v1/auth/me", &op, None).await.0, 401);
    assert_eq!(
        hub.login_as("op1", GOOD).await.0,
        401,
        "the old password is gone"
    );
    let (status, login) = hub.login_as("op1", &temporary).await;
    assert_eq!(
        (status, login["must_change_password"].clone()),
        (200, json!(true))
    );

    // An edit of the role ends the sessions too (no session keeps old powers).
    let op = login["token"].as_str().expect("token").to_owned();
    let (status, edited) = hub
        .call(
            "PATCH",
            "/api/v1/users/op1",
            &admin,
            Some(json!({"role": "viewer", "contact": null})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["role"].clone(), edited["contact"].clone()),
        (json!("viewer"), Value::Null)
    );
    assert_eq!(hub.call("GET", "/api/v1/auth/me", &op, None).await.0, 401);
    let bad = json!({"areas": ["atlantis"]});
    let (status, body) = hub
        .call("PATCH", "/api/v1/users/op1", &admin, Some(bad))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("areas"))
    );

    // Revoked for good: listed, not usable, its username never issued again.
    let (status, revoked) = hub
        .call("POST", "/api/v1/users/op1/revoke", &admin, None)
        .await;
    assert_eq!((status, revoked["state"].clone()), (200, json!("revoked")));
    assert_eq!(hub.login_as("op1", &temporary).await.0, 403);
    let (status, _) = hub
        .call("POST", "/api/v1/users/op1/unlock", &admin, None)
        .await;
    assert_eq!(status, 409, "a revoked account stays revoked");
    let (status, _) = hub.call("POST", "/api/v1/users", &admin, Some(new)).await;
    assert_eq!(
        status, 409,
        "the username of a revoked account is not issued again"
    );
    let (_, one) = hub.call("GET", "/api/v1/users/op1", &admin, None).await;
    assert_eq!(one["state"], "revoked");

    // The admin cannot lock or demote themselves, nor leave the hub without an admin.
    let (status, body) = hub
        .call("POST", "/api/v1/users/admin/lock", &admin, None)
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = hub
        .call(
            "PATCH",
            "/api/v1/users/admin",
            &admin,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, body) = hub
        .call(
            "POST",
            "/api/v1/users",
            &admin,
            Some(json!({"username": "h1", "role": "agency_handler"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("agency")),
        "{body}"
    );
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_and_the_answer_never_says_which() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let (_, unknown) = hub.login_as("nobody-here", "whatever it is 1").await;
    let (_, wrong) = hub.login_as("admin", "whatever it is 1").await;
    assert_eq!(
        unknown, wrong,
        "an unknown user and a wrong password read the same"
    );
    for _ in 0..4 {
        assert_eq!(hub.login_as("admin", "still not the password").await.0, 401);
    }
    let (status, locked_out) = hub.login_as("admin", hub::PASSWORD).await;
    assert_eq!(
        status, 401,
        "locked out after 5 failures, even with the right password"
    );
    assert_eq!(locked_out, wrong, "the lockout reads like any failure");
    // the session made before the failures still works: only logins are refused
    let (status, _) = hub.call("GET", "/api/v1/auth/me", &hub.token, None).await;
    assert_eq!(status, 200);
    let (status, list) = hub
        .call("GET", "/api/v1/users/admin", &hub.token, None)
        .await;
    assert_eq!((status, list["failed_logins"].clone()), (200, json!(5)));
    assert!(list["locked_until"].is_string(), "{list}");
}

#[tokio::test]
async fn agencies_come_from_config_and_are_edited_through_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();
    let (status, list) = hub.call("GET", "/api/v1/agencies", &admin, None).await;
    assert_eq!(status, 200);
    let kinds: BTreeSet<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    for k in [
        "police",
        "fire_rescue",
        "health",
        "environment",
        "civil_defense",
        "commune",
    ] {
        assert!(kinds.contains(k), "the demo has a {k} agency: {list}");
    }

    let new = json!({"id": "ubnd-minhkhai", "name": "UBND xã Minh Khai", "kind": "commune",
        "area": "cb-x-minhkhai", "contacts": [{"name": "Chủ tịch", "phone": "0206 111"}],
        "webhook": {"url": "https://xa1.example/hook", "secret": "a-secret-of-the-commune"}});
    let (status, made) = hub
        .call("POST", "/api/v1/agencies", &admin, Some(new.clone()))
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        made["webhook"],
        json!({"url": "https://xa1.example/hook", "secret_set": true})
    );
    assert!(
        !made.to_string().contains("a-secret-of-the-commune"),
        "the secret is never shown"
    );
    assert_eq!(
        hub.call("POST", "/api/v1/agencies", &admin, Some(new))
            .await
            .0,
        409
    );

    let edit =
        json!({"name": "UBND xã Minh Khai (mới)", "webhook": {"url": "https://xa1.example/v2"}});
    let (status, edited) = hub
        .call(
            "PATCH",
            "/api/v1/agencies/ubnd-minhkhai",
            &admin,
            Some(edit),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["webhook"]["url"], "https://xa1.example/v2");
    assert_eq!(
        edited["webhook"]["secret_set"], true,
        "the secret stays when not given"
    );
    let (_, one) = hub
        .call("GET", "/api/v1/agencies/ubnd-minhkhai", &admin, None)
        .await;
    assert_eq!(one["name"], "UBND xã Minh Khai (mới)");
    let bad = json!({"area": "atlantis"});
    let (status, body) = hub
        .call("PATCH", "/api/v1/agencies/ubnd-minhkhai", &admin, Some(bad))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("area"))
    );
    let (status, _) = hub.call("GET", "/api/v1/agencies/none", &admin, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_area_scope_narrows_devices_over_http_and_the_live_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();
    let mut device = Publisher::connect(&hub.mqtt_url(), "scope-test").await;
    let ts = now_ms();
    for key in ["in-city", "far-west"] {
        let payload = json!({"ts": ts, "water_level": 1.0}).to_string();
        device
            .publish(&format!("ioc/{key}/telemetry"), payload)
            .await;
    }
    hub.wait_reading("far-west", "water_level", ts).await;
    hub.wait_reading("in-city", "water_level", ts).await;
    let place = |lon: f64, lat: f64| Some(json!({"lon": lon, "lat": lat}));
    hub.call(
        "PATCH",
        "/api/v1/devices/in-city",
        &admin,
        place(106.257, 22.666),
    )
    .await;
    hub.call(
        "PATCH",
        "/api/v1/devices/far-west",
        &admin,
        place(105.55, 22.88),
    )
    .await;

    let op = account(
        &hub,
        "city-op",
        Role::Operator,
        json!({"areas": ["cb-p-thucphan"]}),
    )
    .await;
    let (_, me) = hub.call("GET", "/api/v1/auth/me", &op, None).await;
    assert_eq!(me["areas"], json!(["cb-p-thucphan"]));
    let (_, list) = hub.call("GET", "/api/v1/devices", &op, None).await;
    let keys: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["key"].as_str())
        .collect();
    assert_eq!(keys, ["in-city"]);
    assert_eq!(
        hub.call("GET", "/api/v1/devices/far-west", &op, None)
            .await
            .0,
        404
    );
    let readings = "/api/v1/devices/far-west/readings?metric=water_level";
    assert_eq!(hub.call("GET", readings, &op, None).await.0, 404);
    assert_eq!(
        hub.call("GET", "/api/v1/devices/in-city", &op, None)
            .await
            .0,
        200
    );
    // a camera far west is not there for the city's operator, nor its video
    let far_cam =
        json!({"id": "cam-far", "url": "rtsp://127.0.0.1:9/x", "lat": 22.88, "lon": 105.55});
    let (status, _) = hub
        .call("POST", "/api/v1/cameras", &admin, Some(far_cam))
        .await;
    assert_eq!(status, 201);
    let (_, cams) = hub.call("GET", "/api/v1/cameras", &op, None).await;
    assert_eq!(cams, json!([]));
    let (_, cams) = hub.call("GET", "/api/v1/cameras", &admin, None).await;
    assert_eq!(cams.as_array().map(Vec::len), Some(1));
    assert_eq!(
        hub.call("GET", "/api/v1/cameras/cam-far", &op, None)
            .await
            .0,
        404
    );
    let video = hub
        .client
        .get(hub.url("/ws/video/cam-far"))
        .bearer_auth(&op)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("GET /ws/video");
    assert_eq!(video.status(), 404);
    // nor can the city's operator put it on a wall layout
    let layout = json!({"size": 4, "tiles": ["cam-far"]});
    let (status, body) = hub
        .call("PUT", "/api/v1/wall/layouts/city", &op, Some(layout))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "tiles");

    // The area tools answer within the scope too: the same province-wide question gives the
    // admin every device (the camera is one) and the city's operator only the city's.
    let province = Some(json!({"area": "cb"}));
    let summary_keys = |v: serde_json::Value| v["device_keys"].clone();
    let (status, all) = hub
        .call("POST", "/api/v1/areas/summary", &admin, province.clone())
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(summary_keys(all), json!(["cam-far", "far-west", "in-city"]));
    let (_, city) = hub
        .call("POST", "/api/v1/areas/summary", &op, province)
        .await;
    assert_eq!(summary_keys(city), json!(["in-city"]));

    // Live: the scoped client gets the city's telemetry and never the west's. The admin's feed
    // shows the order the hub sent things in: the west's reading went out before the city's.
    let sub = json!({"op": "subscribe", "topics": ["telemetry"]});
    let mut all = hub.ws(sub.clone()).await;
    let mut scoped = hub.ws_as(&op, sub).await;
    device
        .publish("ioc/far-west/telemetry", r#"{"water_level": 2.0}"#)
        .await;
    all.until(Duration::from_secs(10), |f| {
        f["device"] == "far-west" && f["value"] == 2.0
    })
    .await;
    device
        .publish("ioc/in-city/telemetry", r#"{"water_level": 3.0}"#)
        .await;
    let mut seen = Vec::new();
    scoped
        .until(Duration::from_secs(10), |f| {
            seen.push(f.clone());
            f["device"] == "in-city" && f["value"] == 3.0
        })
        .await;
    assert!(
        seen.iter().all(|f| f["device"] != "far-west"),
        "the scoped feed carried a device outside its areas: {seen:?}"
    );
}

#[tokio::test]
async fn locking_an_account_closes_its_live_feed_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();
    let op = account(&hub, "wall-op", Role::Operator, json!({})).await;
    let sub = json!({"op": "subscribe", "topics": ["alerts", "devices"]});
    let mut feed = hub.ws_as(&op, sub.clone()).await;
    let mut other = hub.ws_as(&op, sub.clone()).await;
    let mut admins = hub.ws(sub.clone()).await;
    assert_eq!(
        feed.closed_within(Duration::from_millis(200)).await,
        None,
        "open"
    );

    let (status, _) = hub
        .call("POST", "/api/v1/users/wall-op/lock", &admin, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(feed.closed_within(Duration::from_secs(1)).await, Some(4001));
    assert_eq!(
        other.closed_within(Duration::from_secs(1)).await,
        Some(4001)
    );
    assert_eq!(
        admins.closed_within(Duration::from_millis(200)).await,
        None,
        "others stay"
    );

    // A logout closes the feeds of that session only.
    let (_, login) = hub.login_as("admin", hub::PASSWORD).await;
    let second = login["token"].as_str().expect("token").to_owned();
    let mut mine = hub.ws_as(&second, sub).await;
    assert_eq!(
        hub.call("POST", "/api/v1/auth/logout", &second, None)
            .await
            .0,
        204
    );
    assert_eq!(mine.closed_within(Duration::from_secs(1)).await, Some(4001));
    assert_eq!(admins.closed_within(Duration::from_millis(200)).await, None);

    // Revoking for good closes the feeds the same way.
    let viewer = account(&hub, "wall-tv", Role::Viewer, json!({})).await;
    let mut tv = hub
        .ws_as(&viewer, json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    let revoke = hub.call("POST", "/api/v1/users/wall-tv/revoke", &admin, None);
    assert_eq!(revoke.await.0, 200);
    assert_eq!(tv.closed_within(Duration::from_secs(1)).await, Some(4001));
    assert_eq!(admins.closed_within(Duration::from_millis(200)).await, None);
}

#[tokio::test]
async fn browsers_get_strict_headers_and_other_sites_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let own = format!("http://127.0.0.1:{}", hub.http);
    for path in ["/", "/api/v1/devices", "/healthz"] {
        let resp = hub
            .client
            .get(hub.url(path))
            .bearer_auth(&hub.token)
            .send()
            .await
            .expect("GET");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().expect("csp");
        for part in [
            "default-src 'self'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }

    // The session cookie, as a browser holds it after the login.
    let cookie = format!("iochub_session={}", hub.token);
    let with_cookie = |origin: Option<&str>| {
        let mut req = hub
            .client
            .post(hub.url("/api/v1/users/nobody/unlock"))
            .header("cookie", &cookie);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req
    };
    for origin in [Some("http://evil.example"), None] {
        let resp = with_cookie(origin).send().await.expect("POST");
        assert_eq!(resp.status(), 403, "{origin:?}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "csrf", "{origin:?}: {body}");
    }
    let resp = with_cookie(Some(&own)).send().await.expect("POST");
    assert_eq!(
        resp.status(),
        404,
        "from the hub's own page the change goes through"
    );
    let (status, _) = hub
        .call("POST", "/api/v1/users/nobody/unlock", &hub.token, None)
        .await;
    assert_eq!(
        status, 404,
        "a bearer token is no browser: no origin needed"
    );

    // The live feed and the login refuse another site's page.
    let ws = |origin: &str| {
        hub.client
            .get(hub.url("/ws"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .send()
    };
    let refused = ws("http://evil.example").await.expect("GET /ws");
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "origin");
    // a camera's video too
    let video = hub
        .client
        .get(hub.url("/ws/video/cam-01"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("GET /ws/video");
    assert_eq!(video.status(), 403);
    let body: Value = video.json().await.expect("json");
    assert_eq!(body["error"]["code"], "origin");
    let own_page = ws(&own).await.expect("GET /ws");
    assert!(own_page.status() != 403, "{}", own_page.status());
    let login = hub
        .client
        .post(hub.url("/api/v1/auth/login"))
        .header("origin", "http://evil.example")
        .json(&json!({"username": "admin", "password": hub::PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 403);
    let (_, audit) = hub
        .call(
            "GET",
            "/api/v1/audit?action=access.denied",
            &hub.token,
            None,
        )
        .await;
    assert!(
        audit.as_array().is_some_and(|a| a.len() >= 3),
        "the refusals are in the audit trail: {audit}"
    );
}

#[tokio::test]
async fn one_address_gets_a_few_login_attempts_a_minute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("IOCHUB_LOGINS_PER_MINUTE", "4")];
    let hub = Hub::start_with_env(dir.path(), DEFAULT_RULES, Broker::Embedded(0), &env).await;
    // the harness's own login was the first of the four
    for user in ["a1", "a2", "a3"] {
        assert_eq!(hub.login_as(user, "some password 1").await.0, 401);
    }
    let resp = hub
        .client
        .post(hub.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": hub::PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 429, "even the right password waits");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("secs");
    assert!((1..=15).contains(&retry), "{retry}");
    // A flood of refused attempts is one audit record a minute, and a count.
    for user in ["a4", "a5"] {
        assert_eq!(hub.login_as(user, "some password 1").await.0, 429);
    }
    let limited = hub
        .metric(r#"iochub_auth_logins_total{result="limited"}"#)
        .await;
    assert_eq!(limited, 3.0);
    let (_, audit) = hub
        .call("GET", "/api/v1/audit?action=auth", &hub.token, None)
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "auth.login_failed")
            .count(),
        3
    );
    assert_eq!(actions.first(), Some(&"auth.login_limited"));
    let recorded = actions.iter().filter(|a| **a == "auth.login_limited");
    assert_eq!(recorded.count(), 1, "{actions:?}");
}

/// A login through a proxy at `from`, as `X-Forwarded-For` says; returns the status.
async fn login_via(hub: &Hub, from: &str, username: &str) -> u16 {
    hub.client
        .post(hub.url("/api/v1/auth/login"))
        .header("x-forwarded-for", from)
        .json(&json!({"username": username, "password": "some password 1"}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

/// The addresses of the audit trail's failed logins, newest first.
async fn failed_login_addresses(hub: &Hub) -> Vec<String> {
    let (_, audit) = hub
        .call(
            "GET",
            "/api/v1/audit?action=auth.login_failed",
            &hub.token,
            None,
        )
        .await;
    let records = audit.as_array().expect("records").iter();
    records
        .filter_map(|r| r["address"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_audited_and_limited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("IOCHUB_LOGINS_PER_MINUTE", "2"),
        ("IOCHUB_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
    ];
    let hub = Hub::start_with_env(dir.path(), DEFAULT_RULES, Broker::Embedded(0), &env).await;
    // The client is the first untrusted address from the right; a spoofed entry left of it is
    // passed over.
    assert_eq!(
        login_via(&hub, "6.6.6.6, 203.0.113.7, 10.1.2.3", "x1").await,
        401
    );
    assert_eq!(failed_login_addresses(&hub).await[0], "203.0.113.7");
    // Each client has its own login limit (2 a minute), not the proxy's one for everyone.
    assert_eq!(login_via(&hub, "203.0.113.7", "x2").await, 401);
    assert_eq!(login_via(&hub, "203.0.113.7", "x3").await, 429);
    assert_eq!(login_via(&hub, "198.51.100.9", "x4").await, 401);

    // Without trusted proxies the header is the sender's word and is ignored.
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    assert_eq!(login_via(&hub, "203.0.113.7", "x1").await, 401);
    assert_eq!(failed_login_addresses(&hub).await[0], "127.0.0.1");
}

#[tokio::test]
async fn integrator_tokens_are_narrowed_listed_without_their_secret_and_revoked_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();
    account(&hub, "scada", Role::Integrator, json!({})).await;
    let full = api_token(&hub, "scada", json!([])).await;
    let narrow = api_token(&hub, "scada", json!(["devices_read"])).await;
    assert!(full.starts_with("iochub_") && full != narrow);

    assert_eq!(
        hub.call("GET", "/api/v1/devices", &narrow, None).await.0,
        200
    );
    assert_eq!(hub.call("GET", "/metrics", &full, None).await.0, 200);
    let (status, body) = hub.call("GET", "/metrics", &narrow, None).await;
    assert_eq!(status, 403, "the token holds less than its role: {body}");
    assert_eq!(
        hub.call("GET", "/api/v1/map", &full, None).await.0,
        403,
        "not the role's"
    );

    let bad = json!({"name": "x", "username": "scada", "permissions": ["users_manage"]});
    let (status, body) = hub.call("POST", "/api/v1/tokens", &admin, Some(bad)).await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("permissions"))
    );
    let not_integrator = json!({"name": "x", "username": "admin"});
    assert_eq!(
        hub.call("POST", "/api/v1/tokens", &admin, Some(not_integrator))
            .await
            .0,
        400
    );

    let (_, list) = hub.call("GET", "/api/v1/tokens", &admin, None).await;
    let list = list.as_array().expect("tokens").clone();
    assert_eq!(list.len(), 2);
    assert!(
        !Value::Array(list.clone()).to_string().contains(&full[7..]),
        "never the secret"
    );
    let narrow_id = list
        .iter()
        .find(|t| t["permissions"] == json!(["devices_read"]))
        .and_then(|t| t["id"].as_str())
        .expect("id")
        .to_owned();
    let (status, revoked) = hub
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{narrow_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(
        hub.call("GET", "/api/v1/devices", &narrow, None).await.0,
        401,
        "at once"
    );
    assert_eq!(
        hub.call(
            "DELETE",
            &format!("/api/v1/tokens/{narrow_id}"),
            &admin,
            None
        )
        .await
        .0,
        409
    );

    // Locking the integrator ends its tokens too.
    assert_eq!(
        hub.call("POST", "/api/v1/users/scada/lock", &admin, None)
            .await
            .0,
        200
    );
    assert_eq!(hub.call("GET", "/api/v1/devices", &full, None).await.0, 401);
    let (_, audit) = hub
        .call("GET", "/api/v1/audit?action=token", &admin, None)
        .await;
    let records: Vec<(&str, &str)> = audit
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let count = |want: (&str, &str)| records.iter().filter(|r| **r == want).count();
    assert_eq!(count(("token.create", "ok")), 2, "{records:?}");
    assert_eq!(
        count(("token.create", "refused:400")),
        2,
        "refused attempts are recorded too"
    );
    assert_eq!(count(("token.revoke", "ok")), 1);
    assert_eq!(count(("token.revoke", "refused:409")), 1);
}

#[tokio::test]
async fn an_integrator_given_another_role_loses_its_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    account(&hub, "bridge", Role::Integrator, json!({})).await;
    let token = api_token(&hub, "bridge", json!([])).await;
    assert_eq!(
        hub.call("GET", "/api/v1/devices", &token, None).await.0,
        200
    );
    // Promoted by mistake or on purpose: the token must not carry the operator's powers, with
    // neither a second factor nor an idle timeout.
    let promote = Some(json!({"role": "operator"}));
    let patch = hub.call("PATCH", "/api/v1/users/bridge", &hub.token, promote);
    assert_eq!(patch.await.0, 200);
    assert_eq!(
        hub.call("GET", "/api/v1/devices", &token, None).await.0,
        401
    );
    assert_eq!(hub.call("GET", "/api/v1/alerts", &token, None).await.0, 401);
    let (_, list) = hub.call("GET", "/api/v1/tokens", &hub.token, None).await;
    assert!(
        list[0]["revoked_at"].is_string(),
        "listed as revoked: {list}"
    );
    // Back to integrator: the old token stays revoked.
    let demote = Some(json!({"role": "integrator"}));
    let patch = hub.call("PATCH", "/api/v1/users/bridge", &hub.token, demote);
    assert_eq!(patch.await.0, 200);
    assert_eq!(
        hub.call("GET", "/api/v1/devices", &token, None).await.0,
        401
    );
}

/// Moves the hub's clock (`IOCHUB_TEST_CLOCK_FILE`, debug builds) to `minutes` ahead of now.
fn clock_ahead(file: &std::path::Path, minutes: i64) {
    std::fs::write(file, (minutes * 60_000).to_string()).expect("clock file");
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_end_by_the_hubs_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("clock");
    clock_ahead(&clock, 0);
    let path = clock.to_string_lossy().into_owned();
    let env = [("IOCHUB_TEST_CLOCK_FILE", path.as_str())];
    let hub = Hub::start_with_env(dir.path(), DEFAULT_RULES, Broker::Embedded(0), &env).await;
    let op = account(&hub, "night-op", Role::Operator, json!({})).await;
    let me = |token: String, background: bool| {
        let mut req = hub
            .client
            .get(hub.url("/api/v1/auth/me"))
            .bearer_auth(token);
        if background {
            req = req.header("x-iochub-background", "1");
        }
        async move { req.send().await.expect("request").status().as_u16() }
    };

    // Admins: 15 minutes idle. Activity moves the idle clock; 16 minutes of nothing ends it.
    clock_ahead(&clock, 14);
    assert_eq!(me(hub.token.clone(), false).await, 200, "14 min idle");
    clock_ahead(&clock, 28);
    assert_eq!(
        me(hub.token.clone(), false).await,
        200,
        "14 min since the last request"
    );
    clock_ahead(&clock, 44);
    assert_eq!(me(hub.token.clone(), false).await, 401, "16 min idle");

    // Others: 30 minutes; the app's background refreshes are not the person's activity, and
    // neither is a live feed: the socket closes by itself once the session is idle.
    clock_ahead(&clock, 0);
    let mut feed = hub
        .ws_as(&op, json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    clock_ahead(&clock, 25);
    assert_eq!(me(op.clone(), true).await, 200);
    clock_ahead(&clock, 35);
    let checked_every = iochub::ws::client::LIVE_CHECK + Duration::from_secs(1);
    assert_eq!(
        feed.closed_within(checked_every).await,
        Some(4001),
        "idle feed"
    );
    assert_eq!(
        me(op.clone(), true).await,
        401,
        "35 min without a person's request"
    );

    // The absolute end: 12 hours after the login, however active the session.
    let login = hub.login_as("night-op", GOOD).await;
    let op = login.1["token"].as_str().expect("token").to_owned();
    for minutes in (55..35 + 12 * 60).step_by(20) {
        clock_ahead(&clock, minutes);
        assert_eq!(me(op.clone(), false).await, 200, "active at +{minutes} min");
    }
    clock_ahead(&clock, 35 + 12 * 60 + 1);
    assert_eq!(me(op.clone(), false).await, 401, "12 h after the login");
    let (status, _) = hub.login_as("night-op", GOOD).await;
    assert_eq!(status, 200, "a new login starts a new session");
}

/// The authenticator app's code for `secret` at `unix_s`, computed the RFC 6238 way.
fn app_code(username: &str, secret: &str, unix_s: i64) -> String {
    let factor = iochub::accounts::SecondFactor {
        secret: secret.into(),
        confirmed: true,
        last_step: 0,
        recovery: Vec::new(),
    };
    factor.code_at(username, u64::try_from(unix_s).expect("after 1970"))
}

async fn login_with_code(hub: &Hub, username: &str, code: Option<&str>) -> (u16, Value) {
    let body = json!({"username": username, "password": GOOD, "totp": code});
    hub.call("POST", "/api/v1/auth/login", "", Some(body)).await
}

/// Enrols `token`'s account; returns (secret, recovery codes).
async fn enrol(hub: &Hub, token: &str, username: &str) -> (String, Vec<String>) {
    let (status, started) = hub.call("POST", "/api/v1/auth/totp", token, None).await;
    assert_eq!(status, 200, "{started}");
    let secret = started["secret"].as_str().expect("secret").to_owned();
    assert!(
        started["otpauth_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("otpauth://totp/iochub:{username}?"))),
        "{started}"
    );
    let qr = started["qr_svg"].as_str().expect("a QR code");
    assert!(qr.contains("<svg") && qr.contains("<path"), "{qr}");
    let wrong = Some(json!({"code": "000000"}));
    let confirm = "/api/v1/auth/totp/confirm";
    let (status, _) = hub.call("POST", confirm, token, wrong).await;
    assert_eq!(status, 400, "a wrong first code confirms nothing");
    let code = app_code(username, &secret, now_ms() / 1000);
    let (status, done) = hub
        .call("POST", confirm, token, Some(json!({"code": code})))
        .await;
    assert_eq!(status, 200, "{done}");
    let codes: Vec<String> = done["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

#[tokio::test]
async fn a_second_factor_guards_the_login_and_each_code_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let op = account(&hub, "duty-op", Role::Operator, json!({})).await;
    let (secret, recovery) = enrol(&hub, &op, "duty-op").await;
    let (_, me) = hub.call("GET", "/api/v1/auth/me", &op, None).await;
    assert_eq!(me["totp_enabled"], true, "{me}");

    // The password alone is no longer enough, and says what is missing.
    let (status, body) = login_with_code(&hub, "duty-op", None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("totp_required")),
        "{body}"
    );
    let (status, _) = login_with_code(&hub, "duty-op", Some("123456")).await;
    assert_eq!(status, 401, "a wrong code");
    // The confirmation used this step's code: the next step's is within the drift window.
    let code = app_code("duty-op", &secret, now_ms() / 1000 + 30);
    let (status, body) = login_with_code(&hub, "duty-op", Some(&code)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = login_with_code(&hub, "duty-op", Some(&code)).await;
    assert_eq!(status, 401, "the same code twice is a replay");
    let (status, _) = login_with_code(&hub, "duty-op", Some(&recovery[0])).await;
    assert_eq!(status, 200, "a recovery code");
    let (status, _) = login_with_code(&hub, "duty-op", Some(&recovery[0])).await;
    assert_eq!(status, 401, "each recovery code once");
    // Logins racing with one code: all read the account before any is done hashing, and still
    // only one gets in (the store uses the code up by compare and set).
    let racing = (0..4).map(|_| login_with_code(&hub, "duty-op", Some(&recovery[1])));
    let statuses: Vec<u16> = futures_util::future::join_all(racing)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );

    // Lost phone: the admin clears the factor; the password is enough again.
    let (status, user) = hub
        .call("POST", "/api/v1/users/duty-op/reset-totp", &hub.token, None)
        .await;
    assert_eq!(
        (status, &user["totp_enabled"]),
        (200, &json!(false)),
        "{user}"
    );
    let (status, _) = login_with_code(&hub, "duty-op", None).await;
    assert_eq!(status, 200);
    let (_, audit) = hub.get("/api/v1/audit?action=user.reset_totp").await;
    assert_eq!(audit[0]["target"], "duty-op", "{audit}");
    // Not on one's own account: that would skip the password the self-service asks for.
    for reset in ["reset-totp", "reset-password"] {
        let own = format!("/api/v1/users/admin/{reset}");
        let (status, body) = hub.call("POST", &own, &hub.token, None).await;
        assert_eq!(status, 409, "{reset}: {body}");
    }
}

#[tokio::test]
async fn where_required_admins_enrol_a_second_factor_before_anything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_with_env(
        dir.path(),
        DEFAULT_RULES,
        Broker::Embedded(0),
        &[("IOCHUB_REQUIRE_TOTP", "true")],
    )
    .await;
    let admin = hub.token.clone();
    let (_, me) = hub.call("GET", "/api/v1/auth/me", &admin, None).await;
    assert_eq!(me["must_enrol_totp"], true, "{me}");
    let (status, body) = hub.call("GET", "/api/v1/devices", &admin, None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("totp_enrollment_required")),
        "{body}"
    );
    enrol(&hub, &admin, "admin").await;
    assert_eq!(
        hub.call("GET", "/api/v1/devices", &admin, None).await.0,
        200
    );
    // Operators are not concerned.
    let op = account(&hub, "plain-op", Role::Operator, json!({})).await;
    assert_eq!(hub.call("GET", "/api/v1/devices", &op, None).await.0, 200);
    let off = Some(json!({"password": hub::PASSWORD}));
    let (status, body) = hub.call("DELETE", "/api/v1/auth/totp", &admin, off).await;
    assert_eq!(status, 409, "required for the role: {body}");
}
