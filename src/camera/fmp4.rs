//! Fragmented MP4 for Media Source Extensions (ISO/IEC 14496-12): an init segment (`ftyp`,
//! `moov` with an empty sample table and `mvex`) once per stream parameters, then one fragment
//! (`moof` + `mdat`) per frame, so a browser shows each frame as it arrives.
//!
//! The sample entry (`avc1`/`hvc1` with its `avcC`/`hvcC`) comes ready-made from retina
//! ([`VideoParams::sample_entry`]); everything else is the handful of boxes MSE needs, written
//! here. Written by hand rather than with a muxing crate: the boxes are few and fixed, and the
//! crates that write fragments are young (docs/ARCHITECTURE.md, "Cameras").

use bytes::{BufMut, Bytes, BytesMut};

use super::source::VideoParams;

/// A box: its size is filled in when `body` has written the contents.
fn write_box(out: &mut BytesMut, kind: &[u8; 4], body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_u32(0);
    out.put_slice(kind);
    body(out);
    let size = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: a box with a version and 24 bits of flags.
fn write_full_box(
    out: &mut BytesMut,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut BytesMut),
) {
    write_box(out, kind, |out| {
        out.put_u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        body(out);
    });
}

const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// The MIME type with codec string a browser's `MediaSource.isTypeSupported` understands.
pub fn mime(params: &VideoParams) -> String {
    format!("video/mp4; codecs=\"{}\"", params.codec)
}

/// `ftyp` + `moov` for one video track (track id 1) in the stream's own clock.
pub fn init_segment(params: &VideoParams) -> Bytes {
    let mut out = BytesMut::with_capacity(700 + params.sample_entry.len());
    write_box(&mut out, b"ftyp", |o| {
        o.put_slice(b"iso5");
        o.put_u32(512);
        for brand in [b"iso5", b"iso6", b"mp41"] {
            o.put_slice(brand);
        }
    });
    write_box(&mut out, b"moov", |o| {
        write_full_box(o, b"mvhd", 0, 0, |o| {
            o.put_u32(0); // creation time
            o.put_u32(0); // modification time
            o.put_u32(1000); // timescale
            o.put_u32(0); // duration: unknown (live)
            o.put_u32(0x0001_0000); // rate 1.0
            o.put_u16(0x0100); // volume 1.0
            o.put_slice(&[0; 10]);
            UNITY_MATRIX.iter().for_each(|v| o.put_u32(*v));
            o.put_slice(&[0; 24]); // pre_defined
            o.put_u32(2); // next track id
        });
        write_box(o, b"trak", |o| {
            write_full_box(o, b"tkhd", 0, 0x3, |o| {
                o.put_u32(0);
                o.put_u32(0);
                o.put_u32(1); // track id
                o.put_u32(0);
                o.put_u32(0); // duration
                o.put_slice(&[0; 8]);
                o.put_u16(0); // layer
                o.put_u16(0); // alternate group
                o.put_u16(0); // volume: video
                o.put_u16(0);
                UNITY_MATRIX.iter().for_each(|v| o.put_u32(*v));
                o.put_u32(params.width << 16);
                o.put_u32(params.height << 16);
            });
            write_box(o, b"mdia", |o| {
                write_full_box(o, b"mdhd", 0, 0, |o| {
                    o.put_u32(0);
                    o.put_u32(0);
                    o.put_u32(params.clock_rate.max(1));
                    o.put_u32(0);
                    o.put_u16(0x55c4); // language "und"
                    o.put_u16(0);
                });
                write_full_box(o, b"hdlr", 0, 0, |o| {
                    o.put_u32(0);
                    o.put_slice(b"vide");
                    o.put_slice(&[0; 12]);
                    o.put_slice(b"iochub\0");
                });
                write_box(o, b"minf", |o| {
                    write_full_box(o, b"vmhd", 0, 1, |o| o.put_slice(&[0; 8]));
                    write_box(o, b"dinf", |o| {
                        write_full_box(o, b"dref", 0, 0, |o| {
                            o.put_u32(1);
                            write_full_box(o, b"url ", 0, 1, |_| {});
                        });
                    });
                    write_box(o, b"stbl", |o| {
                        write_full_box(o, b"stsd", 0, 0, |o| {
                            o.put_u32(1);
                            o.put_slice(&params.sample_entry);
                        });
                        for kind in [b"stts", b"stsc", b"stco"] {
                            write_full_box(o, kind, 0, 0, |o| o.put_u32(0));
                        }
                        write_full_box(o, b"stsz", 0, 0, |o| {
                            o.put_u32(0);
                            o.put_u32(0);
                        });
                    });
                });
            });
        });
        write_box(o, b"mvex", |o| {
            write_full_box(o, b"trex", 0, 0, |o| {
                o.put_u32(1); // track id
                o.put_u32(1); // sample description index
                o.put_u32(0);
                o.put_u32(0);
                o.put_u32(0);
            });
        });
    });
    out.freeze()
}

/// `tfhd` flags: the data offsets count from the `moof`.
const DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags: data offset, and each sample's duration, size and flags.
const TRUN_FLAGS: u32 = 0x0001 | 0x0100 | 0x0200 | 0x0400;
/// Sample flags: a sync sample that depends on nothing; a non-sync sample that depends on others.
const SYNC_SAMPLE: u32 = 0x0200_0000;
const NON_SYNC_SAMPLE: u32 = 0x0101_0000;

/// One frame as a fragment: `moof` (sequence `seq`, decode time `decode_time` and `duration` in
/// the stream's clock) and the `mdat` with the frame's NAL units.
pub fn fragment(seq: u32, decode_time: u64, duration: u32, keyframe: bool, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(120 + data.len());
    let mut data_offset_at = 0;
    write_box(&mut out, b"moof", |o| {
        write_full_box(o, b"mfhd", 0, 0, |o| o.put_u32(seq));
        write_box(o, b"traf", |o| {
            write_full_box(o, b"tfhd", 0, DEFAULT_BASE_IS_MOOF, |o| o.put_u32(1));
            write_full_box(o, b"tfdt", 1, 0, |o| o.put_u64(decode_time));
            write_full_box(o, b"trun", 0, TRUN_FLAGS, |o| {
                o.put_u32(1); // sample count
                data_offset_at = o.len();
                o.put_u32(0); // data offset, below
                o.put_u32(duration);
                o.put_u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
                o.put_u32(if keyframe {
                    SYNC_SAMPLE
                } else {
                    NON_SYNC_SAMPLE
                });
            });
        });
    });
    // the sample starts after the moof and the mdat's 8-byte header
    let offset = u32::try_from(out.len() + 8).unwrap_or(u32::MAX);
    out[data_offset_at..data_offset_at + 4].copy_from_slice(&offset.to_be_bytes());
    write_box(&mut out, b"mdat", |o| o.put_slice(data));
    out.freeze()
}

/// Turns a stream's frames into one viewer's timeline: decode times from 0 at the viewer's
/// first frame, never going back, and each frame's duration guessed from the last spacing
/// (a live frame is sent before the next one exists).
#[derive(Debug, Default)]
pub struct Timeline {
    /// The stream timestamp that maps to `base`.
    origin: Option<i64>,
    base: u64,
    last: Option<u64>,
    spacing: u32,
    seq: u32,
}

impl Timeline {
    /// The stream started over (a reconnect: its timestamps begin again): the next frame
    /// continues the viewer's timeline one frame after the last.
    pub fn rebase(&mut self, default_spacing: u32) {
        self.origin = None;
        let step = if self.spacing == 0 {
            default_spacing
        } else {
            self.spacing
        };
        self.base = self.last.map_or(0, |last| last + u64::from(step.max(1)));
    }

    /// The fragment's sequence number, decode time and duration for a frame at `timestamp`
    /// (stream clock units); `default_spacing` until two frames were seen.
    pub fn next(&mut self, timestamp: i64, default_spacing: u32) -> (u32, u64, u32) {
        let origin = *self.origin.get_or_insert(timestamp);
        let mut time = self.base + u64::try_from(timestamp - origin).unwrap_or(0);
        if let Some(last) = self.last {
            if time <= last {
                time = last + 1; // a camera's clock that steps back
            }
            self.spacing = u32::try_from(time - last).unwrap_or(u32::MAX);
        }
        self.last = Some(time);
        self.seq = self.seq.wrapping_add(1);
        let duration = if self.spacing == 0 {
            default_spacing
        } else {
            self.spacing
        };
        (self.seq, time, duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The boxes of a buffer as (type, size), at one level.
    fn boxes(mut b: &[u8]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        while b.len() >= 8 {
            let size = u32::from_be_bytes(b[..4].try_into().unwrap()) as usize;
            out.push((String::from_utf8_lossy(&b[4..8]).into_owned(), size));
            b = &b[size..];
        }
        assert!(b.is_empty(), "boxes fill the buffer exactly");
        out
    }

    fn params() -> VideoParams {
        VideoParams {
            codec: "avc1.42C01E".into(),
            sample_entry: Bytes::from_static(b"\0\0\0\x10avc1fakeentry"),
            extra_data: Bytes::new(),
            width: 1280,
            height: 720,
            clock_rate: 90_000,
            frame_rate: Some(25.0),
        }
    }

    #[test]
    fn an_init_segment_is_ftyp_then_moov_with_the_sample_entry() {
        let init = init_segment(&params());
        let top = boxes(&init);
        assert_eq!(
            top.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            ["ftyp", "moov"]
        );
        let moov = &init[top[0].1 + 8..];
        let inner: Vec<_> = boxes(moov).into_iter().map(|(t, _)| t).collect();
        assert_eq!(inner, ["mvhd", "trak", "mvex"]);
        let at = init.windows(8).position(|w| w == b"avc1fake").unwrap();
        assert!(at > 0);
        assert_eq!(mime(&params()), "video/mp4; codecs=\"avc1.42C01E\"");
    }

    #[test]
    fn a_fragment_points_its_data_offset_at_the_frame() {
        let data = b"\0\0\0\x05\x65abcd";
        let f = fragment(7, 180_000, 3600, true, data);
        let top = boxes(&f);
        assert_eq!(top[0].0, "moof");
        assert_eq!(top[1], ("mdat".to_owned(), 8 + data.len()));
        let trun = f.windows(4).position(|w| w == b"trun").unwrap();
        // after the full box header and the sample count
        let offset = u32::from_be_bytes(f[trun + 12..trun + 16].try_into().unwrap()) as usize;
        assert_eq!(&f[offset..], data);
        let tfdt = f.windows(4).position(|w| w == b"tfdt").unwrap();
        let time = u64::from_be_bytes(f[tfdt + 8..tfdt + 16].try_into().unwrap());
        assert_eq!(time, 180_000);
    }

    #[test]
    fn a_viewers_timeline_starts_at_zero_and_never_goes_back() {
        let mut t = Timeline::default();
        assert_eq!(t.next(1_000_000, 3600), (1, 0, 3600));
        assert_eq!(t.next(1_003_600, 3600), (2, 3600, 3600));
        assert_eq!(t.next(1_010_800, 3600), (3, 10_800, 7200));
        // the camera's clock steps back: time still moves forward
        let (_, time, _) = t.next(1_000_000, 3600);
        assert_eq!(time, 10_801);
        // a reconnect: the new stream's timestamps start near 0, the viewer's time goes on
        t.rebase(3600);
        assert_eq!(t.next(500, 3600).1, 10_801 + 1);
        assert_eq!(t.next(4100, 3600).1, 10_801 + 1 + 3600);
    }
}
