//! A real RTSP camera for the tests: GStreamer's RTSP server (`tests/support/rtsp_camera.py`, run
//! with Debian's /usr/bin/python3) serving H.264 test patterns on a held port, with digest auth.
//! It can be killed, stopped (SIGSTOP: the connection stays open and silent), continued,
//! restarted on the same port, and told to freeze or go dark.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::PortHold;

pub const USER: &str = "viewer";
pub const PASSWORD: &str = "cam-s3cret-pw";

pub struct TestCamera {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Option<mpsc::Receiver<String>>,
    hold: Option<PortHold>,
}

impl TestCamera {
    /// A 320×240, 25 fps camera with a keyframe every second and digest auth.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With more arguments for the script (`--pattern bars`, `--gop 50`, ...).
    pub fn start_with(extra: &[&str]) -> Self {
        let hold = PortHold::any();
        let mut camera = Self {
            port: hold.port,
            args: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
            stdin: None,
            lines: None,
            hold: Some(hold),
        };
        camera.spawn();
        camera
    }

    /// The URL of a mount (`main` or `sub`) with the camera's credentials.
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://{USER}:{PASSWORD}@127.0.0.1:{}/{mount}", self.port)
    }

    /// (Re)starts the server on the same port and waits until it listens.
    pub fn spawn(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/rtsp_camera.py");
        let port = self.port.to_string();
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["--port", &port, "--user", USER, "--password", PASSWORD])
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the test camera (/usr/bin/python3 with python3-gi)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        // the server binds with SO_REUSEADDR, beside the hold; the hold goes once it listens
        let ready = rx.recv_timeout(Duration::from_secs(20));
        assert_eq!(
            ready.as_deref().ok(),
            Some(format!("ready {port}").as_str()),
            "the test camera did not start"
        );
        self.hold = None;
        self.stdin = child.stdin.take();
        self.lines = Some(rx);
        self.child = Some(child);
    }

    /// Changes the picture: `ball` (moving), `bars` (frozen colour bars), `black` (covered lens).
    pub fn pattern(&mut self, name: &str) {
        let stdin = self.stdin.as_mut().expect("running");
        writeln!(stdin, "pattern {name}").expect("command");
        stdin.flush().expect("flush");
        let answer = self
            .lines
            .as_ref()
            .expect("running")
            .recv_timeout(Duration::from_secs(5));
        assert_eq!(answer.ok(), Some(format!("ok pattern {name}")));
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig}");
    }

    /// SIGSTOP: the camera keeps its connections open and sends nothing.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGKILL; the port is held for a restart.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            self.hold = PortHold::on(self.port).ok();
        }
        self.stdin = None;
        self.lines = None;
    }
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
