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
    /// Run the simulated province (~80 stations publishing SenML) until Ctrl-C.
    Province {
        /// Broker URL, e.g. mqtt://127.0.0.1:1883
        #[arg(long, env = "IOCHUB_MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
        url: String,
        /// Seed of the simulated weather and scenario schedule: same seed, same run.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Scenario to schedule (see --list-scenarios; also `all`, `none`); repeatable; none given
        /// = all of them.
        #[arg(long = "scenario", value_name = "NAME")]
        scenarios: Vec<String>,
        /// Scenario to start at once, once; it repeats only if also scheduled. Repeatable. With
        /// `--scenario none` it is the only thing that happens.
        #[arg(long = "trigger", value_name = "NAME")]
        triggers: Vec<String>,
        /// Malformed messages per second, all loggers together, while `garbage` runs.
        #[arg(long, value_name = "MSG_PER_S", default_value_t = province::DEFAULT_GARBAGE_RATE)]
        garbage_rate: f64,
        /// Print the scenario names with a one-line description, and exit.
        #[arg(long)]
        list_scenarios: bool,
        /// Publish period of every station, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        interval_ms: u64,
    },
    /// Publish a paced load and report what was sent, acked, committed and alerted (one JSON line
    /// on stdout).
    Load(LoadArgs),
    /// Serve one live camera over RTSP for the benchmarks until Ctrl-C: `/main` and `/sub`,
    /// encoded as they are shown, each frame stamped with the wall-clock time it was drawn at
    /// (simulators/src/cameras/live.rs). Prints `ready PORT` on stdout once it listens.
    Camera(CameraArgs),
    /// Watch a hub camera (`/ws/video/{camera}`) with N WebSocket viewers for a while and
    /// report what each got (one JSON line on stdout).
    Viewers(ViewersArgs),
}

#[derive(clap::Args)]
struct CameraArgs {
    /// Where to listen (port 0: a free one, printed).
    #[arg(long, default_value = "127.0.0.1:8554")]
    rtsp: std::net::SocketAddr,
    /// The main stream's size, WIDTHxHEIGHT (width a multiple of 16).
    #[arg(long, default_value = "1280x720", value_parser = size)]
    size: (usize, usize),
    /// The sub-stream's size.
    #[arg(long, default_value = "320x180", value_parser = size)]
    sub_size: (usize, usize),
    /// Frames per second of both streams.
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Main stream bitrate in kbit/s (the sub-stream's is scaled by its area).
    #[arg(long, default_value_t = 3000)]
    kbps: u32,
    /// Frames from one keyframe to the next (default: one second's).
    #[arg(long)]
    gop: Option<u32>,
    /// Seed of the picture's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args)]
struct ViewersArgs {
    /// ws://host:port/ws/video/{camera}[?stream=sub]
    #[arg(long)]
    url: String,
    /// Bearer token (POST /api/v1/auth/login).
    #[arg(long, env = "IOCHUB_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Viewers, each on its own socket.
    #[arg(long, default_value_t = 1)]
    viewers: usize,
    /// Seconds to watch.
    #[arg(long, value_name = "SECS")]
    duration: f64,
}

fn size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s.split_once('x').ok_or("expected WIDTHxHEIGHT")?;
    let n = |v: &str| v.trim().parse::<usize>().map_err(|e| format!("{v}: {e}"));
    Ok((n(w)?, n(h)?))
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
    #[arg(long, value_name = "WS_URL")]
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
    /// MQTT subscribers that receive the load back from the broker and measure publish →
    /// subscriber latency: the broker's own ceiling, without a hub (more than 1 share a
    /// `$share/` subscription).
    #[arg(long, value_name = "S", default_value_t = 0)]
    subscribers: usize,
    /// --ws carries SenML packs (a Node-RED flow's `websocket out`) instead of hub frames; no
    /// token needed.
    #[arg(long)]
    ws_senml: bool,
    /// The hub counter whose growth is the hub's rate (iochub_engine_readings_total for a hub
    /// that does not store readings).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "iochub_ingest_readings_total"
    )]
    hub_metric: String,
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
            triggers,
            garbage_rate,
            list_scenarios,
            interval_ms,
        } => {
            if list_scenarios {
                print!("{}", province::scenario::catalogue());
                return Ok(());
            }
            let opts = ProvinceOptions {
                url,
                seed,
                interval: Duration::from_millis(interval_ms),
                scenarios,
                triggers,
                garbage_rate,
                ..ProvinceOptions::default()
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
                subscribers: a.subscribers,
                ws_senml: a.ws_senml,
                hub_metric: a.hub_metric,
            };
            let report = load::run(opts, ctrl_c()).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::Camera(a) => camera(a).await?,
        Command::Viewers(a) => {
            let duration = secs(a.duration, "--duration")?;
            let report =
                iochub_sim::viewers::run(&a.url, a.token.as_deref(), a.viewers, duration).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}

async fn camera(a: CameraArgs) -> anyhow::Result<()> {
    use iochub_sim::cameras::Server;
    use iochub_sim::cameras::live::{Live, LiveOptions};
    use std::io::Write;

    let stop = ctrl_c();
    let main = LiveOptions {
        width: a.size.0,
        height: a.size.1,
        fps: a.fps,
        kbps: a.kbps,
        gop: a.gop.unwrap_or(a.fps),
        seed: a.seed,
    };
    let area = |(w, h): (usize, usize)| (w * h).max(1) as f64;
    let sub = LiveOptions {
        width: a.sub_size.0,
        height: a.sub_size.1,
        kbps: ((f64::from(a.kbps) * area(a.sub_size) / area(a.size)) as u32).max(64),
        ..main
    };
    let mut streams = Vec::new();
    for (path, options) in [("/main", main), ("/sub", sub)] {
        let live = Live::start(options, stop.clone())
            .with_context(|| format!("the {path} stream did not start"))?;
        streams.push((path.to_owned(), live));
    }
    let listener = tokio::net::TcpListener::bind(a.rtsp)
        .await
        .with_context(|| format!("cannot listen on {}", a.rtsp))?;
    let port = listener.local_addr()?.port();
    let mut out = std::io::stdout();
    writeln!(out, "ready {port}")?;
    out.flush()?;
    Server::live(streams).serve(listener, stop).await?;
    Ok(())
}
