//! A throwaway PostgreSQL 15 server per test: `initdb` into a temp dir, a port on 127.0.0.1 held
//! for its whole life ([`PortHold`]: `port` cannot be 0), its unix socket inside that dir, trust
//! auth, `fsync=on`, one database `iochub`. Stopped (`pg_ctl stop -m fast`) and removed when
//! dropped. Never touches a server that is already running on the machine, so tests can run in
//! parallel.
//!
//! PostgreSQL refuses to run as root, so under root (CI, containers) every server command runs as
//! the `postgres` OS user via `runuser`, in a temp dir owned by that user. The binaries are taken
//! from `/usr/lib/postgresql/15/bin` (Debian's `postgresql-15`, installed by `scripts/test`), or
//! from `IOCHUB_PG_BIN`.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::PortHold;

const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
const DATABASE: &str = "iochub";

pub struct Postgres {
    pub port: u16,
    /// Kept across [`Postgres::stop_immediate`] and [`Postgres::start_again`].
    _hold: PortHold,
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Run server commands as the `postgres` OS user (we are root).
    as_postgres: bool,
}

fn bin_dir() -> PathBuf {
    std::env::var_os("IOCHUB_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN))
}

impl Postgres {
    /// Initialises and starts a new server, and creates the `iochub` database.
    pub fn start() -> Self {
        Self::start_with_conf("")
    }

    /// Why this machine cannot run a TimescaleDB server, or `None` when it can (the extension's
    /// control file and library are installed for this PostgreSQL).
    pub fn timescaledb_missing() -> Option<String> {
        let pg_config = bin_dir().join("pg_config");
        let ask = |flag: &str| {
            Command::new(&pg_config)
                .arg(flag)
                .output()
                .ok()
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        };
        let (Some(share), Some(lib)) = (ask("--sharedir"), ask("--pkglibdir")) else {
            return Some(format!("{} does not answer", pg_config.display()));
        };
        let control = share.join("extension/timescaledb.control");
        let library = lib.join("timescaledb.so");
        (!control.exists() || !library.exists()).then(|| {
            format!(
                "the timescaledb extension is not installed for this PostgreSQL ({} or {} \
                 missing; this machine's package sources have no TimescaleDB)",
                control.display(),
                library.display()
            )
        })
    }

    /// A server with TimescaleDB preloaded (see [`Postgres::timescaledb_missing`]).
    pub fn start_timescaledb() -> Self {
        Self::start_with_conf(
            "shared_preload_libraries = 'timescaledb'\ntimescaledb.telemetry_level = off\n",
        )
    }

    /// Like [`Postgres::start`], with more lines for `postgresql.conf`.
    pub fn start_with_conf(extra_conf: &str) -> Self {
        let bin = bin_dir();
        assert!(
            bin.join("initdb").exists(),
            "PostgreSQL 15 is not installed ({} has no initdb): scripts/test installs \
             postgresql-15, or set IOCHUB_PG_BIN",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("iochub-pg-")
            .tempdir()
            .expect("tempdir");
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let hold = PortHold::any();
        let pg = Self {
            port: hold.port,
            _hold: hold,
            dir,
            bin,
            as_postgres,
        };
        // --no-sync: initdb's own files need not be forced to disk for a test; the server
        // itself runs with fsync on.
        run(pg
            .tool("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .args(["--no-locale", "--no-sync"]));
        let conf = format!(
            "\n# iochub test server\nlisten_addresses = '127.0.0.1'\nport = {}\n\
             unix_socket_directories = '{}'\nfsync = on\nmax_connections = 50\n\
             shared_buffers = 32MB\n{extra_conf}",
            pg.port,
            pg.dir.path().display()
        );
        let conf_path = pg.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).expect("read postgresql.conf");
        text.push_str(&conf);
        std::fs::write(&conf_path, text).expect("write postgresql.conf");
        pg.start_again();
        run(Command::new(pg.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(DATABASE)
            .current_dir(pg.dir.path()));
        pg
    }

    /// `postgres://postgres@127.0.0.1:PORT/iochub`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Kills the server without a shutdown checkpoint, as a crash or power cut would; committed
    /// transactions must survive it (WAL replay at the next start).
    pub fn stop_immediate(&self) {
        let out = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        assert!(out.status.success(), "pg_ctl stop: {}", self.explain(&out));
    }

    /// Freezes (`true`: SIGSTOP) or thaws (`false`: SIGCONT) the server and all its backends: a
    /// stalled database that neither answers nor drops connections.
    pub fn freeze(&self, frozen: bool) {
        let pid_file =
            std::fs::read_to_string(self.data().join("postmaster.pid")).expect("postmaster.pid");
        let postmaster = pid_file.lines().next().expect("pid line").trim().to_owned();
        let children = Command::new("pgrep")
            .arg("-P")
            .arg(&postmaster)
            .output()
            .expect("pgrep");
        let mut pids = vec![postmaster];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .split_whitespace()
                .map(str::to_owned),
        );
        let sig = if frozen { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill")
            .arg(sig)
            .args(&pids)
            .status()
            .expect("kill");
        assert!(ok.success(), "kill {sig} {pids:?}");
    }

    /// Starts the (stopped) server again on the same port and data directory.
    pub fn start_again(&self) {
        let log = self.dir.path().join("server.log");
        let log = log.to_string_lossy();
        let out = self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log]);
        assert!(out.status.success(), "pg_ctl start: {}", self.explain(&out));
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        self.tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(args)
            .output()
            .expect("run pg_ctl")
    }

    /// A server binary, run as the `postgres` user when we are root, from inside the temp dir
    /// (that user may not be allowed into the current directory).
    fn tool(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn explain(&self, out: &Output) -> String {
        format!(
            "{}{}\n--- server log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Fast: roll back open sessions and stop; the directory goes with `dir`.
        let _ = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{:?} {:?} failed: {}{}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
