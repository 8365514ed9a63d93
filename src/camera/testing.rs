//! Real H.264 for the camera module's tests: pictures made up here, encoded with OpenH264's
//! encoder, handed over as retina hands a camera's frames (an `avcC` record, length-prefixed
//! units).

use std::sync::Arc;

use bytes::Bytes;
use openh264::encoder::Encoder;
use openh264::formats::YUVBuffer;

use super::source::{Frame, VideoParams};

pub const W: usize = 320;
pub const H: usize = 240;

/// A 4:2:0 picture whose luma is `luma(x, y)`, grey in colour.
pub fn picture(luma: impl Fn(usize, usize) -> u8) -> YUVBuffer {
    let mut yuv = Vec::with_capacity(W * H * 3 / 2);
    for y in 0..H {
        for x in 0..W {
            yuv.push(luma(x, y));
        }
    }
    yuv.resize(W * H * 3 / 2, 128);
    YUVBuffer::from_vec(yuv, W, H)
}

/// A scene: a gradient with a little noise that `seed` changes, like a live sensor's.
pub fn scene(seed: u32) -> YUVBuffer {
    picture(|x, y| {
        let n = (x as u32 * 7919 + y as u32 * 104_729 + seed * 15_485_863) % 13;
        (40 + (x + y) / 4 + n as usize) as u8
    })
}

pub fn black() -> YUVBuffer {
    picture(|_, _| 16)
}

/// Splits the encoder's Annex B keyframe into an `avcC` record and the frame's
/// length-prefixed units, as retina hands them over.
pub fn keyframe(encoder: &mut Encoder, yuv: &YUVBuffer) -> Arc<Frame> {
    encoder.force_intra_frame();
    let stream = encoder.encode(yuv).unwrap().to_vec();
    let units = iochub_sim::cameras::clip::units(&stream);
    let sps = units.iter().find(|u| u[0] & 0x1f == 7).unwrap();
    let pps = units.iter().find(|u| u[0] & 0x1f == 8).unwrap();
    let mut avcc = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    avcc.extend((sps.len() as u16).to_be_bytes());
    avcc.extend(sps.iter());
    avcc.push(1);
    avcc.extend((pps.len() as u16).to_be_bytes());
    avcc.extend(pps.iter());
    let mut data = Vec::new();
    for u in units.iter().filter(|u| !matches!(u[0] & 0x1f, 7..=9)) {
        data.extend((u.len() as u32).to_be_bytes());
        data.extend(u.iter());
    }
    Arc::new(Frame {
        timestamp: 0,
        keyframe: true,
        data: Bytes::from(data),
        params: Arc::new(VideoParams {
            codec: "avc1.42C01E".into(),
            sample_entry: Bytes::new(),
            extra_data: Bytes::from(avcc),
            width: W as u32,
            height: H as u32,
            clock_rate: 90_000,
            frame_rate: Some(25.0),
        }),
        lost_packets: 0,
        epoch: 1,
    })
}
