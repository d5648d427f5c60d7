//! A child program that cannot outlive the test process.
//!
//! The program runs under a small `sh` guard that reads a pipe from this process: when the test
//! process ends for any reason (a normal exit, a panic, a `SIGKILL` by `timeout`, a shared
//! `static` that is never dropped), the kernel closes the pipe and the guard stops the program by
//! its PID. [`Guarded`]'s `Drop` stops it first by its own PID (`SIGTERM`, then `SIGKILL` after a
//! bound) and waits for it. Output goes to a log file whose tail the starters print on failure.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

// `$1` is the PID file, `$2` the signal that stops the program, the rest is the program. The
// program gets /dev/null as stdin and not the pipe (fd 3), so only the watcher's `cat` sees its
// end-of-file.
const GUARD: &str = r#"pidfile=$1; sig=$2; shift 2
exec 3<&0
"$@" </dev/null 3<&- &
k=$!
echo "$k" >"$pidfile"
{ cat <&3 >/dev/null; kill -"$sig" "$k" 2>/dev/null; } &
exec 3<&-
wait "$k"
"#;

/// A program started under the guard.
#[derive(Debug)]
pub struct Guarded {
    name: String,
    pid: u32,
    guard: Child,
    pipe: Option<ChildStdin>,
    log: PathBuf,
    stop_signal: &'static str,
}

impl Guarded {
    /// Starts `cmd` (its program and arguments; env and current dir are kept) with stdout and
    /// stderr appended to `log`.
    pub fn spawn(name: &str, cmd: &Command, log: &Path) -> Result<Guarded, String> {
        Guarded::spawn_stopped_by(name, cmd, log, "TERM")
    }

    /// [`Guarded::spawn`] for a program that `stop_signal` (`"INT"`, `"TERM"`) stops best:
    /// PostgreSQL's fast shutdown is `SIGINT`, its `SIGTERM` waits for every client to leave.
    pub fn spawn_stopped_by(
        name: &str,
        cmd: &Command,
        log: &Path,
        stop_signal: &'static str,
    ) -> Result<Guarded, String> {
        let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let pidfile = log.with_extension("pid");
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(GUARD)
            .arg("sh")
            .arg(&pidfile)
            .arg(stop_signal)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            sh.current_dir(dir);
        }
        let mut guard = sh
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} under sh: {e}"))?;
        let pipe = guard.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(5);
        let pid = loop {
            if let Some(pid) = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
            {
                break pid;
            }
            if Instant::now() > deadline {
                let _ = guard.kill();
                let _ = guard.wait();
                return Err(format!("{name}: the guard wrote no PID within 5 s"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Ok(Guarded {
            name: name.to_owned(),
            pid,
            guard,
            pipe,
            log: log.to_owned(),
            stop_signal,
        })
    }

    /// The program's own PID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The file its stdout and stderr go to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `Some(exit status text)` once the program has ended.
    pub fn exited(&mut self) -> Option<String> {
        match self.guard.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The last `lines` lines of its output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Prints the tail of its output to stderr, framed with its name and `why`.
    pub fn print_tail(&self, why: &str) {
        eprintln!(
            "----- {} (pid {}): {why}; last lines of {} -----\n{}\n----- end of {} output -----",
            self.name,
            self.pid,
            self.log.display(),
            self.log_tail(40),
            self.name
        );
    }

    /// Stops the program by its PID and waits for it (at most 5 s for its stop signal, `SIGTERM`
    /// unless [`Guarded::spawn_stopped_by`] said otherwise, then `SIGKILL`).
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            self.pipe.take();
            return;
        }
        signal(self.pid, self.stop_signal);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.exited().is_none() {
            signal(self.pid, "KILL");
            let _ = self.guard.kill();
        }
        // Closing the pipe ends the guard's watcher.
        self.pipe.take();
        let _ = self.guard.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// One blocking `GET` over a fresh connection, bounded by `timeout`: the status code, or `None`
/// when nothing answered. For readiness probes, which must not need a runtime.
pub fn http_status(host_port: &str, path: &str, timeout: Duration) -> Option<u16> {
    let addr = host_port.parse().ok()?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Polls `GET path` on `host_port` until it answers 200, the program exits, or `within` passes.
pub fn wait_ready(
    program: &mut Guarded,
    host_port: &str,
    path: &str,
    within: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        if let Some(status) = program.exited() {
            return Err(format!(
                "{} exited before it was ready ({status})",
                program.name
            ));
        }
        if http_status(host_port, path, Duration::from_millis(500)) == Some(200) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > within {
            return Err(format!(
                "{} did not answer 200 on http://{host_port}{path} within {within:?}",
                program.name
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
