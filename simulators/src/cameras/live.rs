//! A live camera for the benchmarks (`iochub-sim camera`, scripts/bench): unlike the demo's
//! looped clips, every frame is encoded as it is shown, and carries the wall-clock time it was
//! drawn at as a band of black and white blocks along its top ([`stamp`]). A browser that reads
//! the painted frame back and compares it with its own clock (same machine) has the
//! glass-to-glass latency: encoding, RTSP, the hub, the WebSocket, MSE and the decoder.
//!
//! The band: [`BAND_ROWS`] rows of [`BAND_COLUMNS`] blocks, each `width / 16` wide and half as
//! high, black for 0 and white for 1, most significant bit first: rows 0 and 1 the epoch
//! milliseconds modulo 2^32, row 2 the complement of row 1 (a frame read half-way through an
//! update, or blurred, fails the check instead of giving a wrong time). The blocks are large
//! enough to come through the encoder's quantisation even at a sub-stream's bitrate.
//!
//! Under the band the scene of the demo's street camera loops (two seconds, a sensor's noise in
//! every frame, so the bitrate is a real camera's). One encoder per stream, however many
//! clients: they share its frames through a broadcast ring.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, UsageType,
};
use openh264::formats::YUVSlices;
use tokio::sync::{broadcast, watch};
use tracing::warn;

use super::Scene;
use super::clip::{EncodeError, pictures, units};

/// Blocks per row of the time stamp.
pub const BAND_COLUMNS: usize = 16;
/// Rows of the time stamp.
pub const BAND_ROWS: usize = 3;
/// Frames a client may fall behind before it skips to the next keyframe.
const RING: usize = 64;
/// Seconds of scene looped under the stamp.
const LOOP_SECONDS: f64 = 2.0;

/// One encoded frame of a live stream.
#[derive(Debug)]
pub struct LiveFrame {
    /// NAL units, without start codes.
    pub units: Vec<Bytes>,
    pub keyframe: bool,
    /// Its time in the stream's 90 kHz clock, from the stream's start.
    pub ticks: u64,
}

/// How a live stream is encoded.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub kbps: u32,
    /// Frames from one keyframe to the next.
    pub gop: u32,
    pub seed: u64,
}

/// A live stream: its parameter sets (for the SDP) and its frames as they are encoded.
pub struct Live {
    pub options: LiveOptions,
    pub sps: Bytes,
    pub pps: Bytes,
    frames: broadcast::Sender<Arc<LiveFrame>>,
}

impl Live {
    /// Draws the scene, starts the encoder on a thread of its own, and returns once the first
    /// frame is encoded (its parameter sets known). The thread ends when `stop` turns true.
    pub fn start(
        options: LiveOptions,
        stop: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, EncodeError> {
        let LiveOptions {
            width,
            height,
            fps,
            kbps,
            gop,
            seed,
        } = options;
        if width % 16 != 0 || height % 2 != 0 || width < 64 || height < band_height(width) {
            return Err(EncodeError::new(format!(
                "a live stream's width must be a multiple of 16 and its height even and taller \
                 than the stamp ({width}x{height})"
            )));
        }
        let fps = fps.max(1);
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(kbps.saturating_mul(1000)))
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .intra_frame_period(IntraFramePeriod::from_num_frames(gop.max(1)))
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            // a camera sends every frame, whatever its rate control thinks (OpenH264 then warns
            // that it cannot hold the bitrate; measured, it holds it within a few per cent)
            .skip_frames(false);
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(EncodeError::new)?;
        let loop_frames = (f64::from(fps) * LOOP_SECONDS) as u32;
        let scene = pictures(
            Scene::Street,
            seed,
            (width, height),
            f64::from(fps),
            loop_frames,
        );
        let mut picture = scene.first().cloned().unwrap_or_default();
        let first = encode(&mut encoder, &mut picture, (width, height), now_ms())?;
        let unit = |kind: u8| {
            (first.iter())
                .find(|u| u.first().is_some_and(|b| b & 0x1f == kind))
                .cloned()
                .ok_or_else(|| EncodeError::new(format!("no NAL unit of type {kind}")))
        };
        let (frames, _) = broadcast::channel(RING);
        let live = Arc::new(Self {
            options,
            sps: unit(7)?,
            pps: unit(8)?,
            frames: frames.clone(),
        });
        let run = move || {
            let period = Duration::from_secs(1) / fps;
            let started = Instant::now();
            let mut n: u64 = 0;
            let mut late = 0u64;
            while !*stop.borrow() {
                let due = started + period * n as u32;
                let now = Instant::now();
                if let Some(wait) = due.checked_duration_since(now) {
                    std::thread::sleep(wait);
                } else if now - due > period {
                    // behind (the machine is busy): skip to the frame due now, as a camera would
                    late += 1;
                    n = (now - started).as_nanos() as u64 / period.as_nanos().max(1) as u64;
                }
                let i = (n % u64::from(loop_frames.max(1))) as usize;
                if let Some(p) = scene.get(i) {
                    picture.copy_from_slice(p);
                }
                if n.is_multiple_of(u64::from(gop.max(1))) {
                    encoder.force_intra_frame();
                }
                match encode(&mut encoder, &mut picture, (width, height), now_ms()) {
                    Ok(units) => {
                        let keyframe = units
                            .iter()
                            .any(|u| u.first().is_some_and(|b| b & 0x1f == 5));
                        let ticks = n * 90_000 / u64::from(fps);
                        // no client: nobody to send to, not an error
                        let _ = frames.send(Arc::new(LiveFrame {
                            units,
                            keyframe,
                            ticks,
                        }));
                    }
                    Err(e) => {
                        warn!(error = %e, "the live camera's encoder failed; it stops");
                        return;
                    }
                }
                n += 1;
            }
            if late > 0 {
                warn!(late, "the live camera fell behind and skipped frames");
            }
        };
        std::thread::Builder::new()
            .name(format!("live-{width}x{height}"))
            .spawn(run)
            .map_err(EncodeError::new)?;
        Ok(live)
    }

    /// The frames from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveFrame>> {
        self.frames.subscribe()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Stamps `ms` into the I420 `picture` and encodes it.
fn encode(
    encoder: &mut Encoder,
    picture: &mut [u8],
    (width, height): (usize, usize),
    ms: u64,
) -> Result<Vec<Bytes>, EncodeError> {
    stamp(picture, (width, height), ms);
    let (y, rest) = picture.split_at(width * height);
    let (u, v) = rest.split_at(rest.len() / 2);
    let source = YUVSlices::new((y, u, v), (width, height), (width, width / 2, width / 2));
    let stream = encoder.encode(&source).map_err(EncodeError::new)?;
    Ok(units(&stream.to_vec()))
}

/// The stamp's height in pixels for a picture `width` wide.
pub fn band_height(width: usize) -> usize {
    BAND_ROWS * block(width).1
}

/// A block's width and height.
fn block(width: usize) -> (usize, usize) {
    let w = width / BAND_COLUMNS;
    (w, (w / 2).max(2) & !1)
}

/// The bits of the stamp for `ms`, row by row, most significant first.
pub fn stamp_bits(ms: u64) -> [bool; BAND_ROWS * BAND_COLUMNS] {
    let t = ms as u32;
    let check = !t & 0xffff;
    std::array::from_fn(|i| {
        let (row, col) = (i / BAND_COLUMNS, i % BAND_COLUMNS);
        let bit = BAND_COLUMNS - 1 - col;
        match row {
            0 => (t >> (16 + bit)) & 1 == 1,
            1 => (t >> bit) & 1 == 1,
            _ => (check >> bit) & 1 == 1,
        }
    })
}

/// Paints the stamp for `ms` over the top of an I420 picture (luma black or white, chroma grey).
pub fn stamp(picture: &mut [u8], (width, height): (usize, usize), ms: u64) {
    let (bw, bh) = block(width);
    let bits = stamp_bits(ms);
    let (y_plane, chroma) = picture.split_at_mut((width * height).min(picture.len()));
    for row in 0..BAND_ROWS * bh {
        let Some(line) = y_plane.get_mut(row * width..(row + 1) * width) else {
            return;
        };
        for (x, px) in line.iter_mut().enumerate() {
            let col = (x / bw).min(BAND_COLUMNS - 1);
            *px = if bits[(row / bh) * BAND_COLUMNS + col] {
                235
            } else {
                16
            };
        }
    }
    let (cw, ch) = (width / 2, height / 2);
    for plane in chroma.chunks_mut(cw * ch) {
        for row in 0..(BAND_ROWS * bh / 2).min(ch) {
            if let Some(line) = plane.get_mut(row * cw..(row + 1) * cw) {
                line.fill(128);
            }
        }
    }
}

/// Reads a stamp back from a luma plane: the epoch milliseconds modulo 2^32, or None if the
/// check row does not match. The centre of each block decides (what the benchmark's browser
/// does with the painted frame, tests/web/bench-cameras.mjs).
pub fn read_stamp(y_plane: &[u8], width: usize) -> Option<u32> {
    let (bw, bh) = block(width);
    let mut rows = [0u32; BAND_ROWS];
    for (r, value) in rows.iter_mut().enumerate() {
        for c in 0..BAND_COLUMNS {
            let px = *y_plane.get((r * bh + bh / 2) * width + c * bw + bw / 2)?;
            *value = (*value << 1) | u32::from(px >= 128);
        }
    }
    (rows[2] == !rows[1] & 0xffff).then_some((rows[0] << 16) | rows[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use openh264::decoder::Decoder;
    use openh264::formats::YUVSource;

    #[test]
    fn the_stamp_survives_the_encoder_at_a_sub_streams_size_and_bitrate() {
        let (w, h) = (320, 180);
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(150_000))
            .max_frame_rate(FrameRate::from_hz(25.0))
            .complexity(Complexity::Low)
            .skip_frames(false);
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config).unwrap();
        let mut decoder = Decoder::new().unwrap();
        let scene = pictures(Scene::Street, 3, (w, h), 25.0, 10);
        let base = 1_767_225_600_123u64;
        for (n, p) in scene.iter().enumerate() {
            let ms = base + 40 * n as u64 + 7 * (n as u64 % 3);
            let mut picture = p.clone();
            let units = encode(&mut encoder, &mut picture, (w, h), ms).unwrap();
            let mut annex_b = Vec::new();
            for u in &units {
                annex_b.extend_from_slice(&[0, 0, 0, 1]);
                annex_b.extend_from_slice(u);
            }
            let decoded = decoder.decode(&annex_b).unwrap().expect("a picture");
            let (_, height) = decoded.dimensions();
            let stride = decoded.strides().0;
            let luma: Vec<u8> = (0..height)
                .flat_map(|row| decoded.y()[row * stride..row * stride + w].to_vec())
                .collect();
            assert_eq!(read_stamp(&luma, w), Some(ms as u32), "frame {n}");
        }
    }

    #[test]
    fn a_torn_stamp_fails_its_check() {
        let (w, h) = (320, 180);
        let mut a = vec![100u8; w * h * 3 / 2];
        let mut b = a.clone();
        stamp(&mut a, (w, h), 1_000_000);
        stamp(&mut b, (w, h), 1_000_040);
        assert_eq!(read_stamp(&a, w), Some(1_000_000));
        // the top rows of one frame over the bottom row of another
        let split = 2 * block(w).1 * w;
        let mut torn = a[..split].to_vec();
        torn.extend_from_slice(&b[split..w * h]);
        assert_eq!(read_stamp(&torn, w), None);
        assert_eq!(stamp_bits(0).len(), BAND_ROWS * BAND_COLUMNS);
    }
}
