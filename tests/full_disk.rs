//! Tests of a database on a full file system. `serve` and the commands that
//! write fail with a message that names the full file system, how much is
//! free and what to do, not only SQLite's "disk I/O error".
//!
//! Each command runs in a user and mount namespace of its own (`unshare`),
//! on a small tmpfs that a file fills, so the tests need no root. Where the
//! kernel allows no such namespace, they are skipped with a printed reason,
//! except under CI.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{assert_success, fill_database, run_cli, run_command, Server, BIN, PASSWORD};

/// Size of the tmpfs. It has room for the database and its `-shm` file, but
/// the filling file takes all space left after the database.
const FILE_SYSTEM_SIZE: &str = "256k";

/// Shell script that mounts a tmpfs at `$1`, copies the database `$2` to
/// `$1/translog.db` when `$2` is not empty, fills the rest with a file, and
/// runs the binary `$3` with `--db $1/translog.db` and the remaining arguments.
const RUN_ON_FULL_FILE_SYSTEM: &str = r#"
set -e
mount -t tmpfs -o "size=$FILE_SYSTEM_SIZE" tmpfs "$1"
if [ -n "$2" ]; then cp "$2" "$1/translog.db"; fi
head -c 1048576 /dev/zero > "$1/fill" 2>/dev/null || true
db="$1/translog.db"
bin="$3"
shift 3
exec "$bin" --db "$db" "$@"
"#;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Builds `unshare --user --map-root-user --mount sh -c SCRIPT sh ARGS`.
fn in_namespace(script: &str, args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(args)
        .env("FILE_SYSTEM_SIZE", FILE_SYSTEM_SIZE);
    command
}

/// Checks whether this process may mount a tmpfs in a namespace of its own,
/// and prints why the test is skipped when it may not. When the `CI`
/// variable is set, a failed mount panics instead, because the CI machine
/// allows such mounts.
fn can_mount_tmpfs() -> bool {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mount_point = dir.path().to_str().expect("UTF-8 path");
    let script = "mount -t tmpfs -o \"size=$FILE_SYSTEM_SIZE\" tmpfs \"$1\"";
    let mounted = in_namespace(script, &[mount_point])
        .output()
        .is_ok_and(|output| output.status.success());
    if !mounted {
        assert!(
            std::env::var_os("CI").is_none(),
            "unshare cannot mount a tmpfs in a user namespace on the CI machine"
        );
        eprintln!("skipped: unshare cannot mount a tmpfs in a user namespace here");
    }
    mounted
}

/// Runs `translog --db DB ARGS` on a full tmpfs, with a copy of `source` as
/// the database DB, or with no database file when `source` is `None`.
fn run_on_full_file_system(source: Option<&Path>, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mount_point = dir.path().to_str().expect("UTF-8 path");
    let source = source.map_or(String::new(), |path| {
        path.to_str().expect("UTF-8 path").to_string()
    });
    let mut all = vec![mount_point, source.as_str(), BIN];
    all.extend_from_slice(args);
    run_command(
        in_namespace(RUN_ON_FULL_FILE_SYSTEM, &all),
        Some(&format!("{PASSWORD}\n")),
    )
}

/// Starts and cleanly stops a server, and returns its directory. The
/// database `translog.db` in it has one user and, after the clean stop, no
/// `-wal` or `-shm` file.
fn stopped_server_database() -> tempfile::TempDir {
    let server = Server::start();
    let (status, dir) = server.stop();
    assert!(status.success(), "server exited with {status}");
    dir
}

/// Runs `user add` on a full file system with a copy of a database that
/// has users. Returns `None` when no tmpfs can be mounted.
fn user_add_on_full_file_system() -> Option<Output> {
    if !can_mount_tmpfs() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    let args = [
        "user",
        "add",
        "alice",
        "--role",
        "admin",
        "--password-stdin",
    ];
    let added = run_cli(&db, &args, Some(&format!("{PASSWORD}\n")));
    assert_success(&added, "user add");
    Some(run_on_full_file_system(
        Some(&db),
        &["user", "add", "bob", "--role", "admin", "--password-stdin"],
    ))
}

/// Runs `serve` on a full file system with a copy of a database that a
/// server stopped cleanly. Returns `None` when no tmpfs can be mounted.
fn serve_on_full_file_system() -> Option<Output> {
    if !can_mount_tmpfs() {
        return None;
    }
    let dir = stopped_server_database();
    Some(run_on_full_file_system(
        Some(&dir.path().join("translog.db")),
        &["serve", "--listen", "127.0.0.1:0"],
    ))
}

/// Part of the message that names the full tmpfs and its free space.
const FULL_FILE_SYSTEM: &str = "is full (0 bytes of 256.0 KiB free)";

/// Asserts that the standard error of `output` contains `text`. Passes when
/// `output` is `None`, because the test was skipped.
fn assert_stderr_contains(output: Option<Output>, text: &str) {
    let Some(output) = output else {
        return;
    };
    assert!(stderr(&output).contains(text), "{}", stderr(&output));
}

/// Asserts that `output` comes from a process that exited with status 1.
/// Passes when `output` is `None`, because the test was skipped.
fn assert_exit_status_1(output: Option<Output>) {
    let Some(output) = output else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn user_add_names_full_file_system() {
    assert_stderr_contains(user_add_on_full_file_system(), FULL_FILE_SYSTEM);
}

#[test]
fn user_add_advises_freeing_space() {
    assert_stderr_contains(user_add_on_full_file_system(), "free space on it");
}

#[test]
fn user_add_exits_1() {
    assert_exit_status_1(user_add_on_full_file_system());
}

#[test]
fn serve_names_full_file_system() {
    assert_stderr_contains(serve_on_full_file_system(), FULL_FILE_SYSTEM);
}

#[test]
fn serve_exits_1() {
    assert_exit_status_1(serve_on_full_file_system());
}

#[test]
fn new_database_names_full_file_system() {
    let output = can_mount_tmpfs()
        .then(|| run_on_full_file_system(None, &["serve", "--listen", "127.0.0.1:0"]));
    assert_stderr_contains(output, FULL_FILE_SYSTEM);
}

/// Shell script that mounts a tmpfs of 16 MiB at `$1`, copies the database
/// `$2` to it, fills all but 1 MiB, runs `translog backup` of the copy to
/// `$1/copy.db` with the binary `$3`, and lists the files on the tmpfs.
/// SQLite creates the copy's journal and then runs out of space.
const BACKUP_ON_FULL_FILE_SYSTEM: &str = r#"
set -e
mount -t tmpfs -o size=16m tmpfs "$1"
cp "$2" "$1/translog.db"
head -c $((16777216 - $(stat -c %s "$2") - 1048576)) /dev/zero > "$1/fill"
"$3" --db "$1/translog.db" backup "$1/copy.db" || true
ls -A "$1"
"#;

/// Runs the shell script `script` of a backup test with the arguments that
/// [`BACKUP_ON_FULL_FILE_SYSTEM`] takes: a new mount point, a database of
/// about 5 MB on another file system, and the binary. Returns the output and
/// the mount point, or `None` when no tmpfs can be mounted.
fn run_backup_script(script: &str) -> Option<(Output, String)> {
    if !can_mount_tmpfs() {
        return None;
    }
    let source = tempfile::tempdir().expect("temporary directory");
    let db = source.path().join("translog.db");
    fill_database(&db, 2_000, 5, &"m".repeat(400));
    let mount_point = tempfile::tempdir().expect("temporary directory");
    let mount_path = mount_point.path().to_str().expect("UTF-8 path");
    let args = [mount_path, db.to_str().expect("UTF-8 path"), BIN];
    let output = run_command(in_namespace(script, &args), None);
    Some((output, mount_path.to_string()))
}

/// Runs `backup` of a database of about 5 MB to a tmpfs with 1 MiB free.
/// Returns the output, whose standard output lists the files left on the
/// tmpfs, or `None` when no tmpfs can be mounted.
fn backup_on_full_file_system() -> Option<Output> {
    run_backup_script(BACKUP_ON_FULL_FILE_SYSTEM).map(|(output, _)| output)
}

#[test]
fn backup_on_full_file_system_leaves_no_file() {
    let Some(output) = backup_on_full_file_system() else {
        return;
    };
    assert!(
        stderr(&output).contains("cannot write the backup to"),
        "{}",
        stderr(&output)
    );
    let files = String::from_utf8_lossy(&output.stdout);
    let left: Vec<&str> = files
        .lines()
        .filter(|file| file.contains("copy.db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn backup_on_full_file_system_names_it() {
    assert_stderr_contains(backup_on_full_file_system(), "is full (");
}

/// Shell script that mounts a tmpfs of 2 MiB at `$1` and runs `translog
/// backup` of the database `$2`, which is on another file system, to
/// `$1/copy.db` with the binary `$3`.
const BACKUP_TO_SMALL_FILE_SYSTEM: &str = r#"
set -e
mount -t tmpfs -o size=2m tmpfs "$1"
exec "$3" --db "$2" backup "$1/copy.db"
"#;

/// Runs `backup` of a database of about 5 MB to an empty tmpfs of 2 MiB, so
/// that only the file system of the copy runs out of space. Returns the
/// output with the path of the copy, or `None` when no tmpfs can be mounted.
fn backup_to_small_file_system() -> Option<(Output, String)> {
    let (output, mount_path) = run_backup_script(BACKUP_TO_SMALL_FILE_SYSTEM)?;
    Some((output, format!("{mount_path}/copy.db")))
}

#[test]
fn backup_to_full_file_system_names_copy() {
    let Some((output, copy)) = backup_to_small_file_system() else {
        return;
    };
    let expected = format!("translog: error: cannot write the backup to {copy}; the file system");
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn backup_to_full_file_system_names_full_size() {
    let output = backup_to_small_file_system().map(|(output, _)| output);
    assert_stderr_contains(output, "is full (0 bytes of 2.0 MiB free)");
}

#[test]
fn backup_to_full_file_system_suggests_other_destination() {
    let output = backup_to_small_file_system().map(|(output, _)| output);
    assert_stderr_contains(output, "or give a DEST on another file system");
}

#[test]
fn backup_to_full_file_system_blames_no_database() {
    let Some((output, _)) = backup_to_small_file_system() else {
        return;
    };
    assert!(
        !stderr(&output).contains("database is unavailable"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn backup_to_full_file_system_exits_1() {
    let output = backup_to_small_file_system().map(|(output, _)| output);
    assert_exit_status_1(output);
}

/// Shell script that mounts a tmpfs at `$1` and puts a database at
/// `$1/translog.db`: none when `$2` is empty, an empty file when `$2` is
/// `empty`, else a copy of the file `$2`. It fills the tmpfs until `$3`
/// bytes are free, and runs the binary `$4` with `--db $1/translog.db` and
/// the remaining arguments, with its output on standard error. Standard
/// output gets `status N`, the command's exit status, and then the names of
/// the files left on the tmpfs, one a line.
const LIST_AFTER_FULL_FILE_SYSTEM: &str = r#"
set -e
mount -t tmpfs -o "size=$FILE_SYSTEM_SIZE" tmpfs "$1"
case "$2" in
  "") ;;
  empty) : > "$1/translog.db" ;;
  *) cp "$2" "$1/translog.db" ;;
esac
available=$(df -B1 --output=avail "$1" | tail -n 1)
head -c $((available - $3)) /dev/zero > "$1/fill" 2>/dev/null || true
db="$1/translog.db"
bin="$4"
shift 4
status=0
"$bin" --db "$db" "$@" >&2 || status=$?
echo "status $status"
ls -A "$(dirname "$db")"
"#;

/// The result of a command on a full file system: its exit status, the
/// files left there other than the one that fills it, and its standard
/// error.
struct FilesLeft {
    status: String,
    files: Vec<String>,
    stderr: String,
}

/// Runs `translog --db DB ARGS` on a tmpfs with `free` bytes free, with
/// the database DB that `source` names (see [`LIST_AFTER_FULL_FILE_SYSTEM`]),
/// and lists the files left. Returns `None` when no tmpfs can be mounted.
fn files_left_after(source: &str, free: u64, args: &[&str]) -> Option<FilesLeft> {
    if !can_mount_tmpfs() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let mount_point = dir.path().to_str().expect("UTF-8 path");
    let free = free.to_string();
    let mut all = vec![mount_point, source, free.as_str(), BIN];
    all.extend_from_slice(args);
    let output = run_command(
        in_namespace(LIST_AFTER_FULL_FILE_SYSTEM, &all),
        Some(&format!("{PASSWORD}\n")),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let status = lines.next().unwrap_or_default().to_string();
    let files = lines
        .filter(|name| *name != "fill")
        .map(str::to_string)
        .collect();
    Some(FilesLeft {
        status,
        files,
        stderr: stderr(&output),
    })
}

/// Free space at which creating a new database fails at three steps on a
/// Linux tmpfs with 4 KiB pages. With none, the database file cannot grow at
/// all. With 8 KiB, SQLite has written its header and its `-wal` and `-shm`
/// files, and with 40 KiB the header only.
const FREE_BYTES_FOR_FAILED_CREATION: [u64; 3] = [0, 8 * 1024, 40 * 1024];

const ADD_WORKER: [&str; 6] = ["user", "add", "bob", "--role", "worker", "--password-stdin"];

#[test]
fn failed_user_add_exits_1() {
    for free in FREE_BYTES_FOR_FAILED_CREATION {
        let Some(left) = files_left_after("", free, &ADD_WORKER) else {
            return;
        };
        assert_eq!(
            left.status, "status 1",
            "{free} bytes free: {}",
            left.stderr
        );
    }
}

/// Runs a command that creates a new database on a file system with each
/// of [`FREE_BYTES_FOR_FAILED_CREATION`] free, and checks that it leaves no
/// file behind.
fn assert_failed_creation_leaves_nothing(args: &[&str]) {
    for free in FREE_BYTES_FOR_FAILED_CREATION {
        let Some(left) = files_left_after("", free, args) else {
            return;
        };
        assert!(
            left.files.is_empty(),
            "{free} bytes free: {:?}\n{}",
            left.files,
            left.stderr
        );
    }
}

#[test]
fn failed_user_add_leaves_no_database() {
    assert_failed_creation_leaves_nothing(&ADD_WORKER);
}

#[test]
fn failed_log_list_leaves_no_database() {
    let Some(left) = files_left_after("", 8 * 1024, &["log", "list"]) else {
        return;
    };
    assert_eq!(left.status, "status 1", "{}", left.stderr);
    assert!(left.files.is_empty(), "{:?}\n{}", left.files, left.stderr);
}

#[test]
fn failed_user_add_keeps_empty_file() {
    let Some(left) = files_left_after("empty", 0, &ADD_WORKER) else {
        return;
    };
    assert_eq!(left.status, "status 1", "{}", left.stderr);
    assert_eq!(left.files, ["translog.db"], "{}", left.stderr);
}

#[test]
fn failed_user_add_keeps_existing_database() {
    let dir = stopped_server_database();
    let db = dir.path().join("translog.db");
    let source = db.to_str().expect("UTF-8 path");
    let Some(left) = files_left_after(source, 0, &ADD_WORKER) else {
        return;
    };
    assert_eq!(left.status, "status 1", "{}", left.stderr);
    assert!(
        left.files.contains(&"translog.db".to_string()),
        "{:?}\n{}",
        left.files,
        left.stderr
    );
}

const SERVE: [&str; 3] = ["serve", "--listen", "127.0.0.1:0"];

#[test]
fn failed_serve_leaves_no_database() {
    assert_failed_creation_leaves_nothing(&SERVE);
}

#[test]
fn failed_serve_keeps_empty_file() {
    let Some(left) = files_left_after("empty", 0, &SERVE) else {
        return;
    };
    assert_eq!(left.files, ["translog.db"], "{}", left.stderr);
}

/// Shell script that mounts a tmpfs of `$FILE_SYSTEM_SIZE` at `$1` and runs
/// `$3 --db $4 serve` on a database there, through the link `$4`. Once the
/// file `$2/free` exists, it enlarges the tmpfs to 4 MiB.
const SERVE_ON_SMALL_FILE_SYSTEM: &str = r#"
set -e
mount -t tmpfs -o "size=$FILE_SYSTEM_SIZE" tmpfs "$1"
(
    while kill -0 $$ 2>/dev/null && [ ! -e "$2/free" ]; do sleep 0.05; done
    if [ -e "$2/free" ]; then mount -o remount,size=4m "$1"; fi
) &
exec "$3" --db "$4" serve --listen 127.0.0.1:0
"#;

/// Starts a server whose database lies on a tmpfs of 1 MiB and posts
/// entries with long messages until one gets `503`. The database path is a
/// link into the tmpfs, so that the credentials file beside the link is
/// outside it, where the test reads it. Returns `None` when no tmpfs can be
/// mounted.
fn server_on_filled_file_system() -> Option<Server> {
    if !can_mount_tmpfs() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let mount_point = dir.path().join("fs");
    std::fs::create_dir(&mount_point).expect("create the mount point");
    let db = dir.path().join("translog.db");
    std::os::unix::fs::symlink(mount_point.join("translog.db"), &db).expect("link the database");
    let args = [
        mount_point.to_str().expect("UTF-8 path"),
        dir.path().to_str().expect("UTF-8 path"),
        BIN,
        db.to_str().expect("UTF-8 path"),
    ];
    let mut command = in_namespace(SERVE_ON_SMALL_FILE_SYSTEM, &args);
    command
        .env("FILE_SYSTEM_SIZE", "1m")
        .env("RUST_LOG", "info");
    let server = Server::launch(dir, db, command);
    let filled =
        (0..2000).any(|i| server.post_entry(&format!("fill-{i}"), &fill_body()).status == 503);
    assert!(filled, "no write failed: {}", server.log());
    Some(server)
}

/// Returns the body of each entry that fills the file system: an entry
/// with a message of 1000 bytes, so that few entries fill it.
fn fill_body() -> String {
    let message = "m".repeat(1000);
    format!("timestamp=2026-12-04T10:00:00Z&stage=WORKER_INIT&status=SUCCESS&message={message}")
}

/// Returns true when `GET /healthz` returns `200` within `period`.
fn healthy_within(server: &Server, period: Duration) -> bool {
    let deadline = Instant::now() + period;
    while Instant::now() < deadline {
        if server.get("/healthz", None).status == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn health_stays_unavailable_while_disk_is_full() {
    let Some(server) = server_on_filled_file_system() else {
        return;
    };
    assert!(
        !healthy_within(&server, Duration::from_secs(3)),
        "{}",
        server.log()
    );
}

#[test]
fn health_returns_once_space_is_freed() {
    let Some(server) = server_on_filled_file_system() else {
        return;
    };
    std::fs::write(server.dir().join("free"), "").expect("ask for more space");
    assert!(
        healthy_within(&server, Duration::from_secs(10)),
        "{}",
        server.log()
    );
}

#[test]
fn repeated_entry_keeps_disk_full_health() {
    let Some(server) = server_on_filled_file_system() else {
        return;
    };
    // The first entry was stored before the file system filled up, so this
    // request repeats it and the server stores nothing new.
    let repeated = server.post_entry("fill-0", &fill_body());
    assert_eq!(repeated.status, 200, "{}", repeated.body);
    assert!(
        !healthy_within(&server, Duration::from_secs(3)),
        "{}",
        server.log()
    );
}
