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
