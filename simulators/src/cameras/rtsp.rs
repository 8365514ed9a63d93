//! A small RTSP server (RFC 2326) for the simulated cameras: OPTIONS, DESCRIBE, SETUP, PLAY,
//! TEARDOWN and keep-alives, RTP over the RTSP connection itself (interleaved, the transport
//! cameras and the hub use by default), H.264 packetised per RFC 6184 (single NAL unit packets,
//! FU-A fragments above 1,400 bytes). Enough for the hub, retina, ffplay and VLC; no UDP, no
//! authentication, no RTCP.
//!
//! Each stream's clips are encoded when the server starts (or at its first DESCRIBE, if that
//! comes first), off the async threads; every client gets its own
//! RTP session (sequence numbers, timestamps, SSRC) and its own pace, ten frames a second. A
//! client that does not read loses ticks, never grows a queue.
//!
//! A server made with [`Server::live`] serves live streams instead (`live`, for the
//! benchmarks): one encoder per stream, whose frames every client gets from its first keyframe
//! on; a client that falls a ring behind skips to the next keyframe.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OnceCell, Semaphore, broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, interval};
use tracing::{debug, info, warn};

use super::clip::{self, Clip, Clips, FPS};
use super::live::{Live, LiveFrame};
use super::{Fault, MAIN_SIZE, SimCamera};

/// The largest RTP payload: a packet fits an Ethernet frame's MTU.
const MAX_PAYLOAD: usize = 1400;
/// Connections served at once; more wait for a free one.
const MAX_CONNECTIONS: usize = 64;
/// The longest request head (request line and headers) or body accepted.
const MAX_HEAD: usize = 8 << 10;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("accepting RTSP connections failed: {0}")]
    Accept(std::io::Error),
}

/// The simulated cameras' RTSP server.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    /// By path: `/{key}/main`, `/{key}/sub`.
    streams: HashMap<String, Stream>,
    started: Instant,
    seed: u64,
}

enum Stream {
    /// A simulated camera's clips, looped.
    Clips {
        camera: SimCamera,
        size: (usize, usize),
        clips: OnceCell<Arc<Clips>>,
    },
    /// Encoded as it is shown.
    Live(Arc<Live>),
}

/// What a PLAY starts.
enum Media {
    Clips(Arc<Clips>),
    Live(Arc<Live>),
}

impl Server {
    /// The faults' schedules count from now.
    pub fn new(cameras: Vec<SimCamera>, seed: u64) -> Self {
        let (w, h) = MAIN_SIZE;
        let mut streams = HashMap::new();
        for camera in cameras {
            for (name, size) in [("main", (w, h)), ("sub", (w / 2, h / 2))] {
                let stream = Stream::Clips {
                    camera: camera.clone(),
                    size,
                    clips: OnceCell::new(),
                };
                streams.insert(format!("/{}/{name}", camera.key), stream);
            }
        }
        Self {
            inner: Arc::new(Inner {
                streams,
                started: Instant::now(),
                seed,
            }),
        }
    }

    /// A server of live streams, by path (e.g. `/main`, `/sub`).
    pub fn live(streams: Vec<(String, Arc<Live>)>) -> Self {
        let streams = streams
            .into_iter()
            .map(|(path, live)| (path, Stream::Live(live)))
            .collect();
        Self {
            inner: Arc::new(Inner {
                streams,
                started: Instant::now(),
                seed: 0,
            }),
        }
    }

    /// Serves until `stop` turns true.
    pub async fn serve(
        self,
        listener: TcpListener,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ServerError> {
        if let Ok(addr) = listener.local_addr() {
            info!(%addr, cameras = self.inner.streams.len() / 2, "simulated cameras on RTSP");
        }
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut connections = JoinSet::new();
        // encode every stream's clips now, one after another, rather than all at the first
        // clients' DESCRIBEs (a client waits only for its own stream's, if it comes first)
        let inner = self.inner.clone();
        connections.spawn(async move {
            let mut paths: Vec<&String> = inner.streams.keys().collect();
            paths.sort();
            for path in paths {
                inner.clips(path).await;
            }
        });
        loop {
            // a free slot first: at the limit, new clients wait in the kernel's backlog
            let slot = tokio::select! {
                () = stopped(&mut stop) => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                () = stopped(&mut stop) => break,
                accepted = listener.accept() => accepted,
            };
            let (socket, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors, a client gone before it was accepted: not fatal
                    warn!(error = %ServerError::Accept(e), "retrying in a moment");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let inner = self.inner.clone();
            connections.spawn(async move {
                if let Err(e) = connection(inner, socket).await {
                    debug!(%peer, error = %e, "RTSP connection ended");
                }
                drop(slot);
            });
        }
        connections.shutdown().await;
        Ok(())
    }
}

/// Returns when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl Inner {
    /// A stream's clips, encoded the first time they are asked for.
    async fn clips(&self, path: &str) -> Option<Arc<Clips>> {
        let Some(Stream::Clips {
            camera,
            size,
            clips,
        }) = self.streams.get(path)
        else {
            return None;
        };
        let clips = clips.get_or_try_init(|| async {
            let (scene, seed, (w, h)) = (camera.scene, self.seed, *size);
            let encoded =
                tokio::task::spawn_blocking(move || clip::encode(scene, seed, w, h)).await;
            match encoded {
                Ok(Ok(c)) => Ok(Arc::new(c)),
                Ok(Err(e)) => {
                    warn!(path, error = %e, "a simulated camera has no picture");
                    Err(())
                }
                Err(_) => Err(()),
            }
        });
        clips.await.ok().cloned()
    }

    /// What a stream plays: its clips (encoded now if not yet) or its live encoder.
    async fn media(&self, path: &str) -> Option<Media> {
        match self.streams.get(path)? {
            Stream::Live(live) => Some(Media::Live(live.clone())),
            Stream::Clips { .. } => self.clips(path).await.map(Media::Clips),
        }
    }

    fn fault(&self, path: &str) -> Option<Fault> {
        let Some(Stream::Clips { camera, .. }) = self.streams.get(path) else {
            return None;
        };
        camera.fault?.at(self.started.elapsed())
    }
}

/// A request: its method, URL, `CSeq` and headers (names in lower case).
struct Request {
    method: String,
    url: String,
    cseq: String,
    headers: HashMap<String, String>,
}

/// What the request side tells the side that writes.
enum Out {
    Reply(Vec<u8>),
    Play(String, Media),
}

/// A live stream's client: its frames, its RTP session, and whether it waits for a keyframe.
struct LivePlayer {
    frames: broadcast::Receiver<Arc<LiveFrame>>,
    rtp: Rtp,
    waiting: bool,
}

/// The next frame of a live stream, or never when the client plays none.
async fn next_live(live: &mut Option<LivePlayer>) -> Result<Arc<LiveFrame>, RecvError> {
    match live {
        Some(p) => p.frames.recv().await,
        None => std::future::pending().await,
    }
}

async fn connection(inner: Arc<Inner>, socket: TcpStream) -> std::io::Result<()> {
    let _ = socket.set_nodelay(true);
    let (read, mut write) = socket.into_split();
    let (tx, mut rx) = mpsc::channel::<Out>(4);
    // ends with the client's last request; dropping `tx` then lets the writer send what is
    // queued (the TEARDOWN's reply) and stop
    let asked = inner.clone();
    let requests = async move {
        let inner = asked;
        let mut read = BufReader::new(read);
        while let Some(request) = next_request(&mut read).await? {
            let teardown = request.method == "TEARDOWN";
            for out in answer(&inner, request).await {
                if tx.send(out).await.is_err() {
                    return Ok(());
                }
            }
            if teardown {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let writes = async {
        let mut player: Option<Player> = None;
        let mut live: Option<LivePlayer> = None;
        let mut tick = interval(Duration::from_secs(1) / FPS);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(Out::Reply(bytes)) => write.write_all(&bytes).await?,
                    Some(Out::Play(path, Media::Clips(clips))) => {
                        player = Some(Player::new(path, clips, inner.seed));
                        tick.reset_immediately();
                    }
                    Some(Out::Play(path, Media::Live(stream))) => {
                        live = Some(LivePlayer {
                            frames: stream.subscribe(),
                            rtp: Rtp::new(inner.seed, &path),
                            waiting: true,
                        });
                    }
                    None => return Ok::<_, std::io::Error>(()),
                },
                _ = tick.tick(), if player.is_some() => {
                    if let Some(p) = &mut player {
                        let packets = p.next_frame(inner.fault(&p.path));
                        write.write_all(&packets).await?;
                    }
                }
                frame = next_live(&mut live) => {
                    let Some(p) = &mut live else { continue };
                    match frame {
                        Ok(frame) if p.waiting && !frame.keyframe => {}
                        Ok(frame) => {
                            p.waiting = false;
                            let packets = p.rtp.frame(&frame.units, frame.ticks);
                            write.write_all(&packets).await?;
                        }
                        Err(RecvError::Lagged(_)) => p.waiting = true,
                        Err(RecvError::Closed) => return Ok(()),
                    }
                }
            }
        }
    };
    let (read, written) = tokio::join!(requests, writes);
    read.and(written)
}

/// The next request; interleaved data the client sends (RTCP receiver reports) is skipped. None
/// when the client closed the connection.
async fn next_request<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
) -> std::io::Result<Option<Request>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    loop {
        let first = match read.fill_buf().await?.first() {
            Some(b) => *b,
            None => return Ok(None),
        };
        if first != b'$' {
            break;
        }
        let mut head = [0u8; 4];
        read.read_exact(&mut head).await?;
        let len = u16::from_be_bytes([head[2], head[3]]);
        let mut skip = read.take(u64::from(len));
        tokio::io::copy(&mut skip, &mut tokio::io::sink()).await?;
    }
    let mut lines = Vec::new();
    let mut size = 0;
    loop {
        let mut line = String::new();
        let n = (&mut *read)
            .take((MAX_HEAD - size) as u64 + 1)
            .read_line(&mut line)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        size += n;
        if size > MAX_HEAD {
            return Err(bad("request head too long"));
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let mut parts = lines
        .first()
        .ok_or_else(|| bad("empty request"))?
        .split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let url = parts.next().unwrap_or("").to_owned();
    let headers: HashMap<String, String> = (lines.iter().skip(1))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body: usize = (headers.get("content-length"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if body > MAX_HEAD {
        return Err(bad("request body too long"));
    }
    let mut skip = vec![0; body];
    read.read_exact(&mut skip).await?;
    Ok(Some(Request {
        method,
        url,
        cseq: headers.get("cseq").cloned().unwrap_or_else(|| "0".into()),
        headers,
    }))
}

/// The path of a request's URL, without the track.
fn stream_path(url: &str) -> String {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    let path = path.trim_end_matches('/');
    path.strip_suffix("/trackID=0").unwrap_or(path).to_owned()
}

/// The session id every reply carries (one RTP session per connection).
const SESSION: &str = "51A7C0DE";

async fn answer(inner: &Inner, r: Request) -> Vec<Out> {
    let reply = |status: &str, headers: &[(&str, String)], body: &str| {
        let mut out = format!(
            "RTSP/1.0 {status}\r\nCSeq: {}\r\nServer: iochub-sim\r\n",
            r.cseq
        );
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        out.push_str(body);
        Out::Reply(out.into_bytes())
    };
    let session = || ("Session", format!("{SESSION};timeout=60"));
    let path = stream_path(&r.url);
    match r.method.as_str() {
        "OPTIONS" => vec![reply(
            "200 OK",
            &[(
                "Public",
                "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER".into(),
            )],
            "",
        )],
        "DESCRIBE" => match inner.media(&path).await {
            Some(media) => {
                let base = format!("{}/", r.url.trim_end_matches('/'));
                let sdp = match &media {
                    Media::Clips(c) => sdp(&c.sps, &c.pps, FPS),
                    Media::Live(l) => sdp(&l.sps, &l.pps, l.options.fps),
                };
                vec![reply(
                    "200 OK",
                    &[
                        ("Content-Base", base),
                        ("Content-Type", "application/sdp".into()),
                    ],
                    &sdp,
                )]
            }
            None => vec![reply("404 Not Found", &[], "")],
        },
        "SETUP" => {
            let transport = r.headers.get("transport").cloned().unwrap_or_default();
            if !inner.streams.contains_key(&path) {
                vec![reply("404 Not Found", &[], "")]
            } else if !transport.contains("TCP") {
                // only RTP over the RTSP connection
                vec![reply("461 Unsupported Transport", &[], "")]
            } else {
                vec![reply(
                    "200 OK",
                    &[
                        ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1".into()),
                        session(),
                    ],
                    "",
                )]
            }
        }
        "PLAY" => match inner.media(&path).await {
            Some(media) => vec![
                reply("200 OK", &[session(), ("Range", "npt=0.000-".into())], ""),
                Out::Play(path, media),
            ],
            None => vec![reply("454 Session Not Found", &[], "")],
        },
        "TEARDOWN" | "GET_PARAMETER" | "SET_PARAMETER" => vec![reply("200 OK", &[session()], "")],
        _ => vec![reply("405 Method Not Allowed", &[], "")],
    }
}

/// The session description: one H.264 video track with its parameter sets.
fn sdp(sps: &[u8], pps: &[u8], fps: u32) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let profile = sps.get(1..4).map_or_else(
        || "42e01f".to_owned(),
        |p| format!("{:02x}{:02x}{:02x}", p[0], p[1], p[2]),
    );
    format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=iochub-sim\r\nt=0 0\r\n\
         m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={},{}\r\n\
         a=framerate:{fps}\r\na=control:trackID=0\r\n",
        b64.encode(sps),
        b64.encode(pps),
    )
}

/// One client's RTP session: where it is in which clip.
struct Player {
    path: String,
    clips: Arc<Clips>,
    playing: Option<Fault>,
    position: usize,
    rtp: Rtp,
}

impl Player {
    fn new(path: String, clips: Arc<Clips>, seed: u64) -> Self {
        let rtp = Rtp::new(seed, &path);
        Self {
            path,
            clips,
            playing: None,
            position: 0,
            rtp,
        }
    }

    fn clip(&self) -> &Clip {
        match self.playing {
            None => &self.clips.live,
            Some(Fault::Freeze) => &self.clips.frozen,
            Some(Fault::Dark) => &self.clips.dark,
        }
    }

    /// The next frame's RTP packets, interleaved on channel 0. At each keyframe the clip
    /// follows the fault schedule.
    fn next_frame(&mut self, fault: Option<Fault>) -> Vec<u8> {
        if self.position.is_multiple_of(FPS as usize) && fault != self.playing {
            self.playing = fault;
            self.position = 0;
        }
        let clip = self.clip();
        let Some(frame) = clip.frames.get(self.position % clip.frames.len().max(1)) else {
            return Vec::new();
        };
        let units = frame.units.clone();
        self.position = (self.position + 1) % clip.frames.len().max(1);
        let out = self.rtp.packetise(&units);
        self.rtp.timestamp = self.rtp.timestamp.wrapping_add(90_000 / FPS);
        out
    }
}

/// An RTP session: sequence numbers, timestamps, SSRC, chosen at random at its start.
struct Rtp {
    sequence: u16,
    /// The first frame's timestamp (a live stream's frames count their ticks from it).
    base: u32,
    timestamp: u32,
    ssrc: u32,
}

impl Rtp {
    fn new(seed: u64, path: &str) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let r = super::rng::noise(seed, path.len() as u64, now);
        Self {
            sequence: r as u16,
            base: (r >> 16) as u32,
            timestamp: (r >> 16) as u32,
            ssrc: (r >> 32) as u32,
        }
    }

    /// A live frame's packets, at `ticks` (90 kHz) after the session's first timestamp.
    fn frame(&mut self, units: &[Bytes], ticks: u64) -> Vec<u8> {
        self.timestamp = self.base.wrapping_add(ticks as u32);
        self.packetise(units)
    }

    /// A frame's RTP packets at the current timestamp, interleaved on channel 0.
    fn packetise(&mut self, units: &[Bytes]) -> Vec<u8> {
        let mut out = Vec::with_capacity(units.iter().map(|u| u.len() + 40).sum());
        for (i, unit) in units.iter().enumerate() {
            let last_unit = i + 1 == units.len();
            let Some((&header, body)) = unit.split_first() else {
                continue;
            };
            if unit.len() <= MAX_PAYLOAD {
                self.packet(&mut out, last_unit, &[unit]);
                continue;
            }
            // FU-A: the unit's header split into an indicator and a fragment header
            let indicator = (header & 0xe0) | 28;
            let chunks: Vec<&[u8]> = body.chunks(MAX_PAYLOAD - 2).collect();
            for (j, chunk) in chunks.iter().enumerate() {
                let start = if j == 0 { 0x80 } else { 0 };
                let end = if j + 1 == chunks.len() { 0x40 } else { 0 };
                let fu = [indicator, start | end | (header & 0x1f)];
                self.packet(&mut out, last_unit && end != 0, &[&fu, chunk]);
            }
        }
        out
    }

    fn packet(&mut self, out: &mut Vec<u8>, marker: bool, payload: &[&[u8]]) {
        let len = 12 + payload.iter().map(|p| p.len()).sum::<usize>();
        out.push(b'$');
        out.push(0);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.push(0x80);
        out.push(if marker { 0x80 | 96 } else { 96 });
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for p in payload {
            out.extend_from_slice(p);
        }
        self.sequence = self.sequence.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_url_names_its_stream() {
        assert_eq!(
            stream_path("rtsp://127.0.0.1:8554/cb-cam-x/main"),
            "/cb-cam-x/main"
        );
        assert_eq!(
            stream_path("rtsp://127.0.0.1:8554/cb-cam-x/main/"),
            "/cb-cam-x/main"
        );
        assert_eq!(
            stream_path("rtsp://h/cb-cam-x/sub/trackID=0"),
            "/cb-cam-x/sub"
        );
        assert_eq!(stream_path("rtsp://h/cb-cam-x/main?x=1"), "/cb-cam-x/main");
    }
}
