//! A camera is a device: its key, name, place and connected system live in the device registry
//! like any sensor's, so maps, rules, alerts and reports treat it as one. What only a camera has
//! lives here: where its video is pulled from, with which credentials, and how.
//!
//! Credentials may come inside the URL (`rtsp://user:pass@host/path`, as cameras print them) or
//! apart; either way they are split off and stored apart from the URL, so that the URL can be
//! shown and logged and the password never is.

use serde::{Deserialize, Serialize};
use url::Url;

/// How RTP travels: interleaved in the RTSP connection (the default: one TCP connection passes
/// every firewall and NAT) or as UDP datagrams (less delay on a clean LAN, loss on a busy one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tcp" => Some(Transport::Tcp),
            "udp" => Some(Transport::Udp),
            _ => None,
        }
    }
}

/// Which of a camera's streams: the main one, or the smaller sub-stream for small tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Main,
    Sub,
}

/// User name and password for the camera's RTSP server.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, <password>)", self.username)
    }
}

/// The video side of a camera, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// The camera's device key.
    pub id: String,
    /// `rtsp://host[:port]/path`, without credentials.
    pub url: String,
    /// The sub-stream, without credentials (it uses the camera's).
    pub sub_url: Option<String>,
    pub credentials: Option<Credentials>,
    /// Pulled all the time (health measured, an alert possible at any hour); otherwise only
    /// while someone watches, and probed now and then for whether it answers.
    pub always_on: bool,
    pub transport: Transport,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Camera {
    /// The URL of a stream; the main one when the camera has no sub-stream.
    pub fn stream_url(&self, kind: StreamKind) -> &str {
        match (kind, &self.sub_url) {
            (StreamKind::Sub, Some(sub)) => sub,
            _ => &self.url,
        }
    }
}

/// A camera as an operator gives it (the config's `[[cameras]]`, `POST /api/v1/cameras`): its
/// video source and the device fields it needs. Its `Debug` hides the credentials.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCamera {
    /// Its device key (`[A-Za-z0-9._-]{1,64}`).
    pub id: String,
    pub name: Option<String>,
    /// `rtsp://[user:password@]host[:port]/path`.
    pub url: String,
    /// The sub-stream's URL, for small tiles; credentials as the main one's.
    pub sub_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    #[serde(default)]
    pub always_on: bool,
    #[serde(default)]
    pub transport: Transport,
    /// A connected system's id.
    pub system: Option<String>,
}

/// An edit of a camera; absent fields stay as they are. Its `Debug` hides the credentials.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraPatch {
    pub name: Option<String>,
    /// A new URL; credentials inside it replace the stored ones.
    pub url: Option<String>,
    /// `""` removes the sub-stream.
    pub sub_url: Option<String>,
    /// `""` removes the credentials.
    pub username: Option<String>,
    pub password: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub always_on: Option<bool>,
    pub transport: Option<Transport>,
    /// `""` leaves it to the systems' key patterns.
    pub system: Option<String>,
}

/// A URL for logs: without its credentials (the whole of it when it does not parse).
fn shown(url: &str) -> String {
    split_url("url", url).map_or_else(|_| "<unreadable URL>".to_owned(), |(u, _)| u)
}

impl std::fmt::Debug for NewCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCamera")
            .field("id", &self.id)
            .field("url", &shown(&self.url))
            .field("sub_url", &self.sub_url.as_deref().map(shown))
            .field(
                "credentials",
                &(self.username.is_some() || self.password.is_some()),
            )
            .field("always_on", &self.always_on)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CameraPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraPatch")
            .field("url", &self.url.as_deref().map(shown))
            .field("sub_url", &self.sub_url.as_deref().map(shown))
            .field(
                "credentials",
                &(self.username.is_some() || self.password.is_some()),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct InvalidCamera {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidCamera {
    InvalidCamera {
        field,
        message: message.into(),
    }
}

/// Splits `rtsp://user:pass@host/path` into the URL without credentials and the credentials.
/// Only `rtsp://` with a host is a camera URL.
pub fn split_url(
    field: &'static str,
    raw: &str,
) -> Result<(String, Option<Credentials>), InvalidCamera> {
    if raw.len() > 2000 {
        return Err(invalid(field, "at most 2000 characters"));
    }
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(field, format!("not a URL: {e}")))?;
    if url.scheme() != "rtsp" {
        return Err(invalid(field, "an rtsp:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, "an rtsp:// URL with a host"));
    }
    let decode = |s: &str| {
        percent_decode(s).ok_or_else(|| invalid(field, "credentials are not valid UTF-8"))
    };
    let credentials = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        Some(Credentials {
            username: decode(url.username())?,
            password: decode(url.password().unwrap_or(""))?,
        })
    };
    // Url's setters fail only on URLs that cannot have credentials, which an rtsp:// URL with
    // a host always can.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok((url.to_string(), credentials))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The credentials given apart (`username`, `password`) or, failing that, inside the URL.
fn credentials_of(
    in_url: Option<Credentials>,
    username: Option<String>,
    password: Option<String>,
) -> Option<Credentials> {
    match (username, password) {
        (None, None) => in_url,
        (u, p) => Some(Credentials {
            username: u.unwrap_or_default(),
            password: p.unwrap_or_default(),
        }),
    }
}

/// The sub-stream's URL without credentials; credentials inside it must be the camera's.
fn sub_url_of(
    raw: &str,
    credentials: Option<&Credentials>,
) -> Result<Option<String>, InvalidCamera> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let (url, in_url) = split_url("sub_url", raw)?;
    if in_url.is_some() && in_url.as_ref() != credentials {
        return Err(invalid(
            "sub_url",
            "its credentials differ from the camera's; the sub-stream uses the camera's",
        ));
    }
    Ok(Some(url))
}

impl NewCamera {
    /// The camera to store (the device fields are the device registry's business).
    pub fn camera(&self, now_ms: i64) -> Result<Camera, InvalidCamera> {
        if !iochub_devices::key::is_valid_device_key(&self.id) {
            return Err(invalid("id", "a device key: [A-Za-z0-9._-]{1,64}"));
        }
        let (url, in_url) = split_url("url", &self.url)?;
        let credentials = credentials_of(in_url, self.username.clone(), self.password.clone());
        let sub_url = match &self.sub_url {
            Some(raw) => sub_url_of(raw, credentials.as_ref())?,
            None => None,
        };
        check_credentials(credentials.as_ref())?;
        Ok(Camera {
            id: self.id.clone(),
            url,
            sub_url,
            credentials,
            always_on: self.always_on,
            transport: self.transport,
            created_at: now_ms,
            updated_at: now_ms,
        })
    }
}

fn check_credentials(c: Option<&Credentials>) -> Result<(), InvalidCamera> {
    match c {
        Some(c) if c.username.len() > 200 => Err(invalid("username", "at most 200 bytes")),
        Some(c) if c.password.len() > 200 => Err(invalid("password", "at most 200 bytes")),
        _ => Ok(()),
    }
}

impl Camera {
    /// The camera with the video fields of `patch` applied, checked.
    pub fn patched(&self, patch: &CameraPatch, now_ms: i64) -> Result<Camera, InvalidCamera> {
        let mut next = self.clone();
        if let Some(raw) = &patch.url {
            let (url, in_url) = split_url("url", raw)?;
            next.url = url;
            if in_url.is_some() {
                next.credentials = in_url;
            }
        }
        match (&patch.username, &patch.password) {
            (None, None) => {}
            (Some(u), _) if u.is_empty() => next.credentials = None,
            (u, p) => {
                let old = next.credentials.take();
                next.credentials = Some(Credentials {
                    username: u
                        .clone()
                        .or_else(|| old.as_ref().map(|c| c.username.clone()))
                        .unwrap_or_default(),
                    password: p
                        .clone()
                        .or_else(|| old.map(|c| c.password))
                        .unwrap_or_default(),
                });
            }
        }
        if let Some(raw) = &patch.sub_url {
            next.sub_url = sub_url_of(raw, next.credentials.as_ref())?;
        }
        if let Some(always_on) = patch.always_on {
            next.always_on = always_on;
        }
        if let Some(transport) = patch.transport {
            next.transport = transport;
        }
        check_credentials(next.credentials.as_ref())?;
        next.updated_at = now_ms;
        Ok(next)
    }

    /// Whether pulling the camera must start over (where or how it is pulled changed).
    pub fn source_differs(&self, other: &Camera) -> bool {
        (&self.url, &self.sub_url, &self.credentials, self.transport)
            != (
                &other.url,
                &other.sub_url,
                &other.credentials,
                other.transport,
            )
    }
}

/// Where a camera's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CameraState {
    /// Not pulled: nobody watches and it is not `always_on`.
    Idle,
    /// Opening the RTSP session.
    Connecting,
    /// Frames arrive.
    Online,
    /// No frame for longer than the watchdog allows; reconnecting.
    Stalled,
    /// It does not answer, or refused us (see `error`).
    Offline,
}

/// What the hub knows of a camera's stream right now (`GET /api/v1/cameras`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CameraStatus {
    pub state: CameraState,
    /// Why it is offline or stalled, in words an operator can act on.
    pub error: Option<String>,
    /// When `state` began (RFC 3339).
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub since: i64,
    /// Browsers watching it now.
    pub viewers: u32,
    /// RFC 6381 codec string, e.g. `avc1.42C01E`.
    pub codec: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Over the last health interval.
    pub fps: Option<f64>,
    pub kbps: Option<f64>,
    pub reconnects: u64,
    pub stalls: u64,
    /// The same picture for 8 s and more while frames still flow; none until a keyframe was
    /// looked at (H.265 pictures are not).
    pub frozen: Option<bool>,
    /// A black or covered picture.
    pub dark: Option<bool>,
}

impl CameraStatus {
    pub fn new(state: CameraState, since: i64) -> Self {
        Self {
            state,
            error: None,
            since,
            viewers: 0,
            codec: None,
            width: None,
            height: None,
            fps: None,
            kbps: None,
            reconnects: 0,
            stalls: 0,
            frozen: None,
            dark: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(url: &str) -> NewCamera {
        NewCamera {
            id: "cam-1".into(),
            name: None,
            url: url.into(),
            sub_url: None,
            username: None,
            password: None,
            lat: None,
            lon: None,
            always_on: false,
            transport: Transport::Tcp,
            system: None,
        }
    }

    #[test]
    fn credentials_are_split_off_the_url() {
        let c = new("rtsp://admin:p%40ss@10.0.0.5:554/Streaming/101")
            .camera(1)
            .unwrap();
        assert_eq!(c.url, "rtsp://10.0.0.5:554/Streaming/101");
        let creds = c.credentials.unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("admin", "p@ss")
        );
        assert!(!format!("{creds:?}").contains("p@ss"));

        let mut apart = new("rtsp://10.0.0.5/live");
        apart.username = Some("u".into());
        apart.password = Some("secret".into());
        apart.sub_url = Some("rtsp://u:secret@10.0.0.5/sub".into());
        let c = apart.camera(1).unwrap();
        assert_eq!(c.sub_url.as_deref(), Some("rtsp://10.0.0.5/sub"));
        assert_eq!(c.credentials.unwrap().password, "secret");
    }

    #[test]
    fn debug_output_never_shows_a_password() {
        let mut c = new("rtsp://admin:hunter2@10.0.0.5/live");
        c.password = Some("hunter3".into());
        let patch = CameraPatch {
            url: Some("rtsp://admin:hunter4@10.0.0.5/live".into()),
            password: Some("hunter5".into()),
            ..CameraPatch::default()
        };
        let shown = format!("{c:?} {patch:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("rtsp://10.0.0.5/live"), "{shown}");
    }

    #[test]
    fn bad_urls_name_the_field() {
        for (url, field) in [
            ("http://10.0.0.5/live", "url"),
            ("rtsp:///live", "url"),
            ("not a url", "url"),
        ] {
            assert_eq!(new(url).camera(1).unwrap_err().field, field, "{url}");
        }
        let mut other = new("rtsp://a:b@h/live");
        other.sub_url = Some("rtsp://c:d@h/sub".into());
        assert_eq!(other.camera(1).unwrap_err().field, "sub_url");
        let mut key = new("rtsp://h/live");
        key.id = "a b".into();
        assert_eq!(key.camera(1).unwrap_err().field, "id");
    }

    #[test]
    fn a_patch_replaces_or_clears_credentials() {
        let c = new("rtsp://a:b@h/live").camera(1).unwrap();
        let pw = CameraPatch {
            password: Some("new".into()),
            ..CameraPatch::default()
        };
        let next = c.patched(&pw, 2).unwrap();
        let creds = next.credentials.clone().unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("a", "new")
        );
        assert!(next.source_differs(&c));
        let cleared = CameraPatch {
            username: Some(String::new()),
            ..CameraPatch::default()
        };
        assert_eq!(next.patched(&cleared, 3).unwrap().credentials, None);
        let same = CameraPatch {
            always_on: Some(true),
            ..CameraPatch::default()
        };
        assert!(!c.patched(&same, 2).unwrap().source_differs(&c));
    }
}
