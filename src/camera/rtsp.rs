//! RTSP through retina: DESCRIBE, SETUP of the first H.264/H.265 stream (TCP interleaved or
//! UDP), PLAY, and depacketised frames in MP4 framing, so that a frame goes into an fMP4
//! fragment as it is.
//!
//! retina has no timeouts of its own (a camera that stops answering keeps the connection open
//! and silent); the session around this bounds every call (`super::session`).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use retina::client::{Demuxed, PlayOptions, Session, SessionOptions, SetupOptions};
use retina::codec::{CodecItem, FrameFormat, ParametersRef};

use super::source::{
    Connector, Frame, FrameSource, MAX_FRAME_BYTES, OpenRequest, SourceError, VideoParams,
};
use crate::camera::model::Transport;

/// Opens cameras over RTSP.
#[derive(Debug, Default, Clone)]
pub struct RtspConnector;

fn is_video(s: &retina::client::Stream) -> bool {
    s.media() == "video" && matches!(s.encoding_name(), "h264" | "h265")
}

fn classify(e: &retina::Error) -> SourceError {
    match e.status_code() {
        Some(401) => SourceError::Unauthorized,
        // a success whose content retina could not use: a bad session description, a bad
        // transport
        Some(200..=299) => SourceError::Stream(first_line(e)),
        Some(status) => SourceError::Refused(format!("RTSP status {status}")),
        // retina's message carries the connection's context on further lines
        None => SourceError::Unreachable(first_line(e)),
    }
}

fn first_line(e: &retina::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

#[async_trait]
impl Connector for RtspConnector {
    async fn open(&self, request: &OpenRequest) -> Result<Box<dyn FrameSource>, SourceError> {
        let url = url::Url::parse(&request.url)
            .map_err(|e| SourceError::Refused(format!("bad URL: {e}")))?;
        let creds = request
            .credentials
            .as_ref()
            .map(|c| retina::client::Credentials {
                username: c.username.clone(),
                password: c.password.clone(),
            });
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent(format!("iochub/{}", env!("CARGO_PKG_VERSION")));
        let mut session = Session::describe(url, options)
            .await
            .map_err(|e| classify(&e))?;
        let stream = session
            .streams()
            .iter()
            .position(is_video)
            .ok_or(SourceError::NoVideo)?;
        let transport = match request.transport {
            Transport::Tcp => retina::client::Transport::Tcp(Default::default()),
            Transport::Udp => retina::client::Transport::Udp(Default::default()),
        };
        session
            .setup(
                stream,
                SetupOptions::default()
                    .transport(transport)
                    .frame_format(FrameFormat::MP4),
            )
            .await
            .map_err(|e| classify(&e))?;
        let demuxed = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| classify(&e))?
            .demuxed()
            .map_err(|e| SourceError::Stream(first_line(&e)))?;
        Ok(Box::new(RtspSource {
            demuxed,
            stream,
            params: None,
        }))
    }
}

struct RtspSource {
    demuxed: Demuxed,
    stream: usize,
    params: Option<Arc<VideoParams>>,
}

impl RtspSource {
    /// The stream's parameters now, as retina last parsed them.
    fn read_params(&self) -> Result<Arc<VideoParams>, SourceError> {
        let Some(ParametersRef::Video(v)) = self.demuxed.streams()[self.stream].parameters() else {
            return Err(SourceError::Stream(
                "a frame before its parameter sets".into(),
            ));
        };
        let sample_entry = v
            .mp4_sample_entry()
            .build()
            .map_err(|e| SourceError::Stream(first_line(&e)))?;
        let (width, height) = v.pixel_dimensions();
        Ok(Arc::new(VideoParams {
            codec: v.rfc6381_codec().to_owned(),
            sample_entry: Bytes::from(sample_entry),
            extra_data: Bytes::copy_from_slice(v.extra_data()),
            width,
            height,
            clock_rate: self.demuxed.streams()[self.stream].clock_rate_hz(),
            frame_rate: v
                .frame_rate()
                .filter(|(num, _)| *num > 0)
                .map(|(num, den)| f64::from(den) / f64::from(num)),
        }))
    }
}

#[async_trait]
impl FrameSource for RtspSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        loop {
            let item = match self.demuxed.next().await {
                None => return Err(SourceError::Ended),
                Some(Err(e)) => return Err(SourceError::Stream(first_line(&e))),
                Some(Ok(item)) => item,
            };
            let CodecItem::VideoFrame(frame) = item else {
                continue;
            };
            if frame.stream_id() != self.stream {
                continue;
            }
            if frame.data().len() > MAX_FRAME_BYTES {
                return Err(SourceError::TooLarge(frame.data().len()));
            }
            let params = match &self.params {
                Some(p) if !frame.has_new_parameters() => p.clone(),
                _ => {
                    let p = self.read_params()?;
                    self.params = Some(p.clone());
                    p
                }
            };
            return Ok(Frame {
                timestamp: frame.timestamp().elapsed(),
                keyframe: frame.is_random_access_point(),
                lost_packets: frame.loss(),
                data: Bytes::from(frame.into_data()),
                params,
                epoch: 0, // the session's to number
            });
        }
    }
}
