//! What a camera's picture shows, from its keyframes alone: whether it is **dark** (a covered,
//! painted-over or dead lens), whether it is **frozen** (the same picture again and again while
//! frames still flow: a hung encoder or a camera looping its last image), and the JPEG a
//! snapshot serves. The bit rate shows neither (a frozen or black picture still sends full-size
//! keyframes), so the picture itself is looked at.
//!
//! Only keyframes are decoded, each on its own, at most one per camera every `picture_every`
//! (8 s): a few ms for a real 720p picture with OpenH264 built into the hub (docs/ARCHITECTURE.md
//! says why not an ffmpeg child). Decoding runs on tokio's blocking threads, at most [`slots`] at a time across all
//! cameras; a keyframe that finds no free slot, or its camera's previous one still decoding, is
//! skipped and counted, never queued (a snapshot waits for a slot, within its 10 s).
//!
//! The judgement is deliberately plain, so an operator can reason about it:
//! - dark: the mean luma is below [`DARK_MEAN`] and its spread below [`DARK_SPREAD`] (black is
//!   16 in the video range); a night scene with street lights is not dark;
//! - frozen: compared with the first keyframe of the current run, fewer than [`FROZEN_CHANGED`]
//!   (1 in 5,000) of the sampled pixels moved by more than [`NOISE`] steps, for at least
//!   `frozen_after`. A live sensor's noise alone changes far more pixels than that, even in a
//!   still scene, because each keyframe codes it anew; a picture that is not produced anew
//!   decodes the same. A frozen picture under an on-screen clock that still ticks is therefore
//!   not seen as frozen (the clock's digits change more than that). A dark picture is not also
//!   called frozen.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openh264::formats::YUVSource;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::source::Frame;

/// Below this mean luma (0–255, video range) a picture may be dark.
pub const DARK_MEAN: f64 = 40.0;
/// ...and only when its luma's standard deviation is below this (a uniform picture).
pub const DARK_SPREAD: f64 = 12.0;
/// Luma steps a pixel may differ by and still count as unchanged: an encoder's rate control
/// that moves a little between keyframes of the same picture changes many pixels by 1–4.
pub const NOISE: u8 = 4;
/// The share of sampled pixels that may change in a frozen picture: 1 in 5,000. A picture that is
/// not produced anew decodes the same, keyframe after keyframe, once the encoder's rate control
/// has settled; a live sensor's noise changes 20 % and more, and even a small object moving over
/// a noiseless synthetic background changes 0.06 % (the test camera's ball).
pub const FROZEN_CHANGED: f64 = 0.0002;
/// Every `SAMPLE_STEP`-th pixel of every `SAMPLE_STEP`-th row is compared.
const SAMPLE_STEP: usize = 4;

/// How many keyframes may be decoded at once in the whole hub: one per core.
pub fn slots() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    #[error("pictures of {0} are not decoded (H.264 only)")]
    Unsupported(String),
    #[error("the stream's parameter sets are malformed")]
    BadParams,
    #[error("a keyframe's NAL units are malformed")]
    BadFrame,
    #[error("the keyframe could not be decoded: {0}")]
    Decode(String),
    #[error("the keyframe gave no picture")]
    NoPicture,
    #[error("a picture of {0}x{1} is too large for a JPEG")]
    TooLarge(usize, usize),
}

/// One decoded picture's planes (4:2:0), borrowed from the decoder.
pub struct Planes<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: usize,
    pub uv_stride: usize,
}

impl Planes<'_> {
    fn luma(&self, x: usize, y: usize) -> u8 {
        self.y.get(y * self.y_stride + x).copied().unwrap_or(16)
    }

    fn chroma(&self, x: usize, y: usize) -> (u8, u8) {
        let i = (y / 2) * self.uv_stride + x / 2;
        (
            self.u.get(i).copied().unwrap_or(128),
            self.v.get(i).copied().unwrap_or(128),
        )
    }
}

/// An H.264 decoder for one camera's keyframes.
pub struct Decoder {
    inner: openh264::decoder::Decoder,
}

impl Decoder {
    pub fn new() -> Result<Self, PictureError> {
        let inner =
            openh264::decoder::Decoder::new().map_err(|e| PictureError::Decode(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Decodes a keyframe on its own and hands its planes to `look`.
    pub fn decode<R>(
        &mut self,
        frame: &Frame,
        look: impl FnOnce(&Planes<'_>) -> R,
    ) -> Result<R, PictureError> {
        if !frame.params.codec.starts_with("avc1") {
            return Err(PictureError::Unsupported(frame.params.codec.clone()));
        }
        let stream = annex_b(&frame.params.extra_data, &frame.data)?;
        let decoded = self
            .inner
            .decode(&stream)
            .map_err(|e| PictureError::Decode(e.to_string()))?
            .ok_or(PictureError::NoPicture)?;
        let (width, height) = decoded.dimensions();
        let (y_stride, uv_stride, _) = decoded.strides();
        Ok(look(&Planes {
            width,
            height,
            y: decoded.y(),
            u: decoded.u(),
            v: decoded.v(),
            y_stride,
            uv_stride,
        }))
    }
}

/// The parameter sets of an `avcC` record and a frame's length-prefixed NAL units (as MP4
/// stores them), as the Annex B byte stream a decoder reads: each unit after a start code.
pub fn annex_b(avcc: &[u8], frame: &[u8]) -> Result<Vec<u8>, PictureError> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let mut out = Vec::with_capacity(frame.len() + avcc.len() + 32);
    // version, profile, compatibility, level, length size, then the SPS and PPS lists
    let length_size = usize::from(avcc.get(4).ok_or(PictureError::BadParams)? & 3) + 1;
    let mut at = 5;
    for list in 0..2 {
        let count = *avcc.get(at).ok_or(PictureError::BadParams)?;
        let count = if list == 0 { count & 0x1f } else { count };
        at += 1;
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes([
                *avcc.get(at).ok_or(PictureError::BadParams)?,
                *avcc.get(at + 1).ok_or(PictureError::BadParams)?,
            ]));
            let unit = avcc
                .get(at + 2..at + 2 + len)
                .ok_or(PictureError::BadParams)?;
            out.extend_from_slice(&START);
            out.extend_from_slice(unit);
            at += 2 + len;
        }
    }
    let mut at = 0;
    while at < frame.len() {
        let prefix = frame
            .get(at..at + length_size)
            .ok_or(PictureError::BadFrame)?;
        let len = prefix
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        let unit = frame
            .get(at + length_size..at + length_size + len)
            .ok_or(PictureError::BadFrame)?;
        out.extend_from_slice(&START);
        out.extend_from_slice(unit);
        at += length_size + len;
    }
    Ok(out)
}

/// What the judgement needs of a picture: its luma's mean and spread, and a sample of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub width: usize,
    pub height: usize,
    pub mean: f64,
    pub spread: f64,
    sample: Vec<u8>,
}

impl Look {
    pub fn of(p: &Planes<'_>) -> Self {
        let mut sample =
            Vec::with_capacity((p.width / SAMPLE_STEP + 1) * (p.height / SAMPLE_STEP + 1));
        for y in (0..p.height).step_by(SAMPLE_STEP) {
            for x in (0..p.width).step_by(SAMPLE_STEP) {
                sample.push(p.luma(x, y));
            }
        }
        let n = sample.len().max(1) as f64;
        let mean = sample.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = sample
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        Self {
            width: p.width,
            height: p.height,
            mean,
            spread: variance.sqrt(),
            sample,
        }
    }

    pub fn dark(&self) -> bool {
        self.mean < DARK_MEAN && self.spread < DARK_SPREAD
    }

    /// The share of sampled pixels that differ from `other`'s by more than [`NOISE`]; 1 when
    /// the pictures differ in size.
    pub fn changed_from(&self, other: &Look) -> f64 {
        if (self.width, self.height) != (other.width, other.height) || self.sample.is_empty() {
            return 1.0;
        }
        let changed = (self.sample.iter().zip(&other.sample))
            .filter(|(a, b)| a.abs_diff(**b) > NOISE)
            .count();
        changed as f64 / self.sample.len() as f64
    }
}

/// Whether a camera's picture is frozen or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub frozen: bool,
    pub dark: bool,
}

/// Judges a camera's keyframes one after another.
#[derive(Debug)]
pub struct Judge {
    frozen_after: Duration,
    /// The first picture of the run the latest ones have not changed from, and when it came.
    still: Option<(Look, Instant)>,
}

impl Judge {
    pub fn new(frozen_after: Duration) -> Self {
        Self {
            frozen_after,
            still: None,
        }
    }

    pub fn judge(&mut self, look: Look, now: Instant) -> Verdict {
        let dark = look.dark();
        let since = match &self.still {
            Some((still, since)) if look.changed_from(still) < FROZEN_CHANGED => *since,
            _ => {
                self.still = Some((look, now));
                now
            }
        };
        Verdict {
            frozen: !dark && now.duration_since(since) >= self.frozen_after,
            dark,
        }
    }
}

/// A camera's keyframes on their way to a verdict: one decoded at a time, off the async
/// threads, at most one every `every`; the ones that come meanwhile are skipped. The camera's
/// decoder is kept from one keyframe to the next: a new one per keyframe would allocate and
/// clear its picture buffers each time (measured: more CPU than the decoding, and more memory
/// held by the allocator, not less).
pub struct Inspector {
    slots: Arc<Semaphore>,
    every: Duration,
    /// When the latest keyframe looked at came.
    last: Option<Instant>,
    /// None while a keyframe is being decoded (the decoder is with it), or before the first.
    decoder: Option<Decoder>,
    running: Option<JoinHandle<(Decoder, Result<Look, PictureError>)>>,
    judge: Judge,
}

impl Inspector {
    pub fn new(slots: Arc<Semaphore>, frozen_after: Duration, every: Duration) -> Self {
        Self {
            slots,
            every,
            last: None,
            decoder: None,
            running: None,
            judge: Judge::new(frozen_after),
        }
    }

    /// Starts decoding a keyframe when one is due, unless one is being decoded or every slot
    /// is busy (then it is skipped and counted). False when it is not looked at.
    pub fn offer(&mut self, frame: &Arc<Frame>) -> bool {
        // a keyframe with lost packets would be judged on what the decoder made up for them
        if !frame.keyframe || frame.lost_packets > 0 || !frame.params.codec.starts_with("avc1") {
            return false;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            return false;
        }
        if self.running.is_some() {
            crate::metrics::camera_pictures_skipped();
            return false;
        }
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            crate::metrics::camera_pictures_skipped();
            return false;
        };
        let mut decoder = match self.decoder.take().map_or_else(Decoder::new, Ok) {
            Ok(d) => d,
            Err(e) => {
                crate::metrics::camera_picture_error();
                tracing::warn!(error = %e, "no H.264 decoder");
                return false;
            }
        };
        self.last = Some(now);
        let frame = frame.clone();
        self.running = Some(tokio::task::spawn_blocking(move || {
            let look = decoder.decode(&frame, Look::of);
            drop(permit);
            (decoder, look)
        }));
        true
    }

    /// Forgets the keyframe being decoded (its stream ended): its verdict would be on a picture
    /// of the past. The decoding finishes on its own; the next keyframe gets a new decoder.
    pub fn discard(&mut self) {
        self.running = None;
        self.last = None;
    }

    /// Whether a keyframe is being decoded.
    pub fn judging(&self) -> bool {
        self.running.is_some()
    }

    /// The verdict on the keyframe being decoded, when it is done; pending while none is.
    /// Cancel-safe: a keyframe's verdict is not lost when the wait is.
    pub async fn verdict(&mut self) -> Result<Verdict, PictureError> {
        let Some(running) = self.running.as_mut() else {
            return std::future::pending().await;
        };
        let joined = running.await;
        self.running = None;
        match joined {
            Ok((decoder, Ok(look))) => {
                self.decoder = Some(decoder);
                Ok(self.judge.judge(look, Instant::now()))
            }
            // a decoder that failed starts afresh with the next keyframe
            Ok((_, Err(e))) => Err(e),
            Err(_) => Err(PictureError::Decode("the decoder panicked".into())),
        }
    }
}

/// A JPEG of a decoded picture (4:2:0), at `quality` (1–100).
pub fn jpeg(p: &Planes<'_>, quality: u8) -> Result<Bytes, PictureError> {
    let (Ok(_), Ok(_)) = (u16::try_from(p.width), u16::try_from(p.height)) else {
        return Err(PictureError::TooLarge(p.width, p.height));
    };
    let mut out = Vec::with_capacity(p.width * p.height / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode_image(JpegSource::new(p))
        .map_err(|e| PictureError::Decode(e.to_string()))?;
    Ok(Bytes::from(out))
}

/// The planes as the JPEG encoder reads them: row by row, stretched from the video range that
/// H.264 uses (luma 16–235, chroma 16–240) to the full range JFIF expects.
struct JpegSource<'p, 'a> {
    planes: &'p Planes<'a>,
    luma: [u8; 256],
    chroma: [u8; 256],
}

impl<'p, 'a> JpegSource<'p, 'a> {
    fn new(planes: &'p Planes<'a>) -> Self {
        let table = |f: &dyn Fn(f64) -> f64| {
            std::array::from_fn(|v| f(v as f64).round().clamp(0.0, 255.0) as u8)
        };
        Self {
            planes,
            luma: table(&|v| (v - 16.0) * 255.0 / 219.0),
            chroma: table(&|v| (v - 128.0) * 255.0 / 224.0 + 128.0),
        }
    }
}

impl jpeg_encoder::ImageBuffer for JpegSource<'_, '_> {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        jpeg_encoder::JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        u16::try_from(self.planes.width).unwrap_or(u16::MAX)
    }

    fn height(&self) -> u16 {
        u16::try_from(self.planes.height).unwrap_or(u16::MAX)
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let y = usize::from(y);
        for x in 0..self.planes.width {
            let (u, v) = self.planes.chroma(x, y);
            buffers[0].push(self.luma[usize::from(self.planes.luma(x, y))]);
            buffers[1].push(self.chroma[usize::from(u)]);
            buffers[2].push(self.chroma[usize::from(v)]);
        }
    }
}

#[cfg(test)]
mod tests;
