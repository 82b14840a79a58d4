//! A real `translog serve` on 127.0.0.1 with a fresh database, a reader and a
//! worker user, for the tests of the operator tools.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

pub const READER: (&str, &str) = ("reader", "reader-password");
pub const WORKER: (&str, &str) = ("worker", "worker-password");

/// How long a test waits for something the server does in the background
/// (an alert, a transaction turning stalled) before it fails.
pub const BACKGROUND_DEADLINE: Duration = Duration::from_secs(30);

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_translog")
}

/// A running server, killed on drop.
pub struct Server {
    child: Child,
    pub base_url: String,
    pub dir: tempfile::TempDir,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// A response: status, headers as lower-case name and value, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl Server {
    /// Starts a server with the reader and worker users and `extra` serve options.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("translog.db");
        for (name, password, role) in [
            (READER.0, READER.1, "reader"),
            (WORKER.0, WORKER.1, "worker"),
        ] {
            add_user(&db, name, password, role);
        }
        let mut child = Command::new(binary())
            .arg("--db")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start translog serve");
        let stderr = child.stderr.take().expect("stderr pipe");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let collected = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest.split([',', ' ']).next().unwrap_or_default();
                    let _ = address_sender.send(address.to_string());
                }
                collected.lock().expect("log lock").push(line);
            }
        });
        let address = address_receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs `listening on http://ADDR` at start");
        Server {
            child,
            base_url: format!("http://{address}"),
            dir,
            stderr: lines,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// GET with Basic credentials, or none.
    pub fn get(&self, path: &str, credentials: Option<(&str, &str)>) -> Reply {
        let mut request = ureq::get(&format!("{}{path}", self.base_url));
        if let Some((user, password)) = credentials {
            request = request.set("Authorization", &basic(user, password));
        }
        into_reply(request.call())
    }

    /// GET as the reader.
    pub fn read(&self, path: &str) -> Reply {
        self.get(path, Some(READER))
    }

    /// Posts one entry as the worker and returns the status code.
    pub fn post_entry(
        &self,
        transaction_id: &str,
        timestamp: &str,
        stage: &str,
        status: &str,
        message: &str,
    ) -> u16 {
        let request = ureq::post(&format!("{}/worker/log/{transaction_id}", self.base_url))
            .set("Authorization", &basic(WORKER.0, WORKER.1));
        let result = request.send_form(&[
            ("timestamp", timestamp),
            ("stage", stage),
            ("status", status),
            ("message", message),
        ]);
        into_reply(result).status
    }

    /// Returns the server's stderr lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("log lock").clone()
    }

    /// Waits until `condition` holds, up to [`BACKGROUND_DEADLINE`], and
    /// returns whether it did.
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < BACKGROUND_DEADLINE {
            if condition() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        condition()
    }

    /// Reads the outcome of a transaction from the read API.
    pub fn outcome(&self, transaction_id: &str) -> Option<String> {
        let reply = self.read(&format!("/worker/log/{transaction_id}"));
        let log: serde_json::Value = serde_json::from_str(&reply.body).ok()?;
        log["outcome"].as_str().map(str::to_string)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn add_user(db: &Path, name: &str, password: &str, role: &str) {
    let mut child = Command::new(binary())
        .arg("--db")
        .arg(db)
        .args(["user", "add", name, "--role", role, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start translog user add");
    writeln!(child.stdin.take().expect("stdin pipe"), "{password}").expect("write password");
    let status = child.wait().expect("wait for translog user add");
    assert!(status.success(), "translog user add {name} failed");
}

pub fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn into_reply(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("request failed: {error}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|name| {
            let value = response.header(&name).unwrap_or_default().to_string();
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    let body = response.into_string().expect("UTF-8 body");
    Reply {
        status,
        headers,
        body,
    }
}

/// Formats now plus `offset_seconds` as RFC 3339 UTC with nanoseconds.
pub fn timestamp_from_now(offset_seconds: i64) -> String {
    let instant = chrono::Utc::now() + chrono::Duration::seconds(offset_seconds);
    instant.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
