//! The pictures of a simulated camera: a scene drawn here (sky, hills, a river, a road, things
//! that move, a sensor's noise) and encoded to H.264 with OpenH264 when the RTSP server starts, as
//! short clips that the RTSP server loops: the live picture, a frozen one (the same picture over
//! and over) and a dark one (a covered lens). Each clip starts with a keyframe and has one every
//! second, so the server can switch clips at any second.

use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod};
use openh264::formats::{RgbSliceU8, YUVBuffer};

use super::rng::noise;

/// Frames per second of every simulated stream.
pub const FPS: u32 = 10;
/// Seconds of live picture before the loop starts over: longer than the time between two of the
/// hub's looks at a camera's picture (8 s, or a keyframe or two more), or a look would land on
/// the same keyframe of the loop as the one before and see a frozen picture.
const LIVE_SECONDS: u32 = 13;

/// What a camera looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// A river under a bridge, its water flowing.
    River,
    /// A town street with cars.
    Street,
    /// A mountain pass, a truck climbing it.
    Pass,
    /// A waterfall in the forest.
    Waterfall,
}

/// One coded picture: its NAL units, without start codes.
#[derive(Debug, Clone)]
pub struct CodedFrame {
    pub units: Vec<Bytes>,
    pub keyframe: bool,
}

/// A clip: frames at [`FPS`], a keyframe every second, the first one included.
#[derive(Debug, Clone)]
pub struct Clip {
    pub frames: Vec<CodedFrame>,
}

/// Every clip of one stream of a camera, and the parameter sets its SDP announces.
#[derive(Debug, Clone)]
pub struct Clips {
    pub width: usize,
    pub height: usize,
    pub sps: Bytes,
    pub pps: Bytes,
    pub live: Clip,
    pub frozen: Clip,
    pub dark: Clip,
}

#[derive(Debug, thiserror::Error)]
#[error("the H.264 encoder failed: {0}")]
pub struct EncodeError(String);

impl EncodeError {
    pub(crate) fn new(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// Draws and encodes a stream's clips (a second or so of CPU for 640x360: run it off the async
/// threads).
pub fn encode(scene: Scene, seed: u64, width: usize, height: usize) -> Result<Clips, EncodeError> {
    let kbps = (width * height / 300) as u32;
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(kbps * 1000))
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(FPS));
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).map_err(EncodeError::new)?;
    let mut canvas = Canvas::new(scene, seed, width, height);
    let mut clip = |pictures: &mut dyn FnMut(u32) -> YUVBuffer, frames: u32| {
        let mut out = Vec::with_capacity(frames as usize);
        for n in 0..frames {
            let picture = pictures(n);
            if n % FPS == 0 {
                encoder.force_intra_frame();
            }
            let stream = encoder.encode(&picture).map_err(EncodeError::new)?.to_vec();
            out.push(CodedFrame {
                units: units(&stream),
                keyframe: n % FPS == 0,
            });
        }
        Ok::<_, EncodeError>(Clip { frames: out })
    };
    let live = clip(&mut |n| canvas.draw(n, true), LIVE_SECONDS * FPS)?;
    canvas.paint(FPS * 3, true);
    let still = canvas.rgb.clone();
    let frozen = clip(
        &mut |_| YUVBuffer::from_rgb8_source(RgbSliceU8::new(&still, (width, height))),
        FPS,
    )?;
    let mut dark_canvas = Canvas::covered(seed, width, height);
    let dark = clip(&mut |n| dark_canvas.draw(n, true), FPS * 2)?;
    let first = live
        .frames
        .first()
        .ok_or_else(|| EncodeError::new("no frame"))?;
    let unit = |kind: u8| {
        (first.units.iter())
            .find(|u| u.first().is_some_and(|b| b & 0x1f == kind))
            .cloned()
            .ok_or_else(|| {
                EncodeError::new(format!("no NAL unit of type {kind} in the first keyframe"))
            })
    };
    Ok(Clips {
        width,
        height,
        sps: unit(7)?,
        pps: unit(8)?,
        live,
        frozen,
        dark,
    })
}

/// An Annex B stream's NAL units (start codes and trailing zeros removed); the hub's camera
/// tests use it too.
pub fn units(stream: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Some(start) = rest.windows(3).position(|w| w == [0, 0, 1]) {
        rest = &rest[start + 3..];
        let end = (rest.windows(3).position(|w| w == [0, 0, 1])).unwrap_or(rest.len());
        let mut unit = &rest[..end];
        while unit.last() == Some(&0) {
            unit = &unit[..unit.len() - 1];
        }
        if !unit.is_empty() {
            out.push(Bytes::copy_from_slice(unit));
        }
    }
    out
}

/// `frames` pictures of `scene` at `fps`, with a sensor's noise, as I420 (Y, then U, then V):
/// what the live camera (`live`) loops under its time stamp.
pub(crate) fn pictures(
    scene: Scene,
    seed: u64,
    (width, height): (usize, usize),
    fps: f64,
    frames: u32,
) -> Vec<Vec<u8>> {
    use openh264::formats::YUVSource;
    let mut canvas = Canvas::new(scene, seed, width, height);
    (0..frames)
        .map(|n| {
            canvas.paint_at(f64::from(n) / fps, n, true);
            let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(&canvas.rgb, (width, height)));
            [yuv.y(), yuv.u(), yuv.v()].concat()
        })
        .collect()
}

/// Draws a scene's pictures: a background drawn once, then what moves and the noise.
struct Canvas {
    scene: Option<Scene>,
    seed: u64,
    width: usize,
    height: usize,
    background: Vec<[u8; 3]>,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(scene: Scene, seed: u64, width: usize, height: usize) -> Self {
        let mut c = Self::blank(Some(scene), seed, width, height);
        c.paint_background();
        c
    }

    /// A lens covered by a hand, tape or a bag: nearly black.
    fn covered(seed: u64, width: usize, height: usize) -> Self {
        let mut c = Self::blank(None, seed, width, height);
        c.background.fill([8, 8, 10]);
        c
    }

    fn blank(scene: Option<Scene>, seed: u64, width: usize, height: usize) -> Self {
        Self {
            scene,
            seed,
            width,
            height,
            background: vec![[0, 0, 0]; width * height],
            rgb: vec![0; width * height * 3],
        }
    }

    fn paint_background(&mut self) {
        let (w, h) = (self.width as f64, self.height as f64);
        let scene = self.scene;
        for y in 0..self.height {
            for x in 0..self.width {
                let (fx, fy) = (x as f64 / w, y as f64 / h);
                let ridge = 0.32 + 0.06 * (fx * 9.0 + 1.3).sin() + 0.03 * (fx * 23.0).sin();
                let sky = lerp([120, 170, 225], [200, 220, 240], fy / 0.4);
                let hill = lerp([40, 90, 45], [70, 120, 60], (fy - ridge) * 3.0);
                let mut px = if fy < ridge { sky } else { hill };
                match scene {
                    Some(Scene::River) => {
                        if (0.62..0.9).contains(&fy) {
                            px = lerp([60, 95, 120], [45, 80, 105], (fy - 0.62) * 3.0);
                        }
                        // the bridge: a deck and its piers
                        if (0.5..0.56).contains(&fy)
                            || ((0.56..0.75).contains(&fy) && (fx * 5.0).fract() < 0.06)
                        {
                            px = [150, 150, 145];
                        }
                    }
                    Some(Scene::Street) => {
                        if fy < 0.55 {
                            // houses along the street, each its own colour
                            let house = (fx * 7.0) as u32;
                            let colours = [
                                [200, 170, 120],
                                [180, 90, 70],
                                [230, 220, 200],
                                [120, 140, 170],
                            ];
                            if fy > 0.2 + 0.05 * f64::from(house % 3) {
                                px = colours[house as usize % colours.len()];
                                if (fx * 28.0).fract() < 0.4 && (fy * 12.0).fract() < 0.45 {
                                    px = [60, 70, 80];
                                }
                            }
                        } else if !(0.62..=0.95).contains(&fy) {
                            px = [170, 165, 160];
                        } else {
                            px = [85, 85, 90];
                            if (0.775..0.785).contains(&fy) && (fx * 10.0).fract() < 0.5 {
                                px = [230, 230, 230];
                            }
                        }
                    }
                    Some(Scene::Pass) => {
                        let road = 0.55 + 0.25 * fx + 0.05 * (fx * 6.0).sin();
                        if (fy - road).abs() < 0.035 {
                            px = [95, 90, 85];
                        }
                    }
                    Some(Scene::Waterfall) => {
                        if fy > ridge && (fx - 0.5).abs() < 0.12 && fy < 0.78 {
                            px = [215, 225, 230];
                        }
                        if fy >= 0.78 {
                            px = [70, 130, 140];
                        }
                    }
                    None => {}
                }
                self.background[y * self.width + x] = px;
            }
        }
    }

    /// The `n`th picture (at [`FPS`]), with a sensor's noise when `noisy`.
    fn draw(&mut self, n: u32, noisy: bool) -> YUVBuffer {
        self.paint(n, noisy);
        YUVBuffer::from_rgb8_source(RgbSliceU8::new(&self.rgb, (self.width, self.height)))
    }

    /// Paints the `n`th picture into `rgb`.
    fn paint(&mut self, n: u32, noisy: bool) {
        self.paint_at(f64::from(n) / f64::from(FPS), n, noisy);
    }

    /// Paints the picture at `t` seconds into `rgb`, `n` choosing its noise.
    fn paint_at(&mut self, t: f64, n: u32, noisy: bool) {
        let (w, h) = (self.width, self.height);
        for (i, px) in self.background.iter().enumerate() {
            let (x, y) = (i % w, i / w);
            let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
            let mut px = *px;
            match self.scene {
                Some(Scene::River) if (0.62..0.9).contains(&fy) && px != [150, 150, 145] => {
                    let ripple = ((fx * 40.0 - t * 3.0 + (fy * 60.0).sin()).sin() * 18.0) as i32;
                    px = shade(px, ripple);
                }
                Some(Scene::Waterfall) if px == [215, 225, 230] || fy >= 0.78 => {
                    let flow = ((fy * 50.0 - t * 8.0 + fx * 13.0).sin() * 22.0) as i32;
                    px = shade(px, flow);
                }
                _ => {}
            }
            if let Some(car) = self.vehicle(fx, fy, t) {
                px = car;
            }
            let grain = if noisy {
                (noise(self.seed, u64::from(n), i as u64) % 9) as i32 - 4
            } else {
                0
            };
            let px = shade(px, grain);
            self.rgb[i * 3..i * 3 + 3].copy_from_slice(&px);
        }
    }

    /// The colour of a vehicle at (fx, fy) at time `t`, if one is there.
    fn vehicle(&self, fx: f64, fy: f64, t: f64) -> Option<[u8; 3]> {
        match self.scene? {
            Scene::Street => {
                let lanes = [
                    (0.66, 0.09, [200, 40, 40]),
                    (0.7, -0.13, [240, 240, 240]),
                    (0.83, 0.07, [40, 80, 180]),
                    (0.86, -0.11, [230, 190, 40]),
                ];
                lanes.iter().find_map(|&(top, speed, colour)| {
                    let x = (0.1 + speed * t).rem_euclid(1.3) - 0.15;
                    ((fy - top) >= 0.0 && (fy - top) < 0.07 && (fx - x) >= 0.0 && (fx - x) < 0.12)
                        .then_some(colour)
                })
            }
            Scene::Pass => {
                let x = (0.05 * t).rem_euclid(1.2) - 0.1;
                let road = 0.55 + 0.25 * x + 0.05 * (x * 6.0).sin();
                ((fx - x).abs() < 0.03 && fy > road - 0.06 && fy < road + 0.01)
                    .then_some([210, 120, 30])
            }
            Scene::River => {
                let x = (0.08 * t).rem_euclid(1.2) - 0.1;
                ((fx - x).abs() < 0.04 && (0.47..0.5).contains(&fy)).then_some([30, 120, 60])
            }
            Scene::Waterfall => None,
        }
    }
}

fn lerp(a: [u8; 3], b: [u8; 3], f: f64) -> [u8; 3] {
    let f = f.clamp(0.0, 1.0);
    std::array::from_fn(|i| (f64::from(a[i]) * (1.0 - f) + f64::from(b[i]) * f) as u8)
}

fn shade(px: [u8; 3], by: i32) -> [u8; 3] {
    px.map(|c| (i32::from(c) + by).clamp(0, 255) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_have_a_keyframe_every_second_and_only_the_frozen_one_repeats_itself() {
        let c = encode(Scene::Street, 1, 160, 96).unwrap();
        assert_eq!(c.sps[0] & 0x1f, 7);
        assert_eq!(c.pps[0] & 0x1f, 8);
        for clip in [&c.live, &c.frozen, &c.dark] {
            assert_eq!(clip.frames.len() % FPS as usize, 0);
            for (n, f) in clip.frames.iter().enumerate() {
                assert_eq!(f.keyframe, n % FPS as usize == 0, "frame {n}");
                let idr = f.units.iter().any(|u| u[0] & 0x1f == 5);
                assert_eq!(idr, f.keyframe, "frame {n}");
            }
        }
        let picture = |f: &CodedFrame| {
            let slices: Vec<_> = f.units.iter().filter(|u| u[0] & 0x1f == 5).collect();
            slices.iter().map(|u| u.to_vec()).collect::<Vec<_>>()
        };
        let live: Vec<_> = c
            .live
            .frames
            .iter()
            .step_by(FPS as usize)
            .map(picture)
            .collect();
        assert!(
            live.windows(2).all(|w| w[0] != w[1]),
            "a live picture changes"
        );
        // the frozen clip is looped: its one keyframe comes again and again
        assert_eq!(c.frozen.frames.len(), FPS as usize);
    }
}
