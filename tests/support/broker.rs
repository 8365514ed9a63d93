//! A throwaway Mosquitto per test, on a port held for its whole life ([`PortHold`]: Mosquitto
//! cannot listen on port 0), so a restart gets the same port back. Ready when its log says
//! `running`, which it writes once every listener of its configuration is open.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::PortHold;

/// Persistence on, unlimited queues for persistent sessions. `user root`: started as root,
/// Mosquitto would drop to its own user and could not write its persistence file into our temp
/// dir — and would silently lose its state on a restart.
pub struct Mosquitto {
    pub port: u16,
    child: Child,
    conf: PathBuf,
    log: PathBuf,
    _hold: PortHold,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> Self {
        Self::start_with_config(|dir, port| {
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 user root\nautosave_interval 1\nmax_queued_messages 0\nmax_inflight_messages 100\nset_tcp_nodelay true\n",
                dir.display()
            )
        })
    }

    /// A Mosquitto with the configuration `conf(dir, port)` returns (its temp dir, the port of
    /// [`Mosquitto::url`]). A configuration with more listeners holds their ports itself
    /// ([`PortHold`]) until this returns.
    pub fn start_with_config(conf: impl FnOnce(&Path, u16) -> String) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let hold = PortHold::any();
        let path = dir.path().join("mosquitto.conf");
        std::fs::write(&path, conf(dir.path(), hold.port)).expect("write mosquitto.conf");
        let log = dir.path().join("mosquitto.log");
        let child = Self::spawn(&path, &log);
        Self {
            port: hold.port,
            child,
            conf: path,
            log,
            _hold: hold,
            _dir: dir,
        }
    }

    fn spawn(conf: &Path, log: &Path) -> Child {
        let runs = |log: &Path| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.ends_with(" running"))
                .count()
        };
        let before = runs(log);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("mosquitto.log");
        let mut child = Command::new("mosquitto")
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("mosquitto is installed (the test command installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs(log) == before {
            let exited = child.try_wait().expect("wait mosquitto");
            let log = std::fs::read_to_string(log).unwrap_or_default();
            assert!(exited.is_none(), "mosquitto exited ({exited:?}):\n{log}");
            assert!(Instant::now() < deadline, "mosquitto did not start:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// SIGTERM (Mosquitto saves its persistent state on the way out), then start it again on the
    /// same port and persistence directory.
    pub fn restart(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.child = Self::spawn(&self.conf, &self.log);
    }

    /// SIGHUP: Mosquitto reads its password file and ACL again; returns once its log says so.
    pub fn reload(&mut self) {
        let reloads = |log: &Path| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches("Reloading config")
                .count()
        };
        let before = reloads(&self.log);
        let _ = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while reloads(&self.log) == before {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not reload:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What Mosquitto logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
