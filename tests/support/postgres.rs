//! A throwaway PostgreSQL cluster as the database of a real Kratos in tests (what production
//! deployments use: SQLite serializes writes, so a concurrency defect cannot show there).
//!
//! ```ignore
//! let Some(pg) = support::postgres::shared() else { return };   // skipped
//! let dsn = pg.database("race");                                 // a fresh database
//! let kratos = KratosOptions::new().postgres(&dsn).start();      // migrated, then served
//! ```
//!
//! The programs are `initdb`, `postgres` and `psql` from `RECOVERY_HARNESS_POSTGRES_BIN` (a
//! directory), else the newest Debian `postgresql` package (`/usr/lib/postgresql/<major>/bin`),
//! else `PATH`. A cluster lives in a temp dir: `initdb` (trust authentication, superuser
//! [`SUPERUSER`], `--no-sync`), then `postgres` in the foreground on a free loopback port with
//! `fsync=off` (nothing here must survive a crash), its socket in the temp dir. `initdb` refuses
//! to run as root, so as root both run as the `postgres` user the package creates (`runuser` for
//! `initdb`; `setpriv` for the server, which execs, so the PID held is the server's own) in a dir
//! that user owns. Each test takes its own database ([`Postgres::database`]). Dropping a
//! [`Postgres`] stops the server by its PID with `SIGINT` (what `pg_ctl stop -m fast` sends) and
//! removes the dir; a cluster in a `static` ([`shared`]) is stopped the same way by the process
//! guard when the test process ends. Start to ready: 2–3 s, `initdb` most of it.
//!
//! A test that uses it declares `Needs::Postgres` (`super::runner`): without the programs it is
//! reported as ignored, and fails under `RECOVERY_HARNESS_REQUIRE_TOOLS=1` (CI). A cluster that does not start panics with the tail of
//! its log: a broken installation is never a silent skip.

use super::process::Guarded;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Names the directory holding `initdb`, `postgres` and `psql`.
pub const BIN_VAR: &str = "RECOVERY_HARNESS_POSTGRES_BIN";
/// When `1`, a missing PostgreSQL is a failure instead of a skip.
pub const REQUIRE_VAR: &str = "RECOVERY_HARNESS_REQUIRE_TOOLS";
/// The cluster's superuser (trust authentication over loopback: no password).
pub const SUPERUSER: &str = "harness";
/// The OS user that runs the cluster when the tests run as root.
const OS_USER: &str = "postgres";

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Postgres {
    port: u16,
    bin: PathBuf,
    process: Guarded,
    dir: tempfile::TempDir,
    databases: AtomicU32,
}

/// The directory of the PostgreSQL programs (see [`super::skip_or_panic`] when they are missing).
pub fn bin_dir() -> Option<PathBuf> {
    match find_bin_dir() {
        Ok(d) => Some(d),
        Err(why) => {
            super::skip_or_panic("PostgreSQL", &why, REQUIRE_VAR);
            None
        }
    }
}

/// The directory of the PostgreSQL programs, or why there is none.
pub fn find_bin_dir() -> Result<PathBuf, String> {
    let has_all = |d: &Path| {
        ["initdb", "postgres", "psql"]
            .iter()
            .all(|p| d.join(p).is_file())
    };
    if let Some(d) = std::env::var_os(BIN_VAR).filter(|v| !v.is_empty()) {
        let d = PathBuf::from(d);
        if has_all(&d) {
            return Ok(d);
        }
        return Err(format!(
            "{BIN_VAR}={} does not hold initdb, postgres and psql",
            d.display()
        ));
    }
    // Debian's layout: one directory per major version, the newest wins.
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, d)| has_all(d))
        .max_by_key(|(major, _)| *major)
        .map(|(_, d)| d);
    debian
        .or_else(|| {
            std::env::var_os("PATH")
                .and_then(|paths| std::env::split_paths(&paths).find(|d| has_all(d)))
        })
        .ok_or_else(|| {
            format!(
                "initdb, postgres and psql are neither in /usr/lib/postgresql/<major>/bin (Debian's `postgresql` package) nor on PATH, and {BIN_VAR} is not set"
            )
        })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// Starts a cluster (see the module doc), `None` when PostgreSQL is not installed.
    pub fn start() -> Option<Postgres> {
        let bin = bin_dir()?;
        let mut last = String::new();
        for _ in 0..3 {
            match Postgres::start_once(&bin) {
                Ok(pg) => return Some(pg),
                Err((e, retry)) => {
                    last = e;
                    if !retry {
                        break;
                    }
                }
            }
        }
        panic!("PostgreSQL ({}) did not start: {last}", bin.display())
    }

    fn start_once(bin: &Path) -> Result<Postgres, (String, bool)> {
        let fail = |e: String| (e, false);
        let root = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("postgres-test-")
            .tempdir()
            .map_err(|e| fail(format!("temp dir: {e}")))?;
        if root {
            let out = Command::new("chown")
                .arg(OS_USER)
                .arg(dir.path())
                .output()
                .map_err(|e| fail(format!("chown: {e}")))?;
            if !out.status.success() {
                return Err(fail(format!(
                    "chown {OS_USER} {}: {} (initdb refuses root; the `postgres` user of Debian's package runs the cluster)",
                    dir.path().display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        let data = dir.path().join("data");
        let mut initdb = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", OS_USER, "--"]).arg(bin.join("initdb"));
            c
        } else {
            Command::new(bin.join("initdb"))
        };
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8"])
            .args(["--locale", "C"])
            .current_dir(dir.path())
            .stdin(Stdio::null());
        let out = initdb
            .output()
            .map_err(|e| fail(format!("cannot run initdb: {e}")))?;
        if !out.status.success() {
            return Err(fail(format!(
                "initdb failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }

        let port = super::free_port();
        let mut server = if root {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={OS_USER}"),
                &format!("--regid={OS_USER}"),
                "--init-groups",
                "--",
            ])
            .arg(bin.join("postgres"));
            c
        } else {
            Command::new(bin.join("postgres"))
        };
        server
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                // A throwaway cluster: nothing must survive a crash.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                // Several Kratos (max_conns=20 each) may share one cluster.
                "-c",
                "max_connections=300",
            ])
            .current_dir(dir.path());
        // The log is created by this process and inherited, so the server (another user) can
        // write it.
        let log = dir.path().join("postgres.log");
        let mut process =
            Guarded::spawn_stopped_by("postgres", &server, &log, "INT").map_err(fail)?;
        let pg = |process| Postgres {
            port,
            bin: bin.to_owned(),
            process,
            dir,
            databases: AtomicU32::new(0),
        };
        let start = Instant::now();
        loop {
            if let Some(status) = process.exited() {
                let tail = process.log_tail(40);
                let retry = tail.contains("already in use");
                return Err((
                    format!(
                        "postgres exited ({status})\n----- postgres output -----\n{tail}\n-----"
                    ),
                    retry,
                ));
            }
            if psql_ok(bin, port, "postgres", "select 1") {
                return Ok(pg(process));
            }
            if start.elapsed() > Duration::from_secs(30) {
                let tail = process.log_tail(40);
                process.stop();
                return Err(fail(format!(
                    "postgres did not accept connections on 127.0.0.1:{port} within 30 s\n----- postgres output -----\n{tail}\n-----"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its directory (data, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates a new, empty database whose name starts with `prefix` (letters, digits and `_`)
    /// and returns its DSN as Kratos takes it:
    /// `postgres://harness@127.0.0.1:P/NAME?sslmode=disable&max_conns=20`. Panics when the
    /// cluster refuses (it was running a moment ago: that is a broken test machine).
    pub fn database(&self, prefix: &str) -> String {
        let clean: String = prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("{clean}_{}_{n}", std::process::id());
        let out = psql(
            &self.bin,
            self.port,
            "postgres",
            &format!("create database \"{name}\""),
        )
        .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(
            out.status.success(),
            "create database {name}: {}{}\n----- postgres output -----\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.process.log_tail(20)
        );
        self.dsn(&name)
    }

    /// The DSN of database `name` (Kratos's form, at most 20 pooled connections).
    pub fn dsn(&self, name: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{name}?sslmode=disable&max_conns=20",
            self.port
        )
    }

    /// Runs one SQL statement in database `db` and returns its unaligned, tuples-only output.
    pub fn query(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = psql(&self.bin, self.port, db, sql)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

fn psql(bin: &Path, port: u16, db: &str, sql: &str) -> Result<std::process::Output, String> {
    Command::new(bin.join("psql"))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .arg("-p")
        .arg(port.to_string())
        .args(["-U", SUPERUSER, "-d", db, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("psql").display()))
}

fn psql_ok(bin: &Path, port: u16, db: &str, sql: &str) -> bool {
    psql(bin, port, db, sql).is_ok_and(|o| o.status.success())
}

/// One cluster shared by every test of this binary (started on first use, stopped when the test
/// process ends); each test takes its own [`Postgres::database`].
pub fn shared() -> Option<&'static Postgres> {
    static SHARED: OnceLock<Option<Postgres>> = OnceLock::new();
    SHARED.get_or_init(Postgres::start).as_ref()
}
