//! Simulated cameras of the province: four cameras at real places (a bridge over the Bằng
//! Giang by the flood gauge, a crossroads in the provincial capital, the Mã Phục pass, the Bản
//! Giốc waterfall), served over RTSP (`rtsp`) from pictures drawn and encoded to H.264 when the
//! simulator starts (`clip`), so the demo shows live video with nothing installed.
//!
//! During the scenarios one camera freezes (its picture stops changing while frames still flow)
//! and one goes dark (its lens covered), on a fixed schedule from the simulator's start: what the
//! hub's picture checks must notice and its rules alert on.

pub mod clip;
pub mod live;
pub mod rtsp;

use std::time::Duration;

pub use clip::Scene;
pub use rtsp::{Server, ServerError};

/// What goes wrong with a camera, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The picture stops changing.
    Freeze,
    /// The lens is covered.
    Dark,
}

/// When a camera's fault happens: from `start` after the simulator started, for `length`, and
/// again every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSchedule {
    pub fault: Fault,
    pub start: Duration,
    pub length: Duration,
    pub every: Duration,
}

impl FaultSchedule {
    /// The fault that holds `elapsed` after the start, if any.
    pub fn at(&self, elapsed: Duration) -> Option<Fault> {
        let since = elapsed.checked_sub(self.start)?;
        let into = since.as_secs_f64() % self.every.as_secs_f64().max(1.0);
        (into < self.length.as_secs_f64()).then_some(self.fault)
    }
}

/// One simulated camera.
#[derive(Debug, Clone)]
pub struct SimCamera {
    /// Its device key, and its path on the RTSP server (`/{key}/main`, `/{key}/sub`).
    pub key: &'static str,
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub scene: Scene,
    pub fault: Option<FaultSchedule>,
}

/// The main stream's size; the sub-stream is half of it each way.
pub const MAIN_SIZE: (usize, usize) = (640, 360);

/// The demo's cameras. The first freeze 45 s after the start and the dark lens 75 s after it
/// last two minutes each and come back every ten minutes.
pub fn cameras() -> Vec<SimCamera> {
    let every = Duration::from_secs(600);
    let length = Duration::from_secs(120);
    vec![
        SimCamera {
            key: "cb-cam-banggiang",
            name: "Camera cầu Bằng Giang, phường Thục Phán",
            lat: 22.6676,
            lon: 106.2583,
            scene: Scene::River,
            fault: None,
        },
        SimCamera {
            key: "cb-cam-hopgiang",
            name: "Camera ngã tư Hợp Giang, phường Thục Phán",
            lat: 22.6655,
            lon: 106.2561,
            scene: Scene::Street,
            fault: Some(FaultSchedule {
                fault: Fault::Freeze,
                start: Duration::from_secs(45),
                length,
                every,
            }),
        },
        SimCamera {
            key: "cb-cam-maphuc",
            name: "Camera đèo Mã Phục, QL3, xã Trà Lĩnh",
            lat: 22.7606,
            lon: 106.3395,
            scene: Scene::Pass,
            fault: Some(FaultSchedule {
                fault: Fault::Dark,
                start: Duration::from_secs(75),
                length,
                every,
            }),
        },
        SimCamera {
            key: "cb-cam-bangioc",
            name: "Camera thác Bản Giốc, xã Đàm Thủy",
            lat: 22.8552,
            lon: 106.7222,
            scene: Scene::Waterfall,
            fault: None,
        },
    ]
}

/// A cheap, well-mixed hash of three numbers (SplitMix64's finaliser): the pictures' noise.
pub(crate) mod rng {
    pub fn noise(seed: u64, a: u64, b: u64) -> u64 {
        let mut z = seed
            .wrapping_add(a.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(b.wrapping_mul(0xBF58_476D_1CE4_E5B9));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_holds_for_its_length_and_comes_back_every_period() {
        let s = FaultSchedule {
            fault: Fault::Dark,
            start: Duration::from_secs(75),
            length: Duration::from_secs(120),
            every: Duration::from_secs(600),
        };
        let at = |secs| s.at(Duration::from_secs(secs));
        assert_eq!(at(0), None);
        assert_eq!(at(74), None);
        assert_eq!(at(75), Some(Fault::Dark));
        assert_eq!(at(194), Some(Fault::Dark));
        assert_eq!(at(195), None);
        assert_eq!(at(675), Some(Fault::Dark));
    }

    #[test]
    fn the_demo_has_four_cameras_one_freezing_and_one_going_dark() {
        let all = cameras();
        assert!(all.len() >= 4);
        let faults: Vec<_> = all
            .iter()
            .filter_map(|c| c.fault.map(|f| f.fault))
            .collect();
        assert_eq!(faults, [Fault::Freeze, Fault::Dark]);
        let mut keys: Vec<_> = all.iter().map(|c| c.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
    }
}
