//! What the benchmarks share: starting `tocsin serve` (after `apply`) and
//! Prometheus Alertmanager as child processes, reading their memory, and
//! percentiles.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Applies `org` (YAML manifests; `key_env` reads from `env`), then starts
/// `tocsin serve` on a free loopback port with `serve_args` and `env`.
pub fn start_tocsin(
    database_url: Option<&str>,
    org: &str,
    env: &[(&str, &str)],
    serve_args: &[&str],
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("org.yaml"), org).unwrap();
    let tocsin = env!("CARGO_BIN_EXE_tocsin");
    let mut base = Command::new(tocsin);
    base.arg("--data-dir")
        .arg(dir.path().join("data"))
        .envs(env.iter().copied())
        .env("RUST_LOG", log_filter());
    if let Some(url) = database_url {
        base.arg("--database-url").arg(url);
    }
    let mut apply = Command::new(tocsin);
    apply
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .envs(env.iter().copied());
    if let Some(url) = database_url {
        apply.arg("--database-url").arg(url);
    }
    let out = apply
        .arg("apply")
        .arg(dir.path().join("org.yaml"))
        .arg("--yes")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = base
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(serve_args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("tocsin exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // `TOCSIN_BENCH_LOG=debug` shows the server's log (job and delivery
    // timings among it) on the benchmark's stderr.
    let show = std::env::var_os("TOCSIN_BENCH_LOG").is_some();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if show {
                eprintln!("{line}");
            }
        }
    });
    Server {
        child,
        addr,
        _dir: dir,
    }
}

/// The server's `RUST_LOG`: quiet unless `TOCSIN_BENCH_LOG` says otherwise.
fn log_filter() -> String {
    std::env::var("TOCSIN_BENCH_LOG").unwrap_or_else(|_| "warn,tocsin=info".to_owned())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Alertmanager with `config` (its YAML), when it is installed.
pub fn start_alertmanager(config_yaml: &str) -> Option<Server> {
    let bin = ["prometheus-alertmanager", "alertmanager"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("am.yml");
    std::fs::write(&config, config_yaml).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg(format!("--web.external-url=http://{addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(&server.addr).is_ok() {
            return Some(server);
        }
        #[allow(clippy::disallowed_methods)] // a real process starting up: real time is the point
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

pub fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}
