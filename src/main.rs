//! The `iochub` command line: `demo`, `serve`, `backup`, `restore`, `migrate`. The edge of the
//! binary: it parses flags, picks the config (`demo::config` or the `serve` file), and turns
//! errors into messages and exit codes (2 for a bad config, 1 for a failure while running).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use iochub::config::HubConfig;
use iochub::demo::{self, DemoOptions};
use iochub::storage::backup::Manifest;
use iochub::storage::postgres::backup as pg_backup;
use iochub::storage::sqlite::backup;

#[derive(Parser)]
#[command(
    name = "iochub",
    version,
    about = "Real-time IoT telemetry hub for an Intelligent Operations Center"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything in one process, nothing to install: embedded MQTT broker, SQLite, simulated province.
    Demo {
        /// HTTP listen address (API, WebSocket)
        #[arg(long, env = "IOCHUB_HTTP", default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// Embedded MQTT broker listen address
        #[arg(long, default_value = "127.0.0.1:1883")]
        mqtt: SocketAddr,
        /// Where the simulated cameras serve RTSP (port 0: any free one)
        #[arg(long, default_value = "127.0.0.1:8554")]
        rtsp: SocketAddr,
        /// Where the SQLite database lives
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
        /// Rules file (TOML); reloaded on change and on SIGHUP
        #[arg(long, env = "IOCHUB_RULES", default_value = demo::DEFAULT_RULES)]
        rules: PathBuf,
        /// Do not start the simulated province
        #[arg(long)]
        no_sim: bool,
        /// Seed of the simulated province
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Shard workers (default: one per core)
        #[arg(long, env = "IOCHUB_SHARDS")]
        shards: Option<usize>,
        /// The embedded broker admits only devices with credentials (POST
        /// /api/v1/devices/{device}/credentials), each to its own topics ioc/{device}/…
        #[arg(long, env = "IOCHUB_MQTT_AUTH")]
        mqtt_auth: bool,
    },
    /// Production: an external MQTT broker; settings from a TOML file and IOCHUB_* variables.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Back up the store while the hub runs (a consistent snapshot) into a new directory.
    Backup {
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// The store of this `iochub serve` config (its database_url or data_dir)
        #[arg(long, conflicts_with_all = ["data_dir", "database_url"])]
        config: Option<PathBuf>,
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
        /// Back up this PostgreSQL database instead of the SQLite store
        #[arg(long, env = "IOCHUB_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Restore a backup into a data directory that has no store yet.
    Restore {
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The store of this `iochub serve` config (its database_url or data_dir)
        #[arg(long, conflicts_with_all = ["data_dir", "database_url"])]
        config: Option<PathBuf>,
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
        /// Restore into this (empty) PostgreSQL database instead of a SQLite data directory
        #[arg(long, env = "IOCHUB_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a Mosquitto password file (`passwords`) and ACL (`acl`) from the device registry,
    /// the hub's own account (from mqtt_url) included; re-run when devices change.
    MosquittoAuth {
        /// Directory to write `passwords` and `acl` into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The store and the hub's MQTT account of this `iochub serve` config
        #[arg(long, conflicts_with = "data_dir")]
        config: Option<PathBuf>,
        /// An embedded store's data directory (the demo's); the hub's account then comes from
        /// IOCHUB_MQTT_URL
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
    },
    /// Replay the stored readings through a rules file: how often each rule would have fired.
    /// Reads only; runs beside a running hub.
    Backtest {
        /// The rules file to try (TOML, as `rules` of the hub)
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        /// Start of the range (RFC 3339); default: 30 days before `to`
        #[arg(long)]
        from: Option<String>,
        /// End of the range (RFC 3339, exclusive); default: now
        #[arg(long)]
        to: Option<String>,
        /// Only these devices (comma-separated keys)
        #[arg(long, value_delimiter = ',')]
        devices: Vec<String>,
        /// One JSON line for machines instead of the table
        #[arg(long)]
        json: bool,
        /// The store (and areas) of this `iochub serve` config
        #[arg(long, conflicts_with = "data_dir")]
        config: Option<PathBuf>,
        /// An embedded store's data directory (the demo's)
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
    },
    /// Bring the store's schema up to date and exit (PostgreSQL when a database URL is given).
    Migrate {
        /// The store of this `iochub serve` config (its database_url or data_dir)
        #[arg(long, conflicts_with_all = ["data_dir", "database_url"])]
        config: Option<PathBuf>,
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
        #[arg(long, env = "IOCHUB_DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain: exit 0 with the record count when intact, 1 naming the first bad seq.
    Verify {
        /// The store of this `iochub serve` config (its database_url or data_dir)
        #[arg(long, conflicts_with = "data_dir")]
        config: Option<PathBuf>,
        /// An embedded store's data directory (the demo's)
        #[arg(long, env = "IOCHUB_DATA_DIR", default_value = "./iochub-data")]
        data_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A command whose answer is its standard output logs to standard error.
    let answers = matches!(cli.command, Command::Backtest { .. });
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,rumqttd=warn,rumqttd::server=off,rumqttc=warn".into());
    if answers {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init();
    }
    let cfg = match cli.command {
        Command::Demo {
            http,
            mqtt,
            rtsp,
            data_dir,
            rules,
            no_sim,
            seed,
            shards,
            mqtt_auth,
        } => {
            let opts = DemoOptions {
                http,
                mqtt,
                rtsp,
                data_dir,
                rules,
                simulate: !no_sim,
                seed,
                shards,
                mqtt_auth,
            };
            match demo::config(opts, |k| std::env::var(k).ok()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        Command::Serve { config } => match HubConfig::from_file(&config, |k| std::env::var(k).ok())
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        Command::Backup {
            to,
            config,
            data_dir,
            database_url,
        } => {
            let (data_dir, database_url) = match store_flags(config, data_dir, database_url) {
                Ok(flags) => flags,
                Err(code) => return code,
            };
            let store = (database_url.clone(), data_dir.clone());
            return copy_store("backup", store, &to, || match database_url {
                Some(url) => block_on(pg_backup::backup(&url, &to, &mut |l| {
                    eprintln!("backup: {l}")
                })),
                None => backup::backup(&data_dir, &to, &mut progress("backup")),
            });
        }
        Command::Restore {
            from,
            config,
            data_dir,
            database_url,
        } => {
            let (data_dir, database_url) = match store_flags(config, data_dir, database_url) {
                Ok(flags) => flags,
                Err(code) => return code,
            };
            let store = (database_url.clone(), data_dir.clone());
            return copy_store("restore", store, &from, || match database_url {
                Some(url) => block_on(pg_backup::restore(&from, &url, &mut |l| {
                    eprintln!("restore: {l}")
                })),
                None => backup::restore(&from, &data_dir, &mut progress("restore")),
            });
        }
        Command::Migrate {
            config,
            data_dir,
            database_url,
        } => {
            return match store_flags(config, data_dir, database_url) {
                Ok((data_dir, database_url)) => migrate(&data_dir, database_url.as_deref()),
                Err(code) => code,
            };
        }
        Command::Audit {
            command: AuditCommand::Verify { config, data_dir },
        } => return audit_verify(config.as_deref(), &data_dir),
        Command::Backtest {
            rules,
            from,
            to,
            devices,
            json,
            config,
            data_dir,
        } => {
            let range = (from.as_deref(), to.as_deref());
            let target = (config.as_deref(), data_dir.as_path());
            return backtest(&rules, range, devices, json, target);
        }
        Command::MosquittoAuth {
            out,
            config,
            data_dir,
        } => return mosquitto_auth(&out, config.as_deref(), &data_dir),
    };
    match run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The store a command names: that of `--config FILE` (a `serve` config: its database_url, else
/// its data_dir), or the flags'. A bad config is exit code 2, as for `serve`.
fn store_flags(
    config: Option<PathBuf>,
    data_dir: PathBuf,
    database_url: Option<String>,
) -> Result<(PathBuf, Option<String>), ExitCode> {
    let Some(path) = config else {
        return Ok((data_dir, database_url));
    };
    match StoreTarget::new(Some(&path), &data_dir) {
        Ok(t) => Ok((t.data_dir, t.database_url)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Opening a store applies the schema steps it has not seen (and refuses a newer schema).
fn migrate(data_dir: &std::path::Path, database_url: Option<&str>) -> ExitCode {
    let opened = match database_url {
        None => iochub::storage::sqlite::SqliteStore::open(data_dir)
            .map(|s| s.path().display().to_string()),
        Some(url) => block_on(iochub::storage::postgres::PostgresStore::connect(url))
            .map(|_| "PostgreSQL".to_owned()),
    };
    match opened {
        Ok(what) => {
            println!("schema up to date: {what}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Which store a command that reads it opens, and the hub's MQTT account: from a `serve`
/// config, or an embedded store's data directory (and `IOCHUB_MQTT_URL`).
struct StoreTarget {
    database_url: Option<String>,
    ca_file: Option<PathBuf>,
    data_dir: PathBuf,
    mqtt_url: Option<String>,
    mqtt_client_id: String,
    /// The configured areas (rules scoped by `area` need them).
    areas: std::sync::Arc<iochub::areas::Areas>,
}

impl StoreTarget {
    fn new(config: Option<&std::path::Path>, data_dir: &std::path::Path) -> Result<Self, String> {
        Ok(match config {
            Some(path) => {
                let c = HubConfig::from_file(path, |k| std::env::var(k).ok())
                    .map_err(|e| e.to_string())?;
                StoreTarget {
                    database_url: c.database_url,
                    ca_file: c.database_ca_file,
                    data_dir: c.data_dir,
                    mqtt_url: match c.broker {
                        iochub::config::BrokerConfig::External { url } => Some(url),
                        iochub::config::BrokerConfig::Embedded { .. } => None,
                    },
                    mqtt_client_id: c.mqtt_client_id,
                    areas: c.areas,
                }
            }
            None => StoreTarget {
                database_url: None,
                ca_file: None,
                data_dir: data_dir.to_owned(),
                mqtt_url: std::env::var("IOCHUB_MQTT_URL").ok(),
                mqtt_client_id: "iochub-ingest".into(),
                // an embedded store is the demo's: its areas, unless IOCHUB_AREAS names others
                areas: match std::env::var("IOCHUB_AREAS") {
                    Ok(list) => iochub::config::load_areas(&iochub::areas::paths_from_env(&list))
                        .map_err(|e| e.to_string())?,
                    Err(_) => std::sync::Arc::new(demo::areas()),
                },
            },
        })
    }

    async fn open(&self) -> StoreResult<Box<dyn iochub::storage::Store>> {
        use iochub::storage::{postgres::PostgresStore, sqlite::SqliteStore};
        Ok(match &self.database_url {
            Some(url) => Box::new(PostgresStore::connect_with(url, self.ca_file.as_deref()).await?),
            None => Box::new(SqliteStore::open(&self.data_dir)?),
        })
    }
}

/// `iochub audit verify`: opens the store the way the hub does and walks the chain.
fn audit_verify(config: Option<&std::path::Path>, data_dir: &std::path::Path) -> ExitCode {
    use iochub::audit::Verdict;
    let target = match StoreTarget::new(config, data_dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let verdict = block_on(async move {
        let store = target.open().await?;
        iochub::audit::verify(store.as_ref()).await
    });
    match verdict {
        Ok(Verdict::Intact { records, head }) => {
            match head {
                Some((seq, hash)) => {
                    println!("audit trail intact: {records} records, up to seq {seq} (hash {hash})")
                }
                None => println!("audit trail intact: {records} records"),
            }
            ExitCode::SUCCESS
        }
        Ok(Verdict::Broken { seq, reason }) => {
            println!("audit trail broken at seq {seq}: {reason}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `iochub backtest`: the rules file replayed over the store's readings; a table (or one JSON
/// line), and a progress bar with its ETA on a terminal. Exit 2 for a bad rules file or range.
fn backtest(
    rules: &std::path::Path,
    (from, to): (Option<&str>, Option<&str>),
    devices: Vec<String>,
    json: bool,
    (config, data_dir): (Option<&std::path::Path>, &std::path::Path),
) -> ExitCode {
    use iochub::timefmt::{format_ms, now_ms, parse_rfc3339};
    let bad = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let target = match StoreTarget::new(config, data_dir) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    let rule_set = match iochub::engine::RuleSet::load(rules)
        .and_then(|rs| rs.check_areas(&target.areas).map(|()| rs))
    {
        Ok(rs) => std::sync::Arc::new(rs),
        Err(e) => return bad(e.to_string()),
    };
    let time = |name: &str, v: Option<&str>| {
        v.map(|s| {
            parse_rfc3339(s).ok_or_else(|| format!("--{name}: {s:?} is not an RFC 3339 time"))
        })
        .transpose()
    };
    let (from, to) = match (time("from", from), time("to", to)) {
        (Ok(f), Ok(t)) => {
            let to = t.unwrap_or_else(now_ms);
            (f.unwrap_or(to - 30 * 86_400_000), to)
        }
        (Err(e), _) | (_, Err(e)) => return bad(e),
    };
    let request = iochub::replay::backtest::Request {
        rules: rule_set,
        from_ms: from,
        to_ms: to,
        devices: (!devices.is_empty()).then_some(devices),
    };
    let mut bar = progress_bar();
    let outcome = block_on(async move {
        let store: std::sync::Arc<dyn iochub::storage::Store> = target.open().await?.into();
        iochub::replay::backtest::run(store, target.areas.clone(), &request, &mut bar)
            .await
            .map_err(|e| iochub::storage::StoreError::Task(e.to_string()))
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string(&outcome) {
            Ok(line) => println!("{line}"),
            Err(e) => return bad(e.to_string()),
        }
        return ExitCode::SUCCESS;
    }
    println!(
        "{} readings of {} devices, {} to {} ({:.0} readings/s)",
        outcome.readings,
        outcome.devices,
        format_ms(outcome.from),
        format_ms(outcome.to),
        outcome.readings_per_s
    );
    println!(
        "{:<32} {:>8} {:>8} {:>14} {:>8}",
        "rule", "devices", "opened", "in alert (h)", "share"
    );
    for r in &outcome.rules {
        println!(
            "{:<32} {:>8} {:>8} {:>14.1} {:>7.2}%",
            r.id,
            r.devices,
            r.opened,
            r.time_in_alert_s / 3600.0,
            r.share_in_alert * 100.0
        );
        for a in r.alerts.iter().take(5) {
            let closed = a
                .closed_at
                .map_or_else(|| "(still open)".to_owned(), format_ms);
            println!("    {:<28} {} → {closed}", a.device, format_ms(a.opened_at));
        }
        if r.opened > 5 {
            println!(
                "    … {} more (--json lists up to {})",
                r.opened - 5,
                iochub::replay::backtest::LISTED
            );
        }
    }
    ExitCode::SUCCESS
}

/// A progress bar with an ETA on stderr when it is a terminal; nothing otherwise.
fn progress_bar() -> impl FnMut(&iochub::replay::backtest::Progress) + Send {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = std::time::Instant::now();
    let mut shown = std::time::Instant::now();
    move |p| {
        let done = p.devices_done == p.devices;
        if !terminal || (!done && shown.elapsed() < std::time::Duration::from_millis(200)) {
            return;
        }
        shown = std::time::Instant::now();
        let share = if p.devices > 0 {
            p.devices_done as f64 / p.devices as f64
        } else {
            1.0
        };
        let elapsed = started.elapsed().as_secs_f64();
        let eta = if share > 0.0 {
            elapsed / share - elapsed
        } else {
            0.0
        };
        let filled = (share * 30.0) as usize;
        eprint!(
            "\r[{}{}] {:>3.0}% {}/{} devices, {} readings, ETA {:.0}s ",
            "#".repeat(filled),
            " ".repeat(30 - filled.min(30)),
            share * 100.0,
            p.devices_done,
            p.devices,
            p.readings,
            eta
        );
        if done {
            eprintln!();
        }
    }
}

/// `iochub mosquitto-auth`: the registry's devices and the hub's own account as Mosquitto's
/// `password_file` and `acl_file`, each written whole (a new file renamed over the old).
fn mosquitto_auth(
    out: &std::path::Path,
    config: Option<&std::path::Path>,
    data_dir: &std::path::Path,
) -> ExitCode {
    let target = match StoreTarget::new(config, data_dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The hub's account: the credentials it connects with.
    let hub = target.mqtt_url.as_ref().and_then(|url| {
        let settings = iochub::ingest::mqtt::MqttSettings {
            url: url.clone(),
            client_id: target.mqtt_client_id.clone(),
            clean_session: false,
            max_packet_bytes: 1024,
            ca_file: None,
        };
        let login = settings.options().ok()?.credentials()?;
        Some((login.username, login.password))
    });
    let Some((hub_user, hub_password)) = hub else {
        eprintln!(
            "error: the hub's own MQTT account is needed: give mqtt_url = \"mqtt://USER:PASSWORD@host:port\" \
             in the config (or IOCHUB_MQTT_URL with --data-dir)"
        );
        return ExitCode::from(2);
    };
    let hub_hash = iochub::accounts::mqtt::hash(&hub_password);
    let access = block_on(async {
        let store = target.open().await?;
        iochub::accounts::mqtt::registry_access(store.as_ref(), Some((&hub_user, &hub_hash))).await
    });
    let access = match access {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written = std::fs::create_dir_all(out)
        .and_then(|()| write_whole(&out.join("passwords"), &access.mosquitto_passwords()))
        .and_then(|()| write_whole(&out.join("acl"), &access.mosquitto_acl()));
    match written {
        Ok(()) => {
            let users = access.mosquitto_passwords().lines().count();
            println!(
                "wrote {} and {} ({users} accounts: the hub's and {} devices')",
                out.join("passwords").display(),
                out.join("acl").display(),
                users - 1
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write into {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` to a new file beside `path` (readable by its owner and group only: it holds
/// password hashes) and renames it over `path`, so Mosquitto never reads half a file.
fn write_whole(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Prints progress on stderr each time another tenth of the pages is copied.
fn progress(what: &'static str) -> impl FnMut(i32, i32) {
    let mut shown = -1;
    move |done, total| {
        let tenth = if total > 0 { done * 10 / total } else { 10 };
        if tenth != shown {
            shown = tenth;
            eprintln!("{what}: {:>3}% ({done}/{total} pages)", tenth * 10);
        }
    }
}

type StoreResult<T> = Result<T, iochub::storage::StoreError>;

/// Runs one storage future on a small runtime of its own (the CLI's one-shot commands).
fn block_on<T>(f: impl std::future::Future<Output = StoreResult<T>>) -> StoreResult<T> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => Err(iochub::storage::StoreError::Task(e.to_string())),
    }
}

/// Runs a backup or a restore and records it in the audit trail: a backup in the store it copied
/// (also when it failed), a restore in the store it filled (once it is whole).
fn copy_store(
    what: &str,
    (database_url, data_dir): (Option<String>, PathBuf),
    place: &std::path::Path,
    run: impl FnOnce() -> StoreResult<Manifest>,
) -> ExitCode {
    let outcome = run();
    let (result, detail) = match &outcome {
        Ok(m) => (
            "ok",
            serde_json::json!({"schema_version": m.schema_version, "taken": m.created_at, "tables": m.tables}),
        ),
        Err(e) => ("failed", serde_json::json!({"error": e.to_string()})),
    };
    if outcome.is_ok() || what == "backup" {
        let target = StoreTarget {
            database_url,
            ca_file: std::env::var("IOCHUB_DATABASE_CA_FILE")
                .ok()
                .map(PathBuf::from),
            data_dir,
            mqtt_url: None,
            mqtt_client_id: String::new(),
            areas: std::sync::Arc::default(),
        };
        let event = iochub::audit::AuditEvent {
            ts_ms: iochub::timefmt::now_ms(),
            actor: format!("cli:{}", os_user()),
            address: "-".into(),
            action: format!(
                "backup.{}",
                if what == "backup" {
                    "create"
                } else {
                    "restore"
                }
            ),
            target: place.display().to_string(),
            result: result.into(),
            detail: detail.to_string(),
        };
        let recorded = block_on(async {
            let store = target.open().await?;
            store.append_audit(vec![event]).await
        });
        if let Err(e) = recorded {
            eprintln!("warning: the {what} is not in the audit trail: {e}");
        }
    }
    match outcome {
        Ok(m) => {
            println!(
                "{what} done: schema version {}, taken {}",
                m.schema_version, m.created_at
            );
            for (table, rows) in &m.tables {
                println!("  {table:<18} {rows:>12} rows");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {what} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Who ran the command, as the OS says (the audit trail's actor of a CLI action).
fn os_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| format!("uid {}", proc_uid()))
}

/// The real uid, from /proc (no libc call needed).
fn proc_uid() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_else(|| "?".into())
}

fn run(cfg: HubConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async {
        // The handlers are installed here, before the hub starts: a future that installed them on
        // its first poll would leave a SIGTERM that comes during start-up to the default action.
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
        let stop = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        iochub::app::run(cfg, stop).await.context("iochub")
    })
}
