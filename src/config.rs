//! Hub configuration: `iochub demo` flags, or `iochub serve --config FILE` (TOML) with every key
//! overridable by an `IOCHUB_*` environment variable. Unknown keys are refused, and every error
//! names the key at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::accounts::{
    AccountSettings, Agency, AgencyKind, Contact, PasswordPolicy, PolicyProfile, Webhook,
};
use crate::alerts::delivery::CourierSettings;
use crate::areas::Areas;
use crate::calendar::Zone;
use crate::camera::model::NewCamera;

use crate::storage::supply::SupplySettings;
use crate::storage::{DevicePatch, RetentionPolicy};
use crate::systems::System;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config: {0}")]
    Toml(String),
    #[error("config key `{key}`: {message}")]
    Key { key: &'static str, message: String },
}

/// Everything the hub needs to run.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub http: SocketAddr,
    /// Where readings come from: an external broker, or the demo's embedded one.
    pub broker: BrokerConfig,
    pub mqtt_client_id: String,
    /// PEM CA bundle that signs the broker's certificate (mqtts://); system roots when absent.
    pub mqtt_ca_file: Option<PathBuf>,
    pub database_url: Option<String>,
    /// PEM CA bundle that signs PostgreSQL's certificate (`sslmode=require`); system roots when absent.
    pub database_ca_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// The rules file, reloaded on change and on SIGHUP.
    pub rules: PathBuf,
    /// `serve` without a `rules` key: `rules` is the data directory's `rules.toml`, created
    /// empty when missing (the hub starts with no rules and says so).
    pub rules_by_default: bool,
    /// `iochub demo` runs the simulated province ([`crate::demo`]) with this seed; `None` in
    /// production.
    pub simulation_seed: Option<u64>,
    /// Where the simulated province's cameras serve RTSP (with `simulation_seed`).
    pub simulation_rtsp: Option<std::net::SocketAddr>,
    pub shards: usize,
    pub metrics_public: bool,
    /// false: readings feed the rules and the live feed but are not stored (a bare alerting hub;
    /// alerts, device status and accounts are still stored).
    pub store_readings: bool,
    /// How long raw readings and rollups are kept.
    pub retention: RetentionPolicy,
    /// Serve the dashboard from this directory instead of the copy inside the binary.
    pub web_dir: Option<PathBuf>,
    /// Administrative boundaries for the map and area tools (GeoJSON files, read at start).
    pub areas: Arc<Areas>,
    /// The IOC's own basemap, if it has one.
    pub map: MapConfig,
    /// Password policy, login lockout, inactivity lock, session lifetime.
    pub accounts: AccountSettings,
    /// `[[agencies]]`: added to the registry at start when it lacks them.
    pub agencies: Vec<Agency>,
    /// Days audit records are kept (0 = forever); expiry leaves the chain verifiable.
    pub audit_retention_days: u32,
    /// Origins besides the hub's own whose pages may open `/ws` and send changes with the
    /// session cookie (e.g. the IOC portal that embeds the map).
    pub allowed_origins: Vec<String>,
    /// Reverse proxies in front of the hub, whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// HTTPS and WSS on `http` when a certificate is configured; plain HTTP without.
    pub https: Option<HttpsConfig>,
    /// How alert notifications reach the agencies' webhooks.
    pub webhooks: CourierSettings,
    /// The province's calendar and name, and the connected systems: what reports need.
    pub reports: ReportSettings,
    /// `[[devices]]`: registered at start when the registry lacks them; what they set fills in
    /// what a device lacks (an edit made through the API is kept).
    pub devices: Vec<ConfigDevice>,
    /// `[[cameras]]`: added at start when the registry lacks them (their device fields join
    /// `devices`); an edit made through the API is kept.
    pub cameras: Vec<NewCamera>,
}

/// The hub terminates TLS itself: `tls_cert_file` and `tls_key_file` (PEM), and optionally a
/// plain-HTTP address (`http_redirect`) that sends every request to the HTTPS one.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub redirect_from: Option<SocketAddr>,
}

/// The MQTT broker the hub subscribes to.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerConfig {
    /// `mqtt_url`: mqtt:// or mqtts://, with credentials in the URL.
    External { url: String },
    /// `iochub demo`: the embedded rumqttd ([`crate::broker`]) listening here; with `auth`, it
    /// admits only devices with credentials, each to its own topics (`--mqtt-auth`).
    Embedded { listen: SocketAddr, auth: bool },
}

/// Basemap settings handed to the dashboard (`GET /api/v1/map`); all absent = the offline
/// basemap built into the app (Natural Earth country outlines plus the areas).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct MapConfig {
    /// URL of a MapLibre style document on the IOC's own tile server.
    pub style: Option<String>,
    /// Raster XYZ tile URL template, e.g. `https://tiles.ioc.example/{z}/{x}/{y}.png`.
    pub tiles: Option<String>,
    /// Attribution shown on the map for `style` or `tiles`.
    pub attribution: Option<String>,
    /// A device's card shows the nearest camera within this distance (metres; 0: none).
    pub camera_radius_m: f64,
}

/// How far a device's card looks for a camera, unless configured.
pub const DEFAULT_CAMERA_RADIUS_M: f64 = 2000.0;

impl Default for MapConfig {
    fn default() -> Self {
        Self {
            style: None,
            tiles: None,
            attribution: None,
            camera_radius_m: DEFAULT_CAMERA_RADIUS_M,
        }
    }
}

impl MapConfig {
    /// `IOCHUB_MAP_STYLE`, `IOCHUB_MAP_TILES`, `IOCHUB_MAP_ATTRIBUTION`,
    /// `IOCHUB_CAMERA_RADIUS_M` over the file's values.
    fn from_parts(
        file: (Option<String>, Option<String>, Option<String>, Option<f64>),
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let radius = match env("IOCHUB_CAMERA_RADIUS_M") {
            Some(s) => Some(s.trim().parse::<f64>().map_err(|_| ConfigError::Key {
                key: "camera_radius_m",
                message: format!("{s:?} is not a number of metres"),
            })?),
            None => file.3,
        }
        .unwrap_or(DEFAULT_CAMERA_RADIUS_M);
        if !(0.0..=100_000.0).contains(&radius) {
            return Err(ConfigError::Key {
                key: "camera_radius_m",
                message: format!("{radius} is not between 0 and 100000 metres"),
            });
        }
        Ok(Self {
            style: env("IOCHUB_MAP_STYLE").or(file.0),
            tiles: env("IOCHUB_MAP_TILES").or(file.1),
            attribution: env("IOCHUB_MAP_ATTRIBUTION").or(file.2),
            camera_radius_m: radius,
        })
    }

    /// The basemap of `iochub demo`: environment variables only.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_parts((None, None, None, None), env)
    }
}

/// The TOML file of `iochub serve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    http: Option<String>,
    mqtt_url: Option<String>,
    mqtt_client_id: Option<String>,
    mqtt_ca_file: Option<String>,
    database_url: Option<String>,
    database_ca_file: Option<String>,
    data_dir: Option<String>,
    rules: Option<String>,
    shards: Option<usize>,
    metrics_public: Option<bool>,
    store_readings: Option<bool>,
    retention_raw_days: Option<u32>,
    retention_rollup_days: Option<u32>,
    web_dir: Option<String>,
    areas: Option<Vec<String>>,
    map_style: Option<String>,
    map_tiles: Option<String>,
    map_attribution: Option<String>,
    camera_radius_m: Option<f64>,
    password_policy: Option<PolicyProfile>,
    login_max_failures: Option<u32>,
    login_lockout: Option<String>,
    logins_per_minute: Option<u32>,
    inactive_lock_days: Option<u32>,
    require_totp: Option<bool>,
    session_idle_admin: Option<String>,
    session_idle: Option<String>,
    session_idle_viewer: Option<String>,
    session_absolute: Option<String>,
    session_absolute_viewer: Option<String>,
    audit_retention_days: Option<u32>,
    allowed_origins: Option<Vec<String>>,
    trusted_proxies: Option<Vec<String>>,
    tls_cert_file: Option<String>,
    tls_key_file: Option<String>,
    http_redirect: Option<String>,
    agencies: Option<Vec<AgencyEntry>>,
    devices: Option<Vec<DeviceEntry>>,
    cameras: Option<Vec<NewCamera>>,
    webhook_timeout: Option<String>,
    webhook_retry_for: Option<String>,
    webhook_backoff: Option<String>,
    webhook_ca_file: Option<String>,
    timezone: Option<String>,
    province: Option<String>,
    systems: Option<Vec<SystemEntry>>,
    report_live_within: Option<String>,
    report_outage_after: Option<String>,
    report_flush: Option<String>,
}

/// One `[[devices]]` table: a device registered before it reports, with its labels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceEntry {
    key: String,
    name: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    system: Option<String>,
    tags: Option<Vec<String>>,
    areas: Option<Vec<String>>,
    /// A duration such as `5m`.
    expected_interval: Option<String>,
}

/// A device of the config: its key and what to set on it at start (checked then, against the
/// areas and the systems).
#[derive(Debug, Clone)]
pub struct ConfigDevice {
    pub key: String,
    pub patch: DevicePatch,
}

/// `[[devices]]`, each with a valid key, listed once; a duration read as seconds.
fn devices_from(entries: Vec<DeviceEntry>) -> Result<Vec<ConfigDevice>, ConfigError> {
    let key = "devices";
    let mut out: Vec<ConfigDevice> = Vec::new();
    for e in entries {
        let bad = |message: String| ConfigError::Key {
            key,
            message: format!("device {:?}: {message}", e.key),
        };
        if !iochub_devices::key::is_valid_device_key(&e.key) {
            return Err(bad("device keys match [A-Za-z0-9._-]{1,64}".into()));
        }
        if out.iter().any(|d| d.key == e.key) {
            return Err(bad("listed twice".into()));
        }
        let interval = positive_ms(key, e.expected_interval.clone())
            .map_err(|err| bad(format!("expected_interval: {err}")))?
            .map(|ms| ms as f64 / 1000.0);
        out.push(ConfigDevice {
            patch: DevicePatch {
                name: e.name,
                lat: e.lat,
                lon: e.lon,
                registered: Some(true),
                gateway: None,
                system: e.system,
                tags: e.tags,
                areas: e.areas,
                expected_interval_s: interval,
            },
            key: e.key,
        });
    }
    Ok(out)
}

/// `[[cameras]]`, each valid and listed once. A camera's name, place and system are its
/// device's: they join `devices` (filling what a `[[devices]]` table of the same key lacks).
fn cameras_from(
    entries: Vec<NewCamera>,
    devices: &mut Vec<ConfigDevice>,
) -> Result<Vec<NewCamera>, ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        let bad = |message: String| ConfigError::Key {
            key: "cameras",
            message: format!("camera {:?}: {message}", e.id),
        };
        e.camera(0).map_err(|err| bad(err.to_string()))?;
        if !seen.insert(e.id.as_str()) {
            return Err(bad("listed twice".into()));
        }
        let wanted = DevicePatch::of_camera(e);
        match devices.iter_mut().find(|d| d.key == e.id) {
            Some(d) => {
                let p = &mut d.patch;
                p.name = p.name.take().or(wanted.name);
                p.lat = p.lat.or(wanted.lat);
                p.lon = p.lon.or(wanted.lon);
                p.system = p.system.take().or(wanted.system);
            }
            None => devices.push(ConfigDevice {
                key: e.id.clone(),
                patch: wanted,
            }),
        }
    }
    Ok(entries)
}

/// One `[[systems]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemEntry {
    id: String,
    name: String,
    owner: Option<String>,
    /// A duration such as `5m`.
    expected_interval: Option<String>,
    #[serde(default)]
    devices: Vec<String>,
}

/// What the reports need from the config.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// `timezone` (`IOCHUB_TIMEZONE`): report periods are local days of this zone.
    pub zone: Zone,
    /// `province` (`IOCHUB_PROVINCE`): the name printed on the reports.
    pub province: Option<String>,
    /// `[[systems]]`: added to the registry at start when it lacks them.
    pub systems: Vec<System>,
    /// `report_live_within`, `report_outage_after`, `report_flush`: what the data-supply tally
    /// counts as live and as an outage, and how often it is written.
    pub supply: SupplySettings,
}

/// The `report_*` durations of the config file.
#[derive(Default)]
struct SupplyKeys {
    live_within: Option<String>,
    outage_after: Option<String>,
    flush: Option<String>,
}

/// `timezone`, `province`, `[[systems]]` and the `report_*` keys, each checked (a system's
/// errors name it).
fn reports_from(
    file: (Option<String>, Option<String>, Vec<SystemEntry>),
    keys: SupplyKeys,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ReportSettings, ConfigError> {
    let mut supply = SupplySettings::default();
    let duration =
        |key: &'static str, var: &str, v: Option<String>| positive_ms(key, env(var).or(v));
    if let Some(ms) = duration(
        "report_live_within",
        "IOCHUB_REPORT_LIVE_WITHIN",
        keys.live_within,
    )? {
        supply.live_within_ms = ms;
    }
    if let Some(ms) = duration(
        "report_outage_after",
        "IOCHUB_REPORT_OUTAGE_AFTER",
        keys.outage_after,
    )? {
        supply.outage_after_ms = ms;
    }
    if let Some(ms) = duration("report_flush", "IOCHUB_REPORT_FLUSH", keys.flush)? {
        supply.flush_every =
            std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
    }
    let zone = match env("IOCHUB_TIMEZONE").or(file.0) {
        Some(name) => Zone::parse(&name).map_err(|e| ConfigError::Key {
            key: "timezone",
            message: e.to_string(),
        })?,
        None => Zone::default(),
    };
    let mut systems = Vec::new();
    for e in file.2 {
        let key = "systems";
        let interval = positive_ms(key, e.expected_interval.clone())
            .map_err(|err| ConfigError::Key {
                key,
                message: format!("system {:?}: expected_interval: {err}", e.id),
            })?
            .map(|ms| ms as f64 / 1000.0);
        let system = System {
            id: e.id,
            name: e.name,
            owner: e.owner,
            expected_interval_s: interval,
            devices: e.devices,
            created_at: 0,
            updated_at: 0,
        };
        system.validate().map_err(|err| ConfigError::Key {
            key,
            message: format!("system {:?}: {err}", system.id),
        })?;
        if systems.iter().any(|s: &System| s.id == system.id) {
            return Err(ConfigError::Key {
                key,
                message: format!("system {:?} is listed twice", system.id),
            });
        }
        systems.push(system);
    }
    supply.zone = zone;
    Ok(ReportSettings {
        zone,
        province: env("IOCHUB_PROVINCE")
            .or(file.1)
            .filter(|p| !p.trim().is_empty()),
        systems,
        supply,
    })
}

/// The report settings of `iochub demo`: its own systems, the variables for the rest.
pub fn reports_from_env(
    systems: Vec<System>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ReportSettings, ConfigError> {
    let mut r = reports_from((None, None, Vec::new()), SupplyKeys::default(), env)?;
    r.systems = systems;
    Ok(r)
}

/// One `[[agencies]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyEntry {
    id: String,
    name: String,
    kind: AgencyKind,
    area: Option<String>,
    #[serde(default)]
    contacts: Vec<Contact>,
    webhook: Option<Webhook>,
}

impl From<AgencyEntry> for Agency {
    fn from(e: AgencyEntry) -> Self {
        Agency {
            id: e.id,
            name: e.name,
            kind: e.kind,
            area: e.area,
            contacts: e.contacts,
            webhook: e.webhook,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

impl ConfigFile {
    /// The file's relative paths taken from `folder` (URLs and absolute paths stay as they are).
    fn relative_to(mut self, folder: &Path) -> Self {
        let under = |p: String| match Path::new(&p).is_relative() {
            true => folder.join(&p).display().to_string(),
            false => p,
        };
        self.data_dir = self.data_dir.map(under);
        self.rules = self.rules.map(under);
        self.web_dir = self.web_dir.map(under);
        self.mqtt_ca_file = self.mqtt_ca_file.map(under);
        self.database_ca_file = self.database_ca_file.map(under);
        self.webhook_ca_file = self.webhook_ca_file.map(under);
        self.areas = self.areas.map(|a| a.into_iter().map(under).collect());
        self
    }
}

/// A boolean key: its variable (`true`/`false`) wins over the file, then the default.
pub fn bool_key(
    key: &'static str,
    var: Option<String>,
    file: Option<bool>,
    default: bool,
) -> Result<bool, ConfigError> {
    match var {
        Some(s) => s.trim().parse().map_err(|_| ConfigError::Key {
            key,
            message: format!("{s:?} must be true or false"),
        }),
        None => Ok(file.unwrap_or(default)),
    }
}

pub fn default_shards() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl HubConfig {
    /// Reads `path` and overlays `IOCHUB_*` variables from `env`. Relative paths in the file are
    /// taken from the file's folder (so the hub starts the same from any working directory);
    /// those in variables from the working directory, as a shell user expects.
    pub fn from_file(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let file: ConfigFile =
            toml::from_str(&text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        let folder = path.parent().unwrap_or(Path::new(""));
        Self::from_parts(file.relative_to(folder), env)
    }

    fn from_parts(
        mut file: ConfigFile,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let reports = reports_from(
            (
                file.timezone.clone(),
                file.province.clone(),
                file.systems.take().unwrap_or_default(),
            ),
            SupplyKeys {
                live_within: file.report_live_within.clone(),
                outage_after: file.report_outage_after.clone(),
                flush: file.report_flush.clone(),
            },
            &env,
        )?;
        let retention = retention_from(&file, &env)?;
        let accounts = accounts_from(&file, &env)?;
        let webhooks = webhooks_from(&file, &env)?;
        let https = https_from(
            (
                file.tls_cert_file.clone(),
                file.tls_key_file.clone(),
                file.http_redirect.clone(),
            ),
            &env,
        )?;
        let pick = |var: &str, v: Option<String>| env(var).or(v);
        let http = pick("IOCHUB_HTTP", file.http).unwrap_or_else(|| "127.0.0.1:8080".into());
        let http = http.parse().map_err(|e| ConfigError::Key {
            key: "http",
            message: format!("{http:?}: {e}"),
        })?;
        let mqtt_url = pick("IOCHUB_MQTT_URL", file.mqtt_url).ok_or(ConfigError::Key {
            key: "mqtt_url",
            message: "required in serve mode (mqtt://[user:pass@]host:port)".into(),
        })?;
        if !["mqtt://", "tcp://", "mqtts://", "ssl://"]
            .iter()
            .any(|s| mqtt_url.starts_with(s))
        {
            return Err(ConfigError::Key {
                key: "mqtt_url",
                message: format!("{mqtt_url:?} must start with mqtt:// or mqtts://"),
            });
        }
        let shards = match env("IOCHUB_SHARDS") {
            Some(s) => Some(s.parse().map_err(|_| ConfigError::Key {
                key: "shards",
                message: format!("{s:?} is not a number"),
            })?),
            None => file.shards,
        }
        .unwrap_or_else(default_shards);
        if !(1..=256).contains(&shards) {
            return Err(ConfigError::Key {
                key: "shards",
                message: "must be 1..256".into(),
            });
        }
        let metrics_public = bool_key(
            "metrics_public",
            env("IOCHUB_METRICS_PUBLIC"),
            file.metrics_public,
            false,
        )?;
        let store_readings = bool_key(
            "store_readings",
            env("IOCHUB_STORE_READINGS"),
            file.store_readings,
            true,
        )?;
        let data_dir = PathBuf::from(
            pick("IOCHUB_DATA_DIR", file.data_dir).unwrap_or_else(|| "./iochub-data".into()),
        );
        let rules = pick("IOCHUB_RULES", file.rules);
        let mut devices = devices_from(file.devices.take().unwrap_or_default())?;
        let cameras = cameras_from(file.cameras.take().unwrap_or_default(), &mut devices)?;
        Ok(Self {
            http,
            broker: BrokerConfig::External { url: mqtt_url },
            mqtt_client_id: pick("IOCHUB_MQTT_CLIENT_ID", file.mqtt_client_id)
                .unwrap_or_else(|| "iochub-ingest".into()),
            mqtt_ca_file: pick("IOCHUB_MQTT_CA_FILE", file.mqtt_ca_file).map(PathBuf::from),
            database_url: pick("IOCHUB_DATABASE_URL", file.database_url),
            database_ca_file: pick("IOCHUB_DATABASE_CA_FILE", file.database_ca_file)
                .map(PathBuf::from),
            data_dir: data_dir.clone(),
            rules: rules
                .clone()
                .map_or_else(|| data_dir.join("rules.toml"), PathBuf::from),
            rules_by_default: rules.is_none(),
            simulation_seed: None,
            simulation_rtsp: None,
            shards,
            metrics_public,
            store_readings,
            retention,
            web_dir: pick("IOCHUB_WEB_DIR", file.web_dir).map(PathBuf::from),
            areas: load_areas(&match env("IOCHUB_AREAS") {
                Some(list) => crate::areas::paths_from_env(&list),
                None => file
                    .areas
                    .unwrap_or_default()
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
            })?,
            map: MapConfig::from_parts(
                (
                    file.map_style,
                    file.map_tiles,
                    file.map_attribution,
                    file.camera_radius_m,
                ),
                &env,
            )?,
            accounts,
            audit_retention_days: audit_retention_from(file.audit_retention_days, &env)?,
            allowed_origins: match env("IOCHUB_ALLOWED_ORIGINS") {
                Some(list) => list
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
                None => file.allowed_origins.unwrap_or_default(),
            },
            trusted_proxies: trusted_proxies_from(file.trusted_proxies, &env)?,
            https,
            webhooks,
            reports,
            agencies: file
                .agencies
                .unwrap_or_default()
                .into_iter()
                .map(Agency::from)
                .collect(),
            devices,
            cameras,
        })
    }
}

/// `trusted_proxies` (`IOCHUB_TRUSTED_PROXIES`, comma-separated): addresses or networks.
pub fn trusted_proxies_from(
    file: Option<Vec<String>>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let entries = match env("IOCHUB_TRUSTED_PROXIES") {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None => file.unwrap_or_default(),
    };
    entries
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let e = e.trim();
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Key {
                    key: "trusted_proxies",
                    message: format!(
                        "{e:?} is neither an IP address nor a network like 10.0.0.0/8"
                    ),
                })
        })
        .collect()
}

/// `tls_cert_file` + `tls_key_file` (`IOCHUB_TLS_CERT_FILE`, `IOCHUB_TLS_KEY_FILE`): both or
/// neither; `http_redirect` (`IOCHUB_HTTP_REDIRECT`) only with them.
pub fn https_from(
    file: (Option<String>, Option<String>, Option<String>),
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<HttpsConfig>, ConfigError> {
    let cert = env("IOCHUB_TLS_CERT_FILE").or(file.0);
    let key = env("IOCHUB_TLS_KEY_FILE").or(file.1);
    let redirect = env("IOCHUB_HTTP_REDIRECT").or(file.2);
    let redirect_from = match redirect {
        Some(a) => Some(a.parse().map_err(|e| ConfigError::Key {
            key: "http_redirect",
            message: format!("{a:?}: {e}"),
        })?),
        None => None,
    };
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(HttpsConfig {
            cert_file: cert.into(),
            key_file: key.into(),
            redirect_from,
        })),
        (None, None) if redirect_from.is_some() => Err(ConfigError::Key {
            key: "http_redirect",
            message: "redirects to HTTPS, which needs tls_cert_file and tls_key_file".into(),
        }),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::Key {
            key: "tls_key_file",
            message: "tls_cert_file is set: give the certificate's private key too (PEM)".into(),
        }),
        (None, Some(_)) => Err(ConfigError::Key {
            key: "tls_cert_file",
            message: "tls_key_file is set: give the certificate chain too (PEM)".into(),
        }),
    }
}

/// The GeoJSON files of the `areas` key; a bad one is an error naming the key.
pub fn load_areas(paths: &[PathBuf]) -> Result<Arc<Areas>, ConfigError> {
    Areas::load(paths)
        .map(Arc::new)
        .map_err(|e| ConfigError::Key {
            key: "areas",
            message: e.to_string(),
        })
}

/// `audit_retention_days` (`IOCHUB_AUDIT_RETENTION_DAYS`): 365 unless set; 0 keeps forever.
pub fn audit_retention_from(
    file: Option<u32>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<u32, ConfigError> {
    match env("IOCHUB_AUDIT_RETENTION_DAYS") {
        Some(s) => s.trim().parse().map_err(|_| ConfigError::Key {
            key: "audit_retention_days",
            message: format!("{s:?} is not a whole number of days (0 = keep forever)"),
        }),
        None => Ok(file.unwrap_or(365)),
    }
}

/// A duration key's value (`"15m"`, `"24h"`) in milliseconds; it must be longer than 0.
fn positive_ms(key: &'static str, text: Option<String>) -> Result<Option<i64>, ConfigError> {
    let Some(s) = text else {
        return Ok(None);
    };
    let d = humantime::parse_duration(s.trim()).map_err(|e| ConfigError::Key {
        key,
        message: format!("{s:?}: {e}"),
    })?;
    if d.is_zero() {
        return Err(ConfigError::Key {
            key,
            message: "must be longer than 0".into(),
        });
    }
    Ok(Some(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

/// The webhook settings of `iochub demo`: the defaults, overridden by `IOCHUB_*` variables.
pub fn webhooks_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<CourierSettings, ConfigError> {
    webhooks_from(&ConfigFile::default(), env)
}

/// `webhook_timeout`, `webhook_retry_for`, `webhook_backoff` (the first wait; it doubles up to
/// 10 minutes) and `webhook_ca_file`.
fn webhooks_from(
    file: &ConfigFile,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<CourierSettings, ConfigError> {
    let mut w = CourierSettings::default();
    let duration =
        |key: &'static str, var: &str, v: &Option<String>| positive_ms(key, env(var).or(v.clone()));
    if let Some(ms) = duration(
        "webhook_timeout",
        "IOCHUB_WEBHOOK_TIMEOUT",
        &file.webhook_timeout,
    )? {
        w.timeout = std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
    }
    if let Some(ms) = duration(
        "webhook_retry_for",
        "IOCHUB_WEBHOOK_RETRY_FOR",
        &file.webhook_retry_for,
    )? {
        w.retry_for_ms = ms;
    }
    if let Some(ms) = duration(
        "webhook_backoff",
        "IOCHUB_WEBHOOK_BACKOFF",
        &file.webhook_backoff,
    )? {
        w.first_backoff_ms = ms;
        w.max_backoff_ms = w.max_backoff_ms.max(ms);
    }
    w.ca_file = env("IOCHUB_WEBHOOK_CA_FILE")
        .or(file.webhook_ca_file.clone())
        .map(PathBuf::from);
    Ok(w)
}

/// The account settings of `iochub demo`: the defaults, overridden by `IOCHUB_*` variables.
pub fn accounts_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<AccountSettings, ConfigError> {
    accounts_from(&ConfigFile::default(), env)
}

fn accounts_from(
    file: &ConfigFile,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<AccountSettings, ConfigError> {
    let mut a = AccountSettings::default();
    let policy = match env("IOCHUB_PASSWORD_POLICY") {
        Some(s) => match s.trim() {
            "default" => PolicyProfile::Default,
            "strict" => PolicyProfile::Strict,
            other => {
                return Err(ConfigError::Key {
                    key: "password_policy",
                    message: format!("{other:?}: expected default or strict"),
                });
            }
        },
        None => file.password_policy.unwrap_or_default(),
    };
    a.policy = PasswordPolicy::from_profile(policy);
    let number = |key: &'static str, var: &str, v: Option<u32>, default: u32| match env(var) {
        Some(s) => s.trim().parse::<u32>().map_err(|_| ConfigError::Key {
            key,
            message: format!("{s:?} is not a whole number"),
        }),
        None => Ok(v.unwrap_or(default)),
    };
    a.max_failed_logins = number(
        "login_max_failures",
        "IOCHUB_LOGIN_MAX_FAILURES",
        file.login_max_failures,
        a.max_failed_logins,
    )?
    .max(1);
    a.logins_per_minute = number(
        "logins_per_minute",
        "IOCHUB_LOGINS_PER_MINUTE",
        file.logins_per_minute,
        a.logins_per_minute,
    )?;
    a.require_totp = bool_key(
        "require_totp",
        env("IOCHUB_REQUIRE_TOTP"),
        file.require_totp,
        false,
    )?;
    a.inactive_lock_days = number(
        "inactive_lock_days",
        "IOCHUB_INACTIVE_LOCK_DAYS",
        file.inactive_lock_days,
        a.inactive_lock_days,
    )?;
    let duration = |key: &'static str, var: &str, v: &Option<String>, into: &mut i64| {
        if let Some(ms) = positive_ms(key, env(var).or(v.clone()))? {
            *into = ms;
        }
        Ok(())
    };
    let s = &mut a.sessions;
    duration(
        "login_lockout",
        "IOCHUB_LOGIN_LOCKOUT",
        &file.login_lockout,
        &mut a.lockout_ms,
    )?;
    duration(
        "session_idle_admin",
        "IOCHUB_SESSION_IDLE_ADMIN",
        &file.session_idle_admin,
        &mut s.idle_admin_ms,
    )?;
    duration(
        "session_idle",
        "IOCHUB_SESSION_IDLE",
        &file.session_idle,
        &mut s.idle_ms,
    )?;
    duration(
        "session_idle_viewer",
        "IOCHUB_SESSION_IDLE_VIEWER",
        &file.session_idle_viewer,
        &mut s.idle_viewer_ms,
    )?;
    duration(
        "session_absolute",
        "IOCHUB_SESSION_ABSOLUTE",
        &file.session_absolute,
        &mut s.absolute_ms,
    )?;
    duration(
        "session_absolute_viewer",
        "IOCHUB_SESSION_ABSOLUTE_VIEWER",
        &file.session_absolute_viewer,
        &mut s.absolute_viewer_ms,
    )?;
    Ok(a)
}

/// The default retention policy, overridden by `IOCHUB_RETENTION_*` (`iochub demo`'s).
pub fn retention_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<RetentionPolicy, ConfigError> {
    retention_from(&ConfigFile::default(), env)
}

fn retention_from(
    file: &ConfigFile,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<RetentionPolicy, ConfigError> {
    let days = |key: &'static str, var: &str, v: Option<u32>, default: u32| match env(var) {
        Some(s) => s.trim().parse::<u32>().map_err(|_| ConfigError::Key {
            key,
            message: format!("{s:?} is not a whole number of days (0 = keep forever)"),
        }),
        None => Ok(v.unwrap_or(default)),
    };
    let d = RetentionPolicy::default();
    Ok(RetentionPolicy {
        raw_days: days(
            "retention_raw_days",
            "IOCHUB_RETENTION_RAW_DAYS",
            file.retention_raw_days,
            d.raw_days,
        )?,
        rollup_days: days(
            "retention_rollup_days",
            "IOCHUB_RETENTION_ROLLUP_DAYS",
            file.retention_rollup_days,
            d.rollup_days,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let file = Some(vec!["10.0.0.0/8".to_owned(), "fd00::1".to_owned()]);
        let nets = trusted_proxies_from(file, &env(&[])).expect("file");
        assert_eq!(nets.len(), 2);
        assert!(nets[0].contains(&"10.20.30.40".parse::<std::net::IpAddr>().expect("ip")));
        assert_eq!(
            nets[1].prefix_len(),
            128,
            "an address is a one-address network"
        );
        let from_env = env(&[("IOCHUB_TRUSTED_PROXIES", "127.0.0.1, ")]);
        assert_eq!(trusted_proxies_from(None, &from_env).expect("env").len(), 1);
        for bad in ["proxy.local", "10.0.0.0/33"] {
            let e = trusted_proxies_from(Some(vec![bad.into()]), &env(&[])).expect_err(bad);
            assert!(e.to_string().contains("trusted_proxies"), "{e}");
        }
    }

    #[test]
    fn https_needs_both_files_and_a_redirect_needs_https() {
        let none = (None, None, None);
        assert_eq!(https_from(none.clone(), &env(&[])).expect("plain"), None);
        let both = env(&[
            ("IOCHUB_TLS_CERT_FILE", "/etc/iochub/cert.pem"),
            ("IOCHUB_TLS_KEY_FILE", "/etc/iochub/key.pem"),
            ("IOCHUB_HTTP_REDIRECT", "0.0.0.0:80"),
        ]);
        let https = https_from(none.clone(), &both).expect("https").expect("on");
        assert_eq!(
            https.redirect_from,
            Some("0.0.0.0:80".parse().expect("addr"))
        );
        let half = (Some("cert.pem".to_owned()), None, None);
        let e = https_from(half, &env(&[])).expect_err("no key");
        assert!(e.to_string().contains("tls_key_file"), "{e}");
        let redirect = env(&[("IOCHUB_HTTP_REDIRECT", "0.0.0.0:80")]);
        let e = https_from(none.clone(), &redirect).expect_err("no https");
        assert!(e.to_string().contains("http_redirect"), "{e}");
        let bad = env(&[("IOCHUB_HTTP_REDIRECT", "port 80")]);
        assert!(https_from(none, &bad).is_err());
    }

    #[test]
    fn empty_file_plus_environment_is_valid() {
        let c = HubConfig::from_parts(
            ConfigFile::default(),
            env(&[
                ("IOCHUB_MQTT_URL", "mqtt://127.0.0.1:1884"),
                ("IOCHUB_HTTP", "127.0.0.1:9000"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.http.port(), 9000);
        assert_eq!(
            c.broker,
            BrokerConfig::External {
                url: "mqtt://127.0.0.1:1884".into()
            }
        );
        assert!(
            c.store_readings,
            "readings are stored unless told otherwise"
        );
        let file: ConfigFile = toml::from_str("store_readings = false").expect("valid");
        let c =
            HubConfig::from_parts(file, env(&[("IOCHUB_MQTT_URL", "mqtt://x:1")])).expect("valid");
        assert!(!c.store_readings);
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/iochub.example.toml"
        ));
        let c = HubConfig::from_file(path, env(&[])).expect("deploy/iochub.example.toml parses");
        assert_eq!(c.mqtt_client_id, "iochub-ingest");
        assert_eq!(c.data_dir, Path::new("/var/lib/iochub"));
        let c = HubConfig::from_file(path, env(&[("IOCHUB_HTTP", "127.0.0.1:1")])).expect("valid");
        assert_eq!(c.http.port(), 1, "the environment wins over the file");
        let ids: Vec<&str> = c.agencies.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["ca-tinh", "so-nnmt"]);
        assert_eq!(c.agencies[0].contacts[0].phone.as_deref(), Some("113"));
        assert_eq!(c.devices[0].key, "cb-sl-baolac-01");
        assert_eq!(
            c.devices[0].patch.tags.as_deref(),
            Some(&["slope".to_owned(), "road".to_owned()][..])
        );
        assert_eq!(c.devices[0].patch.expected_interval_s, Some(300.0));
    }

    #[test]
    fn devices_are_listed_once_with_valid_keys() {
        let bad = |text: &str| {
            let file: ConfigFile = toml::from_str(text).expect("toml");
            HubConfig::from_parts(file, env(&[("IOCHUB_MQTT_URL", "mqtt://x:1")]))
                .expect_err("refused")
                .to_string()
        };
        let twice = bad("[[devices]]\nkey = \"a\"\n[[devices]]\nkey = \"a\"\n");
        assert!(
            twice.contains("devices") && twice.contains("listed twice"),
            "{twice}"
        );
        let key = bad("[[devices]]\nkey = \"a b\"\n");
        assert!(key.contains("device \"a b\""), "{key}");
        let interval = bad("[[devices]]\nkey = \"a\"\nexpected_interval = \"soon\"\n");
        assert!(interval.contains("expected_interval"), "{interval}");
        assert!(toml::from_str::<ConfigFile>("[[devices]]\nkey = \"a\"\ncolour = 1\n").is_err());
    }

    #[test]
    fn account_settings_from_file_and_environment() {
        let file: ConfigFile = toml::from_str(
            "password_policy = \"strict\"\nlogin_lockout = \"2m\"\ninactive_lock_days = 0",
        )
        .expect("valid");
        let a = accounts_from(&file, &env(&[])).expect("valid");
        assert_eq!(a.policy.classes, 3);
        assert_eq!(a.lockout_ms, 120_000);
        assert_eq!(a.inactive_lock_days, 0);
        assert_eq!(a.max_failed_logins, 5);
        let a = accounts_from(
            &file,
            &env(&[
                ("IOCHUB_PASSWORD_POLICY", "default"),
                ("IOCHUB_LOGIN_MAX_FAILURES", "3"),
            ]),
        )
        .expect("valid");
        assert_eq!((a.policy.classes, a.max_failed_logins), (0, 3));
        assert_eq!(a.sessions, crate::accounts::SessionPolicy::default());
        let wall = accounts_from(&file, &env(&[("IOCHUB_SESSION_IDLE_VIEWER", "7d")])).expect("ok");
        assert_eq!(wall.sessions.idle_viewer_ms, 7 * 86_400_000);
        let e = accounts_from(&file, &env(&[("IOCHUB_LOGIN_LOCKOUT", "soon")])).expect_err("bad");
        assert!(e.to_string().contains("login_lockout"), "{e}");
        assert!(toml::from_str::<ConfigFile>("password_policy = \"lax\"").is_err());
    }

    #[test]
    fn retention_defaults_file_and_environment() {
        let file: ConfigFile = toml::from_str("retention_raw_days = 7").expect("valid");
        let p = retention_from(&file, &env(&[])).expect("valid");
        assert_eq!((p.raw_days, p.rollup_days), (7, 730));
        let p = retention_from(&file, &env(&[("IOCHUB_RETENTION_RAW_DAYS", "0")])).expect("ok");
        assert_eq!(p.raw_days, 0, "the environment wins; 0 keeps forever");
        let e = retention_from(&file, &env(&[("IOCHUB_RETENTION_ROLLUP_DAYS", "two")]))
            .expect_err("not a number");
        assert!(e.to_string().contains("`retention_rollup_days`"), "{e}");
        assert_eq!(
            retention_from(&ConfigFile::default(), &env(&[])).expect("defaults"),
            RetentionPolicy::default()
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e =
            HubConfig::from_parts(ConfigFile::default(), env(&[])).expect_err("mqtt_url missing");
        assert!(e.to_string().contains("mqtt_url"), "{e}");
        let e = HubConfig::from_parts(
            ConfigFile::default(),
            env(&[("IOCHUB_MQTT_URL", "mqtt://x:1"), ("IOCHUB_HTTP", "nope")]),
        )
        .expect_err("bad http");
        assert!(e.to_string().contains("`http`"), "{e}");
        let e = HubConfig::from_parts(
            ConfigFile::default(),
            env(&[
                ("IOCHUB_MQTT_URL", "mqtt://x:1"),
                ("IOCHUB_STORE_READINGS", "no"),
            ]),
        )
        .expect_err("bad boolean");
        assert!(e.to_string().contains("`store_readings`"), "{e}");
        let e = toml::from_str::<ConfigFile>("colour = 1").expect_err("unknown key");
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_files_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "mqtt_url = \"mqtt://x:1\"\ndata_dir = \"data\"\nrules = \"rules/site.toml\"\n\
             web_dir = \"/srv/web\"\nmqtt_ca_file = \"ca.pem\"\n",
        )
        .expect("config");
        let c = HubConfig::from_file(&path, env(&[])).expect("valid");
        assert_eq!(c.data_dir, dir.path().join("data"));
        assert_eq!(c.rules, dir.path().join("rules/site.toml"));
        assert!(!c.rules_by_default);
        assert_eq!(c.mqtt_ca_file, Some(dir.path().join("ca.pem")));
        assert_eq!(c.web_dir, Some(PathBuf::from("/srv/web")), "absolute stays");
        let c = HubConfig::from_file(&path, env(&[("IOCHUB_RULES", "here.toml")])).expect("ok");
        assert_eq!(
            c.rules,
            Path::new("here.toml"),
            "a variable is taken from the working directory"
        );
    }

    #[test]
    fn without_a_rules_key_serve_reads_the_data_directorys_rules_file() {
        let c = HubConfig::from_parts(
            ConfigFile::default(),
            env(&[
                ("IOCHUB_MQTT_URL", "mqtt://x:1"),
                ("IOCHUB_DATA_DIR", "/var/lib/iochub"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.rules, Path::new("/var/lib/iochub/rules.toml"));
        assert!(c.rules_by_default);
        assert_eq!(c.simulation_seed, None, "serve never simulates");
    }

    fn parsed(text: &str, vars: &[(&str, &str)]) -> Result<HubConfig, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        let mut all = vec![("IOCHUB_MQTT_URL", "mqtt://x:1")];
        all.extend_from_slice(vars);
        HubConfig::from_parts(file, env(&all))
    }

    #[test]
    fn systems_time_zone_and_report_keys() {
        let c = parsed(
            r#"
            timezone = "Asia/Ho_Chi_Minh"
            province = "Cao Bằng"
            report_live_within = "2m"
            report_outage_after = "30m"
            [[systems]]
            id = "tai-nguyen-nuoc"
            name = "Mạng trạm quan trắc tài nguyên nước"
            expected_interval = "5m"
            devices = ["cb-wl-*", "cb-rain-*"]
            "#,
            &[("IOCHUB_REPORT_FLUSH", "500ms")],
        )
        .expect("valid");
        let r = &c.reports;
        assert_eq!(
            (r.zone.name(), r.province.as_deref()),
            ("Asia/Ho_Chi_Minh", Some("Cao Bằng"))
        );
        assert_eq!(r.systems[0].expected_interval_s, Some(300.0));
        assert_eq!(r.systems[0].devices, ["cb-wl-*", "cb-rain-*"]);
        let s = r.supply;
        assert_eq!((s.live_within_ms, s.outage_after_ms), (120_000, 1_800_000));
        assert_eq!(s.flush_every, std::time::Duration::from_millis(500));
        assert_eq!(
            s.zone, r.zone,
            "the tally counts local days of the same zone"
        );

        for (text, needle) in [
            ("timezone = \"Mars/Base\"", "timezone"),
            ("[[systems]]\nid = \"Bad Id\"\nname = \"x\"", "Bad Id"),
            (
                "[[systems]]\nid = \"a\"\nname = \"x\"\nexpected_interval = \"soon\"",
                "expected_interval",
            ),
            (
                "[[systems]]\nid = \"a\"\nname = \"x\"\n[[systems]]\nid = \"a\"\nname = \"y\"",
                "twice",
            ),
            ("report_outage_after = \"0s\"", "report_outage_after"),
        ] {
            let e = parsed(text, &[]).expect_err(text);
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
