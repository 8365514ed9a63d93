//! `iochub-sim`: the simulated province of Cao Bằng and a paced load generator for iochub.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use iochub_sim::load::{self, LoadOptions};
use iochub_sim::province::{self, ProvinceOptions};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "iochub-sim",
    version,
    about = "Simulated devices and load for iochub"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the simulated province (~70 stations publishing SenML) until Ctrl-C.
    Province {
        /// Broker URL, e.g. mqtt://127.0.0.1:1883
        #[arg(long, env = "IOCHUB_MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
        url: String,
        /// Seed of the simulated weather and scenario schedule.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Scenario to run (flood, station-silent, air-pollution, none); repeatable; none given =
        /// all of them.
        #[arg(long = "scenario", value_name = "NAME")]
        scenarios: Vec<String>,
        /// Publish period of every station, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        interval_ms: u64,
    },
    /// Publish a paced load and report what was sent, acked, committed and alerted (one JSON line
    /// on stdout).
    Load(LoadArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum QosArg {
    #[value(name = "0")]
    Zero,
    #[value(name = "1")]
    One,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// Broker URL, e.g. mqtt://127.0.0.1:1883
    #[arg(long, env = "IOCHUB_MQTT_URL")]
    url: String,
    /// Number of devices (load-00000, load-00001, …), split across the connections.
    #[arg(long)]
    devices: usize,
    /// Target messages per second, all connections together.
    #[arg(long, value_name = "MSG_PER_S")]
    rate: f64,
    /// Readings per message (K).
    #[arg(long, value_name = "K", default_value_t = 10)]
    readings_per_msg: usize,
    /// MQTT QoS of the publishes.
    #[arg(long, value_enum, default_value = "1")]
    qos: QosArg,
    /// Seconds of sending (fractions allowed).
    #[arg(long, value_name = "SECS")]
    duration: f64,
    /// Every M-th message breaches water_level (needs rules/load.toml in the hub); 0 = never.
    #[arg(long, value_name = "M", default_value_t = 0)]
    alert_every: u64,
    /// MQTT connections to spread the devices over.
    #[arg(long, value_name = "C", default_value_t = 4)]
    connections: usize,
    /// WebSocket URL of the hub (ws://host:port/ws): subscribe to alerts and measure latency.
    #[arg(long, value_name = "WS_URL", requires = "token")]
    ws: Option<String>,
    /// Bearer token for --ws and --http (POST /api/v1/auth/login).
    #[arg(long, env = "IOCHUB_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Hub HTTP base (http://host:port): scrape /metrics for the committed-readings rate.
    #[arg(long, value_name = "HTTP_BASE")]
    http: Option<String>,
    /// Seconds to wait after sending for acks, alerts and hub commits.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    grace: f64,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

/// A watch that turns true on Ctrl-C.
fn ctrl_c() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
            // Keep the sender alive so receivers see `true`, not a closed channel.
            std::future::pending::<()>().await;
        }
    });
    rx
}

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("{what} must be a non-negative number of seconds"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Province {
            url,
            seed,
            scenarios,
            interval_ms,
        } => {
            let opts = ProvinceOptions {
                url,
                seed,
                interval: Duration::from_millis(interval_ms),
                scenarios,
            };
            province::run(opts, ctrl_c()).await?;
        }
        Command::Load(a) => {
            let opts = LoadOptions {
                url: a.url,
                devices: a.devices,
                rate: a.rate,
                readings_per_msg: a.readings_per_msg,
                qos: match a.qos {
                    QosArg::Zero => rumqttc::QoS::AtMostOnce,
                    QosArg::One => rumqttc::QoS::AtLeastOnce,
                },
                duration: secs(a.duration, "--duration")?,
                alert_every: a.alert_every,
                connections: a.connections,
                ws: a.ws,
                token: a.token,
                http: a.http,
                grace: secs(a.grace, "--grace")?,
                progress: !a.quiet,
            };
            let report = load::run(opts, ctrl_c()).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}
