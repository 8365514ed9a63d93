//! Pictures made here and encoded with OpenH264's encoder, so the decoder sees real H.264.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openh264::encoder::Encoder;
use tokio::time::Instant;

use super::*;
use crate::camera::testing::{H, W, black, keyframe, picture, scene};

fn look(frame: &Frame) -> Look {
    Decoder::new().unwrap().decode(frame, Look::of).unwrap()
}

#[test]
fn annex_b_puts_the_parameter_sets_first_and_a_start_code_before_each_unit() {
    let avcc = [
        1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 2, 0x67, 0xaa, 1, 0, 1, 0x68,
    ];
    let frame = [0, 0, 0, 2, 0x65, 0xbb, 0, 0, 0, 1, 0x06];
    assert_eq!(
        annex_b(&avcc, &frame).unwrap(),
        [
            0, 0, 0, 1, 0x67, 0xaa, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 0xbb, 0, 0, 0, 1, 0x06
        ]
    );
}

#[test]
fn malformed_parameter_sets_and_frames_are_refused_not_read_past() {
    let avcc = [
        1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 2, 0x67, 0xaa, 1, 0, 1, 0x68,
    ];
    assert_eq!(annex_b(&avcc[..9], &[]), Err(PictureError::BadParams));
    assert_eq!(annex_b(&[1, 2], &[]), Err(PictureError::BadParams));
    assert_eq!(
        annex_b(&avcc, &[0, 0, 0, 9, 0x65]),
        Err(PictureError::BadFrame)
    );
    assert_eq!(annex_b(&avcc, &[0, 0]), Err(PictureError::BadFrame));
}

#[test]
fn garbage_in_a_keyframe_is_an_error_not_a_crash() {
    let mut encoder = Encoder::new().unwrap();
    let good = keyframe(&mut encoder, &scene(1));
    let mut data = good.data.to_vec();
    for (i, b) in data.iter_mut().enumerate().skip(5) {
        *b = (i * 37 % 251) as u8;
    }
    let bad = Frame {
        data: Bytes::from(data),
        ..(*good).clone()
    };
    let mut decoder = Decoder::new().unwrap();
    // whatever OpenH264 makes of it, it answers
    let _ = decoder.decode(&bad, Look::of);
    assert!(decoder.decode(&good, Look::of).is_ok());
}

#[test]
fn h265_is_not_decoded() {
    let mut encoder = Encoder::new().unwrap();
    let mut frame = (*keyframe(&mut encoder, &scene(1))).clone();
    let mut params = (*frame.params).clone();
    params.codec = "hvc1.1.6.L93.B0".into();
    frame.params = Arc::new(params);
    assert_eq!(
        Decoder::new().unwrap().decode(&frame, Look::of).err(),
        Some(PictureError::Unsupported("hvc1.1.6.L93.B0".into()))
    );
}

#[test]
fn a_black_picture_is_dark_and_a_scene_is_not() {
    let mut encoder = Encoder::new().unwrap();
    let dark = look(&keyframe(&mut encoder, &black()));
    assert!(dark.dark(), "mean {} spread {}", dark.mean, dark.spread);
    let lit = look(&keyframe(&mut encoder, &scene(1)));
    assert!(!lit.dark(), "mean {} spread {}", lit.mean, lit.spread);
    assert_eq!((lit.width, lit.height), (W, H));
}

#[test]
fn a_night_scene_with_lights_is_not_dark() {
    let mut encoder = Encoder::new().unwrap();
    // a few street lights in the dark
    let night = picture(|x, y| {
        if x / 40 % 4 == 0 && y / 40 % 4 == 0 {
            200
        } else {
            18
        }
    });
    let l = look(&keyframe(&mut encoder, &night));
    assert!(l.mean < DARK_MEAN, "mean {}", l.mean);
    assert!(!l.dark(), "spread {}", l.spread);
}

#[test]
fn the_same_picture_encoded_again_does_not_change_but_sensor_noise_does() {
    let mut encoder = Encoder::new().unwrap();
    // an encoder's first keyframe comes before its rate control settled
    keyframe(&mut encoder, &scene(1));
    let a = look(&keyframe(&mut encoder, &scene(1)));
    let again = look(&keyframe(&mut encoder, &scene(1)));
    let noisy = look(&keyframe(&mut encoder, &scene(2)));
    assert!(
        again.changed_from(&a) < FROZEN_CHANGED,
        "{}",
        again.changed_from(&a)
    );
    assert!(
        noisy.changed_from(&a) > 10.0 * FROZEN_CHANGED,
        "{}",
        noisy.changed_from(&a)
    );
}

#[test]
fn frozen_after_the_same_picture_for_the_whole_span_and_not_before() {
    let mut encoder = Encoder::new().unwrap();
    keyframe(&mut encoder, &scene(1));
    let still = look(&keyframe(&mut encoder, &scene(1)));
    let live = look(&keyframe(&mut encoder, &scene(2)));
    let dark = look(&keyframe(&mut encoder, &black()));
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut judge = Judge::new(Duration::from_secs(8));
    let verdict = |frozen, dark| Verdict { frozen, dark };

    assert_eq!(judge.judge(still.clone(), at(0)), verdict(false, false));
    assert_eq!(judge.judge(still.clone(), at(7)), verdict(false, false));
    assert_eq!(judge.judge(still.clone(), at(8)), verdict(true, false));
    // the picture moves: no longer frozen, and the span starts over
    assert_eq!(judge.judge(live.clone(), at(9)), verdict(false, false));
    assert_eq!(judge.judge(live.clone(), at(16)), verdict(false, false));
    assert_eq!(judge.judge(live, at(17)), verdict(true, false));
    // a black picture is dark, and never also frozen
    assert_eq!(judge.judge(dark.clone(), at(18)), verdict(false, true));
    assert_eq!(judge.judge(dark, at(60)), verdict(false, true));
}

#[test]
fn a_picture_of_another_size_is_a_change() {
    let mut encoder = Encoder::new().unwrap();
    let a = look(&keyframe(&mut encoder, &scene(1)));
    let small = Look {
        width: W / 2,
        ..a.clone()
    };
    assert_eq!(small.changed_from(&a), 1.0);
}

#[test]
fn a_snapshot_is_a_jpeg_of_the_pictures_size() {
    let mut encoder = Encoder::new().unwrap();
    let frame = keyframe(&mut encoder, &scene(1));
    let jpeg = Decoder::new()
        .unwrap()
        .decode(&frame, |p| jpeg(p, 80))
        .unwrap()
        .unwrap();
    assert_eq!(&jpeg[..2], [0xff, 0xd8]);
    assert_eq!(&jpeg[jpeg.len() - 2..], [0xff, 0xd9]);
    // the baseline frame header: precision, then height and width
    let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    let size = |i: usize| usize::from(u16::from_be_bytes([jpeg[sof + i], jpeg[sof + i + 1]]));
    assert_eq!((size(7), size(5)), (W, H));
}

#[tokio::test]
async fn an_inspector_decodes_one_keyframe_at_a_time_and_skips_the_rest() {
    let mut encoder = Encoder::new().unwrap();
    let dark = keyframe(&mut encoder, &black());
    let mut inspector = Inspector::new(slots(), Duration::from_secs(8), Duration::ZERO);
    assert!(inspector.offer(&dark));
    assert!(!inspector.offer(&dark), "one at a time");
    assert_eq!(
        inspector.verdict().await,
        Ok(Verdict {
            frozen: false,
            dark: true
        })
    );
    // with every slot taken elsewhere, a keyframe is skipped
    let busy = Arc::new(tokio::sync::Semaphore::new(0));
    let mut starved = Inspector::new(busy, Duration::from_secs(8), Duration::ZERO);
    assert!(!starved.offer(&dark));
    // a frame that is not a keyframe is not looked at
    let delta = Arc::new(Frame {
        keyframe: false,
        ..(*dark).clone()
    });
    assert!(!inspector.offer(&delta));
}

#[tokio::test(start_paused = true)]
async fn an_inspector_looks_at_one_keyframe_per_interval() {
    let mut encoder = Encoder::new().unwrap();
    let dark = keyframe(&mut encoder, &black());
    let every = Duration::from_secs(4);
    let mut inspector = Inspector::new(slots(), Duration::from_secs(8), every);
    assert!(inspector.offer(&dark));
    assert!(inspector.verdict().await.is_ok());
    tokio::time::advance(Duration::from_secs(3)).await;
    assert!(!inspector.offer(&dark), "not due 3 s after the last");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(inspector.offer(&dark), "due after 4 s");
    // a stream that ends forgets it: the next stream's first keyframe is looked at at once
    inspector.discard();
    assert!(inspector.offer(&dark));
}
