//! Fixtures for the integration tests: a real `translog serve` process on a
//! free port with its database in a temporary directory, and clients that
//! talk to it over real HTTP (ureq, raw sockets and curl).

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use tempfile::TempDir;

/// The built binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_translog");

/// The password that [`Server::add_user`] gives every user.
pub const PASSWORD: &str = "correct horse battery staple";

/// The reader that [`Server::start_with_users`] adds, as `(name, password)`.
pub const READER: (&str, &str) = ("reader", PASSWORD);

/// The worker that [`Server::start_with_users`] adds, as `(name, password)`.
pub const WORKER: (&str, &str) = ("worker", PASSWORD);

/// How long [`wait_until`] waits for work the server does in the background,
/// such as an alert or a transaction turning stalled.
pub const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long [`run_command`] lets a command run, so that a command expected to
/// stop (such as a second server) fails its test instead of hanging it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variables of the binary that the tests set explicitly or not at all.
const TRANSLOG_VARIABLES: [&str; 10] = [
    "TRANSLOG_DB",
    "TRANSLOG_LISTEN",
    "TRANSLOG_TIMEZONE",
    "TRANSLOG_STALL_AFTER",
    "TRANSLOG_READ_TIMEOUT",
    "TRANSLOG_WRITE_TIMEOUT",
    "TRANSLOG_MAX_CONNECTIONS",
    "TRANSLOG_NOTIFY_COMMAND",
    "TRANSLOG_TRUSTED_PROXIES",
    "RUST_LOG",
];

/// A running `translog serve`, killed when dropped.
pub struct Server {
    dir: Option<TempDir>,
    child: Option<Child>,
    /// Path of the SQLite database.
    pub db: PathBuf,
    /// The address the server logged as bound.
    pub addr: SocketAddr,
    /// The generated administrator's name and password.
    pub admin: (String, String),
    /// Arguments given after `serve --db DB --listen 127.0.0.1:0`.
    pub args: Vec<String>,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a server on a new, empty database.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a server on a new, empty database with extra `serve` arguments.
    pub fn start_with(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Server::start_in(dir, args)
    }

    /// Starts a server with extra `serve` arguments and the [`READER`] and [`WORKER`] users.
    pub fn start_with_users(args: &[&str]) -> Server {
        let server = Server::start_with(args);
        server.add_user(READER.0, "reader");
        server.add_user(WORKER.0, "worker");
        server
    }

    /// Starts a server on `DIR/translog.db`, which may exist already.
    pub fn start_in(dir: TempDir, args: &[&str]) -> Server {
        Server::start_in_env(dir, args, &[])
    }

    /// Starts a server on `DIR/translog.db` with extra environment variables
    /// (`RUST_LOG` is `info` unless given here).
    pub fn start_in_env(dir: TempDir, args: &[&str], env: &[(&str, &str)]) -> Server {
        let db = dir.path().join("translog.db");
        let mut command = serve_command(&db);
        command.args(["--listen", "127.0.0.1:0"]).args(args);
        command.envs(env.iter().copied());
        let mut server = Server::launch(dir, db, command);
        server.args = args.iter().map(|arg| arg.to_string()).collect();
        server
    }

    /// Runs a prepared `serve` command (see [`serve_command`]) and waits until
    /// it logs its address. `dir` is kept until the server is dropped.
    pub fn launch(dir: TempDir, db: PathBuf, mut command: Command) -> Server {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start translog serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let addr = match wait_for_listening(stderr, Arc::clone(&log)) {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let text = log.lock().expect("log lock").clone();
                panic!("server did not log its address within {START_TIMEOUT:?}; its log:\n{text}");
            }
        };
        // The server is dropped, and so stopped, if its credentials cannot
        // be read, as when users existed before its start.
        let mut server = Server {
            dir: Some(dir),
            child: Some(child),
            db,
            addr,
            admin: (String::new(), String::new()),
            args: Vec::new(),
            log,
        };
        server.admin = read_credentials(&credentials_path(&server.db));
        server
    }

    /// Returns the temporary directory that contains the database.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("directory is kept while running")
            .path()
    }

    /// Returns the process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// Returns `http://ADDR` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Returns everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits until the server log contains `text`; false after `timeout`.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(text) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.log().contains(text)
    }

    /// Sends SIGTERM and waits for the exit. Returns the exit status and the
    /// directory, so that a new server can start on the same database.
    pub fn stop(self) -> (ExitStatus, TempDir) {
        self.stop_with("TERM")
    }

    /// Sends the signal `name` (`TERM`, `INT`, `HUP`) and waits for the exit.
    pub fn stop_with(self, name: &str) -> (ExitStatus, TempDir) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} failed");
        self.wait_for_exit()
    }

    /// Waits for the exit of a server that was sent a stop signal. Returns
    /// the exit status and the directory, as [`Server::stop`] does.
    pub fn wait_for_exit(mut self) -> (ExitStatus, TempDir) {
        let mut child = self.child.take().expect("server is running");
        let status = wait_with_timeout(&mut child, STOP_TIMEOUT).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not exit within {STOP_TIMEOUT:?} after a stop signal");
        });
        (
            status,
            self.dir.take().expect("directory is kept while running"),
        )
    }

    /// Kills the server with SIGKILL, as a crash would, and returns the
    /// directory, so that a new server can start on the same database.
    pub fn crash(mut self) -> TempDir {
        let mut child = self.child.take().expect("server is running");
        child.kill().expect("kill the server");
        child.wait().expect("wait for the server");
        self.dir.take().expect("directory is kept while running")
    }

    /// Runs `translog --db DB ARGS` with `stdin` as standard input.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.db, args, stdin)
    }

    /// Adds a user with [`PASSWORD`] through the command line.
    pub fn add_user(&self, name: &str, role: &str) {
        self.add_user_with(name, role, PASSWORD, &[]);
    }

    /// Adds a user with the given password and extra `user add` arguments.
    pub fn add_user_with(&self, name: &str, role: &str, password: &str, extra: &[&str]) {
        let mut args = vec!["user", "add", name, "--role", role, "--password-stdin"];
        args.extend_from_slice(extra);
        let output = self.cli(&args, Some(&format!("{password}\n")));
        assert_success(&output, "user add");
    }

    /// Returns the administrator's credentials as `(name, password)`.
    pub fn admin(&self) -> (&str, &str) {
        (&self.admin.0, &self.admin.1)
    }

    /// Sends a request with optional Basic credentials, headers and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        credentials: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut request = agent().request(method, &self.url(path));
        if let Some((user, password)) = credentials {
            request = request.set("Authorization", &basic_auth(user, password));
        }
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(bytes) => request.send_bytes(bytes),
            None => request.call(),
        };
        Reply::from_result(result)
    }

    /// POSTs a form body to `path` as `credentials`.
    pub fn post_form(&self, path: &str, credentials: (&str, &str), body: &str) -> Reply {
        self.request(
            "POST",
            path,
            Some(credentials),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        )
    }

    /// POSTs a JSON body to `path` as `credentials`.
    pub fn post_json(&self, path: &str, credentials: (&str, &str), body: &str) -> Reply {
        self.request(
            "POST",
            path,
            Some(credentials),
            &[("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
    }

    /// POSTs a form body to `/worker/log/{id}` as the administrator.
    pub fn post_entry(&self, id: &str, body: &str) -> Reply {
        self.post_form(&format!("/worker/log/{id}"), self.admin(), body)
    }

    /// POSTs one entry with a message to `/worker/log/{id}` as [`WORKER`].
    pub fn post_worker_entry(
        &self,
        id: &str,
        timestamp: &str,
        stage: &str,
        status: &str,
        message: &str,
    ) -> Reply {
        let body = format!(
            "{}&message={}",
            form(timestamp, stage, status),
            percent_encode(message)
        );
        self.post_form(&format!("/worker/log/{id}"), WORKER, &body)
    }

    /// Posts `count` entries to the log of `id` as the administrator, from
    /// [`POSTING_THREADS`] threads, so that the server stores them in
    /// batches. Entry `i` has the timestamp [`many_timestamp`]`(i)`, so that
    /// pairs share a timestamp, the stage [`many_stage`]`(i)`, the status
    /// `FAIL` and the message `entry {i}`. Panics unless each one is `200`.
    pub fn post_many(&self, id: &str, count: usize) {
        thread::scope(|scope| {
            for first in 0..POSTING_THREADS {
                scope.spawn(move || {
                    for i in (first..count).step_by(POSTING_THREADS) {
                        let body = format!(
                            "{}&message=entry+{i}",
                            form(&many_timestamp(i), many_stage(i), "FAIL")
                        );
                        let reply = self.post_entry(id, &body);
                        assert_eq!(reply.status, 200, "entry {i}: {}", reply.body);
                    }
                });
            }
        });
    }

    /// GETs `path` as `credentials`.
    pub fn get(&self, path: &str, credentials: Option<(&str, &str)>) -> Reply {
        self.request("GET", path, credentials, &[], None)
    }

    /// GETs `path` as [`READER`].
    pub fn get_as_reader(&self, path: &str) -> Reply {
        self.get(path, Some(READER))
    }

    /// GETs `/worker/log/{id}` as the administrator and parses the JSON body;
    /// panics unless the status is 200.
    pub fn read_log(&self, id: &str) -> Value {
        let reply = self.get(&format!("/worker/log/{id}"), Some(self.admin()));
        assert_eq!(reply.status, 200, "GET /worker/log/{id}: {}", reply.body);
        reply.json()
    }

    /// Returns the `outcome` of a transaction's log, and panics unless the transaction exists.
    pub fn outcome(&self, id: &str) -> Option<String> {
        self.read_log(id)["outcome"].as_str().map(str::to_string)
    }

    /// Returns the entries of a transaction's log, as the read API shows them.
    pub fn entries(&self, id: &str) -> Vec<Value> {
        self.read_log(id)["entries"]
            .as_array()
            .expect("entries is an array")
            .clone()
    }

    /// Writes `bytes` on a new connection and reads until the server closes
    /// it or nothing arrives for `idle`.
    pub fn raw(&self, bytes: &[u8], idle: Duration) -> String {
        let mut stream = self.connect();
        stream.write_all(bytes).expect("write the request");
        read_until_closed(&mut stream, idle)
    }

    /// Opens a TCP connection to the server.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to the server");
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .expect("set write timeout");
        stream
    }

    /// Runs `curl -sS` with `args`; `path` is appended to the base URL.
    pub fn curl(&self, path: &str, args: &[&str]) -> Output {
        Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args)
            .arg(self.url(path))
            .output()
            .expect("run curl")
    }

    /// Runs `curl -sS` with `args` like [`Server::curl`], discards the body
    /// and returns the HTTP status code that curl printed.
    pub fn curl_status(&self, path: &str, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend(["-o", "/dev/null", "-w", "%{http_code}"]);
        let output = self.curl(path, &all);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Builds a `translog --db DB serve` command without the TRANSLOG_* variables
/// of the test environment, and with `RUST_LOG=info`.
pub fn serve_command(db: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--db").arg(db).arg("serve");
    clean_env(&mut command);
    command
}

/// Removes the TRANSLOG_* variables of the test environment from `command`
/// and sets `RUST_LOG=info`.
pub fn clean_env(command: &mut Command) {
    for name in TRANSLOG_VARIABLES {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "info");
}

/// Reads stderr lines into `log` on a thread of its own and returns the
/// address of the `listening on http://ADDR` line.
fn wait_for_listening(
    stderr: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
) -> Option<SocketAddr> {
    let (sender, receiver) = mpsc::channel::<SocketAddr>();
    thread::spawn(move || {
        let mut sender = Some(sender);
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            log.lock().expect("log lock").push_str(&line);
            if let Some(addr) = listening_address(&line) {
                if let Some(sender) = sender.take() {
                    let _ = sender.send(addr);
                }
            }
        }
    });
    receiver.recv_timeout(START_TIMEOUT).ok()
}

/// Finds ADDR in a line containing `listening on http://ADDR`.
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on http://")?;
    let end = rest
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Polls `condition` until it is true, and returns false if it is still false
/// after [`BACKGROUND_TIMEOUT`].
pub fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + BACKGROUND_TIMEOUT;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    condition()
}

/// Waits up to `timeout` for `child` to exit, and returns its status, or
/// `None` when it still runs.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Waits, checking every millisecond, until `condition` is true while `child`
/// runs. Kills the child and panics, naming the `awaited` event, when it
/// exits first or `timeout` passes.
pub fn wait_while_running(
    child: &mut Child,
    timeout: Duration,
    awaited: &str,
    mut condition: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if let Some(status) = child.try_wait().expect("poll the child") {
            panic!("the child exited with {status} before the {awaited}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no {awaited} within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Returns the path of the credentials file that `serve` writes beside a new database.
pub fn credentials_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".credentials");
    PathBuf::from(name)
}

fn read_credentials(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let line = text.trim_end_matches(['\n', '\r']);
    let (user, password) = line
        .split_once(':')
        .unwrap_or_else(|| panic!("{} contains no user:password", path.display()));
    (user.to_string(), password.to_string())
}

/// Runs `translog --db DB ARGS` with only the given environment changes.
pub fn run_cli(db: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(BIN);
    command.arg("--db").arg(db).args(args);
    run_command(command, stdin)
}

/// Runs a prepared `translog` command with `stdin`, with the TRANSLOG_*
/// variables of the test environment removed. Variables that `command` sets
/// itself are kept.
pub fn run_command(mut command: Command, stdin: Option<&str>) -> Output {
    let set_by_command: Vec<OsString> = command
        .get_envs()
        .map(|(name, _)| name.to_os_string())
        .collect();
    for name in TRANSLOG_VARIABLES {
        if !set_by_command.iter().any(|set| set == name) {
            command.env_remove(name);
        }
    }
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run translog");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // A command that fails early exits without reading, so a broken pipe is expected.
        let _ = pipe.write_all(text.as_bytes());
    }
    let (finished, finish) = mpsc::channel::<()>();
    let pid = child.id().to_string();
    let watchdog = thread::spawn(move || {
        let timed_out = finish.recv_timeout(COMMAND_TIMEOUT).is_err();
        if timed_out {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
        timed_out
    });
    let output = child.wait_with_output().expect("wait for translog");
    let _ = finished.send(());
    let timed_out = watchdog.join().expect("watchdog thread");
    assert!(
        !timed_out,
        "translog did not exit within {COMMAND_TIMEOUT:?}"
    );
    output
}

/// Takes the write and recovery locks of the WAL index of the database given
/// as its argument, and makes the two copies of the index header differ, as
/// a process does while it rebuilds the index after a crash. A reader then
/// waits for its busy timeout and fails with `SQLITE_BUSY`. Prints `locked`,
/// and undoes both when a line arrives on standard input.
const RECOVERY_LOCK_SCRIPT: &str = r#"
import fcntl, os, sys
fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
# SQLite's wal.c: the locks are bytes from 120 on, the write lock first and
# the recovery lock third. The second copy of the 48-byte header follows the
# first, and byte 16 of a copy is in its count of frames.
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 120)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 122)
offset = 48 + 16
original = os.pread(fd, 1, offset)
os.pwrite(fd, bytes([original[0] ^ 0xFF]), offset)
print("locked", flush=True)
sys.stdin.readline()
os.pwrite(fd, original, offset)
"#;

/// Takes the write lock of the WAL database `db` in another connection, as a
/// server or an open `sqlite3` transaction holds it, and releases it after
/// `held` on a thread of its own. Join the returned handle to wait for that.
pub fn hold_write_lock(db: &Path, held: Duration) -> thread::JoinHandle<()> {
    let holder = rusqlite::Connection::open(db).expect("open the database");
    holder
        .pragma_update(None, "journal_mode", "WAL")
        .expect("switch to WAL");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    thread::spawn(move || {
        thread::sleep(held);
        holder.execute_batch("ROLLBACK").expect("release the lock");
    })
}

/// A process that holds [`RECOVERY_LOCK_SCRIPT`]'s locks until dropped.
pub struct RecoveryLock {
    child: Child,
}

impl RecoveryLock {
    /// Takes the locks on the database of `server`, or returns `None` when
    /// python3 cannot run.
    pub fn take(server: &Server) -> Option<RecoveryLock> {
        let spawned = Command::new("python3")
            .args(["-c", RECOVERY_LOCK_SCRIPT])
            .arg(&server.db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                skip(&format!("cannot run python3 ({error})"));
                return None;
            }
        };
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the script's output");
        assert_eq!(line, "locked\n", "the script did not take the locks");
        Some(RecoveryLock { child })
    }
}

impl Drop for RecoveryLock {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }
}

/// Prints why a test is skipped, as a line that starts with `skipped:`.
/// Where the `CI` variable is set, it fails the test instead, because
/// `.ci/run` provides what the tests need.
pub fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "a test was skipped on the CI machine: {reason}"
    );
    eprintln!("skipped: {reason}");
}

/// Lists the names of the files in `directory`, sorted.
pub fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("list the directory")
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `translog log list --limit 1000` on `db`, and returns the ids of
/// the transactions that it lists whose ids start with `tx-`. Panics with
/// the command's stderr unless it exited 0.
pub fn listed_transactions(db: &Path) -> Vec<String> {
    let output = run_cli(db, &["log", "list", "--limit", "1000"], None);
    assert_success(&output, "log list");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("tx-"))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Panics with the command's stderr unless it exited 0.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An HTTP agent that returns 4xx and 5xx replies instead of errors.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .redirects(0)
        .build()
}

/// Builds the value of an `Authorization` header for Basic credentials.
pub fn basic_auth(user: &str, password: &str) -> String {
    basic_auth_bytes(format!("{user}:{password}").as_bytes())
}

/// Builds the value of an `Authorization` header for raw `user:password` bytes.
pub fn basic_auth_bytes(user_password: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
    format!("Basic {encoded}")
}

/// A reply read in full.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    fn from_result(result: Result<ureq::Response, ureq::Error>) -> Reply {
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("request failed: {error}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| {
                let value = response.header(&name)?.to_string();
                Some((name, value))
            })
            .collect();
        let body = response.into_string().expect("read the reply body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Returns the value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Parses the body as JSON, and panics when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    /// Returns the `error` code of a JSON error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Returns the `message` of a JSON error body.
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Reads from `stream` until the peer closes it or nothing arrives for `idle`.
pub fn read_until_closed(stream: &mut TcpStream, idle: Duration) -> String {
    stream
        .set_read_timeout(Some(idle))
        .expect("set read timeout");
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// Reads one response head, up to and including the blank line, byte by
/// byte so that nothing after it is consumed. Returns what arrived if the
/// connection closes or stays silent for `timeout` first.
pub fn read_head(stream: &mut TcpStream, timeout: Duration) -> String {
    stream
        .set_read_timeout(Some(timeout))
        .expect("set read timeout");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads one response with a `Content-Length` body; returns the head and the body.
pub fn read_response(stream: &mut TcpStream, timeout: Duration) -> (String, String) {
    let head = read_head(stream, timeout);
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream
        .read_exact(&mut body)
        .expect("read the response body");
    (head, String::from_utf8_lossy(&body).into_owned())
}

/// True when the peer closed `stream` within `timeout` (EOF or reset).
pub fn is_closed_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    stream
        .set_read_timeout(Some(timeout))
        .expect("set read timeout");
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) => {
                return !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

/// Extracts the status codes of the HTTP/1.1 responses in `text`, in order.
pub fn status_codes(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
        .collect()
}

/// Builds a form body with a percent-encoded timestamp, a stage and a status.
pub fn form(timestamp: &str, stage: &str, status: &str) -> String {
    format!(
        "timestamp={}&stage={stage}&status={status}",
        percent_encode(timestamp)
    )
}

/// Formats the current time plus `offset_seconds` as RFC 3339 in UTC with nanoseconds.
pub fn timestamp_from_now(offset_seconds: i64) -> String {
    let instant = chrono::Utc::now() + chrono::Duration::seconds(offset_seconds);
    instant.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Percent-encodes everything except unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The number of threads of [`Server::post_many`].
pub const POSTING_THREADS: usize = 8;

/// Returns the timestamp of entry `i` of [`Server::post_many`]: one second
/// apart for each pair of entries, from 2026-12-04T00:00:00Z.
pub fn many_timestamp(i: usize) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-04T00:00:00Z").expect("start");
    let seconds = i64::try_from(i / 2).expect("a small index");
    (start + chrono::Duration::seconds(seconds))
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Returns the stage of entry `i` of [`Server::post_many`], which differs
/// within each pair that shares a timestamp.
pub fn many_stage(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "WORKER_LOAD"
    } else {
        "WORKER_DECOMPRESS"
    }
}

/// The first entry timestamp of [`fill_database`], 2020-09-13T12:26:40Z.
pub const FILLED_FROM_S: i64 = 1_600_000_000;

/// Creates the database `db` with translog's schema, and stores
/// `transactions` transactions of `entries_each` entries with `message`,
/// written straight to SQLite, far faster than through the API. Transaction
/// `i` is `tx-{i:07}`, ends (with its last entry's timestamp) at
/// [`FILLED_FROM_S`] plus `i` seconds and has no last message. Its entry `j`
/// has `j` nanoseconds in its timestamp.
pub fn fill_database(db: &Path, transactions: usize, entries_each: usize, message: &str) {
    assert_success(&run_cli(db, &["log", "list"], None), "log list");
    let transactions = i64::try_from(transactions).expect("a count that fits i64");
    let entries_each = i64::try_from(entries_each).expect("a count that fits i64");
    let mut connection = rusqlite::Connection::open(db).expect("open the database");
    let transaction = connection.transaction().expect("begin a transaction");
    transaction
        .execute(
            "WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i + 1 < ?1)
             INSERT INTO transactions
             SELECT printf('tx-%07d', i), ?3 + i, 0, ?3 + i, ?2 - 1, 'WORKER_LOAD', 'SUCCESS',
                    NULL, ?2, 0, 0, 0
             FROM t",
            rusqlite::params![transactions, entries_each, FILLED_FROM_S],
        )
        .expect("insert the transactions");
    transaction
        .execute(
            "WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i + 1 < ?1),
                            e(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM e WHERE j + 1 < ?2)
             INSERT INTO entries
             SELECT printf('tx-%07d', i), ?4 + i, j, 'filled', 'WORKER_LOAD', 'SUCCESS', ?3, 0,
                    'worker'
             FROM t, e",
            rusqlite::params![transactions, entries_each, message, FILLED_FROM_S],
        )
        .expect("insert the entries");
    transaction.commit().expect("commit");
}

/// Damages every page of the database file `db` for which `is_target` is
/// true, and returns how many it damaged.
pub fn damage_pages(db: &Path, is_target: impl Fn(&[u8]) -> bool) -> usize {
    let mut bytes = std::fs::read(db).expect("read the database");
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        size => usize::from(size),
    };
    let mut damaged = 0;
    // Page 1 starts with the file header and contains the schema.
    for page in bytes.chunks_mut(page_size).skip(1) {
        if is_target(page) {
            // 0xff is no page type, so SQLite reports the page as corrupt.
            page[0] = 0xff;
            damaged += 1;
        }
    }
    std::fs::write(db, bytes).expect("write the damaged database");
    damaged
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Reads every page of the log of `id` with `limit` entries a page, and
/// returns the entries in the order read and the number of pages.
pub fn read_all_pages(server: &Server, id: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut entries = Vec::new();
    let mut pages = 0;
    let mut query = format!("?limit={limit}");
    loop {
        let reply = server.get(&format!("/worker/log/{id}{query}"), Some(server.admin()));
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        let page = reply.json();
        pages += 1;
        entries.extend(page["entries"].as_array().expect("entries").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit={limit}&cursor={cursor}"),
            None => return (entries, pages),
        }
        assert!(pages <= 10_000, "paging does not end");
    }
}

pub fn string_member(entry: &Value, name: &str) -> String {
    entry[name].as_str().expect("a string member").to_string()
}

/// Returns the key of an entry within its transaction: timestamp, stage
/// and status.
pub fn entry_key(entry: &Value) -> (String, String, String) {
    (
        string_member(entry, "timestamp"),
        string_member(entry, "stage"),
        string_member(entry, "status"),
    )
}

/// Returns the sort key of an entry in its log: timestamp, then receive time.
pub fn order_key(entry: &Value) -> (String, String) {
    (
        string_member(entry, "timestamp"),
        string_member(entry, "received_at"),
    )
}
