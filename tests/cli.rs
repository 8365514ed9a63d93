//! The command line contract: subcommands, and a bad config gets one clear error naming the key
//! and exit code 2.

use std::process::Command;

fn iochub(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iochub"));
    cmd.args(args)
        .env_remove("IOCHUB_MQTT_URL")
        .env_remove("IOCHUB_HTTP");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run iochub");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn help_lists_the_commands() {
    let (code, text) = iochub(&["--help"], &[]);
    assert_eq!(code, 0);
    for cmd in ["demo", "serve", "migrate", "backup", "restore"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
}

#[test]
fn a_bad_config_names_the_key_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("iochub.toml");
    let conf_s = conf.to_string_lossy().into_owned();

    let (code, text) = iochub(&["serve", "--config", &format!("{conf_s}.missing")], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("cannot read config file"), "{text}");

    std::fs::write(&conf, "").expect("write");
    let (code, text) = iochub(&["serve", "--config", &conf_s], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("`mqtt_url`"),
        "an empty file without IOCHUB_MQTT_URL: {text}"
    );

    let (code, text) = iochub(
        &["serve", "--config", &conf_s],
        &[
            ("IOCHUB_MQTT_URL", "mqtt://127.0.0.1:1"),
            ("IOCHUB_HTTP", "not-an-address"),
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("`http`"), "{text}");

    std::fs::write(&conf, "mqtt_url = \"mqtt://127.0.0.1:1\"\nhttp_port = 80\n").expect("write");
    let (code, text) = iochub(&["serve", "--config", &conf_s], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("http_port"),
        "an unknown key is named: {text}"
    );

    std::fs::write(&conf, "mqtt_url = \"http://example\"\n").expect("write");
    let (code, text) = iochub(&["serve", "--config", &conf_s], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("`mqtt_url`"), "{text}");
}

/// `serve` started from another working directory: the file's relative paths are taken from the
/// file's folder, and without a `rules` key it makes and reads the data directory's rules file.
#[test]
fn serve_runs_from_any_directory_and_defaults_its_rules() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    let site = tempfile::tempdir().expect("tempdir");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let conf = site.path().join("iochub.toml");
    // An unreachable broker is fine: ingest retries while the rest of the hub runs.
    std::fs::write(
        &conf,
        "mqtt_url = \"mqtt://127.0.0.1:1\"\nhttp = \"127.0.0.1:0\"\ndata_dir = \"data\"\n",
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_iochub"))
        .args(["serve", "--config"])
        .arg(&conf)
        .current_dir(elsewhere.path())
        .env_remove("IOCHUB_MQTT_URL")
        .env_remove("IOCHUB_HTTP")
        .env_remove("IOCHUB_RULES")
        .env_remove("IOCHUB_DATA_DIR")
        .env("IOCHUB_ADMIN_PASSWORD", "correct horse battery")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn iochub serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    while !log.iter().any(|l: &String| l.contains("listening")) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => log.push(line),
            Err(_) => panic!("the hub did not start listening: {log:#?}"),
        }
    }
    let rules = site.path().join("data/rules.toml");
    assert!(
        rules.is_file(),
        "the default rules file is created: {log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("no `rules` key") && l.contains("rules.toml")),
        "the hub says where its rules come from: {log:#?}"
    );
    assert!(
        site.path().join("data/iochub.db").is_file(),
        "the store is in the config's folder, not the working directory"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).expect("cwd").count(),
        0,
        "nothing is written to the working directory"
    );
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    let _ = reader.join();
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(status.success(), "a clean stop exits 0: {rest:#?}");
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:#?}");
}

/// The first start without `IOCHUB_ADMIN_PASSWORD`: a generated admin password, printed once,
/// that must be changed before the API does anything else.
#[tokio::test]
async fn a_first_start_prints_a_generated_admin_password_that_must_be_changed() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_iochub"))
        .args([
            "demo",
            "--no-sim",
            "--http",
            "127.0.0.1:0",
            "--mqtt",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("IOCHUB_ADMIN_PASSWORD")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn iochub demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut base, mut password) = (None, None);
    let wait = std::time::Duration::from_secs(60);
    while base.is_none() || password.is_none() {
        let line = tokio::time::timeout(wait, lines.next_line())
            .await
            .expect("the banner in time")
            .expect("stdout")
            .expect("the banner before the end");
        if let Some(rest) = line.trim().strip_prefix("dashboard:") {
            base = rest
                .split_whitespace()
                .next()
                .map(|u| u.trim_end_matches('/').to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("log in:      admin / ") {
            password = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let (base, password) = (base.expect("address"), password.expect("password"));
    assert!(password.len() >= 12, "a generated password: {password}");

    let http = reqwest::Client::new();
    let login = serde_json::json!({"username": "admin", "password": password});
    let resp = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&login)
        .send();
    let body: serde_json::Value = resp.await.expect("login").json().await.expect("json");
    assert_eq!(body["must_change_password"], true, "{body}");
    let token = body["token"].as_str().expect("token");
    let devices = http
        .get(format!("{base}/api/v1/devices"))
        .bearer_auth(token)
        .send();
    let refused: serde_json::Value = devices.await.expect("get").json().await.expect("json");
    assert_eq!(
        refused["error"]["code"], "password_change_required",
        "{refused}"
    );
    let change = serde_json::json!({"current": password, "new": "Đèo Mã Phục mùa sương 2026"});
    let changed = http
        .post(format!("{base}/api/v1/auth/password"))
        .bearer_auth(token)
        .json(&change);
    assert_eq!(changed.send().await.expect("change").status(), 204);
    let devices = http
        .get(format!("{base}/api/v1/devices"))
        .bearer_auth(token)
        .send();
    assert_eq!(
        devices.await.expect("get").status(),
        200,
        "then the API opens"
    );
    child.kill().await.expect("kill");
}
