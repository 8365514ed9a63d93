//! The seam between a camera's session and the thing that pulls frames from it: the hub opens
//! a [`FrameSource`] through a [`Connector`] (RTSP through retina in [`super::rtsp`]; frames a
//! test makes up in the session's tests), and never sees how the frames arrived.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::model::{Credentials, Transport};

/// What a stream's frames need to be decoded: the codec and its parameter sets. A camera that
/// changes them (a new resolution, a new SPS) hands out a new `Arc`, so a viewer notices by
/// comparing pointers.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoParams {
    /// RFC 6381, e.g. `avc1.42C01E` (what a browser's MSE asks).
    pub codec: String,
    /// The MP4 sample entry (`avc1`/`hvc1` box with its `avcC`/`hvcC`): the heart of an init
    /// segment.
    pub sample_entry: Bytes,
    /// The decoder configuration record (`avcC`/`hvcC` body): the parameter sets.
    pub extra_data: Bytes,
    pub width: u32,
    pub height: u32,
    /// RTP clock rate of the timestamps (90 kHz for video).
    pub clock_rate: u32,
    /// Frames per second the stream declares, when it does.
    pub frame_rate: Option<f64>,
}

impl VideoParams {
    pub fn is_h265(&self) -> bool {
        self.codec.starts_with("hvc1") || self.codec.starts_with("hev1")
    }
}

/// One coded picture (an access unit), NAL units each with a 4-byte length as MP4 stores them.
#[derive(Debug, Clone)]
pub struct Frame {
    /// In `params.clock_rate` units since the stream began.
    pub timestamp: i64,
    /// A picture a decoder can start from (IDR, or CRA/BLA in H.265).
    pub keyframe: bool,
    pub data: Bytes,
    pub params: Arc<VideoParams>,
    /// RTP packets lost just before this frame.
    pub lost_packets: u16,
    /// Which opening of the stream it came from (the session counts them): timestamps start
    /// over, and the first frames may lack their reference, when this changes.
    pub epoch: u32,
}

/// Where to open a stream and how.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRequest {
    pub url: String,
    pub credentials: Option<Credentials>,
    pub transport: Transport,
}

/// Why a stream could not be opened or broke, in words for the operator who must act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("does not answer: {0}")]
    Unreachable(String),
    #[error("refused the user name or password (RTSP 401)")]
    Unauthorized,
    #[error("refused: {0}")]
    Refused(String),
    #[error("offers no H.264 or H.265 video stream")]
    NoVideo,
    #[error("broken stream: {0}")]
    Stream(String),
    #[error("sent a frame of {0} bytes, more than a camera may (4 MiB)")]
    TooLarge(usize),
    #[error("ended the stream")]
    Ended,
}

/// The largest access unit a camera may send; a 4K IDR at a high bit rate is about 2 MiB. (The
/// viewers' ring holds up to 64 frames, so this bounds what a camera can make the hub hold.)
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// Opens streams.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    async fn open(&self, request: &OpenRequest) -> Result<Box<dyn FrameSource>, SourceError>;
}

/// An open stream.
#[async_trait]
pub trait FrameSource: Send {
    /// The next frame; `Err(SourceError::Ended)` when the camera closed the stream.
    async fn next_frame(&mut self) -> Result<Frame, SourceError>;
}
