//! The audit trail against the running hub: what the guard and the login record (who, from
//! where, what, the result), the admin's view with filters and CSV, and `iochub audit verify`
//! before and after one stored record is edited.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn verify(data_dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iochub"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "error")
        .output()
        .expect("run iochub audit verify");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn actions(records: &Value) -> Vec<String> {
    records
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn actions_are_recorded_listed_exported_and_the_chain_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();

    assert_eq!(
        hub.login_as("admin", "not the password at all").await.0,
        401
    );
    let new = json!({"username": "op1", "role": "operator", "password": "tạm thời 12345"});
    assert_eq!(
        hub.call("POST", "/api/v1/users", &admin, Some(new)).await.0,
        201
    );
    assert_eq!(
        hub.call("POST", "/api/v1/users/op1/lock", &admin, None)
            .await
            .0,
        200
    );
    assert_eq!(
        hub.call("POST", "/api/v1/users/op1/unlock", &admin, None)
            .await
            .0,
        200
    );
    let (_, login) = hub.login_as("op1", "tạm thời 12345").await;
    let op = login["token"].as_str().expect("token").to_owned();
    let change = json!({"current": "tạm thời 12345", "new": "Mưa lũ sông Bằng 2026"});
    assert_eq!(
        hub.call("POST", "/api/v1/auth/password", &op, Some(change))
            .await
            .0,
        204
    );
    assert_eq!(hub.call("GET", "/api/v1/users", &op, None).await.0, 403);
    assert_eq!(
        hub.call("GET", "/api/v1/audit", &op, None).await.0,
        403,
        "admins only"
    );

    let (status, all) = hub.call("GET", "/api/v1/audit", &admin, None).await;
    assert_eq!(status, 200, "{all}");
    let seen = actions(&all);
    for a in [
        "auth.login",
        "auth.login_failed",
        "user.create",
        "user.lock",
        "user.unlock",
        "auth.password_change",
        "access.denied",
    ] {
        assert!(seen.iter().any(|s| s == a), "{a} missing from {seen:?}");
    }
    let records = all.as_array().expect("records");
    let failed = records
        .iter()
        .find(|r| r["action"] == "auth.login_failed")
        .expect("failed login");
    assert_eq!(failed["actor"], "admin");
    assert_eq!(failed["address"], "127.0.0.1");
    assert_eq!(failed["result"], "refused:401");
    let lock = records
        .iter()
        .find(|r| r["action"] == "user.lock")
        .expect("lock");
    assert_eq!(
        (
            lock["actor"].clone(),
            lock["target"].clone(),
            lock["result"].clone()
        ),
        (json!("admin"), json!("op1"), json!("ok"))
    );
    let denied: Vec<(&Value, &Value)> = records
        .iter()
        .filter(|r| r["action"] == "access.denied")
        .map(|r| (&r["actor"], &r["target"]))
        .collect();
    assert_eq!(
        denied,
        [
            (&json!("op1"), &json!("GET /api/v1/audit")),
            (&json!("op1"), &json!("GET /api/v1/users"))
        ]
    );
    let created = records
        .iter()
        .find(|r| r["action"] == "user.create")
        .expect("create");
    assert!(
        created["detail"]
            .as_str()
            .unwrap_or("")
            .contains("\"role\":\"operator\"")
    );
    assert!(
        !all.to_string().contains("tạm thời"),
        "no password reaches the trail"
    );
    let seqs: Vec<i64> = records.iter().filter_map(|r| r["seq"].as_i64()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );

    let (_, family) = hub
        .call("GET", "/api/v1/audit?action=user&actor=admin", &admin, None)
        .await;
    assert_eq!(
        actions(&family),
        ["user.unlock", "user.lock", "user.create"]
    );

    let resp = hub
        .client
        .get(hub.url("/api/v1/audit?format=csv&action=user"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.expect("text");
    assert!(
        csv.starts_with(
            "\u{feff}seq,ts,actor,address,action,target,result,detail,prev_hash,hash\n"
        )
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let (_, after) = hub
        .call("GET", "/api/v1/audit?action=export", &admin, None)
        .await;
    assert_eq!(
        actions(&after),
        ["export.audit"],
        "the export is recorded too"
    );

    // The chain holds while the hub runs; one edited record breaks it, at that record.
    let (code, out) = verify(&hub.data_dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail intact"), "{out}");
    hub.stop();
    let lock_seq = lock["seq"].as_i64().expect("seq");
    let db = rusqlite::Connection::open(hub.data_dir.join("iochub.db")).expect("open");
    db.execute_batch("DROP TRIGGER audit_append_only")
        .expect("drop the guard");
    db.execute(
        "UPDATE audit SET actor = 'someone else' WHERE seq = ?1",
        [lock_seq],
    )
    .expect("tamper");
    drop(db);
    let (code, out) = verify(&hub.data_dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("broken at seq {lock_seq}")), "{out}");
}

#[tokio::test]
async fn a_change_to_the_rules_file_is_an_audit_record_and_so_is_a_refused_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let added = format!(
        "{DEFAULT_RULES}\n[[rules]]\nid = \"pm25-high\"\nmetric = \"pm25\"\nop = \">\"\nvalue = 55.5\nseverity = \"warning\"\n"
    );
    std::fs::write(&hub.rules, added).expect("edit rules");
    hub.signal("HUP");
    let record = eventually("rules.update recorded", Duration::from_secs(20), || async {
        let (_, list) = hub.get("/api/v1/audit?action=rules.update").await;
        list.as_array().and_then(|l| l.first().cloned())
    })
    .await;
    assert_eq!(
        (&record["actor"], &record["result"]),
        (&json!("system"), &json!("ok"))
    );
    let detail: Value =
        serde_json::from_str(record["detail"].as_str().expect("detail")).expect("json");
    assert_eq!(detail["added"], json!(["pm25-high"]), "{detail}");
    assert_eq!(detail["removed"], json!([]));

    std::fs::write(&hub.rules, "[[rules]]\nid = \"broken\"\n").expect("break rules");
    hub.signal("HUP");
    let refused = eventually("refusal recorded", Duration::from_secs(20), || async {
        let (_, list) = hub.get("/api/v1/audit?action=rules.update").await;
        list.as_array()
            .and_then(|l| l.iter().find(|r| r["result"] == "refused").cloned())
    })
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("broken")),
        "the refusal names the rule: {refused}"
    );
    let (code, text) = verify(&hub.data_dir);
    assert_eq!(code, 0, "{text}");
}
