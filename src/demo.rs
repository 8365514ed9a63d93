//! Everything `iochub demo` adds to the production hub, in one place: its configuration (flags
//! and a few `IOCHUB_*` variables, the embedded broker, SQLite in a data directory), the sample
//! rules, the illustrative areas of the simulated province and the simulator itself.
//!
//! The production binary links the simulator (`iochub-sim`) because both commands are one
//! binary; `serve` never starts it: [`HubConfig::simulation_seed`] is `None` there, and this
//! module is the only one that names `iochub_sim`'s province (besides `iochub-sim`'s own tests).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use iochub_sim::cameras::{self as sim_cameras, SimCamera};
use iochub_sim::province::{self, ProvinceOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::accounts::{Agency, AgencyKind, Contact};
use crate::areas::Areas;
use crate::camera::model::{NewCamera, Transport};
use crate::config::{self, BrokerConfig, ConfigError, HubConfig, MapConfig};
use crate::storage::{DevicePatch, Store};
use crate::systems::System;

/// The rules file `iochub demo` reads unless told otherwise (relative to the working directory:
/// the repository's copy, edited there while the demo runs).
pub const DEFAULT_RULES: &str = "rules/cao-bang.toml";

/// The sample rules of the simulated province, for a demo started outside the repository.
const SAMPLE_RULES: &str = include_str!("../rules/cao-bang.toml");

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot write the sample rules to {path}: {reason}")]
    Rules { path: String, reason: String },
    #[error("the simulated cameras cannot listen on {0}: {1}")]
    Rtsp(SocketAddr, String),
}

/// The flags of `iochub demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    /// Where the simulated cameras serve RTSP (port 0: one the system picks).
    pub rtsp: SocketAddr,
    pub data_dir: PathBuf,
    pub rules: PathBuf,
    pub simulate: bool,
    pub seed: u64,
    pub shards: Option<usize>,
    /// The embedded broker asks for device credentials (`--mqtt-auth`).
    pub mqtt_auth: bool,
}

/// The hub `iochub demo` runs: the embedded broker on `mqtt` (unless `IOCHUB_MQTT_URL` names
/// another), SQLite in `data_dir`, the simulated province's areas (unless `IOCHUB_AREAS`), and
/// the sample rules.
pub fn config(
    opts: DemoOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<HubConfig, DemoError> {
    let rules = rules_file(opts.rules, &opts.data_dir)?;
    let rtsp = match (opts.simulate, opts.rtsp.port()) {
        (false, _) => None,
        (true, 0) => Some(free_port(opts.rtsp)?),
        (true, _) => Some(opts.rtsp),
    };
    let areas = match env("IOCHUB_AREAS") {
        Some(list) => config::load_areas(&crate::areas::paths_from_env(&list))?,
        None => Arc::new(areas()),
    };
    Ok(HubConfig {
        http: opts.http,
        broker: match env("IOCHUB_MQTT_URL") {
            Some(url) => BrokerConfig::External { url },
            None => BrokerConfig::Embedded {
                listen: opts.mqtt,
                auth: opts.mqtt_auth,
            },
        },
        mqtt_client_id: "iochub-ingest".into(),
        mqtt_ca_file: env("IOCHUB_MQTT_CA_FILE").map(PathBuf::from),
        database_url: None,
        database_ca_file: None,
        data_dir: opts.data_dir,
        rules,
        rules_by_default: false,
        simulation_seed: opts.simulate.then_some(opts.seed),
        simulation_rtsp: rtsp,
        shards: opts.shards.unwrap_or_else(config::default_shards),
        metrics_public: false,
        store_readings: config::bool_key(
            "store_readings",
            env("IOCHUB_STORE_READINGS"),
            None,
            true,
        )?,
        retention: config::retention_from_env(&env)?,
        web_dir: env("IOCHUB_WEB_DIR").map(PathBuf::from),
        areas,
        map: MapConfig::from_env(&env)?,
        accounts: config::accounts_from_env(&env)?,
        webhooks: config::webhooks_from_env(&env)?,
        audit_retention_days: config::audit_retention_from(None, &env)?,
        allowed_origins: Vec::new(),
        trusted_proxies: config::trusted_proxies_from(None, &env)?,
        https: config::https_from((None, None, None), &env)?,
        agencies: agencies(),
        devices: rtsp.map_or_else(Vec::new, |_| camera_devices()),
        cameras: rtsp.map_or_else(Vec::new, cameras),
        reports: config::ReportSettings {
            province: Some("Cao Bằng".into()),
            ..config::reports_from_env(systems(), &env)?
        },
    })
}

/// A port the system gives out now for `addr`'s address (the simulated cameras listen on it a
/// moment later; their URLs must be known before).
fn free_port(addr: SocketAddr) -> Result<SocketAddr, DemoError> {
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map_err(|e| DemoError::Rtsp(addr, e.to_string()))
}

/// The simulated cameras, as config `[[cameras]]` pointing at the simulator's RTSP server:
/// always pulled, so their health (and the frozen and dark pictures of the scenarios) is
/// measured whether or not anyone watches.
pub fn cameras(rtsp: SocketAddr) -> Vec<NewCamera> {
    sim_cameras::cameras()
        .into_iter()
        .map(|c: SimCamera| NewCamera {
            id: c.key.into(),
            name: Some(c.name.into()),
            url: format!("rtsp://{rtsp}/{}/main", c.key),
            sub_url: Some(format!("rtsp://{rtsp}/{}/sub", c.key)),
            username: None,
            password: None,
            lat: Some(c.lat),
            lon: Some(c.lon),
            always_on: true,
            transport: Transport::Tcp,
            system: Some("camera-giam-sat".into()),
        })
        .collect()
}

/// The cameras' devices: name, place and system, as `cameras_from` makes them for `serve`.
fn camera_devices() -> Vec<config::ConfigDevice> {
    cameras(SocketAddr::from(([127, 0, 0, 1], 0)))
        .iter()
        .map(|c| config::ConfigDevice {
            key: c.id.clone(),
            patch: DevicePatch::of_camera(c),
        })
        .collect()
}

/// The demo province's connected systems (illustrative), by the key prefixes of the simulated
/// stations. No expected interval: the simulator's follows `--interval`, so reports learn it.
pub fn systems() -> Vec<System> {
    let system = |id: &str, name: &str, owner: &str, devices: &[&str]| System {
        id: id.into(),
        name: name.into(),
        owner: Some(owner.into()),
        expected_interval_s: None,
        devices: devices.iter().map(|d| d.to_string()).collect(),
        created_at: 0,
        updated_at: 0,
    };
    vec![
        system(
            "tai-nguyen-nuoc",
            "Mạng trạm quan trắc tài nguyên nước",
            "Sở Nông nghiệp và Môi trường",
            &["cb-wl-*", "cb-rain-*"],
        ),
        system(
            "moi-truong-khong-khi",
            "Mạng quan trắc môi trường không khí",
            "Sở Nông nghiệp và Môi trường",
            &["cb-aq-*"],
        ),
        system(
            "khi-tuong",
            "Mạng trạm khí tượng",
            "Đài Khí tượng Thủy văn tỉnh",
            &["cb-wx-*"],
        ),
        system(
            "canh-bao-thien-tai",
            "Hệ thống cảnh báo sạt lở đất và cháy rừng",
            "Ban Chỉ huy Phòng thủ dân sự tỉnh",
            &["cb-sl-*", "cb-fr-*"],
        ),
        system(
            "camera-giam-sat",
            "Hệ thống camera giám sát",
            "Công an tỉnh",
            &["cb-cam-*"],
        ),
    ]
}

/// The demo province's agencies (illustrative): the provincial departments alerts go to (no area:
/// the whole province), and the People's Committees of a ward and of a mountain commune, each
/// scoped to its own area. Local government has two levels, province and commune, so there is no
/// district committee to add.
pub fn agencies() -> Vec<Agency> {
    let agency = |id: &str, name: &str, kind, area: Option<&str>, phone: &str| Agency {
        id: id.into(),
        name: name.into(),
        kind,
        area: area.map(Into::into),
        contacts: vec![Contact {
            name: "Trực ban".into(),
            title: None,
            phone: Some(phone.into()),
            email: None,
        }],
        webhook: None,
        created_at_ms: 0,
        updated_at_ms: 0,
    };
    use AgencyKind as K;
    vec![
        agency("ca-tinh", "Công an tỉnh", K::Police, None, "113"),
        agency(
            "pccc",
            "Phòng Cảnh sát PCCC và CNCH",
            K::FireRescue,
            None,
            "114",
        ),
        agency("so-yte", "Sở Y tế", K::Health, None, "115"),
        agency(
            "so-nnmt",
            "Sở Nông nghiệp và Môi trường",
            K::Environment,
            None,
            "0206 3852 111",
        ),
        agency("so-xd", "Sở Xây dựng", K::Traffic, None, "0206 3852 222"),
        agency(
            "ptds",
            "Ban Chỉ huy Phòng thủ dân sự tỉnh",
            K::CivilDefense,
            None,
            "0206 3852 333",
        ),
        agency(
            "ubnd-thucphan",
            "UBND phường Thục Phán",
            K::Commune,
            Some("cb-p-thucphan"),
            "0206 3852 444",
        ),
        agency(
            "ubnd-baolac",
            "UBND xã Bảo Lạc",
            K::Commune,
            Some("cb-x-baolac"),
            "0206 3870 555",
        ),
    ]
}

/// The demo's rules file: the one given, or, when the default is not there (the binary runs
/// outside the repository), the built-in sample copied into the data directory.
fn rules_file(rules: PathBuf, data_dir: &Path) -> Result<PathBuf, DemoError> {
    rules_or_sample(rules, Path::new(DEFAULT_RULES), data_dir)
}

fn rules_or_sample(rules: PathBuf, default: &Path, data_dir: &Path) -> Result<PathBuf, DemoError> {
    if rules.exists() || rules != default {
        return Ok(rules);
    }
    let copy = data_dir.join("rules.toml");
    let err = |e: std::io::Error| DemoError::Rules {
        path: copy.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(data_dir).map_err(err)?;
    if !copy.exists() {
        std::fs::write(&copy, SAMPLE_RULES).map_err(err)?;
    }
    Ok(copy)
}

/// The simulated province's boundaries: hand-drawn, illustrative, not official.
pub fn areas() -> Areas {
    Areas::parse([(
        "simulators/data/cao-bang-areas.geojson",
        province::AREAS_GEOJSON,
    )])
    .unwrap_or_default()
}

/// Issues an MQTT password to every simulated station (for `--mqtt-auth`): stored hashed like
/// any device's, handed to the simulator in memory. Each start issues new ones.
pub async fn station_passwords(
    store: &dyn Store,
    now_ms: i64,
) -> Result<HashMap<String, String>, crate::storage::StoreError> {
    let mut passwords = HashMap::new();
    for station in province::stations() {
        let password = crate::accounts::mqtt::new_password();
        let credential = crate::storage::DeviceCredential {
            device: station.key.to_owned(),
            hash: crate::accounts::mqtt::hash(&password),
            issued_at_ms: now_ms,
        };
        store.set_device_credential(credential).await?;
        passwords.insert(station.key.to_owned(), password);
    }
    Ok(passwords)
}

/// Starts the simulated province against `mqtt_url`, its cameras on `rtsp`, and names its
/// stations; all stop when `stop` is cancelled. The simulator's own crate stops on a watch
/// channel: bridged here. Cameras that cannot listen are logged (the hub then shows them
/// offline), not fatal.
pub async fn simulate(
    seed: u64,
    mqtt_url: String,
    rtsp: Option<SocketAddr>,
    passwords: HashMap<String, String>,
    store: Arc<dyn Store>,
    stop: CancellationToken,
) -> Result<(), province::ProvinceError> {
    let opts = ProvinceOptions {
        url: mqtt_url,
        passwords,
        seed,
        interval: Duration::from_secs(5),
        scenarios: Vec::new(),
        ..ProvinceOptions::default()
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let cameras = rtsp.map(|addr| {
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let server = sim_cameras::Server::new(sim_cameras::cameras(), seed);
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    if let Err(e) = server.serve(listener, stop).await {
                        tracing::warn!(error = %e, "the simulated cameras stopped");
                    }
                }
                Err(e) => tracing::warn!(%addr, error = %e, "the simulated cameras cannot listen"),
            }
        })
    });
    let sim = province::run(opts, stop_rx);
    tokio::pin!(sim);
    let naming = name_stations(store, stop.clone());
    tokio::pin!(naming);
    let mut named = false;
    loop {
        tokio::select! {
            out = &mut sim => return out,
            () = &mut naming, if !named => named = true,
            () = stop.cancelled() => break,
        }
    }
    let _ = stop_tx.send(true);
    if let Some(cameras) = cameras {
        let _ = cameras.await;
    }
    sim.await
}

/// Gives the simulated stations their Vietnamese names once they have reported: the store learns
/// a device from its first reading, and the map should not show bare keys. Names an operator
/// already set are kept.
async fn name_stations(store: Arc<dyn Store>, stop: CancellationToken) {
    let mut pending = province::stations();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // Stations that never report (none, normally) are given up after five minutes.
    for _ in 0..300 {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let mut waiting = Vec::new();
        for station in pending {
            match store.device(station.key).await {
                Ok(Some(d)) if d.name.is_none() => {
                    let patch = DevicePatch {
                        name: Some(station.name.clone()),
                        ..Default::default()
                    };
                    if store.update_device(station.key, patch).await.is_err() {
                        waiting.push(station);
                    }
                }
                Ok(Some(_)) => {}
                _ => waiting.push(station),
            }
        }
        pending = waiting;
        if pending.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::areas::Shape;

    #[test]
    fn the_areas_hold_every_station() {
        let areas = areas();
        let province = Shape::Area(areas.get("cb").expect("province"));
        for s in province::stations() {
            assert!(
                province.contains(s.lon, s.lat),
                "{} outside the outline",
                s.key
            );
        }
        assert!(areas.get("cb-p-thucphan").is_some_and(|a| a.illustrative));
    }

    /// The areas below the province: wards and communes, drawn inside the province and apart from
    /// each other.
    fn local_areas(areas: &Areas) -> Vec<Arc<crate::areas::Area>> {
        let features = areas.feature_collection()["features"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        features
            .iter()
            .filter_map(|f| f["properties"]["id"].as_str())
            .filter_map(|id| areas.get(id))
            .filter(|a| a.level != "province")
            .collect()
    }

    #[test]
    fn the_areas_are_the_provinces_wards_and_communes() {
        let areas = areas();
        let local = local_areas(&areas);
        assert!(local.len() >= 20, "{} areas", local.len());
        for a in &local {
            assert!(
                matches!(a.level.as_str(), "ward" | "commune"),
                "{}: level {} (two-level local government: province, then ward or commune)",
                a.id,
                a.level
            );
            assert!(a.illustrative, "{} must say it is illustrative", a.id);
        }
        let wards: Vec<_> = local.iter().filter(|a| a.level == "ward").collect();
        let names: Vec<_> = wards.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Thục Phán", "Nùng Trí Cao", "Tân Giang"]);
        // No two areas overlap, and none reaches outside the province: checked on a grid of about
        // 1 km over the province's box.
        let province = Shape::Area(areas.get("cb").expect("province"));
        let (mut lon, mut lat) = (105.25, 22.30);
        while lat < 23.15 {
            while lon < 106.86 {
                let inside: Vec<_> = local
                    .iter()
                    .filter(|a| a.shape.contains(lon, lat))
                    .map(|a| a.id.as_str())
                    .collect();
                assert!(inside.len() <= 1, "{inside:?} overlap at {lon:.3},{lat:.3}");
                assert!(
                    inside.is_empty() || province.contains(lon, lat),
                    "{inside:?} outside the province at {lon:.3},{lat:.3}"
                );
                lon += 0.01;
            }
            (lon, lat) = (105.25, lat + 0.01);
        }
    }

    #[test]
    fn a_station_inside_a_commune_or_ward_is_named_after_it() {
        let areas = areas();
        let local = local_areas(&areas);
        let stations = province::stations();
        let mut placed = 0;
        for s in &stations {
            let inside: Vec<_> = local
                .iter()
                .filter(|a| a.shape.contains(s.lon, s.lat))
                .collect();
            if let [a] = inside.as_slice() {
                let word = if a.level == "ward" {
                    "phường"
                } else {
                    "xã"
                };
                let named = format!("{word} {}", a.name);
                assert!(
                    s.name.ends_with(&named),
                    "{} ({}) lies in {}",
                    s.key,
                    s.name,
                    named
                );
                placed += 1;
            }
        }
        assert!(
            placed * 4 >= stations.len() * 3,
            "only {placed} of {} stations lie in a drawn commune or ward",
            stations.len()
        );
        for a in &local {
            assert!(
                stations.iter().any(|s| a.shape.contains(s.lon, s.lat)),
                "{} holds no station",
                a.id
            );
        }
    }

    #[test]
    fn every_agency_area_is_drawn() {
        let areas = areas();
        for agency in agencies() {
            if let Some(area) = &agency.area {
                assert!(areas.get(area).is_some(), "{}: no area {area}", agency.id);
            }
        }
    }

    #[test]
    fn the_sample_routes_name_demo_agencies_and_areas() {
        let rules = crate::engine::RuleSet::parse(SAMPLE_RULES).expect("sample rules");
        let (agencies, areas) = (agencies(), areas());
        assert!(rules.policy.routes.len() >= 5 && rules.policy.escalations.len() == 3);
        for route in &rules.policy.routes {
            for id in &route.agencies {
                assert!(agencies.iter().any(|a| &a.id == id), "no demo agency {id}");
            }
            if let Some(area) = &route.area {
                assert!(areas.get(area).is_some(), "no demo area {area}");
            }
        }
        assert!(
            rules.rules.iter().all(|r| r.category.is_some()),
            "every sample rule has a category"
        );
    }

    #[test]
    fn outside_the_repository_the_sample_rules_are_copied_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let default = dir.path().join("rules/cao-bang.toml");
        let copy = rules_or_sample(default.clone(), &default, &data).expect("copied");
        assert_eq!(copy, data.join("rules.toml"));
        assert_eq!(std::fs::read_to_string(&copy).expect("copy"), SAMPLE_RULES);
        std::fs::write(&copy, "# edited by the operator\n").expect("edit");
        rules_or_sample(default.clone(), &default, &data).expect("again");
        assert_eq!(
            std::fs::read_to_string(&copy).expect("copy"),
            "# edited by the operator\n",
            "an edited copy is kept"
        );
        let named = dir.path().join("mine.toml");
        assert_eq!(
            rules_or_sample(named.clone(), &default, &data).expect("named"),
            named,
            "a file named on the command line is used as given (the loader reports it missing)"
        );
    }
}
