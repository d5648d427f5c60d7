//! Real Kratos behind real Mailpit for the code-source and security-check tests: both bound to
//! loopback on free ports, stopped by PID when dropped. The smallest version of this; the shared
//! test support (tests/support/) replaces it when it lands.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Kratos (dev mode, courier on) whose mail goes to a running Mailpit.
pub struct Stack {
    pub public: String,
    pub admin: String,
    pub mailpit: String,
    kratos: Child,
    mail: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.kratos.kill();
        let _ = self.mail.kill();
        let _ = self.kratos.wait();
        let _ = self.mail.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn required() -> bool {
    std::env::var_os("RECOVERY_HARNESS_REQUIRE_KRATOS").is_some()
        || std::env::var_os("RECOVERY_HARNESS_REQUIRE_TOOLS").is_some()
}

fn mailpit_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/root/go/bin")])
        .map(|d| d.join("mailpit"))
        .find(|p| p.is_file())
}

fn kratos_bin() -> Option<PathBuf> {
    std::env::var_os("RECOVERY_HARNESS_KRATOS_BIN")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

fn wait_ready(url: &str, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        if let Ok(resp) = plain_http::get_ok(url) {
            if resp {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} not ready at {url} within 30 s");
}

mod plain_http {
    /// A tiny blocking GET over std (the tests' runtime must not be blocked on inside async).
    pub fn get_ok(url: &str) -> std::io::Result<bool> {
        use std::io::{Read, Write};
        let u = url::Url::parse(url).map_err(std::io::Error::other)?;
        let addr = format!(
            "{}:{}",
            u.host_str().unwrap_or("127.0.0.1"),
            u.port().unwrap_or(80)
        );
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        write!(
            s,
            "GET {} HTTP/1.0\r\nHost: x\r\n\r\n",
            &u[url::Position::BeforePath..]
        )?;
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        Ok(buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200"))
    }
}

/// Starts Mailpit and Kratos (`--dev` unless `dev` is false), with extra environment variables
/// (e.g. a short lifespan). `None` (after one loud line) when the binaries are missing and not
/// required.
pub fn start(dev: bool, env: &[(&str, &str)]) -> Option<Stack> {
    let (Some(kratos), Some(mailpit)) = (kratos_bin(), mailpit_bin()) else {
        if required() {
            panic!("RECOVERY_HARNESS_REQUIRE_KRATOS/TOOLS is set but RECOVERY_HARNESS_KRATOS_BIN or mailpit is missing");
        }
        eprintln!("!!!!! SKIPPED: real Kratos + Mailpit test (set RECOVERY_HARNESS_KRATOS_BIN and put mailpit on PATH) !!!!!");
        return None;
    };
    let shared = kratos
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("identity.schema.json");
    std::fs::copy(shared.join("identity.schema.json"), &schema).expect("identity schema");
    let (smtp, web, public, admin) = (free_port(), free_port(), free_port(), free_port());
    let mut mail = Command::new(mailpit)
        .args([
            "--smtp",
            &format!("127.0.0.1:{smtp}"),
            "--listen",
            &format!("127.0.0.1:{web}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mailpit starts");
    let mailpit = format!("http://127.0.0.1:{web}");
    wait_ready(&format!("{mailpit}/api/v1/messages"), "mailpit", &mut mail);

    let public_url = format!("http://127.0.0.1:{public}");
    let admin_url = format!("http://127.0.0.1:{admin}");
    let vars: Vec<(String, String)> = [
        (
            "DSN".to_owned(),
            format!(
                "sqlite://{}/db.sqlite?_fk=true&_journal=WAL&mode=rwc",
                dir.path().display()
            ),
        ),
        ("SERVE_PUBLIC_PORT".to_owned(), public.to_string()),
        ("SERVE_ADMIN_PORT".to_owned(), admin.to_string()),
        ("SERVE_PUBLIC_BASE_URL".to_owned(), format!("{public_url}/")),
        ("SERVE_ADMIN_BASE_URL".to_owned(), format!("{admin_url}/")),
        (
            "IDENTITY_SCHEMAS".to_owned(),
            format!(
                "[{{\"id\":\"default\",\"url\":\"file://{}\"}}]",
                schema.display()
            ),
        ),
        (
            "COURIER_SMTP_CONNECTION_URI".to_owned(),
            format!("smtp://127.0.0.1:{smtp}/?disable_starttls=true"),
        ),
    ]
    .into_iter()
    .chain(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    .collect();
    let config = shared.join("kratos.yml");
    let migrate = Command::new(&kratos)
        .args(["migrate", "sql", "-e", "--yes", "-c"])
        .arg(&config)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("kratos migrate runs");
    assert!(
        migrate.status.success(),
        "kratos migrate failed: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let mut args = vec!["serve", "-c"];
    let config_s = config.to_string_lossy().into_owned();
    args.push(&config_s);
    if dev {
        args.push("--dev");
    }
    args.extend(["--watch-courier", "--sqa-opt-out"]);
    let mut kratos = Command::new(&kratos)
        .args(&args)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kratos starts");
    wait_ready(&format!("{public_url}/health/ready"), "kratos", &mut kratos);
    Some(Stack {
        public: public_url,
        admin: admin_url,
        mailpit,
        kratos,
        mail,
        _dir: dir,
    })
}

/// Registers `email` (password method) and returns the new session token.
pub async fn register(stack: &Stack, email: &str) -> String {
    recovery_harness::tls::install_default_provider();
    let http = ::reqwest::Client::new();
    let flow: serde_json::Value = http
        .get(format!("{}/self-service/registration/api", stack.public))
        .send()
        .await
        .expect("registration flow")
        .json()
        .await
        .expect("flow json");
    let id = flow["id"].as_str().expect("flow id");
    let done: serde_json::Value = http
        .post(format!(
            "{}/self-service/registration?flow={id}",
            stack.public
        ))
        .json(&serde_json::json!({
            "method": "password",
            "traits": {"email": email},
            "password": "recovery-harness-9f8e7d6c5b4a-long",
        }))
        .send()
        .await
        .expect("registration")
        .json()
        .await
        .expect("registration json");
    done["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("registration gave no session token: {done}"))
        .to_owned()
}
