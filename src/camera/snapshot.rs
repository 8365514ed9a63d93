//! Snapshots: a stream's latest keyframe as a JPEG, for a tile that shows stills instead of
//! video, an alert card, a report. A stream that is open has its latest keyframe at hand; an
//! idle one is opened as for a viewer until its next keyframe comes, and then lingers like
//! after any viewer. The JPEG of a keyframe is made once, however many ask for it (the cache
//! lives as long as the keyframe is the latest: a second or two), on the same decoder slots as
//! the frozen/dark checks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use super::model::CameraState;
use super::picture::{self, Decoder, PictureError};
use super::session::{Keyframe, Shared};

/// JPEG quality: a readable number plate on a 720p picture at about 60–120 KB.
const QUALITY: u8 = 80;

/// A JPEG and when its keyframe came (ms since the epoch).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub jpeg: Bytes,
    pub taken_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the camera sent no keyframe: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Picture(#[from] PictureError),
}

/// The JPEG of the stream's latest keyframe, or of the next one when the stream is not open;
/// waits at most `wait` for it.
pub async fn take(
    shared: &Arc<Shared>,
    gone: &CancellationToken,
    slots: &Arc<Semaphore>,
    wait: Duration,
) -> Result<Snapshot, SnapshotError> {
    let key = latest(shared, gone, wait).await?;
    if key.frame.params.is_h265() {
        return Err(PictureError::Unsupported(key.frame.params.codec.clone()).into());
    }
    let mut cache = shared.snapshot.lock().await;
    if let Some((frame, jpeg)) = cache.as_ref()
        && Arc::ptr_eq(frame, &key.frame)
    {
        return Ok(Snapshot {
            jpeg: jpeg.clone(),
            taken_ms: key.at_ms,
        });
    }
    let permit = match timeout(wait, slots.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => return Err(SnapshotError::Unavailable("the hub is stopping".into())),
        Err(_) => return Err(SnapshotError::Unavailable("every decoder is busy".into())),
    };
    let frame = key.frame.clone();
    let jpeg = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        Decoder::new()?.decode(&frame, |p| picture::jpeg(p, QUALITY))?
    })
    .await
    .map_err(|_| PictureError::Decode("the decoder panicked".into()))?
    .inspect_err(|_| crate::metrics::camera_picture_error())?;
    *cache = Some((key.frame, jpeg.clone()));
    Ok(Snapshot {
        jpeg,
        taken_ms: key.at_ms,
    })
}

/// The latest keyframe of an open stream; else the stream is opened as for a viewer, and its
/// next keyframe awaited. A camera that is offline, or goes offline meanwhile, has none.
async fn latest(
    shared: &Arc<Shared>,
    gone: &CancellationToken,
    wait: Duration,
) -> Result<Keyframe, SnapshotError> {
    let mut keyframes = shared.keyframe.subscribe();
    let mut status = shared.status.subscribe();
    let unavailable = |status: &super::model::CameraStatus| {
        let why = status.error.clone();
        SnapshotError::Unavailable(
            why.unwrap_or_else(|| format!("none within {} s", wait.as_secs_f64())),
        )
    };
    {
        let now = status.borrow_and_update();
        match now.state {
            CameraState::Online => {
                if let Some(k) = keyframes.borrow_and_update().clone() {
                    return Ok(k);
                }
            }
            CameraState::Offline => return Err(unavailable(&now)),
            _ => {}
        }
    }
    let asked = Instant::now();
    let _viewer = shared.join();
    let fresh = keyframes.wait_for(|k| k.as_ref().is_some_and(|k| k.at >= asked));
    tokio::select! {
        _ = gone.cancelled() => Err(SnapshotError::Unavailable("the camera was removed or changed".into())),
        offline = status.wait_for(|s| s.state == CameraState::Offline) => match offline {
            Ok(s) => Err(unavailable(&s)),
            Err(_) => Err(SnapshotError::Unavailable("the camera was removed".into())),
        },
        k = timeout(wait, fresh) => match k {
            Ok(Ok(k)) => k.clone().ok_or_else(|| unavailable(&shared.status.borrow())),
            Ok(Err(_)) | Err(_) => Err(unavailable(&shared.status.borrow())),
        },
    }
}
