//! Reports and connected systems against the running hub: the demo's systems and a new one
//! through the API, a device's system from the key patterns and from the device itself, the
//! handling report as JSON and as CSV a spreadsheet opens (UTF-8 BOM, Vietnamese intact), and
//! who may read it.

mod support;

use std::time::Duration;

use iochub::accounts::Role;
use iochub::calendar::Zone;
use serde_json::{Value, json};
use support::*;

const T: Duration = Duration::from_secs(20);

async fn device(hub: &Hub, key: &str) -> Value {
    let (status, d) = hub.get(&format!("/api/v1/devices/{key}")).await;
    assert_eq!(status, 200, "{d}");
    d
}

#[tokio::test]
async fn systems_devices_and_the_handling_report_through_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The supply tally is written every 200 ms instead of 10 s, so the report shows it soon.
    let hub = Hub::start_with_env(
        dir.path(),
        DEFAULT_RULES,
        Broker::Embedded(0),
        &[("IOCHUB_REPORT_FLUSH", "200ms")],
    )
    .await;
    let op = account(&hub, "op1", Role::Operator, json!({})).await;
    let sup = account(&hub, "sup1", Role::Supervisor, json!({})).await;

    // The demo's systems are there; an admin adds one, an operator may not.
    let (_, systems) = hub.get("/api/v1/systems").await;
    let ids: Vec<&str> = systems
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(ids.contains(&"tai-nguyen-nuoc"), "{systems}");
    let camera = json!({"id": "camera", "name": "Hệ thống camera giám sát", "owner": "Công an tỉnh",
        "expected_interval_s": 60, "devices": ["cam-*"]});
    let (status, body) = hub
        .call("POST", "/api/v1/systems", &op, Some(camera.clone()))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = hub
        .call("POST", "/api/v1/systems", &hub.token, Some(camera.clone()))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = hub
        .call("POST", "/api/v1/systems", &hub.token, Some(camera))
        .await;
    assert_eq!(status, 409, "the id exists");
    let (status, body) = hub
        .call(
            "POST",
            "/api/v1/systems",
            &hub.token,
            Some(json!({"id": "Bad Id", "name": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("id")),
        "{body}"
    );
    let (status, body) = hub
        .call(
            "PATCH",
            "/api/v1/systems/camera",
            &hub.token,
            Some(json!({"expected_interval_s": 0, "owner": ""})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["expected_interval_s"].clone(), body["owner"].clone()),
        (Value::Null, Value::Null)
    );

    // A device gets its system from the key patterns, or its own.
    let mut dev = Publisher::device(&hub.mqtt_url(), "cb-wl-x1").await;
    let now = iochub::timefmt::now_ms();
    let pack = |d: &str| json!([{"bn": format!("{d}/"), "n": "water_level", "v": 5.5, "t": now as f64 / 1000.0}]);
    dev.send("ioc/cb-wl-x1/telemetry", pack("cb-wl-x1").to_string())
        .await;
    let mut other = Publisher::device(&hub.mqtt_url(), "gate-1").await;
    other
        .send(
            "ioc/gate-1/telemetry",
            json!([{"bn": "gate-1/", "n": "temperature", "v": 30.0}]).to_string(),
        )
        .await;
    hub.wait_reading("cb-wl-x1", "water_level", now).await;
    eventually("gate-1 registered", T, || async {
        (hub.get("/api/v1/devices/gate-1").await.0 == 200).then_some(())
    })
    .await;
    let d = device(&hub, "cb-wl-x1").await;
    assert_eq!(
        (d["system"].as_str(), d["system_from"].as_str()),
        (Some("tai-nguyen-nuoc"), Some("pattern")),
        "{d}"
    );
    let d = device(&hub, "gate-1").await;
    assert_eq!(
        (d["system"].clone(), d["system_from"].as_str()),
        (Value::Null, Some("none")),
        "{d}"
    );
    let patch = json!({"system": "camera", "tags": ["gate", "river"], "expected_interval_s": 300});
    let (status, d) = hub
        .call("PATCH", "/api/v1/devices/gate-1", &hub.token, Some(patch))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["system"].as_str(), d["system_from"].as_str()),
        (Some("camera"), Some("device"))
    );
    assert_eq!(
        (d["tags"].clone(), d["expected_interval_s"].clone()),
        (json!(["gate", "river"]), json!(300.0))
    );
    assert_eq!(d["areas"], json!([]), "no position, no area");
    let (status, d) = hub
        .call(
            "PATCH",
            "/api/v1/devices/gate-1",
            &hub.token,
            Some(json!({"areas": ["cb-p-thucphan"]})),
        )
        .await;
    assert_eq!(
        (status, d["areas"].clone()),
        (200, json!(["cb-p-thucphan"])),
        "{d}"
    );
    for (bad, field) in [
        (json!({"areas": ["nowhere"]}), "areas"),
        (json!({"system": "nope"}), "system"),
        (json!({"tags": ["Not A Tag"]}), "tags"),
        (json!({"expected_interval_s": -5}), "expected_interval_s"),
    ] {
        let (status, body) = hub
            .call("PATCH", "/api/v1/devices/gate-1", &hub.token, Some(bad))
            .await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }

    // The flood rule fired on cb-wl-x1; the operator acknowledges it.
    let alert = eventually("the alert", T, || async {
        let (_, alerts) = hub.get("/api/v1/alerts?device=cb-wl-x1").await;
        alerts.as_array().and_then(|a| a.first().cloned())
    })
    .await;
    let id = alert["id"].as_i64().expect("id");
    let (status, body) = hub
        .call(
            "POST",
            &format!("/api/v1/alerts/{id}/acknowledge"),
            &op,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Today's report (local days of Asia/Ho_Chi_Minh) counts it, acknowledged.
    let today = Zone::default()
        .date_of(iochub::timefmt::now_ms())
        .to_string();
    let path = format!("/api/v1/reports/handling?from={today}&to={today}");
    let (status, r) = hub.call("GET", &path, &sup, None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["by_state"]["acknowledged"], 1, "{r}");
    assert!(r["ack_median_s"].as_f64().is_some_and(|s| s >= 0.0), "{r}");
    assert_eq!(r["period"]["timezone"], "Asia/Ho_Chi_Minh");
    assert_eq!(r["province"], "Cao Bằng");
    assert_eq!(r["open_at_end_total"], 1);
    let (status, _) = hub.call("GET", &path, &op, None).await;
    assert_eq!(status, 403, "an operator does not read the reports");
    let (status, body) = hub
        .call("GET", "/api/v1/reports/handling?period=2026-13", &sup, None)
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("period")),
        "{body}"
    );

    // As CSV: a BOM, then Vietnamese intact; the download is in the audit trail.
    let resp = hub
        .client
        .get(hub.url(&format!("{path}&format=csv")))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().ok(),
        Some("text/csv; charset=utf-8")
    );
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(
        text.starts_with("Báo cáo tình hình tiếp nhận và xử lý cảnh báo"),
        "{text}"
    );
    assert!(text.contains("Tỉnh / Province,Cao Bằng\r\n"), "{text}");
    assert!(
        text.contains("Tổng số cảnh báo / Alerts opened,1\r\n"),
        "{text}"
    );
    let (_, audit) = hub.get("/api/v1/audit?action=export.report").await;
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");

    // The data-supply report of today: cb-wl-x1's reading, under its system.
    let path = format!("/api/v1/reports/data-supply?from={today}&to={today}");
    let r = eventually("cb-wl-x1 in the supply report", T, || async {
        let (status, r) = hub.call("GET", &path, &sup, None).await;
        assert_eq!(status, 200, "{r}");
        let wl = r["devices"]
            .as_array()?
            .iter()
            .find(|d| d["device"] == "cb-wl-x1")?
            .clone();
        (wl["received"] == 1).then_some(r)
    })
    .await;
    let wl = r["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["device"] == "cb-wl-x1"))
        .expect("device");
    assert_eq!(wl["system"], "tai-nguyen-nuoc", "{wl}");
    assert_eq!(wl["live"], 1.0, "stored at once: {wl}");
    let system = r["systems"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == "tai-nguyen-nuoc"))
        .expect("system");
    for key in [
        "expected",
        "received",
        "rejected",
        "completeness",
        "correct",
        "complete",
        "clean",
        "live",
    ] {
        assert!(system.get(key).is_some(), "{key} in {system}");
    }
    assert_eq!(system["received"], 1, "{system}");
    let gate = r["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["device"] == "gate-1"))
        .expect("gate-1");
    assert_eq!(
        (gate["system"].as_str(), gate["interval_source"].as_str()),
        (Some("camera"), Some("device"))
    );
    assert!(
        gate["expected"].as_u64().is_some_and(|e| e <= 1),
        "300 s interval, seconds old: {gate}"
    );
    let resp = hub
        .client
        .get(hub.url(&format!("{path}&format=csv")))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("csv");
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(
        text.contains(
            "tai-nguyen-nuoc,Mạng trạm quan trắc tài nguyên nước,Sở Nông nghiệp và Môi trường"
        ),
        "{text}"
    );

    // An account scoped to an area does not read the province's reports.
    let scoped = account(
        &hub,
        "sup-ward",
        Role::Supervisor,
        json!({"areas": ["cb-p-thucphan"]}),
    )
    .await;
    let (status, body) = hub.call("GET", &path, &scoped, None).await;
    assert_eq!(status, 403, "{body}");
}

/// Issued reports never change: late data changes the live report, not the issued one; issuing
/// again makes version 2; the hash is the JSON's and the audit trail's.
#[tokio::test]
async fn an_issued_report_never_changes_and_a_reissue_is_a_new_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let today = Zone::default()
        .date_of(iochub::timefmt::now_ms())
        .to_string();
    let issue = json!({"kind": "handling", "from": today, "to": today});
    let (status, v1) = hub
        .call(
            "POST",
            "/api/v1/reports/issued",
            &hub.token,
            Some(issue.clone()),
        )
        .await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(
        (v1["version"].as_i64(), v1["issued_by"].as_str()),
        (Some(1), Some("admin"))
    );
    let get = |id: i64| {
        let hub = &hub;
        async move {
            let resp = hub
                .client
                .get(hub.url(&format!("/api/v1/reports/issued/{id}")))
                .bearer_auth(&hub.token)
                .send()
                .await
                .expect("get issued");
            assert_eq!(resp.status(), 200);
            let sha = resp.headers()["x-iochub-sha256"]
                .to_str()
                .expect("hash")
                .to_owned();
            (sha, resp.bytes().await.expect("body"))
        }
    };
    let id1 = v1["id"].as_i64().expect("id");
    let (sha, body) = get(id1).await;
    assert_eq!(sha, v1["sha256"].as_str().expect("sha"));
    assert_eq!(sha, iochub::hex::sha256(&body), "the hash is the body's");
    let issued: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(issued["total"], 0);

    // Late data: an alert today. The live report counts it; the issued one does not change.
    let mut dev = Publisher::device(&hub.mqtt_url(), "wl-late").await;
    dev.send(
        "ioc/wl-late/telemetry",
        json!([{"bn": "wl-late/", "n": "water_level", "v": 6.0}]).to_string(),
    )
    .await;
    eventually("the late alert", T, || async {
        let (_, r) = hub
            .get(&format!("/api/v1/reports/handling?from={today}&to={today}"))
            .await;
        (r["total"] == 1).then_some(())
    })
    .await;
    assert_eq!(
        get(id1).await,
        (sha.clone(), body.clone()),
        "issued stays as issued"
    );
    let (status, v2) = hub
        .call("POST", "/api/v1/reports/issued", &hub.token, Some(issue))
        .await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_ne!(v2["sha256"], v1["sha256"]);
    let (_, body2) = get(v2["id"].as_i64().expect("id")).await;
    let reissued: Value = serde_json::from_slice(&body2).expect("json");
    assert_eq!(reissued["total"], 1);
    assert_eq!(get(id1).await, (sha.clone(), body), "version 1 is kept");

    let (_, list) = hub.get("/api/v1/reports/issued").await;
    let versions: Vec<i64> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["version"].as_i64())
        .collect();
    assert_eq!(versions, [2, 1], "newest first");
    let (_, audit) = hub.get("/api/v1/audit?action=report.issue").await;
    let hashes: Vec<String> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|a| serde_json::from_str::<Value>(a["detail"].as_str()?).ok())
        .filter_map(|d| d["sha256"].as_str().map(str::to_owned))
        .collect();
    assert!(
        hashes.contains(&sha),
        "the audit trail has the hash: {audit}"
    );
    let (status, body) = hub
        .call(
            "POST",
            "/api/v1/reports/issued",
            &hub.token,
            Some(json!({"kind": "weekly", "period": "2026-11"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("kind")),
        "{body}"
    );
}

/// When a year ends, the hub issues the month's, quarter's, half-year's and year's reports by
/// itself. The hub starts at 23:50 on 31 December 2026 (local; its clock is moved), when nothing
/// is due (it was installed after November ended); then its clock passes midnight.
#[tokio::test]
async fn the_hub_issues_the_reports_of_the_periods_that_ended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("clock");
    let set_clock = |local: &str| {
        let target = iochub::timefmt::parse_rfc3339(local).expect("time");
        std::fs::write(&clock, (target - iochub::timefmt::now_ms()).to_string()).expect("clock");
    };
    set_clock("2026-12-31T23:50:00+07:00");
    let path = clock.to_string_lossy().into_owned();
    let env = [
        ("IOCHUB_TEST_CLOCK_FILE", path.as_str()),
        ("IOCHUB_REPORT_FLUSH", "200ms"),
    ];
    let hub = Hub::start_with_env(dir.path(), DEFAULT_RULES, Broker::Embedded(0), &env).await;
    let (_, list) = hub.get("/api/v1/reports/issued").await;
    assert_eq!(
        list,
        json!([]),
        "November ended before the hub was installed"
    );
    set_clock("2027-01-01T00:30:00+07:00");
    // 40 minutes on, the admin's session has ended (15 minutes idle): a new one.
    let token = hub.login(support::hub::PASSWORD).await.expect("login");
    let list = eventually("eight issued reports", T, || async {
        let (_, list) = hub
            .call("GET", "/api/v1/reports/issued", &token, None)
            .await;
        (list.as_array().map(Vec::len) == Some(8)).then_some(list)
    })
    .await;
    let mut issued: Vec<String> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            format!(
                "{} {} v{} {}",
                r["kind"].as_str().unwrap_or(""),
                r["period"].as_str().unwrap_or(""),
                r["version"],
                r["issued_by"].as_str().unwrap_or("")
            )
        })
        .collect();
    issued.sort();
    assert_eq!(
        issued,
        [
            "data-supply 2026 v1 system",
            "data-supply 2026-12 v1 system",
            "data-supply 2026-H2 v1 system",
            "data-supply 2026-Q4 v1 system",
            "handling 2026 v1 system",
            "handling 2026-12 v1 system",
            "handling 2026-H2 v1 system",
            "handling 2026-Q4 v1 system",
        ]
    );
    let (_, audit) = hub
        .call(
            "GET",
            "/api/v1/audit?action=report.issue&actor=system",
            &token,
            None,
        )
        .await;
    assert_eq!(audit.as_array().map(Vec::len), Some(8), "{audit}");
}
