//! Starting and stopping the service: opening the database, creating the
//! first administrator, starting the storage thread and the HTTP runtime, and
//! shutting down cleanly on SIGINT, SIGTERM or SIGHUP.

use std::fs::OpenOptions;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
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
use crate::notify::{Notifier, StalledSource};
use crate::storage::free_space::{describe_with_full_disk_hint, full_disk_hint};
use crate::storage::new_database::NewDatabase;
use crate::storage::server_instance::{self, Token};
use crate::storage::writer::{FatalHandling, Writer};
use crate::storage::{self, ReaderPool, StorageError};

mod first_admin;

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
        Ok(false) => log::info!("translog stopped without closing the database"),
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
                "cannot write the server token to database {}: {error}{full_disk}",
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
        format_duration(options.stall_after),
        format_duration(options.read_timeout),
        format_duration(options.write_timeout),
        state.config.max_connections
    );
    if let Some(warning) = options.notify_command.as_deref().and_then(missing_program) {
        log::warn!("{warning}");
    }
    if options.stall_after < SHORT_STALL_PERIOD {
        log::warn!(
            "--stall-after is {}, so a transaction counts as stalled that soon after its \
             last entry; a number without a unit is read as seconds (6h is six hours)",
            format_duration(options.stall_after)
        );
    }
}

/// Describes the notify command for the settings line: its program, quoted
/// and escaped, so that an operator sees which script runs. The words after
/// it, and variable assignments before it, are only counted, because a
/// webhook's token may be among them.
fn describe_notify_command(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let Some(program) = words.iter().find(|word| !is_assignment(word)) else {
        let count = words.len();
        return format!("set ({count} {} not logged)", word_noun(count));
    };
    match words.len() - 1 {
        0 => format!("{program:?}"),
        more => format!(
            "{program:?} with {more} other {}, not logged",
            word_noun(more)
        ),
    }
}

/// Shell keywords and builtins that may start a notify command: the POSIX
/// special built-ins, the POSIX regular built-ins that dash and bash run
/// without a file, and the keywords that start a compound command. The shell
/// runs them itself, so no file of that name needs to exist.
const SHELL_BUILTINS: [&str; 37] = [
    "!", ".", ":", "[", "{", "(", "alias", "break", "case", "cd", "command", "continue", "echo",
    "eval", "exec", "exit", "export", "false", "for", "getopts", "hash", "if", "printf", "pwd",
    "read", "readonly", "return", "set", "shift", "test", "times", "trap", "true", "type",
    "ulimit", "umask", "unset",
];

/// Checks that the program of the notify command exists and may be run, so
/// that a mistyped path shows at start, not at the first alert. Returns the
/// warning when it does not. A program word with quotes, expansions or other
/// shell syntax, and a shell builtin, are not checked.
fn missing_program(command: &str) -> Option<String> {
    let program = command
        .split_whitespace()
        .find(|word| !is_assignment(word))?;
    let plain = program
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@%,:".contains(c));
    if !plain || SHELL_BUILTINS.contains(&program) {
        return None;
    }
    let is_executable = |path: &Path| {
        let may_run = rustix::fs::accessat(
            rustix::fs::CWD,
            path,
            rustix::fs::Access::EXEC_OK,
            rustix::fs::AtFlags::EACCESS,
        );
        std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file()) && may_run.is_ok()
    };
    if program.contains('/') {
        if is_executable(Path::new(program)) {
            return None;
        }
        return Some(format!(
            "the program {program:?} of --notify-command is not an executable file, so every \
             alert will fail; check the path and its execute permission"
        ));
    }
    // Without PATH, sh searches a default of its own.
    let search_path = std::env::var_os("PATH")?;
    if std::env::split_paths(&search_path).any(|directory| is_executable(&directory.join(program)))
    {
        return None;
    }
    Some(format!(
        "the program {program:?} of --notify-command is not in any directory of PATH ({}), so \
         every alert will fail; give its full path, or install it",
        search_path.to_string_lossy()
    ))
}

fn word_noun(count: usize) -> &'static str {
    if count == 1 {
        "word"
    } else {
        "words"
    }
}

/// Returns true for a shell variable assignment such as `TOKEN=abc`.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
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
    let path = std::fs::canonicalize(db_path).unwrap_or_else(|_| db_path.to_path_buf());
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

/// The database file of a running server, open with an exclusive lock that
/// lasts as long as the file is open.
struct DatabaseLock {
    _file: std::fs::File,
    /// The `.lock` files that older versions of the server lock, those that
    /// exist.
    _older_server_locks: Vec<std::fs::File>,
    _shared_memory: std::fs::File,
    /// The files that this server creates, when the database file did not
    /// exist.
    new_database: Option<NewDatabase>,
    /// True when the file was missing or empty, so that this server writes
    /// a new database into it.
    is_new: bool,
    /// The `-shm` file, when this server created it.
    created_shared_memory: Option<PathBuf>,
}

/// Opens the database file, creating it readable by its owner only, and
/// takes an exclusive `flock` on it for the life of the server. Two servers
/// on one database would each batch their own writes and fight over SQLite's
/// write lock, sending `503` to each other's Workers, so the second one is
/// rejected instead. The lock belongs to the file itself, so it holds under
/// any name: a symbolic link, a hard link or another relative path. SQLite
/// locks with `fcntl`, which Linux keeps apart from `flock`. The command line
/// does not take this lock.
///
/// The server also locks the database's `-shm` file, which SQLite creates
/// if it is missing and keeps while any connection is open. A database moved
/// away from its path keeps its lock, but its `-shm` and `-wal` files stay at
/// the path, and a second server on a new file there would share them.
fn lock_database(db_path: &Path) -> Result<DatabaseLock, String> {
    let created = !db_path.exists();
    let is_new = std::fs::metadata(db_path).map_or(true, |metadata| metadata.len() == 0);
    let new_database = NewDatabase::before_open(db_path);
    let file = open_private(db_path).map_err(|error| {
        let reason = match error.kind() {
            std::io::ErrorKind::PermissionDenied if created => {
                format!("{error}; check that its directory is writable by this user")
            }
            std::io::ErrorKind::PermissionDenied => {
                storage::file_mode::owner_without_write(db_path)
                    .unwrap_or_else(|| StorageError::ReadOnlyFile.to_string())
            }
            std::io::ErrorKind::ReadOnlyFilesystem => StorageError::ReadOnlyFileSystem.to_string(),
            _ => describe_with_full_disk_hint(db_path, &error),
        };
        format!("cannot open database {}: {reason}", db_path.display())
    })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(format!(
                "another translog server is using {}; stop it or choose another --db",
                db_path.display()
            ))
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(format!("cannot lock {}: {error}", db_path.display()))
        }
    }
    // A failed start leaves no database file that it created.
    let remove_new = |error: String| {
        if let Some(new_database) = &new_database {
            new_database.remove_unused(READER_BUSY_TIMEOUT);
        }
        error
    };
    let older_server_locks = lock_older_server_files(db_path).map_err(remove_new)?;
    let (shared_memory, created_shared_memory) = lock_shared_memory(db_path).map_err(remove_new)?;
    Ok(DatabaseLock {
        _file: file,
        _older_server_locks: older_server_locks,
        _shared_memory: shared_memory,
        new_database,
        is_new,
        created_shared_memory,
    })
}

/// Takes an exclusive `flock` on each `.lock` file that older versions of
/// the server locked instead of the database file, where it exists, so that
/// this server does not start while an older one runs on the database. The
/// first versions named the file after `--db` as given, and later ones after
/// the path with symbolic links resolved, so both names are checked. The
/// files are never created, and they stay locked for the life of the server.
///
/// NOTE: an older server started after this one creates a missing `.lock`
/// file and locks it. So only a file that exists at this start keeps an
/// older server from running beside this one.
fn lock_older_server_files(db_path: &Path) -> Result<Vec<std::fs::File>, String> {
    let mut paths = vec![older_server_lock_path(db_path)];
    if let Ok(real) = std::fs::canonicalize(db_path) {
        paths.push(older_server_lock_path(&real));
    }
    let mut locks = Vec::new();
    // Both names often lead to the same file, and a second flock of that
    // file, through another open, would fail.
    let mut locked_files = Vec::new();
    for path in &paths {
        let identity = std::fs::metadata(path).map(|metadata| (metadata.dev(), metadata.ino()));
        if identity
            .as_ref()
            .is_ok_and(|identity| locked_files.contains(identity))
        {
            continue;
        }
        if let Some(file) = lock_older_server_file(db_path, path)? {
            locked_files.extend(identity);
            locks.push(file);
        }
    }
    Ok(locks)
}

/// Returns `<path>.lock`, the lock file that older servers named after `path`.
fn older_server_lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes an exclusive `flock` on the older servers' lock file at `path`,
/// when that file exists.
fn lock_older_server_file(db_path: &Path, path: &Path) -> Result<Option<std::fs::File>, String> {
    let file = match OpenOptions::new().read(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(format!(
                "cannot open {}: {error}; it is the lock file of older translog servers, so \
                 remove it if none of them runs",
                path.display()
            ))
        }
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "a translog server of an older version is using {}, because it holds {}; stop it \
             before you start this version",
            db_path.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(format!("cannot lock {}: {error}", path.display()))
        }
    }
}

/// Opens the file at `path` for reading and writing, creating it readable by
/// its owner only, because the database and its `-shm` file hold the
/// password hashes.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Opens the `-shm` file of the database at `db_path`, beside the file that
/// a symbolic link points to as SQLite's is, and takes an exclusive `flock`
/// on it. Returns the file, and its path when this call created it.
fn lock_shared_memory(db_path: &Path) -> Result<(std::fs::File, Option<PathBuf>), String> {
    let real = std::fs::canonicalize(db_path).unwrap_or_else(|_| db_path.to_path_buf());
    let path = crate::storage::files::companion(&real, "-shm");
    let created = !path.exists();
    let file = open_private(&path)
        .map_err(|error| shared_memory_error(db_path, &path, created, &error))?;
    match file.try_lock() {
        Ok(()) => Ok((file, created.then_some(path))),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another translog server is using {}, the shared-memory file of {}: the database \
             it opened was moved or replaced since. Stop that server before you start this one",
            path.display(),
            db_path.display()
        )),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(format!("cannot lock {}: {error}", path.display()))
        }
    }
}

/// Describes a failure to open the `-shm` file at `path` of the database at
/// `db_path`. `created` is true when the file did not exist, so that a
/// permission error means that its directory is not writable. The user and
/// the directory are named, because SQLite needs to create the `-wal` and
/// `-shm` files beside a database that the user may write.
fn shared_memory_error(
    db_path: &Path,
    path: &Path,
    created: bool,
    error: &std::io::Error,
) -> String {
    if error.kind() != std::io::ErrorKind::PermissionDenied {
        let hint = full_disk_hint(path, error);
        return format!("cannot open {}: {error}{hint}", path.display());
    }
    let user = storage::file_mode::effective_user();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let directory = absolute.parent().unwrap_or(Path::new("/"));
    if created {
        return format!(
            "cannot open database {}: {}",
            db_path.display(),
            storage::file_mode::companions_denied(directory)
        );
    }
    format!(
        "cannot open database {}: {user} may not write its shared-memory file {} ({error}); run \
         translog as the user that owns the database, or give {user} write access to the -wal \
         and -shm files in {}",
        db_path.display(),
        absolute.display(),
        directory.display()
    )
}

/// Removes the database file that a server created, and the `-wal` and
/// `-shm` files created with it, when it contains no schema. That happens
/// when the server fails to start, on a taken port or on a full disk. For a
/// database that existed, only a new `-shm` file that is still empty is
/// removed.
fn remove_unused_database(lock: &DatabaseLock) {
    if let Some(new_database) = &lock.new_database {
        new_database.remove_unused(READER_BUSY_TIMEOUT);
        return;
    }
    if let Some(shared_memory) = &lock.created_shared_memory {
        if std::fs::metadata(shared_memory).is_ok_and(|metadata| metadata.len() == 0) {
            let _ = std::fs::remove_file(shared_memory);
        }
    }
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
pub(crate) fn format_duration(duration: Duration) -> String {
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
            assert_eq!(format_duration(Duration::from_secs(seconds)), expected);
        }
    }

    #[test]
    fn notify_command_is_described() {
        let cases = [
            ("/usr/local/bin/alert", "\"/usr/local/bin/alert\""),
            (
                "/usr/local/bin/alert ops",
                "\"/usr/local/bin/alert\" with 1 other word, not logged",
            ),
            (
                "TOKEN=secret curl -d x https://example.com",
                "\"curl\" with 4 other words, not logged",
            ),
            ("TOKEN=secret", "set (1 word not logged)"),
        ];
        for (command, expected) in cases {
            assert_eq!(describe_notify_command(command), expected, "{command}");
        }
    }

    #[test]
    fn other_error_gets_no_hint() {
        let error = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(open_file_limit_hint(&error), "");
    }
}
