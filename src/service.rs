//! Starting and stopping the service: opening the database, creating the
//! first administrator, starting the storage thread and the HTTP runtime, and
//! shutting down cleanly on SIGINT, SIGTERM or SIGHUP.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use rusqlite::Connection;
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::auth::{Authenticator, WATCH_BUSY_TIMEOUT};
use crate::http::{self, AppState, ServerConfig};
use crate::metrics::Metrics;
use crate::notify::{describe_notify_command, missing_program, Notifier, StalledSource};
use crate::storage::free_space::full_disk_hint;
use crate::storage::server_instance::{self, Token};
use crate::storage::writer::{FatalHandling, Writer};
use crate::storage::{self, ReaderPool, StorageError};

mod database_lock;
mod first_admin;

use database_lock::{lock_database, remove_unused_database};
pub use first_admin::credentials_path;
use first_admin::ensure_first_admin;

/// How long the storage thread waits for another process's write lock before
/// the batch fails with `503`. Short, because nothing is stored meanwhile.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// How long opening the database at start-up waits for another process's
/// write lock, such as a command that is upgrading the schema of a large
/// database (about 2 s per million entries).
const STARTUP_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the start-up waits for another process's lock or reader to write
/// the server token and checkpoint it. The token only arms the read check,
/// so a start does not wait for it as long as for an upgrade.
const TOKEN_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a read waits for a lock; WAL readers rarely wait at all.
const READER_BUSY_TIMEOUT: Duration = Duration::from_millis(1000);

/// Entries that may wait for the storage thread before new ones get `503`.
const QUEUE_CAPACITY: usize = 8192;

/// Blocking threads for reads.
const BLOCKING_THREADS: usize = 4;

/// Threads for password verification, each using 19 MiB while it hashes.
const HASHING_THREADS: usize = 2;

/// File descriptors kept free for everything but client connections when
/// the open file limit lowers the connection cap: the database files of the
/// writer and of each pooled reader, the listener, the runtime and the
/// notification command. An idle server uses about 15.
const RESERVED_FDS: u64 = 64;

/// The minimum open file limit that `serve` starts with: the descriptors of
/// [`RESERVED_FDS`] and one connection. Below it, start-up fails at whichever
/// step runs out of descriptors first, and the signal handling of tokio
/// 1.54 panics there instead of returning an error.
const MIN_OPEN_FILE_LIMIT: u64 = RESERVED_FDS + 1;

/// Options of `translog serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub db_path: PathBuf,
    pub listen: SocketAddr,
    pub timezone: Tz,
    pub stall_after: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
    pub notify_command: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Runs the service until SIGINT, SIGTERM or SIGHUP.
///
/// # Errors
///
/// Fails when the database cannot be opened, the address cannot be bound or
/// the runtime cannot start, and the message names which.
pub fn serve(options: ServeOptions) -> Result<(), String> {
    check_open_file_limit()?;
    let lock = lock_database(&options.db_path)?;
    let result = run(options, lock.is_new);
    if result.is_err() {
        // A server that failed to start, for example on a taken port,
        // leaves no empty database behind.
        remove_unused_database(&lock);
    }
    result
}

/// Runs the service once the database lock is held. `is_new` is true when
/// the database file was missing or empty, so that the server writes a new
/// database.
fn run(options: ServeOptions, is_new: bool) -> Result<(), String> {
    let runtime = build_runtime()?;
    let result = runtime.block_on(serve_until_stopped(options, is_new));
    // Requests cut off at the stop are dropped with the runtime, and their
    // lines are logged then, so the last line comes after them.
    drop(runtime);
    match result {
        Ok(true) => log::info!("database closed; translog stopped"),
        // The error that kept the database open is logged already.
        Ok(false) => log::warn!("translog stopped without closing the database"),
        Err(_) => {}
    }
    result.map(|_| ())
}

/// Builds the single-threaded runtime of the HTTP layer, with
/// [`BLOCKING_THREADS`] threads for reads.
fn build_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("translog-blocking")
        .build()
        .map_err(|error| {
            let hint = open_file_limit_hint(&error);
            format!("cannot start the runtime: {error}{hint}")
        })
}

/// Starts the service inside the runtime and serves until a stop signal,
/// then finishes the current batch. Returns true when the database was
/// closed at the stop.
async fn serve_until_stopped(options: ServeOptions, is_new: bool) -> Result<bool, String> {
    let stop_signals = StopSignals::new()?;
    handle_file_size_signal()?;
    // Bound before the schema and the first user are written, so that a
    // taken port leaves no credentials file behind, and the empty
    // database file is removed.
    let listener = listen(options.listen).map_err(|error| listen_error(options.listen, &error))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the bound address: {error}"))?;

    let writer_connection = open_writer_connection(&options.db_path)?;
    let user_count = writer_connection.user_count;
    let (state, notifier) = start_components(&options, writer_connection)?;
    log_start(&options, &state, address, user_count);
    if is_new {
        warn_new_database(&options.db_path);
    }
    if let Some(warning) = storage::file_mode::readable_by_others(&options.db_path) {
        log::warn!("{warning}");
    }
    notifier.watch_stalled(StalledSource {
        readers: Arc::clone(&state.readers),
        db_path: state.config.db_path.clone(),
        stall_after: state.config.stall_after,
    });

    let stopping_notifier = notifier.clone();
    let shutdown = async move {
        let name = stop_signals.recv().await;
        log::info!("received {name}; shutting down");
        stopping_notifier.begin_stop();
    };
    http::run(Arc::clone(&state), listener, shutdown).await;
    let closed = state.writer.shut_down();
    notifier.drop_waiting_at_stop().await;
    Ok(closed)
}

/// The storage thread's connection, opened at start-up.
struct WriterConnection {
    connection: Connection,
    /// The token written to the database for this run of the server, or
    /// `None` when another process's lock kept it from being written.
    token: Option<Token>,
    user_count: i64,
}

/// Opens the connection of the storage thread, upgrading an older schema,
/// creates the first administrator when there are no users, and writes a new
/// server token. Returns the connection, the token and the number of users.
fn open_writer_connection(db_path: &Path) -> Result<WriterConnection, String> {
    // The lock that `lock_database` took keeps any other server off the file,
    // so an older schema may be upgraded here.
    let mut connection = storage::open(db_path, STARTUP_BUSY_TIMEOUT, storage::Schema::Upgrade)
        .map_err(|error| storage::open_error(db_path, &error))?;
    let user_count = ensure_first_admin(&connection, db_path)?;
    let token = write_server_token(&mut connection, db_path)?;
    connection
        .busy_timeout(WRITER_BUSY_TIMEOUT)
        .map_err(|error| format!("cannot set the busy timeout: {error}"))?;
    Ok(WriterConnection {
        connection,
        token,
        user_count,
    })
}

/// Writes a new token to the database for the read check of the storage
/// thread, and returns it. Waits at most [`TOKEN_BUSY_TIMEOUT`] for another
/// process's lock, and returns `None` with a warning after that, because the
/// server runs safely without the token.
fn write_server_token(
    connection: &mut Connection,
    db_path: &Path,
) -> Result<Option<Token>, String> {
    let token = Token::new().map_err(|error| format!("cannot draw the server token: {error}"))?;
    connection
        .busy_timeout(TOKEN_BUSY_TIMEOUT)
        .map_err(|error| format!("cannot set the busy timeout: {error}"))?;
    let complete = match server_instance::write(connection, &token) {
        Ok(complete) => complete,
        Err(error @ StorageError::Busy(_)) => {
            log::warn!(
                "cannot write the server token to {}, because another process holds the \
                 database's write lock ({error}); the server runs, but it will not notice a \
                 backup copied over the database while it runs. Restart it once that process \
                 is done to have the check back",
                db_path.display()
            );
            return Ok(None);
        }
        Err(error) => {
            let full_disk = full_disk_hint(db_path, &error);
            return Err(format!(
                "cannot write to database {} at start, which the server does to notice a \
                 file copied over it later: {error}{full_disk}",
                db_path.display()
            ));
        }
    };
    if !complete {
        log::warn!(
            "another process kept the checkpoint at start-up from copying the whole log to {}, \
             so the server may not notice a backup copied over the database until SQLite's next \
             complete checkpoint",
            db_path.display()
        );
    }
    Ok(Some(token))
}

/// Starts the readers, the authenticator, the notify command runners and the
/// storage thread, which takes the connection. Returns the state that the
/// HTTP layer serves, and the notifier, which watches for stalled
/// transactions once it is started.
fn start_components(
    options: &ServeOptions,
    writer_connection: WriterConnection,
) -> Result<(Arc<AppState>, Notifier), String> {
    let db_path = &options.db_path;
    let readers = Arc::new(ReaderPool::new(db_path, READER_BUSY_TIMEOUT));
    let watch = storage::open_reader(db_path, WATCH_BUSY_TIMEOUT)
        .map_err(|error| storage::open_error(db_path, &error))?;
    let auth = Arc::new(Authenticator::new(
        watch,
        Arc::clone(&readers),
        HASHING_THREADS,
    )?);
    let metrics = Arc::new(Metrics::default());
    let notifier = Notifier::new(
        options.notify_command.clone(),
        db_path,
        Arc::clone(&metrics),
    )
    .map_err(|error| format!("cannot start the notify command runners: {error}"))?;
    notifier.resume_fatal_alerts(&writer_connection.connection);
    let on_fatal = notifier.fatal_handler();
    let auth_for_writer = Arc::clone(&auth);
    let on_generation = Box::new(move |generation| auth_for_writer.observe_generation(generation));
    let writer = Writer::spawn(
        writer_connection.connection,
        db_path,
        writer_connection.token,
        QUEUE_CAPACITY,
        Arc::clone(&metrics),
        FatalHandling {
            callback: on_fatal,
            keep_alerts: options.notify_command.is_some(),
        },
        on_generation,
    )
    .map_err(|error| format!("cannot start the storage thread: {error}"))?;

    let config = ServerConfig {
        db_path: db_path.clone(),
        timezone: options.timezone,
        stall_after: options.stall_after,
        read_timeout: options.read_timeout,
        write_timeout: options.write_timeout,
        max_connections: connection_cap(options.max_connections),
        trusted_proxies: options
            .trusted_proxies
            .iter()
            .map(IpAddr::to_canonical)
            .collect(),
    };
    log::debug!("configuration: {config:?}");
    let state = Arc::new(AppState::new(config, writer, auth, readers, metrics));
    Ok((state, notifier))
}

/// Logs the start lines: the version, address, database and user count,
/// then the settings, and a warning for a stall period that looks like a
/// missing unit.
fn log_start(options: &ServeOptions, state: &AppState, address: SocketAddr, user_count: i64) {
    let users = if user_count == 1 { "user" } else { "users" };
    log::info!(
        "translog {} listening on http://{address}, database {}, {user_count} {users}",
        crate::version(),
        options.db_path.display()
    );
    let notify = match &options.notify_command {
        Some(command) => describe_notify_command(command),
        None => "none".to_string(),
    };
    let proxies = if options.trusted_proxies.is_empty() {
        "none".to_string()
    } else {
        let addresses: Vec<String> = options
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        addresses.join(", ")
    };
    log::info!(
        "settings: time zone {}, stall after {}, read timeout {}, write timeout {}, \
         max connections {}, notify command {notify}, trusted proxies {proxies}",
        options.timezone,
        format_option_duration(options.stall_after),
        format_option_duration(options.read_timeout),
        format_option_duration(options.write_timeout),
        state.config.max_connections
    );
    if let Some(warning) = options.notify_command.as_deref().and_then(missing_program) {
        log::warn!("{warning}");
    }
    if options.stall_after < SHORT_STALL_PERIOD {
        log::warn!(
            "--stall-after is {}, so a transaction counts as stalled that soon after its \
             last entry. If a longer period was meant, give it with its unit, such as 6h for \
             six hours; a number alone is read as seconds",
            format_option_duration(options.stall_after)
        );
    }
}

/// A stall period below this is more likely a missing unit than a choice,
/// since a Worker's steps take minutes.
const SHORT_STALL_PERIOD: Duration = Duration::from_secs(60);

/// Keeps SIGXFSZ from ending the process. A write past the file size limit
/// (`ulimit -f`, systemd's `LimitFSIZE=`) raises it, and its default action
/// kills the server without a log line. With a handler the write fails with
/// `EFBIG` instead, SQLite reports an I/O error, and the entry gets `503`.
fn handle_file_size_signal() -> Result<(), String> {
    let kind = SignalKind::from_raw(rustix::process::Signal::XFSZ.as_raw());
    let mut file_size = signal(kind).map_err(|error| format!("cannot handle SIGXFSZ: {error}"))?;
    tokio::spawn(async move {
        while file_size.recv().await.is_some() {
            log::warn!(
                "a write to the database went past the file size limit of this process and \
                 failed; raise the limit (ulimit -f, or LimitFSIZE= in the systemd unit)"
            );
        }
    });
    Ok(())
}

/// Logs a warning that `serve` created a new database at `db_path`, in a new
/// file or in an empty one. A server started on a mistyped path gets a new,
/// empty database and serves it without another sign, so the line names the
/// file by its full path.
fn warn_new_database(db_path: &Path) {
    let path = storage::files::real_path(db_path);
    log::warn!(
        "created a new database at {}; if an existing database was expected, check --db \
         and TRANSLOG_DB, because a mistyped path is the usual cause",
        path.display()
    );
}

/// The signals that stop the server cleanly: SIGTERM (`systemctl stop`,
/// `kill`), SIGINT (Ctrl-C) and SIGHUP (a closed terminal, `systemctl kill -s
/// HUP`). Without a handler, SIGHUP would end the process at once, without a
/// log line and without finishing the current batch.
struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
    /// The SIGHUP stream, or `None` when the server started with SIGHUP
    /// ignored, as under `nohup`. A handler would undo `nohup`, so a closed
    /// terminal would then stop the server.
    hangup: Option<Signal>,
}

impl StopSignals {
    /// Installs the handlers. Call it inside a tokio runtime.
    fn new() -> Result<StopSignals, String> {
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|error| format!("cannot handle {name}: {error}"))
        };
        let hangup = if is_signal_ignored(rustix::process::Signal::HUP.as_raw()) {
            log::debug!("SIGHUP is ignored, as under nohup, so it does not stop the server");
            None
        } else {
            Some(install(SignalKind::hangup(), "SIGHUP")?)
        };
        Ok(StopSignals {
            terminate: install(SignalKind::terminate(), "SIGTERM")?,
            interrupt: install(SignalKind::interrupt(), "SIGINT")?,
            hangup,
        })
    }

    /// Waits for the first of the signals and returns its name.
    async fn recv(mut self) -> &'static str {
        let hangup = async {
            match self.hangup.as_mut() {
                Some(hangup) => hangup.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
            _ = hangup => "SIGHUP",
        }
    }
}

/// Returns true when this process ignores the signal numbered `signal`, as
/// after inheriting it as ignored, such as SIGHUP under `nohup`, until a
/// handler is installed. `/proc/self/status` shows signal N as bit N - 1 of
/// the `SigIgn` mask. Returns false where that file is missing or
/// unreadable, and for a number outside 1 to 64.
pub fn is_signal_ignored(signal: i32) -> bool {
    let Some(bit) = u32::try_from(signal)
        .ok()
        .and_then(|number| number.checked_sub(1))
        .filter(|bit| *bit < u64::BITS)
    else {
        return false;
    };
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << bit) != 0)
}

/// The length of the queue of connections the kernel has accepted for the
/// server but the server has not taken yet. Linux caps it at
/// `net.core.somaxconn` (4096 by default since Linux 5.4).
const LISTEN_BACKLOG: u32 = 4096;

/// Describes a failure to listen on `address`, with the fix for a port that
/// another process uses and for an address that this machine does not have.
fn listen_error(address: SocketAddr, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {address}: the address is already in use; stop the other \
             process or choose another port with --listen"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {address}: the IP address is not one of this machine's; give \
             one of its addresses with --listen, such as 127.0.0.1 or 0.0.0.0 for all"
        ),
        _ => format!(
            "cannot listen on {address}: {error}{}",
            open_file_limit_hint(error)
        ),
    }
}

/// Binds the listening socket with a backlog of [`LISTEN_BACKLOG`]. Call it
/// inside a tokio runtime. The 128 of
/// a plain `bind` overflows when hundreds of Workers connect at once, and the
/// kernel then drops their connection requests, which clients retry only after
/// one to three seconds.
pub fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Lowers the connection cap to fit the open file limit. Past the cap a new
/// connection gets `503` and is closed at once. Without the cap, accepting
/// fails once descriptors run out, and new clients wait without a response in
/// the listen backlog until other connections close.
fn connection_cap(configured: usize) -> usize {
    let Some(limit) = open_file_limit() else {
        return configured;
    };
    let allowed = usize::try_from(limit.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX);
    if configured <= allowed {
        return configured;
    }
    log::warn!(
        "--max-connections {configured} does not fit the open file limit of {limit}; \
         capping connections at {allowed} (raise the limit with ulimit -n or LimitNOFILE)"
    );
    allowed
}

/// Rejects an open file limit below [`MIN_OPEN_FILE_LIMIT`], such as the one
/// that `ulimit -n 5` sets, before anything is opened.
fn check_open_file_limit() -> Result<(), String> {
    match open_file_limit() {
        Some(limit) if limit < MIN_OPEN_FILE_LIMIT => Err(format!(
            "the open file limit of {limit} is too low for translog serve, which needs at \
             least {MIN_OPEN_FILE_LIMIT}; raise it with ulimit -n, or with LimitNOFILE= in a \
             systemd unit"
        )),
        _ => Ok(()),
    }
}

/// Returns a hint to raise the open file limit when `error` is EMFILE (too
/// many open files), else an empty string. The limit may pass
/// [`check_open_file_limit`] and still be reached, when the process
/// inherited many open descriptors.
fn open_file_limit_hint(error: &std::io::Error) -> &'static str {
    if error.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) {
        "; raise the open file limit with ulimit -n, or with LimitNOFILE= in a systemd unit"
    } else {
        ""
    }
}

/// Reads the soft limit on open files of this process, from `/proc/self/limits`;
/// `None` where that file is missing or the limit is unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Formats a duration as `--stall-after` and the timeouts take it, in the
/// largest unit that divides it.
pub(crate) fn format_option_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let units = [(86_400, 'd'), (3600, 'h'), (60, 'm')];
    match units
        .into_iter()
        .find(|(unit_seconds, _)| seconds > 0 && seconds.is_multiple_of(*unit_seconds))
    {
        Some((unit_seconds, unit)) => format!("{}{unit}", seconds / unit_seconds),
        None => format!("{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_open_files_gets_hint() {
        let error = std::io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        assert!(open_file_limit_hint(&error).contains("ulimit -n"));
    }

    #[test]
    fn duration_takes_largest_unit() {
        let cases = [
            (21_600, "6h"),
            (172_800, "2d"),
            (5400, "90m"),
            (90, "90s"),
            (0, "0s"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(
                format_option_duration(Duration::from_secs(seconds)),
                expected
            );
        }
    }

    #[test]
    fn other_error_gets_no_hint() {
        let error = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(open_file_limit_hint(&error), "");
    }
}
