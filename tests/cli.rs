//! The command line against the real binary: help, user management, log
//! views, backup and prune, the environment variables, and the one-line
//! error on stderr with a non-zero exit status.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{
    assert_success, credentials_path, form, percent_encode, run_cli, run_command, serve_command,
    Server, BIN, PASSWORD,
};
use serde_json::Value;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a failed run: non-zero exit and exactly one line on stderr.
fn assert_one_line_error(output: &Output) {
    assert!(!output.status.success(), "exit status {}", output.status);
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "stderr: {text:?}");
}

fn new_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    (dir, db)
}

fn add_user(db: &Path, name: &str, role: &str) -> Output {
    run_cli(
        db,
        &["user", "add", name, "--role", role, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    )
}

// Help.

/// Every command and subcommand, for the tests of `--help`.
const HELP_COMMANDS: [&[&str]; 16] = [
    &[],
    &["serve"],
    &["user"],
    &["user", "add"],
    &["user", "list"],
    &["user", "passwd"],
    &["user", "disable"],
    &["user", "enable"],
    &["user", "remove"],
    &["user", "set-timezone"],
    &["user", "set-role"],
    &["log"],
    &["log", "show"],
    &["log", "list"],
    &["backup"],
    &["prune"],
];

/// Runs `translog COMMAND --help`.
fn run_help(command: &[&str]) -> Output {
    Command::new(BIN)
        .args(command)
        .arg("--help")
        .output()
        .expect("run translog")
}

#[test]
fn help_of_each_subcommand() {
    for command in HELP_COMMANDS {
        let output = run_help(command);
        let text = stdout(&output);
        assert!(
            output.status.success(),
            "{command:?} --help: {}",
            output.status
        );
        assert!(
            text.contains("Usage: translog"),
            "{command:?} --help: {text}"
        );
    }
}

/// Returns the lines of the `Arguments:` section of a help text.
fn argument_lines(help: &str) -> Vec<&str> {
    help.lines()
        .skip_while(|line| *line != "Arguments:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect()
}

#[test]
fn help_describes_every_argument() {
    for command in HELP_COMMANDS {
        let help = stdout(&run_help(command));
        for line in argument_lines(&help) {
            // `  <NAME>  Description`: the description follows the placeholder.
            let description = line.trim().split_once("> ").map(|(_, text)| text.trim());
            assert!(
                description.is_some_and(|text| !text.is_empty()),
                "{command:?} --help: {line:?}"
            );
        }
    }
}

#[test]
fn help_lists_subcommands() {
    let output = Command::new(BIN)
        .arg("--help")
        .output()
        .expect("run translog");
    let text = stdout(&output);
    for name in ["serve", "user", "log", "backup", "prune"] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
}

#[test]
fn serve_help_names_environment() {
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("run translog");
    let text = stdout(&output);
    assert!(text.contains("TRANSLOG_LISTEN"), "{text}");
    assert!(text.contains("TRANSLOG_DB"), "{text}");
}

#[test]
fn version_is_printed() {
    let output = Command::new(BIN)
        .arg("--version")
        .output()
        .expect("run translog");
    let text = stdout(&output);
    let release = format!("translog {}", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&release), "{text}");
}

#[test]
fn version_names_commit_of_checkout() {
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let Some(head) = head.ok().filter(|head| head.status.success()) else {
        eprintln!("skipped: git is missing or the source is not a git checkout");
        return;
    };
    let commit = stdout(&head);
    let output = Command::new(BIN)
        .arg("--version")
        .output()
        .expect("run translog");
    let text = stdout(&output);
    assert!(
        text.contains(&format!("(commit {}, ", commit.trim())),
        "{text}"
    );
}

/// Returns what `translog --version` prints.
fn printed_version() -> String {
    let output = Command::new(BIN)
        .arg("--version")
        .output()
        .expect("run translog");
    stdout(&output)
}

#[test]
fn version_names_schema() {
    let text = printed_version();
    let schema = format!("schema {})", translog::storage::SCHEMA_VERSION);
    assert!(text.trim_end().ends_with(&schema), "{text}");
}

#[test]
fn version_schema_matches_created_database() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["user", "list"], None);
    assert_success(&output, "user list");
    let connection = rusqlite::Connection::open(&db).expect("open the database");
    let created: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("read user_version");
    let version = printed_version();
    assert!(version.contains(&format!("schema {created})")), "{version}");
}

// Users.

#[test]
fn user_add_prints_generated_password() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["user", "add", "worker1", "--role", "worker"], None);
    assert_success(&output, "user add");
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(text.trim_end().len() >= 16, "short password {text:?}");
}

#[test]
fn generated_password_authenticates() {
    let server = Server::start();
    let output = server.cli(&["user", "add", "worker1", "--role", "worker"], None);
    assert_success(&output, "user add");
    let password = stdout(&output).trim_end().to_string();
    let reply = server.post_form(
        "/worker/log/tx-1",
        ("worker1", &password),
        &form("2026-12-04", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn generated_passwords_differ() {
    let (_dir, db) = new_db();
    let first = run_cli(&db, &["user", "add", "a", "--role", "worker"], None);
    let second = run_cli(&db, &["user", "add", "b", "--role", "worker"], None);
    assert_ne!(stdout(&first), stdout(&second));
}

#[test]
fn password_is_not_shown_again() {
    let (_dir, db) = new_db();
    let added = run_cli(&db, &["user", "add", "worker1", "--role", "worker"], None);
    let password = stdout(&added).trim_end().to_string();
    let listed = run_cli(&db, &["user", "list"], None);
    assert!(!stdout(&listed).contains(&password));
    assert!(!stderr(&listed).contains(&password));
}

#[test]
fn password_stdin_prints_no_password() {
    let (_dir, db) = new_db();
    let output = add_user(&db, "worker1", "worker");
    assert_success(&output, "user add");
    assert_eq!(stdout(&output), "");
}

#[test]
fn empty_password_stdin_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--password-stdin",
        ],
        Some("\n"),
    );
    assert_one_line_error(&output);
}

/// Runs `user add worker1 --role worker --password-stdin` with `stdin` as
/// raw bytes, which may be invalid UTF-8.
fn add_user_with_stdin_bytes(db: &Path, stdin: &[u8]) -> Output {
    use std::io::Write as _;
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(db)
        .args([
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--password-stdin",
        ])
        .env_remove("TRANSLOG_DB")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("run translog");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // A command that fails early exits without reading, so a broken pipe is expected.
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().expect("wait for translog")
}

#[test]
fn empty_password_exits_1() {
    let (_dir, db) = new_db();
    let output = add_user_with_stdin_bytes(&db, b"\n");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn empty_password_creates_no_database() {
    let (_dir, db) = new_db();
    add_user_with_stdin_bytes(&db, b"\n");
    assert!(!db.exists(), "user add created {}", db.display());
}

#[test]
fn closed_stdin_creates_no_database() {
    let (_dir, db) = new_db();
    add_user_with_stdin_bytes(&db, b"");
    assert!(!db.exists(), "user add created {}", db.display());
}

#[test]
fn non_utf8_password_exits_1() {
    let (_dir, db) = new_db();
    let output = add_user_with_stdin_bytes(&db, b"caf\xe9\n");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn non_utf8_password_names_problem() {
    let (_dir, db) = new_db();
    let output = add_user_with_stdin_bytes(&db, b"caf\xe9\n");
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("password on standard input is not valid UTF-8"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn non_utf8_password_creates_no_database() {
    let (_dir, db) = new_db();
    add_user_with_stdin_bytes(&db, b"caf\xe9\n");
    assert!(!db.exists(), "user add created {}", db.display());
}

#[test]
fn existing_user_add_exits_1() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = add_user(&db, "worker1", "worker");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn existing_user_add_suggests_commands() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = add_user(&db, "worker1", "worker");
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains(
            "already exists; choose another name, or change it with `translog user passwd` \
             or `translog user set-role`"
        ),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn user_list_shows_users() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    run_cli(
        &db,
        &[
            "user",
            "add",
            "reader1",
            "--role",
            "reader",
            "--timezone",
            "Europe/Berlin",
            "--password-stdin",
        ],
        Some("pw\n"),
    );
    run_cli(&db, &["user", "disable", "reader1"], None);
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "ROLE", "TIMEZONE", "STATE"]);
    assert!(
        lines.contains(&vec!["worker1", "worker", "-", "enabled"]),
        "{text}"
    );
    assert!(
        lines.contains(&vec!["reader1", "reader", "Europe/Berlin", "disabled"]),
        "{text}"
    );
}

#[test]
fn empty_user_list_says_how_to_add() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["user", "list"], None);
    assert!(
        stderr(&output).contains("no users yet; add one with translog user add"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn empty_user_list_prints_header() {
    let (_dir, db) = new_db();
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert_eq!(text.trim_end(), "NAME  ROLE  TIMEZONE  STATE");
}

#[test]
fn user_list_has_no_hashes() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(!text.contains("argon2"), "{text}");
}

#[test]
fn duplicate_user_is_error() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = add_user(&db, "worker1", "reader");
    assert_one_line_error(&output);
}

#[test]
fn duplicate_user_error_names_user() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = add_user(&db, "worker1", "reader");
    assert!(stderr(&output).contains("worker1"), "{}", stderr(&output));
}

#[test]
fn bad_timezone_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--timezone",
            "Mars/Olympus",
            "--password-stdin",
        ],
        Some("pw\n"),
    );
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("Mars/Olympus"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_timezone_adds_no_user() {
    let (_dir, db) = new_db();
    add_user(&db, "reader1", "reader");
    run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--timezone",
            "Nowhere",
        ],
        None,
    );
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(!text.contains("worker1"), "{text}");
}

#[test]
fn bad_role_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["user", "add", "worker1", "--role", "boss"], None);
    assert_one_line_error(&output);
}

#[test]
fn missing_role_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["user", "add", "worker1"], None);
    assert_one_line_error(&output);
}

#[test]
fn unknown_subcommand_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["frobnicate"], None);
    assert_one_line_error(&output);
}

#[test]
fn set_timezone_rejects_bad_zone() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "set-timezone", "worker1", "Moon/Base"], None);
    assert_one_line_error(&output);
}

#[test]
fn set_timezone_is_listed() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(
        &db,
        &["user", "set-timezone", "worker1", "Asia/Tokyo"],
        None,
    );
    assert_success(&output, "user set-timezone");
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(text.contains("Asia/Tokyo"), "{text}");
}

#[test]
fn passwd_unknown_user_is_error() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(
        &db,
        &["user", "passwd", "ghost", "--password-stdin"],
        Some("x\n"),
    );
    assert_one_line_error(&output);
}

#[test]
fn remove_unknown_user_is_error() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "remove", "ghost"], None);
    assert_one_line_error(&output);
}

#[test]
fn disable_unknown_user_is_error() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "disable", "ghost"], None);
    assert_one_line_error(&output);
    assert!(stderr(&output).contains("ghost"), "{}", stderr(&output));
}

#[test]
fn enable_of_enabled_user_says_already() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "enable", "worker1"], None);
    assert_eq!(stderr(&output), "user worker1 was already enabled\n");
}

#[test]
fn disable_of_enabled_user_disables() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "disable", "worker1"], None);
    assert_eq!(stderr(&output), "disabled user worker1\n");
}

#[test]
fn same_role_says_already() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "set-role", "worker1", "worker"], None);
    assert_eq!(
        stderr(&output),
        "user worker1 already had the role worker\n"
    );
}

#[test]
fn same_timezone_says_already() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let args = ["user", "set-timezone", "worker1", "America/New_York"];
    assert_success(&run_cli(&db, &args, None), "user set-timezone");
    let output = run_cli(&db, &args, None);
    assert_eq!(
        stderr(&output),
        "user worker1 already had the time zone America/New_York\n"
    );
}

#[test]
fn clearing_absent_timezone_says_already() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "set-timezone", "worker1", "none"], None);
    assert_eq!(
        stderr(&output),
        "user worker1 already had no time zone of its own; the server's --timezone applies \
         to its timestamps without an offset\n"
    );
}

/// The note of a command that left no enabled admin.
const NO_ADMIN_NOTE: &str = "translog: note: no enabled user has the role admin now";

/// The commands that the note of no enabled admin suggests.
const NO_ADMIN_FIXES: &str = "run `translog user set-role NAME admin`, `translog user enable \
                              NAME` for a disabled admin, or `translog user add NAME --role \
                              admin`";

/// Returns a database with the enabled admin `admin1` and the worker
/// `worker1`.
fn database_with_one_admin() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "admin1", "admin"), "user add admin1");
    assert_success(&add_user(&db, "worker1", "worker"), "user add worker1");
    (dir, db)
}

#[test]
fn disabling_last_admin_notes_none_left() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "disable", "admin1"], None);
    assert_stderr_contains(&output, NO_ADMIN_NOTE);
}

#[test]
fn disabling_last_admin_names_fixes() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "disable", "admin1"], None);
    assert_stderr_contains(&output, NO_ADMIN_FIXES);
}

#[test]
fn disabling_last_admin_succeeds() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "disable", "admin1"], None);
    assert_success(&output, "user disable admin1");
}

#[test]
fn disabling_last_admin_disables_it() {
    let (_dir, db) = database_with_one_admin();
    run_cli(&db, &["user", "disable", "admin1"], None);
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    let row = text.lines().find(|line| line.starts_with("admin1 "));
    assert!(row.is_some_and(|row| row.ends_with("disabled")), "{text}");
}

#[test]
fn disabling_disabled_admin_has_no_note() {
    let (_dir, db) = database_with_one_admin();
    run_cli(&db, &["user", "disable", "admin1"], None);
    let output = run_cli(&db, &["user", "disable", "admin1"], None);
    assert_eq!(stderr(&output), "user admin1 was already disabled\n");
}

#[test]
fn disabling_one_of_two_admins_has_no_note() {
    let (_dir, db) = database_with_one_admin();
    assert_success(&add_user(&db, "admin2", "admin"), "user add admin2");
    let output = run_cli(&db, &["user", "disable", "admin1"], None);
    assert_eq!(stderr(&output), "disabled user admin1\n");
}

#[test]
fn disabling_admin_beside_disabled_one_notes_none_left() {
    let (_dir, db) = database_with_one_admin();
    assert_success(&add_user(&db, "admin2", "admin"), "user add admin2");
    run_cli(&db, &["user", "disable", "admin2"], None);
    let output = run_cli(&db, &["user", "disable", "admin1"], None);
    assert_stderr_contains(&output, NO_ADMIN_NOTE);
}

#[test]
fn demoting_last_admin_notes_none_left() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "set-role", "admin1", "reader"], None);
    assert_stderr_contains(&output, NO_ADMIN_NOTE);
}

#[test]
fn demoting_last_admin_succeeds() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "set-role", "admin1", "reader"], None);
    assert_success(&output, "user set-role admin1 reader");
}

#[test]
fn demoting_one_of_two_admins_has_no_note() {
    let (_dir, db) = database_with_one_admin();
    assert_success(&add_user(&db, "admin2", "admin"), "user add admin2");
    let output = run_cli(&db, &["user", "set-role", "admin1", "reader"], None);
    assert_eq!(stderr(&output), "set the role of admin1 to reader\n");
}

#[test]
fn removing_last_admin_notes_none_left() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "remove", "admin1"], None);
    assert_stderr_contains(&output, NO_ADMIN_NOTE);
}

#[test]
fn removing_last_admin_names_fixes() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "remove", "admin1"], None);
    assert_stderr_contains(&output, NO_ADMIN_FIXES);
}

#[test]
fn removing_only_user_has_no_admin_note() {
    let (_dir, db) = new_db();
    add_user(&db, "admin1", "admin");
    let output = run_cli(&db, &["user", "remove", "admin1"], None);
    assert!(
        !stderr(&output).contains(NO_ADMIN_NOTE),
        "{}",
        stderr(&output)
    );
}

#[test]
fn removing_worker_has_no_admin_note() {
    let (_dir, db) = database_with_one_admin();
    let output = run_cli(&db, &["user", "remove", "worker1"], None);
    assert_eq!(stderr(&output), "removed user worker1\n");
}

#[test]
fn remove_deletes_user() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    assert_success(
        &run_cli(&db, &["user", "remove", "worker1"], None),
        "user remove",
    );
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(!text.contains("worker1"), "{text}");
}

/// The note of `user remove` when no user is left.
const NO_USERS_NOTE: &str = "note: no users are left, so no request can log in; the next \
                             start of `translog serve` creates the user admin";

#[test]
fn removing_last_user_notes_new_admin() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "remove", "worker1"], None);
    assert!(
        stderr(&output).contains(NO_USERS_NOTE),
        "{}",
        stderr(&output)
    );
}

#[test]
fn removing_last_user_names_credentials_file() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "remove", "worker1"], None);
    let expected = format!("writes it to {}", credentials_path(&db).display());
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn removing_one_of_two_users_has_no_note() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    add_user(&db, "reader1", "reader");
    let output = run_cli(&db, &["user", "remove", "worker1"], None);
    assert!(!stderr(&output).contains("note:"), "{}", stderr(&output));
}

#[test]
fn serve_after_last_user_removed_creates_admin() {
    let (dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    assert_success(
        &run_cli(&db, &["user", "remove", "worker1"], None),
        "user remove",
    );
    let server = Server::start_in(dir, &[]);
    assert_eq!(server.admin().0, "admin");
}

/// Runs `user add worker1 --password-stdin` with `password` on a new database.
fn add_user_with_password(password: &str) -> (tempfile::TempDir, Output) {
    let (dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    (dir, output)
}

#[test]
fn short_password_is_warned() {
    // Characters are counted, not bytes: "ä" is two bytes in UTF-8.
    let cases = [
        (
            "abcde",
            "warning: the password has only 5 characters; use at least 12",
        ),
        ("ääääääää", "warning: the password has only 8 characters"),
        ("x", "translog: warning: the password has only 1 character;"),
    ];
    for (password, expected) in cases {
        let (_dir, output) = add_user_with_password(password);
        assert!(
            stderr(&output).contains(expected),
            "{password}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn short_password_is_accepted() {
    let (_dir, output) = add_user_with_password("abcde");
    assert_success(&output, "user add");
}

#[test]
fn twelve_character_password_is_not_warned() {
    let (_dir, output) = add_user_with_password("abcdefghijkl");
    assert!(!stderr(&output).contains("warning:"), "{}", stderr(&output));
}

#[test]
fn passwd_short_password_is_warned() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(
        &db,
        &["user", "passwd", "worker1", "--password-stdin"],
        Some("abcde\n"),
    );
    assert!(
        stderr(&output).contains("warning: the password has only 5 characters"),
        "{}",
        stderr(&output)
    );
}

// The database path and the environment.

#[test]
fn db_flag_creates_database() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    assert!(db.exists());
}

#[test]
fn translog_db_variable_sets_path() {
    let (dir, db) = new_db();
    let mut command = Command::new(BIN);
    command
        .args(["user", "add", "worker1", "--role", "worker"])
        .current_dir(dir.path());
    let path = db.to_str().expect("UTF-8 path");
    let output = run_command_with_env(command, &[("TRANSLOG_DB", path)]);
    assert_success(&output, "user add");
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(text.contains("worker1"), "{text}");
}

#[test]
fn db_flag_overrides_variable() {
    let (dir, db) = new_db();
    let other = dir.path().join("other.db");
    let output = Command::new(BIN)
        .env("TRANSLOG_DB", &other)
        .arg("--db")
        .arg(&db)
        .args(["user", "add", "worker1", "--role", "worker"])
        .output()
        .expect("run translog");
    assert_success(&output, "user add");
    assert!(!other.exists());
}

#[test]
fn default_db_is_in_working_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .args(["user", "add", "worker1", "--role", "worker"])
        .current_dir(dir.path());
    let output = run_command(command, None);
    assert_success(&output, "user add");
    assert!(dir.path().join("translog.db").exists());
}

#[test]
fn db_flag_after_subcommand_works() {
    let (_dir, db) = new_db();
    let output = Command::new(BIN)
        .args(["user", "add", "worker1", "--role", "worker", "--db"])
        .arg(&db)
        .env_remove("TRANSLOG_DB")
        .output()
        .expect("run translog");
    assert_success(&output, "user add");
    assert!(db.exists());
}

#[test]
fn translog_listen_variable_sets_address() {
    let (dir, db) = new_db();
    let mut command = serve_command(&db);
    command.env("TRANSLOG_LISTEN", "127.0.0.1:0");
    let server = Server::launch(dir, db, command);
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn listen_flag_overrides_variable() {
    let (dir, db) = new_db();
    let mut command = serve_command(&db);
    command
        .env("TRANSLOG_LISTEN", "not an address")
        .args(["--listen", "127.0.0.1:0"]);
    let server = Server::launch(dir, db, command);
    assert!(server.addr.ip().is_loopback());
}

#[test]
fn bad_listen_value_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--listen", "localhost"], None);
    assert_one_line_error(&output);
    assert!(stderr(&output).contains("localhost"), "{}", stderr(&output));
}

#[test]
fn listen_port_over_65535_says_out_of_range() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--listen", "127.0.0.1:99999"], None);
    assert!(
        stderr(&output).contains("port 99999 is out of range (0 to 65535)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_listen_value_names_form() {
    let values = [
        "localhost",
        "localhost:8080",
        "::1:8080",
        "127.0.0.1:http",
        "[::1]:65536",
    ];
    for value in values {
        let (_dir, db) = new_db();
        let output = run_cli(&db, &["serve", "--listen", value], None);
        assert!(
            stderr(&output).contains("use IP:PORT such as 127.0.0.1:8080 or [::1]:8080"),
            "{value}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn bad_listen_variable_is_error() {
    let (_dir, db) = new_db();
    let mut command = Command::new(BIN);
    command.arg("--db").arg(&db).arg("serve");
    let output = run_command_with_env(command, &[("TRANSLOG_LISTEN", "127.0.0.1:99999")]);
    assert_one_line_error(&output);
}

#[test]
fn port_in_use_is_error() {
    let server = Server::start();
    let (_dir, db) = new_db();
    let address = server.addr.to_string();
    let output = run_cli(&db, &["serve", "--listen", &address], None);
    assert!(!output.status.success());
    // Log lines may come first; the error itself is one line.
    let text = stderr(&output);
    let errors = text
        .lines()
        .filter(|line| line.starts_with("translog: error:"))
        .count();
    assert_eq!(errors, 1, "{text}");
}

#[test]
fn bad_serve_timezone_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--timezone", "Europe/Atlantis"], None);
    assert_one_line_error(&output);
}

/// Asserts that the standard error of `output` contains `expected`.
fn assert_stderr_contains(output: &Output, expected: &str) {
    let text = stderr(output);
    assert!(text.contains(expected), "expected {expected:?} in: {text}");
}

/// The end of the error for an empty `--timezone` of `serve`, `log list`
/// and `prune`.
const EMPTY_ZONE: &str = "the time zone is empty; give an IANA name such as Europe/Berlin, \
                          or leave out both --timezone and TRANSLOG_TIMEZONE for UTC";

#[test]
fn empty_serve_timezone_says_empty() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--timezone", ""], None);
    assert_stderr_contains(&output, EMPTY_ZONE);
}

#[test]
fn empty_timezone_variable_says_empty() {
    let (_dir, db) = new_db();
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(&db)
        .args(["log", "list"])
        .env("TRANSLOG_TIMEZONE", "");
    let output = run_command(command, None);
    let expected = format!(
        "environment variable TRANSLOG_TIMEZONE: invalid value '' for \
         '--timezone <TIMEZONE>': {EMPTY_ZONE}"
    );
    assert_stderr_contains(&output, &expected);
}

#[test]
fn user_add_empty_timezone_says_empty() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--timezone",
            "",
        ],
        None,
    );
    assert_stderr_contains(
        &output,
        "the time zone is empty; give an IANA name such as Europe/Berlin, or leave out \
         --timezone so that the server's --timezone applies to this user",
    );
}

#[test]
fn set_timezone_empty_says_empty() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "set-timezone", "worker1", ""], None);
    assert_stderr_contains(
        &output,
        "the time zone is empty; give an IANA name such as Europe/Berlin, or none to clear \
         the user's zone",
    );
}

#[test]
fn serve_timezone_in_lower_case_is_rejected() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--timezone", "utc"], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn timezone_in_other_case_names_zone() {
    let cases: [(&[&str], &str, &str); 4] = [
        (&["serve", "--timezone", "utc"], "utc", "UTC"),
        (
            &["log", "list", "--timezone", "europe/berlin"],
            "europe/berlin",
            "Europe/Berlin",
        ),
        (
            &[
                "user",
                "add",
                "worker1",
                "--role",
                "worker",
                "--timezone",
                "Europe/BERLIN",
            ],
            "Europe/BERLIN",
            "Europe/Berlin",
        ),
        (
            &["user", "set-timezone", "worker1", "AMERICA/NEW_YORK"],
            "AMERICA/NEW_YORK",
            "America/New_York",
        ),
    ];
    for (args, given, zone) in cases {
        let (_dir, db) = new_db();
        let output = run_cli(&db, args, None);
        let expected = format!(
            "unknown time zone {given:?}; time zone names are case-sensitive, so write {zone:?}"
        );
        assert_stderr_contains(&output, &expected);
    }
}

#[test]
fn timezone_variable_in_lower_case_names_zone() {
    let (_dir, db) = new_db();
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(&db)
        .args(["prune", "--before", "2026-01-01"])
        .env("TRANSLOG_TIMEZONE", "europe/berlin");
    let output = run_command(command, None);
    assert_stderr_contains(&output, r#"case-sensitive, so write "Europe/Berlin""#);
}

/// Runs `prune --before` with a date written as `date +%Y%m%d` prints it,
/// which would read as Unix seconds in 1970.
fn prune_before_compact_date() -> Output {
    let (_dir, db) = new_db();
    run_cli(&db, &["prune", "--before", "20261101", "--dry-run"], None)
}

#[test]
fn prune_before_compact_date_exits_2() {
    let output = prune_before_compact_date();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn prune_before_compact_date_names_the_date() {
    let output = prune_before_compact_date();
    assert_stderr_contains(&output, "is 2026-11-01 written without separators");
}

#[test]
fn set_timezone_none_in_upper_case_says_lower() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["user", "set-timezone", "worker1", "NONE"], None);
    assert_stderr_contains(&output, "write none in lower case to clear the zone");
}

#[test]
fn bad_stall_after_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--stall-after", "soon"], None);
    assert_one_line_error(&output);
}

fn run_command_with_env(mut command: Command, env: &[(&str, &str)]) -> Output {
    for name in ["TRANSLOG_DB", "TRANSLOG_LISTEN", "TRANSLOG_TIMEZONE"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().expect("run translog")
}

// Logs.

fn logged_server() -> Server {
    let server = Server::start();
    for (timestamp, stage, status) in [
        ("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"),
        ("2026-12-04T13:00:01Z", "WORKER_LOAD", "SUCCESS"),
        ("2026-12-04T13:00:02Z", "WORKER_END", "SUCCESS"),
    ] {
        let reply = server.post_entry("tx-ok", &form(timestamp, stage, status));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let reply = server.post_entry(
        "tx-bad",
        &format!(
            "{}&message=disk%20full",
            form("2026-12-04T13:00:00Z", "WORKER_LOAD", "FATAL")
        ),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    server
}

#[test]
fn log_show_prints_table() {
    let server = logged_server();
    let output = server.cli(&["log", "show", "tx-ok"], None);
    assert_success(&output, "log show");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "transaction tx-ok: succeeded");
    assert!(lines[1].starts_with("TIMESTAMP"), "{text}");
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[2].contains("WORKER_INIT"), "{text}");
    assert!(lines[4].contains("WORKER_END"), "{text}");
}

#[test]
fn log_show_prints_clock_skew() {
    let server = Server::start();
    // A local time an hour behind, read in the server's zone UTC. The skew
    // is an hour plus the cut-off fraction and the delivery time, which the
    // table rounds to whole minutes.
    let hour_behind = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let reply = server.post_entry("tx-skew", &form(&hour_behind, "WORKER_INIT", "SUCCESS"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let text = stdout(&server.cli(&["log", "show", "tx-skew"], None));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("  CLOCK SKEW  MESSAGE"), "{text}");
    assert!(lines[2].ends_with("Z  +1 h"), "{text}");
}

#[test]
fn log_show_leaves_missing_message_empty() {
    let server = logged_server();
    let text = stdout(&server.cli(&["log", "show", "tx-ok"], None));
    let header = text.lines().nth(1).unwrap_or_default();
    let message_column = header.find("MESSAGE").expect("a MESSAGE column");
    let first_entry = text.lines().nth(2).unwrap_or_default();
    assert!(first_entry.chars().count() < message_column, "{text}");
}

#[test]
fn log_show_prints_message() {
    let server = logged_server();
    let text = stdout(&server.cli(&["log", "show", "tx-bad"], None));
    assert!(text.contains("disk full"), "{text}");
}

/// Returns what `log show` prints for a transaction of one entry whose
/// message is `encoded`, percent-encoded.
fn shown_message(encoded: &str) -> String {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-text",
        &format!(
            "{}&message={encoded}",
            form("2026-12-04T13:00:00Z", "WORKER_LOAD", "FAIL")
        ),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    stdout(&server.cli(&["log", "show", "tx-text"], None))
}

#[test]
fn log_show_replaces_control_characters() {
    let text = shown_message("red%1B%5B31mtext");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("[31mtext"), "{text:?}");
}

#[test]
fn log_show_replaces_line_separator() {
    let text = shown_message("first%E2%80%A8second");
    assert!(text.contains("first\u{fffd}second"), "{text:?}");
}

#[test]
fn log_show_replaces_direction_override() {
    let text = shown_message("left%E2%80%AEright");
    assert!(text.contains("left\u{fffd}right"), "{text:?}");
}

#[test]
fn start_line_names_version_and_database() {
    let server = Server::start();
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("listening on http://"))
        .expect("a start line");
    assert!(line.contains(env!("CARGO_PKG_VERSION")), "{line}");
    let schema = format!("schema {})", translog::storage::SCHEMA_VERSION);
    assert!(line.contains(&schema), "{line}");
    assert!(line.contains(&server.db.display().to_string()), "{line}");
    assert!(
        line.contains("1 user,") || line.ends_with("1 user"),
        "{line}"
    );
}

#[test]
fn log_show_json_matches_api() {
    let server = logged_server();
    let output = server.cli(&["log", "show", "tx-ok", "--json"], None);
    assert_success(&output, "log show --json");
    let printed: Value = serde_json::from_slice(&output.stdout).expect("log show prints JSON");
    assert_eq!(printed, server.read_log("tx-ok"));
}

#[test]
fn log_show_unknown_id_is_error() {
    let server = logged_server();
    let output = server.cli(&["log", "show", "tx-none"], None);
    assert_one_line_error(&output);
}

#[test]
fn log_list_prints_table() {
    let server = logged_server();
    let output = server.cli(&["log", "list"], None);
    assert_success(&output, "log list");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TRANSACTION"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with("tx-bad"), "{text}");
    assert!(lines[2].starts_with("tx-ok"), "{text}");
}

/// Returns the column at which the OUTCOME cell of a row of `log list`
/// starts.
fn outcome_column(row: &str) -> Option<usize> {
    ["running", "fatal", "succeeded", "OUTCOME"]
        .iter()
        .find_map(|outcome| row.find(&format!("  {outcome}")))
        .map(|at| at + 2)
}

#[test]
fn log_list_long_id_leaves_other_rows() {
    let server = logged_server();
    let before = stdout(&server.cli(&["log", "list"], None));
    // Cells that are no wider than those of the other rows, but for the id.
    let entry = form("2026-12-04T13:00:00Z", "WORKER_LOAD", "FATAL");
    let reply = server.post_entry(&"x".repeat(128), &entry);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let after = stdout(&server.cli(&["log", "list"], None));
    let other_rows: Vec<&str> = after.lines().filter(|row| !row.starts_with('x')).collect();
    assert_eq!(other_rows, before.lines().collect::<Vec<_>>(), "{after}");
}

#[test]
fn log_list_long_id_is_whole() {
    let server = logged_server();
    let long_id = "x".repeat(128);
    post_entry(&server, &long_id);
    let text = stdout(&server.cli(&["log", "list"], None));
    let expected = format!("{long_id}  running");
    assert!(text.lines().any(|row| row.starts_with(&expected)), "{text}");
}

#[test]
fn log_list_uuid_widens_column() {
    let server = logged_server();
    post_entry(&server, "0b5c2e0e-8d4f-4c4e-9a57-3f1d2a6b7c8d");
    let text = stdout(&server.cli(&["log", "list"], None));
    let header = text.lines().next().unwrap_or_default();
    assert_eq!(outcome_column(header), Some(38), "{text}");
}

/// Starts a server with the transaction `tx-corrupt`: `WORKER_INIT SUCCESS`,
/// `WORKER_DECOMPRESS FATAL` with `message`, then `WORKER_END SUCCESS`.
fn corrupt_archive_server(message: &str) -> Server {
    let server = Server::start();
    for (timestamp, stage, status, text) in [
        (
            "2026-12-04T13:00:00Z",
            "WORKER_INIT",
            "SUCCESS",
            "found dump",
        ),
        (
            "2026-12-04T13:00:01Z",
            "WORKER_DECOMPRESS",
            "FATAL",
            message,
        ),
        ("2026-12-04T13:00:02Z", "WORKER_END", "SUCCESS", "done"),
    ] {
        let body = format!(
            "{}&message={}",
            form(timestamp, stage, status),
            percent_encode(text)
        );
        let reply = server.post_entry("tx-corrupt", &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    server
}

#[test]
fn log_list_shows_fatal_entry() {
    let server = corrupt_archive_server("archive is corrupt");
    let text = stdout(&server.cli(&["log", "list"], None));
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(
        row.ends_with("WORKER_DECOMPRESS: archive is corrupt"),
        "{text}"
    );
}

#[test]
fn log_list_header_names_fatal_entry() {
    let server = corrupt_archive_server("archive is corrupt");
    let text = stdout(&server.cli(&["log", "list"], None));
    let header = text.lines().next().unwrap_or_default();
    assert!(header.ends_with("FATAL ENTRY"), "{text}");
}

#[test]
fn log_list_cuts_long_fatal_message() {
    let message = format!("{}{}", "a".repeat(60), "b".repeat(964));
    let server = corrupt_archive_server(&message);
    let text = stdout(&server.cli(&["log", "list"], None));
    let row = text.lines().nth(1).unwrap_or_default();
    let expected = format!("WORKER_DECOMPRESS: {}…", "a".repeat(60));
    assert!(row.ends_with(&expected), "{text}");
}

#[test]
fn log_list_json_has_whole_fatal_message() {
    let message = format!("{}{}", "a".repeat(60), "b".repeat(964));
    let server = corrupt_archive_server(&message);
    let output = server.cli(&["log", "list", "--json"], None);
    let printed: Value = serde_json::from_slice(&output.stdout).expect("log list prints JSON");
    assert_eq!(
        printed["transactions"][0]["fatal_message"],
        message.as_str()
    );
}

#[test]
fn log_list_shows_outcomes() {
    let server = logged_server();
    let text = stdout(&server.cli(&["log", "list"], None));
    assert!(text.contains("fatal"), "{text}");
    assert!(text.contains("succeeded"), "{text}");
}

#[test]
fn log_list_json_matches_api() {
    let server = logged_server();
    let output = server.cli(&["log", "list", "--json"], None);
    assert_success(&output, "log list --json");
    let printed: Value = serde_json::from_slice(&output.stdout).expect("log list prints JSON");
    let reply = server.get("/worker/log", Some(server.admin()));
    assert_eq!(printed, reply.json());
}

#[test]
fn log_list_filters_outcome() {
    let server = logged_server();
    let output = server.cli(&["log", "list", "--json", "--outcome", "fatal"], None);
    let printed: Value = serde_json::from_slice(&output.stdout).expect("log list prints JSON");
    assert_eq!(printed["transactions"].as_array().map(Vec::len), Some(1));
    assert_eq!(printed["transactions"][0]["transaction_id"], "tx-bad");
}

#[test]
fn log_list_pages_with_cursor() {
    let server = logged_server();
    let first = server.cli(&["log", "list", "--json", "--limit", "1"], None);
    let first: Value = serde_json::from_slice(&first.stdout).expect("JSON");
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = server.cli(
        &["log", "list", "--json", "--limit", "1", "--cursor", cursor],
        None,
    );
    let second: Value = serde_json::from_slice(&second.stdout).expect("JSON");
    assert_eq!(second["transactions"][0]["transaction_id"], "tx-ok");
}

#[test]
fn log_list_without_match_says_so() {
    let server = logged_server();
    let output = server.cli(&["log", "list", "--outcome", "stalled"], None);
    assert_eq!(
        stderr(&output).trim_end(),
        "no transactions match these filters"
    );
}

#[test]
fn log_list_of_empty_database_says_so() {
    let server = Server::start();
    let output = server.cli(&["log", "list"], None);
    assert_eq!(stderr(&output).trim_end(), "no transactions yet");
}

#[test]
fn log_list_after_pruned_cursor_says_so() {
    let server = logged_server();
    let first = server.cli(&["log", "list", "--json", "--limit", "1"], None);
    let first: Value = serde_json::from_slice(&first.stdout).expect("JSON");
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let now = common::timestamp_from_now(0);
    let pruned = server.cli(&["prune", "--before", &now], None);
    assert_success(&pruned, "prune");
    let output = server.cli(&["log", "list", "--cursor", cursor], None);
    assert_eq!(
        stderr(&output).trim_end(),
        "no more transactions after this cursor"
    );
}

/// Returns the line of `log list ARGS` that names the next page.
fn next_page_hint(server: &Server, args: &[&str]) -> String {
    let mut command = vec!["log", "list", "--limit", "1"];
    command.extend_from_slice(args);
    let output = server.cli(&command, None);
    assert_success(&output, "log list");
    stdout(&output)
        .lines()
        .find(|line| line.starts_with("more: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn next_page_hint_repeats_filters() {
    let server = logged_server();
    let hint = next_page_hint(&server, &["--since", "2026-12-04", "--until", "2026-12-05"]);
    assert!(
        hint.starts_with(
            "more: --limit 1 --since 2026-12-04T00:00:00Z --until 2026-12-05T00:00:00Z --cursor "
        ),
        "{hint}"
    );
}

#[test]
fn next_page_hint_continues_listing() {
    let server = logged_server();
    let hint = next_page_hint(&server, &["--since", "2026-12-04"]);
    let mut command = vec!["log", "list"];
    command.extend(hint.split_whitespace().skip(1));
    let output = server.cli(&command, None);
    assert!(stdout(&output).contains("tx-ok"), "{}", stdout(&output));
}

#[test]
fn stalled_next_page_hint_continues_listing() {
    let server = Server::start();
    for id in ["tx-stalled-1", "tx-stalled-2"] {
        let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
        assert_eq!(server.post_entry(id, &body).status, 200);
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let hint = next_page_hint(&server, &["--outcome", "stalled", "--stall-after", "1s"]);
    let mut command = vec!["log", "list"];
    command.extend(hint.split_whitespace().skip(1));
    let output = server.cli(&command, None);
    assert!(
        stdout(&output).contains("tx-stalled-1"),
        "{hint}\n{}",
        stdout(&output)
    );
}

#[test]
fn unfiltered_next_page_hint_names_limit() {
    let server = logged_server();
    let hint = next_page_hint(&server, &[]);
    assert!(hint.starts_with("more: --limit 1 --cursor "), "{hint}");
}

#[test]
fn log_list_zero_limit_names_range() {
    let server = logged_server();
    let output = server.cli(&["log", "list", "--limit", "0"], None);
    assert!(
        stderr(&output).contains("use a whole number from 1 to 1000"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn log_list_bad_outcome_is_error() {
    let server = logged_server();
    let output = server.cli(&["log", "list", "--outcome", "broken"], None);
    assert_one_line_error(&output);
}

#[test]
fn log_list_bad_since_is_error() {
    let server = logged_server();
    let output = server.cli(&["log", "list", "--since", "last week"], None);
    assert_one_line_error(&output);
}

// Backup and prune.

#[test]
fn backup_while_serving_copies_entries() {
    let server = logged_server();
    let copy = server.dir().join("copy.db");
    let output = server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None);
    assert_success(&output, "backup");
    let connection = rusqlite::Connection::open(&copy).expect("open the copy");
    let count: i64 = connection
        .query_row("SELECT count(*) FROM entries", [], |row| row.get(0))
        .expect("count entries");
    assert_eq!(count, 4);
}

/// Clears a flag when dropped, also when a failed assertion unwinds.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

#[test]
fn backup_under_load_counts_its_copy() {
    let server = logged_server();
    let writing = AtomicBool::new(true);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut step = 0;
            while writing.load(Ordering::Relaxed) && step < 20_000 {
                let timestamp = format!("2026-12-04T13:00:00.{step:05}Z");
                server.post_entry("tx-load", &form(&timestamp, "WORKER_LOAD", "SUCCESS"));
                step += 1;
            }
        });
        let _stop_writing = ClearOnDrop(&writing);
        for attempt in 0..3 {
            let copy = server.dir().join(format!("copy-{attempt}.db"));
            let output = server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None);
            assert_success(&output, "backup");
            let connection = rusqlite::Connection::open(&copy).expect("open the copy");
            let count: i64 = connection
                .query_row("SELECT count(*) FROM entries", [], |row| row.get(0))
                .expect("count entries");
            let printed = stdout(&output);
            assert!(
                printed.contains(&format!("({count} entries)")),
                "the copy has {count} entries; backup printed: {printed}"
            );
        }
    });
}

#[test]
fn backup_copy_is_readable() {
    let server = logged_server();
    let backup_dir = tempfile::tempdir().expect("temporary directory");
    let copy = backup_dir.path().join("translog.db");
    assert_success(
        &server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None),
        "backup",
    );
    drop(server);
    let output = run_cli(&copy, &["log", "show", "tx-ok", "--json"], None);
    assert_success(&output, "log show on the copy");
}

#[test]
fn backup_copy_is_owner_only() {
    let server = logged_server();
    let copy = server.dir().join("copy.db");
    assert_success(
        &server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None),
        "backup",
    );
    assert_eq!(file_mode(&copy), 0o600);
}

#[test]
fn backup_to_missing_folder_leaves_nothing() {
    let server = logged_server();
    let copy = server.dir().join("missing").join("copy.db");
    let output = server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None);
    assert_one_line_error(&output);
    assert!(!copy.exists());
}

/// Runs `backup` of a new database into a directory that does not exist,
/// and returns the output and the path of the copy.
fn backup_to_missing_directory() -> (tempfile::TempDir, Output, std::path::PathBuf) {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let copy = dir.path().join("missing").join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    (dir, output, copy)
}

#[test]
fn backup_to_missing_directory_exits_1() {
    let (_dir, output, _copy) = backup_to_missing_directory();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn backup_to_missing_directory_names_path() {
    let (_dir, output, copy) = backup_to_missing_directory();
    assert_one_line_error(&output);
    let expected = format!(
        "cannot create {}: directory {} does not exist; create it or choose another path",
        copy.display(),
        copy.parent().expect("a directory").display()
    );
    assert!(
        stderr(&output).contains(&expected),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn backup_to_proc_says_no_new_files() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["backup", "/proc/translog-backup.db"], None);
    assert_stderr_contains(
        &output,
        "cannot create /proc/translog-backup.db: directory /proc exists, but its file system \
         does not allow new files in it; choose a directory on another file system",
    );
}

#[test]
fn backup_through_dangling_link_names_target() {
    let (dir, db) = new_db();
    let target = dir.path().join("gone");
    let link = dir.path().join("backups");
    std::os::unix::fs::symlink(&target, &link).expect("create a symbolic link");
    let copy = link.join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    let expected = format!(
        "directory {} is a symbolic link to {}, which does not exist",
        link.display(),
        target.display()
    );
    assert_stderr_contains(&output, &expected);
}

/// Runs `backup -` of a new database in the database's directory, and
/// returns the directory and the output.
fn backup_to_dash() -> (tempfile::TempDir, Output) {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .arg("--db")
        .arg(&db)
        .args(["backup", "-"]);
    let output = run_command(command, None);
    (dir, output)
}

#[test]
fn backup_to_dash_exits_2() {
    let (_dir, output) = backup_to_dash();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn backup_to_dash_suggests_dot_slash() {
    let (_dir, output) = backup_to_dash();
    assert_stderr_contains(
        &output,
        "invalid value '-' for '<DEST>': backup writes to a file, not to standard output; to \
         write a file named -, give a path such as ./-",
    );
}

#[test]
fn backup_to_dash_writes_no_file() {
    let (dir, _output) = backup_to_dash();
    assert!(!dir.path().join("-").exists());
}

#[test]
fn backup_to_dot_slash_dash_writes_file() {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .arg("--db")
        .arg(&db)
        .args(["backup", "./-"]);
    assert_success(&run_command(command, None), "backup ./-");
    assert!(dir.path().join("-").exists());
}

#[test]
fn backup_keeps_server_writing() {
    let server = logged_server();
    let copy = server.dir().join("copy.db");
    server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None);
    let reply = server.post_entry("tx-after", &form("2026-12-05", "WORKER_INIT", "SUCCESS"));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn backup_to_existing_file_is_error() {
    let server = logged_server();
    let copy = server.dir().join("copy.db");
    std::fs::write(&copy, b"keep me").expect("write a file");
    let output = server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None);
    assert_one_line_error(&output);
    assert_eq!(std::fs::read(&copy).expect("read the file"), b"keep me");
}

/// Runs `backup DEST` of a new database, where DEST is `path` below the
/// database's directory, and returns the directory and the output.
fn backup_to(path: &str) -> (tempfile::TempDir, Output) {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    std::fs::create_dir(dir.path().join("backups")).expect("create a directory");
    let destination = format!("{}/{path}", dir.path().display());
    let output = run_cli(&db, &["backup", &destination], None);
    (dir, output)
}

#[test]
fn backup_to_directory_says_so() {
    for path in ["backups", "backups/"] {
        let (dir, output) = backup_to(path);
        let expected = format!("{}/{path} is a directory;", dir.path().display());
        assert!(
            stderr(&output).contains(&expected),
            "{path}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn backup_to_directory_suggests_file_inside() {
    for path in ["backups", "backups/"] {
        let (dir, output) = backup_to(path);
        let expected = format!(
            "give the path of a new file inside it, such as {}/backups/translog-",
            dir.path().display()
        );
        assert!(
            stderr(&output).contains(&expected),
            "{path}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn backup_to_directory_suggests_free_name() {
    let (dir, db) = new_db();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).expect("create a directory");
    // Names that backups of this second and the next two would take.
    let now = chrono::Utc::now();
    for seconds in 0..3 {
        let time = now + chrono::Duration::seconds(seconds);
        let name = format!("translog-{}.db", time.format("%Y%m%dT%H%M%SZ"));
        std::fs::write(backups.join(name), b"").expect("create a backup file");
    }
    let output = run_cli(&db, &["backup", &backups.display().to_string()], None);
    let text = stderr(&output);
    let (_, suggested) = text.split_once("such as ").expect("a suggested path");
    assert!(!std::path::Path::new(suggested.trim()).exists(), "{text}");
}

#[test]
fn backup_to_directory_is_one_line() {
    for path in ["backups", "backups/"] {
        let (_dir, output) = backup_to(path);
        assert_one_line_error(&output);
    }
}

#[test]
fn backup_to_missing_directory_with_slash_says_so() {
    let (dir, output) = backup_to("missing/");
    let expected = format!(
        "cannot create {}/missing/: a path that ends with / names a directory, and none exists",
        dir.path().display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

/// Runs `backup DEST` of a new database, where DEST is a file in the
/// database's directory whose name is not valid UTF-8, and returns the
/// directory and the output.
fn backup_to_non_utf8_name() -> (tempfile::TempDir, Output) {
    use std::os::unix::ffi::OsStrExt as _;
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let name = std::ffi::OsStr::from_bytes(b"copy-\xff.db");
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(&db)
        .arg("backup")
        .arg(dir.path().join(name));
    (dir, run_command(command, None))
}

#[test]
fn backup_to_non_utf8_name_says_so() {
    let (_dir, output) = backup_to_non_utf8_name();
    assert!(
        stderr(&output).contains("is not valid UTF-8"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn backup_to_non_utf8_name_exits_1() {
    let (_dir, output) = backup_to_non_utf8_name();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn backup_to_non_utf8_name_writes_no_file() {
    let (dir, _output) = backup_to_non_utf8_name();
    let copies: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list the directory")
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with("copy-"))
        .collect();
    assert!(copies.is_empty(), "{copies:?}");
}

fn prune_server() -> Server {
    let server = Server::start();
    for (id, timestamp) in [
        ("tx-old-1", "2026-01-01T00:00:00Z"),
        ("tx-old-2", "2026-02-01T00:00:00Z"),
        ("tx-new", "2026-12-01T00:00:00Z"),
    ] {
        let reply = server.post_entry(id, &form(timestamp, "WORKER_INIT", "SUCCESS"));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // tx-spans starts before the cutoff and ends after it, so it is kept whole.
    server.post_entry(
        "tx-spans",
        &form("2026-01-01T00:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    server.post_entry(
        "tx-spans",
        &form("2026-12-01T00:00:00Z", "WORKER_END", "SUCCESS"),
    );
    server
}

/// Runs `prune --before 2026-12-04` with `TRANSLOG_TIMEZONE=Europe/Berlin` on
/// a server whose one transaction ended at 2026-12-03T23:30:00Z, which is
/// 00:30 on 4 December in Berlin.
fn prune_with_zone_variable() -> Server {
    let server = Server::start();
    let reply = server.post_entry(
        "tx-late",
        &form("2026-12-03T23:30:00Z", "WORKER_INIT", "SUCCESS"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(&server.db)
        .args(["prune", "--before", "2026-12-04"])
        .env("TRANSLOG_TIMEZONE", "Europe/Berlin");
    let output = run_command(command, None);
    assert_success(&output, "prune");
    server
}

#[test]
fn prune_reads_zone_variable() {
    let server = prune_with_zone_variable();
    let reply = server.get("/worker/log/tx-late", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn log_list_reads_stall_variable() {
    let server = Server::start();
    server.post_entry(
        "tx-quiet",
        &form("2026-12-01T00:00:00Z", "WORKER_INIT", "SUCCESS"),
    );
    // Nothing arrives for longer than the stall period of the variable.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(&server.db)
        .args(["log", "list"])
        .env("TRANSLOG_STALL_AFTER", "1s");
    let output = run_command(command, None);
    assert_success(&output, "log list");
    assert!(stdout(&output).contains("stalled"), "{}", stdout(&output));
}

#[test]
fn prune_prints_count() {
    let server = prune_server();
    let output = server.cli(&["prune", "--before", "2026-06-01"], None);
    assert_success(&output, "prune");
    assert_eq!(
        stdout(&output),
        "removed 2 transactions (2 entries) whose last entry was before 2026-06-01T00:00:00Z\n"
    );
}

#[test]
fn prune_removes_old_logs() {
    let server = prune_server();
    server.cli(&["prune", "--before", "2026-06-01"], None);
    let reply = server.get("/worker/log/tx-old-1", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn prune_keeps_newer_logs() {
    let server = prune_server();
    server.cli(&["prune", "--before", "2026-06-01"], None);
    assert_eq!(server.entries("tx-new").len(), 1);
}

#[test]
fn prune_keeps_whole_transactions() {
    let server = prune_server();
    server.cli(&["prune", "--before", "2026-06-01"], None);
    assert_eq!(server.entries("tx-spans").len(), 2);
}

#[test]
fn prune_bad_timestamp_is_error() {
    let server = prune_server();
    let output = server.cli(&["prune", "--before", "2026-02-30"], None);
    assert_one_line_error(&output);
}

#[test]
fn prune_of_one_is_singular() {
    let server = prune_server();
    let output = server.cli(&["prune", "--before", "2026-01-15"], None);
    assert_eq!(
        stdout(&output),
        "removed 1 transaction (1 entry) whose last entry was before 2026-01-15T00:00:00Z\n"
    );
}

#[test]
fn prune_nothing_prints_zero() {
    let server = prune_server();
    let output = server.cli(&["prune", "--before", "2025-01-01"], None);
    assert_eq!(
        stdout(&output),
        "removed 0 transactions (0 entries) whose last entry was before 2025-01-01T00:00:00Z\n"
    );
}

#[test]
fn prune_dry_run_prints_counts() {
    let server = prune_server();
    let output = server.cli(&["prune", "--before", "2026-06-01", "--dry-run"], None);
    assert_success(&output, "prune --dry-run");
    assert_eq!(
        stdout(&output),
        "would remove 2 transactions (2 entries) whose last entry is before \
         2026-06-01T00:00:00Z; nothing was deleted\n"
    );
}

/// A `--before` in the year 2062, a mistyped 2026, read in Europe/Berlin.
const FUTURE_BEFORE: [&str; 5] = [
    "prune",
    "--before",
    "2062-06-01",
    "--timezone",
    "Europe/Berlin",
];

#[test]
fn prune_future_time_is_usage_error() {
    let server = prune_server();
    let output = server.cli(&FUTURE_BEFORE, None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_one_line_error(&output);
}

#[test]
fn prune_future_time_keeps_logs() {
    let server = prune_server();
    server.cli(&FUTURE_BEFORE, None);
    let reply = server.get("/worker/log/tx-new", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn prune_future_time_shows_instant() {
    let server = prune_server();
    let output = server.cli(&FUTURE_BEFORE, None);
    let message = stderr(&output);
    assert!(
        message
            .contains("it means 2062-06-01T00:00:00+02:00, which is later than the current time"),
        "{message}"
    );
}

#[test]
fn prune_future_time_names_log_delete() {
    let server = prune_server();
    let output = server.cli(&FUTURE_BEFORE, None);
    let message = stderr(&output);
    assert!(
        message.contains("is deleted by its id with `translog log delete ID`"),
        "{message}"
    );
}

#[test]
fn prune_future_time_shows_current_time() {
    let server = prune_server();
    let year = chrono::Utc::now().format("%Y").to_string();
    let output = server.cli(&FUTURE_BEFORE, None);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("later than the current time {year}-")),
        "{message}"
    );
}

#[test]
fn prune_future_time_suggests_dry_run() {
    let server = prune_server();
    let output = server.cli(&FUTURE_BEFORE, None);
    let message = stderr(&output);
    assert!(message.contains("with --dry-run first"), "{message}");
}

#[test]
fn prune_dry_run_rejects_future_time() {
    let server = prune_server();
    let mut command = FUTURE_BEFORE.to_vec();
    command.push("--dry-run");
    let output = server.cli(&command, None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn prune_before_now_is_accepted() {
    let server = prune_server();
    let now = common::timestamp_from_now(0);
    let output = server.cli(&["prune", "--before", &now], None);
    assert_success(&output, "prune");
}

/// Starts a server with a transaction that ended 40 days ago, `tx-month`,
/// and one that ended an hour ago, `tx-hour`.
fn aged_server() -> Server {
    let server = Server::start();
    for (id, age_seconds) in [("tx-month", 40 * 86_400), ("tx-hour", 3600)] {
        let timestamp = common::timestamp_from_now(-age_seconds);
        let reply = server.post_entry(id, &form(&timestamp, "WORKER_INIT", "SUCCESS"));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    server
}

#[test]
fn prune_before_age_removes_older() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "30d"], None);
    assert_success(&output, "prune");
    let reply = server.get("/worker/log/tx-month", Some(server.admin()));
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[test]
fn prune_before_age_keeps_newer() {
    let server = aged_server();
    server.cli(&["prune", "--before", "30d"], None);
    assert_eq!(server.entries("tx-hour").len(), 1);
}

#[test]
fn log_list_since_age_filters() {
    let server = aged_server();
    let output = server.cli(&["log", "list", "--since", "2h", "--json"], None);
    assert_success(&output, "log list");
    let listed: Value = serde_json::from_str(&stdout(&output)).expect("JSON output");
    let ids: Vec<&str> = listed["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .filter_map(|transaction| transaction["transaction_id"].as_str())
        .collect();
    assert_eq!(ids, ["tx-hour"]);
}

#[test]
fn prune_before_age_names_cutoff() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "30d", "--dry-run"], None);
    let cutoff = common::timestamp_from_now(-30 * 86_400);
    // The cutoff is named to the nanosecond; its date is enough here.
    let date = &cutoff[..10];
    assert!(
        stdout(&output).contains(&format!("whose last entry is before {date}T")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn prune_before_bare_number_suggests_unit() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "90", "--dry-run"], None);
    assert!(
        stderr(&output).contains("add its unit, such as 90d"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn prune_before_bare_number_exits_2() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "90", "--dry-run"], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn large_bare_number_suggests_valid_age() {
    let (_dir, db) = new_db();
    // 30000 days ago is before 1970, so 30000d is no valid age.
    let output = run_cli(&db, &["prune", "--before", "30000", "--dry-run"], None);
    assert!(
        stderr(&output).contains("add its unit, such as 30d:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn date_without_time_names_timestamp_forms() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["log", "list", "--since", "4 Dec 2026"], None);
    assert!(
        stderr(&output).contains("the format is not recognized"),
        "{}",
        stderr(&output)
    );
}

/// Timestamp options with a date in a form that no timestamp parser
/// accepts: a day without its leading zero, and the day first with dots.
const UNRECOGNIZED_DATES: [&[&str]; 5] = [
    &["prune", "--before", "2026-11-1"],
    &["prune", "--before", "01.11.2026"],
    &["log", "list", "--since", "2026-11-1"],
    &["log", "list", "--since", "01.11.2026"],
    &["log", "list", "--until", "01.11.2026"],
];

#[test]
fn unrecognized_date_names_plain_date() {
    let (_dir, db) = new_db();
    for args in UNRECOGNIZED_DATES {
        let output = run_cli(&db, args, None);
        assert!(
            stderr(&output).contains("a date such as `2026-11-01`"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn unrecognized_date_names_age() {
    let (_dir, db) = new_db();
    for args in UNRECOGNIZED_DATES {
        let output = run_cli(&db, args, None);
        assert!(
            stderr(&output).contains("an age such as `90d`"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn unrecognized_date_exits_2() {
    let (_dir, db) = new_db();
    for args in UNRECOGNIZED_DATES {
        let output = run_cli(&db, args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn empty_before_names_plain_date() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["prune", "--before", ""], None);
    assert_stderr_contains(&output, "a date such as `2026-11-01`");
}

#[test]
fn upper_case_minute_age_names_minutes() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["log", "list", "--since", "3M"], None);
    assert_stderr_contains(
        &output,
        "m means minutes; for months, give days, such as 90d",
    );
}

#[test]
fn upper_case_age_unit_names_lower_case() {
    let (_dir, db) = new_db();
    let cases: [(&[&str], &str); 3] = [
        (&["prune", "--before", "90D"], "90d"),
        (&["log", "list", "--since", "2H"], "2h"),
        (&["log", "list", "--until", "30M"], "30m"),
    ];
    for (args, expected) in cases {
        let output = run_cli(&db, args, None);
        let hint = format!("units are lower case, so use {expected}");
        assert!(
            stderr(&output).contains(&hint),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn prune_fractional_age_names_age_form() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "1.5d", "--dry-run"], None);
    assert!(
        stderr(&output).contains("an age is a whole number followed by s, m, h or d"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn prune_age_before_1970_is_rejected() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "106751d", "--dry-run"], None);
    assert!(
        stderr(&output).contains("106751d ago is before 1970"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn prune_age_under_an_hour_exits_2() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["prune", "--before", "1m", "--dry-run"], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn prune_age_under_an_hour_names_minutes() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["prune", "--before", "59m"], None);
    assert!(
        stderr(&output).contains("(m means minutes; for months, give days, such as 90d)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn prune_age_of_an_hour_is_accepted() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["prune", "--before", "1h", "--dry-run"], None);
    assert_success(&output, "prune --before 1h --dry-run");
}

#[test]
fn zero_age_is_rejected() {
    let server = aged_server();
    let output = server.cli(&["log", "list", "--since", "0d"], None);
    assert!(
        stderr(&output).contains("an age of 0 is the current time"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn prune_age_with_week_unit_names_units() {
    let server = aged_server();
    let output = server.cli(&["prune", "--before", "2w"], None);
    assert!(
        stderr(&output).contains("the unit 'w' of the age is not supported"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn prune_dry_run_keeps_logs() {
    let server = prune_server();
    server.cli(&["prune", "--before", "2026-06-01", "--dry-run"], None);
    let reply = server.get("/worker/log/tx-old-1", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn dry_run_takes_no_write_lock() {
    let server = prune_server();
    let holder = rusqlite::Connection::open(&server.db).expect("open the database");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let started = std::time::Instant::now();
    let output = server.cli(&["prune", "--before", "2026-06-01", "--dry-run"], None);
    assert_success(&output, "prune --dry-run");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// Runs `log delete tx-old-1` while another connection holds the write lock
/// for 2 s, and returns its output.
fn delete_behind_held_lock() -> Output {
    let server = prune_server();
    let release = common::hold_write_lock(&server.db, std::time::Duration::from_secs(2));
    let output = server.cli(&["log", "delete", "tx-old-1"], None);
    release.join().expect("lock holder");
    output
}

#[test]
fn command_behind_lock_says_it_waits() {
    let output = delete_behind_held_lock();
    assert!(
        stderr(&output).contains("waiting for another process to release its lock on the database"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn command_behind_lock_succeeds_once_released() {
    let output = delete_behind_held_lock();
    assert_success(&output, "log delete");
}

/// Commands that read a database, or delete from it, and warn when it has
/// no users and no entries.
const UNUSED_DATABASE_COMMANDS: [&[&str]; 6] = [
    &["log", "list"],
    &["user", "list"],
    &["log", "show", "tx-1"],
    &["prune", "--before", "2026-01-01"],
    &["prune", "--before", "2026-01-01", "--dry-run"],
    &["log", "delete", "tx-1"],
];

#[test]
fn unused_database_is_named_by_each_command() {
    let (_dir, db) = new_db();
    assert_success(&run_cli(&db, &["log", "list"], None), "log list");
    let expected = format!(
        "translog: warning: {} has no users and no entries, so it may not be the database you \
         meant; check --db (or TRANSLOG_DB)",
        db.display()
    );
    for args in UNUSED_DATABASE_COMMANDS {
        let output = run_cli(&db, args, None);
        assert!(
            stderr(&output).contains(&expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn new_database_gets_no_unused_warning() {
    for args in UNUSED_DATABASE_COMMANDS {
        let (_dir, db) = new_db();
        let output = run_cli(&db, args, None);
        assert!(
            !stderr(&output).contains("has no users and no entries"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn backup_of_unused_database_reports_once() {
    let (dir, db) = new_db();
    assert_success(&run_cli(&db, &["log", "list"], None), "log list");
    let copy = dir.path().join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    let reports = stderr(&output)
        .matches("has no users and no entries")
        .count();
    assert_eq!(reports, 1, "{}", stderr(&output));
}

#[test]
fn database_with_user_gets_no_unused_warning() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    for args in UNUSED_DATABASE_COMMANDS {
        let output = run_cli(&db, args, None);
        assert!(
            !stderr(&output).contains("has no users and no entries"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

/// Writes a backup, which is in SQLite's rollback-journal mode until a
/// command opens it, runs `user add` on it while another connection holds
/// its write lock for 1.5 s, and returns the output.
fn user_add_on_locked_backup() -> Output {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let copy = dir.path().join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    assert_success(&output, "backup");
    let holder = rusqlite::Connection::open(&copy).expect("open the backup");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        holder.execute_batch("ROLLBACK").expect("release the lock");
    });
    let output = add_user(&copy, "worker2", "worker");
    release.join().expect("lock holder");
    output
}

#[test]
fn command_on_locked_backup_waits_for_lock() {
    let output = user_add_on_locked_backup();
    assert_success(&output, "user add");
}

// Guarding the database file.

/// Starts a second server on `db` while one runs and checks that it stops
/// with the error that names the running server.
fn assert_second_server_rejected(db: &Path) {
    let mut command = serve_command(db);
    command.args(["--listen", "127.0.0.1:0"]);
    let output = run_command(command, None);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("another translog server"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn second_server_on_same_database_is_rejected() {
    let server = Server::start();
    assert_second_server_rejected(&server.db);
}

#[test]
fn second_server_through_symlink_is_rejected() {
    let server = Server::start();
    let alias = server.dir().join("alias.db");
    std::os::unix::fs::symlink(&server.db, &alias).expect("create a symbolic link");
    assert_second_server_rejected(&alias);
}

#[test]
fn second_server_through_hard_link_is_rejected() {
    let server = Server::start();
    let alias = server.dir().join("alias.db");
    std::fs::hard_link(&server.db, &alias).expect("create a hard link");
    assert_second_server_rejected(&alias);
}

/// Starts a server, stores an entry, and returns it with a hard link to its
/// database file.
fn served_with_hard_link() -> (Server, std::path::PathBuf) {
    let server = Server::start();
    server.post_many("tx-linked", 1);
    let alias = server.dir().join("alias.db");
    std::fs::hard_link(&server.db, &alias).expect("create a hard link");
    (server, alias)
}

#[test]
fn hard_link_backup_is_rejected() {
    let (server, alias) = served_with_hard_link();
    let copy = server.dir().join("copy.db");
    let output = run_cli(
        &alias,
        &["backup", copy.to_str().expect("UTF-8 path")],
        None,
    );
    assert_one_line_error(&output);
}

#[test]
fn hard_link_rejection_names_server_path() {
    let (server, alias) = served_with_hard_link();
    let output = run_cli(&alias, &["log", "list"], None);
    let server_path = std::fs::canonicalize(&server.db).expect("server path");
    let expected = format!("run the command with --db {}", server_path.display());
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn hard_link_serve_names_running_server() {
    let (server, alias) = served_with_hard_link();
    let mut command = serve_command(&alias);
    command.args(["--listen", "127.0.0.1:0"]);
    let output = run_command(command, None);
    let server_path = std::fs::canonicalize(&server.db).expect("server path");
    let expected = format!(
        "is using the file of database {} as {}; stop it or choose another --db",
        alias.display(),
        server_path.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn hard_link_user_add_is_rejected() {
    let (_server, alias) = served_with_hard_link();
    let output = add_user(&alias, "worker9", "worker");
    assert_one_line_error(&output);
}

#[test]
fn hard_link_after_crash_is_rejected() {
    let (server, alias) = served_with_hard_link();
    let _dir = server.crash();
    let output = run_cli(&alias, &["log", "delete", "tx-linked"], None);
    assert!(
        stderr(&output).contains("its file has 2 names (hard links), and no -wal file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn server_path_after_crash_is_read() {
    let (server, _alias) = served_with_hard_link();
    let db = server.db.clone();
    let _dir = server.crash();
    let output = run_cli(&db, &["log", "list"], None);
    assert!(stdout(&output).contains("tx-linked"), "{}", stderr(&output));
}

#[test]
fn hard_link_after_clean_stop_is_rejected() {
    let (server, alias) = served_with_hard_link();
    let (status, _dir) = server.stop();
    assert!(status.success(), "{status}");
    let output = run_cli(&alias, &["log", "list"], None);
    assert_one_line_error(&output);
}

#[test]
fn commands_during_stops_succeed() {
    let mut dir = tempfile::tempdir().expect("temporary directory");
    let mut rejected = Vec::new();
    for _ in 0..5 {
        let server = Server::start_in(dir, &[]);
        let db = server.db.clone();
        let pid = server.pid().to_string();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("run kill");
        });
        // Commands run before, during and after the stop.
        for _ in 0..30 {
            let output = run_cli(&db, &["log", "list"], None);
            if !output.status.success() {
                rejected.push(stderr(&output));
            }
        }
        stopper.join().expect("the stopping thread");
        let (_, kept) = server.wait_for_exit();
        dir = kept;
    }
    assert!(rejected.is_empty(), "{rejected:#?}");
}

/// Runs the command whose arguments `args` gives for each run number,
/// `runs` times, while servers start on `db` and stop again after `up_for`,
/// so that some start during a command's read without locks. Returns the
/// standard error of each command that failed.
fn failures_during_restarts(
    db: &Path,
    up_for: Duration,
    runs: usize,
    args: impl Fn(usize) -> Vec<String>,
) -> Vec<String> {
    let running = AtomicBool::new(true);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while running.load(Ordering::SeqCst) {
                let mut command = serve_command(db);
                command
                    .args(["--listen", "127.0.0.1:0"])
                    .stderr(std::process::Stdio::null());
                let mut child = command.spawn().expect("start a server");
                std::thread::sleep(up_for);
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let _ = child.wait();
            }
        });
        let mut failed = Vec::new();
        for number in 0..runs {
            let args = args(number);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = run_cli(db, &args, None);
            if !output.status.success() {
                failed.push(stderr(&output));
            }
        }
        running.store(false, Ordering::SeqCst);
        failed
    })
}

#[test]
fn backups_during_restarts_succeed() {
    let server = Server::start();
    server.post_many("tx-restarted", 1);
    let (_, dir) = server.stop();
    let db = dir.path().join("translog.db");
    let failed = failures_during_restarts(&db, Duration::from_millis(150), 30, |number| {
        let copy = dir.path().join(format!("copy-{number}.db"));
        vec!["backup".into(), copy.to_string_lossy().into_owned()]
    });
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn log_shows_during_restarts_succeed() {
    let server = Server::start();
    // A longer log keeps each read open long enough for a start to fall
    // inside it now and then.
    server.post_many("tx-restarted", 3000);
    let (_, dir) = server.stop();
    let db = dir.path().join("translog.db");
    let failed = failures_during_restarts(&db, Duration::from_millis(600), 60, |_| {
        vec!["log".into(), "show".into(), "tx-restarted".into()]
    });
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn serve_on_hard_linked_file_is_rejected() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    std::fs::hard_link(&db, db.with_file_name("alias.db")).expect("create a hard link");
    let mut command = serve_command(&db);
    command.args(["--listen", "127.0.0.1:0"]);
    let output = run_command(command, None);
    assert!(
        stderr(&output).contains("its file has 2 names (hard links)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn file_moved_under_server_names_stop() {
    let server = Server::start();
    server.post_many("tx-moved", 1);
    let moved = server.dir().join("moved.db");
    std::fs::rename(&server.db, &moved).expect("move the database");
    let output = run_cli(&moved, &["log", "list"], None);
    assert!(
        stderr(&output).contains("Stop that server, then follow"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn file_moved_under_server_serve_names_stop() {
    let server = Server::start();
    server.post_many("tx-moved", 1);
    let moved = server.dir().join("moved.db");
    std::fs::rename(&server.db, &moved).expect("move the database");
    let mut command = serve_command(&moved);
    command.args(["--listen", "127.0.0.1:0"]);
    let output = run_command(command, None);
    assert!(
        stderr(&output).contains("Stop that server, then follow"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn symlink_of_served_database_is_read() {
    let server = Server::start();
    server.post_many("tx-linked", 1);
    let alias = server.dir().join("alias.db");
    std::os::unix::fs::symlink(&server.db, &alias).expect("create a symbolic link");
    let output = run_cli(&alias, &["log", "list"], None);
    assert!(stdout(&output).contains("tx-linked"), "{}", stderr(&output));
}

#[test]
fn served_database_is_read_by_its_path() {
    let server = Server::start();
    server.post_many("tx-linked", 1);
    let output = run_cli(&server.db, &["log", "list"], None);
    assert!(stdout(&output).contains("tx-linked"), "{}", stderr(&output));
}

/// Holds an exclusive `flock` on `DB.lock` in a `flock` process for 30 s, as
/// a server of an older version does. The process is killed when dropped.
struct OlderServerLock(std::process::Child);

impl OlderServerLock {
    fn hold(db: &Path) -> OlderServerLock {
        let lock = format!("{}.lock", db.display());
        let mut child = Command::new("flock")
            .args(["--exclusive", &lock, "sleep", "30"])
            .spawn()
            .expect("run flock");
        let locked = common::wait_until(|| {
            Command::new("flock")
                .args(["--nonblock", &lock, "true"])
                .status()
                .is_ok_and(|status| !status.success())
        });
        if !locked {
            let _ = child.kill();
            panic!("flock did not take the lock");
        }
        OlderServerLock(child)
    }
}

impl Drop for OlderServerLock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server on a new database while an older server holds its
/// `.lock` file, and returns its output.
fn serve_beside_older_server() -> Output {
    let (_dir, db) = new_db();
    let _older = OlderServerLock::hold(&db);
    let mut command = serve_command(&db);
    command.args(["--listen", "127.0.0.1:0"]);
    run_command(command, None)
}

#[test]
fn server_beside_older_server_exits_1() {
    let output = serve_beside_older_server();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn server_beside_older_server_names_it() {
    let output = serve_beside_older_server();
    assert!(
        stderr(&output).contains("a translog server of an older version is using"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn server_through_link_beside_older_server_exits_1() {
    // Older servers named their lock file after the path with symbolic
    // links resolved, so it is beside the link's target.
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&db, &link).expect("create a symbolic link");
    let _older = OlderServerLock::hold(&db);
    let mut command = serve_command(&link);
    command.args(["--listen", "127.0.0.1:0"]);
    let output = run_command(command, None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn unused_older_lock_file_is_ignored() {
    let (dir, db) = new_db();
    std::fs::write(format!("{}.lock", db.display()), "").expect("create the lock file");
    let mut command = serve_command(&db);
    command.args(["--listen", "127.0.0.1:0"]);
    let server = Server::launch(dir, db, command);
    assert_eq!(server.get("/healthz", None).status, 200);
}

#[test]
fn relative_db_ignores_unused_older_lock() {
    let (dir, db) = new_db();
    std::fs::write(format!("{}.lock", db.display()), "").expect("create the lock file");
    let mut command = serve_command(Path::new("translog.db"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path());
    let server = Server::launch(dir, db, command);
    assert_eq!(server.get("/healthz", None).status, 200);
}

#[test]
fn database_through_dangling_symlink_is_private() {
    let (dir, _db) = new_db();
    let target = dir.path().join("target.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).expect("create a symbolic link");
    assert_success(&add_user(&link, "worker1", "worker"), "user add");
    assert_eq!(file_mode(&target), 0o600);
}

/// Creates another application's database at `db`.
fn create_foreign_database(db: &Path) {
    let other = rusqlite::Connection::open(db).expect("create a database");
    other
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        .expect("create a table");
}

#[test]
fn foreign_database_is_rejected() {
    let (_dir, db) = new_db();
    create_foreign_database(&db);
    let output = run_cli(&db, &["user", "list"], None);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("another application"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn foreign_database_keeps_its_journal_mode() {
    let (_dir, db) = new_db();
    create_foreign_database(&db);
    run_cli(&db, &["user", "list"], None);
    let other = rusqlite::Connection::open(&db).expect("open the database");
    let mode: String = other
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("read the journal mode");
    assert_eq!(mode, "delete");
}

#[test]
fn taken_port_leaves_no_database() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = holder.local_addr().expect("bound address").to_string();
    let (_dir, db) = new_db();
    let mut command = serve_command(&db);
    command.args(["--listen", &port]);
    let output = run_command(command, None);
    assert_one_line_error(&output);
    assert!(!db.exists(), "database created although the port was taken");
}

#[test]
fn admin_password_change_names_stale_credentials() {
    let server = Server::start();
    let output = server.cli(
        &["user", "passwd", "admin", "--password-stdin"],
        Some("another-password-1\n"),
    );
    assert_success(&output, "user passwd");
    assert!(
        stderr(&output).contains("still contains the former password of admin"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn other_password_change_names_no_credentials() {
    let server = Server::start();
    assert_success(&add_user(&server.db, "worker1", "worker"), "user add");
    let output = server.cli(
        &["user", "passwd", "worker1", "--password-stdin"],
        Some("another-password-1\n"),
    );
    assert!(!stderr(&output).contains("note:"), "{}", stderr(&output));
}

#[test]
fn credentials_link_is_replaced_not_followed() {
    let (dir, db) = new_db();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "keep\n").expect("write the link target");
    std::os::unix::fs::symlink(&target, credentials_path(&db)).expect("create the link");
    let server = Server::start_in(dir, &[]);
    let content = std::fs::read_to_string(&target).expect("read the link target");
    assert_eq!(content, "keep\n");
    let metadata = std::fs::symlink_metadata(credentials_path(&server.db)).expect("stat");
    assert!(metadata.is_file(), "{metadata:?}");
}

#[test]
fn credentials_link_to_directory_is_replaced() {
    let (dir, db) = new_db();
    let target = dir.path().join("elsewhere");
    std::fs::create_dir(&target).expect("create the link target");
    std::os::unix::fs::symlink(&target, credentials_path(&db)).expect("create the link");
    let server = Server::start_in(dir, &[]);
    let metadata = std::fs::symlink_metadata(credentials_path(&server.db)).expect("stat");
    assert!(metadata.is_file(), "{metadata:?}");
}

#[test]
fn unwritable_credentials_create_no_admin() {
    let (dir, db) = new_db();
    std::fs::create_dir(credentials_path(&db)).expect("create a directory in the way");
    let mut command = serve_command(&db);
    command.args(["--listen", "127.0.0.1:0"]);
    let output = run_command(command, None);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("the user admin was not created"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir(credentials_path(&db)).expect("remove the directory");
    let server = Server::start_in(dir, &[]);
    let reply = server.get("/worker/log", Some(server.admin()));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Runs `serve` on a port that another socket holds.
fn serve_on_taken_port() -> (Output, String) {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let address = holder.local_addr().expect("bound address").to_string();
    let (_dir, db) = new_db();
    let mut command = serve_command(&db);
    command.args(["--listen", &address]);
    (run_command(command, None), address)
}

#[test]
fn taken_port_exits_1() {
    let (output, _address) = serve_on_taken_port();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn taken_port_error_names_address() {
    let (output, address) = serve_on_taken_port();
    assert!(
        stderr(&output).contains(&format!("cannot listen on {address}")),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn taken_port_error_suggests_listen() {
    let (output, _address) = serve_on_taken_port();
    assert!(
        stderr(&output).contains(
            "already in use; stop the other process or choose another port with --listen"
        ),
        "stderr: {}",
        stderr(&output)
    );
}

/// Commands that open the database, with arguments that are valid apart
/// from the database path.
const DATABASE_COMMANDS: [&[&str]; 3] = [
    &["user", "add", "worker1", "--role", "worker"],
    &["user", "list"],
    &["serve", "--listen", "127.0.0.1:0"],
];

#[test]
fn directory_as_database_exits_1() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for args in DATABASE_COMMANDS {
        let output = run_cli(dir.path(), args, None);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
    }
}

#[test]
fn directory_as_database_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for args in DATABASE_COMMANDS {
        let output = run_cli(dir.path(), args, None);
        assert_one_line_error(&output);
        assert!(
            stderr(&output).contains("is a directory; give the path of a database file"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn missing_database_directory_exits_1() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("missing").join("translog.db");
    for args in [DATABASE_COMMANDS[0], DATABASE_COMMANDS[2]] {
        let output = run_cli(&db, args, None);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
    }
}

#[test]
fn missing_database_directory_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("missing");
    let db = missing.join("translog.db");
    for args in [DATABASE_COMMANDS[0], DATABASE_COMMANDS[2]] {
        let output = run_cli(&db, args, None);
        assert_one_line_error(&output);
        let expected = format!("directory {} does not exist; create it", missing.display());
        assert!(
            stderr(&output).contains(&expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn missing_database_directory_is_not_created() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("missing");
    for args in [DATABASE_COMMANDS[0], DATABASE_COMMANDS[2]] {
        run_cli(&missing.join("translog.db"), args, None);
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

#[test]
fn unopenable_database_suggests_checks() {
    let (_dir, db) = new_db();
    // A symbolic link to itself exists but cannot be opened.
    std::os::unix::fs::symlink(&db, &db).expect("create a symbolic link");
    let output = add_user(&db, "worker1", "worker");
    assert_one_line_error(&output);
    let expected = format!(
        "check that its directory {} exists and is writable by this user, who needs to create \
         the -wal and -shm files there, and that the path is a file",
        db.parent().expect("a directory").display()
    );
    assert!(
        stderr(&output).contains(&expected),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn usage_tip_follows_semicolon() {
    let mut command = Command::new(BIN);
    command.args(["log", "shwo", "tx-1"]);
    let output = run_command(command, None);
    assert_stderr_contains(
        &output,
        "unrecognized subcommand 'shwo'; tip: a similar subcommand exists: 'show'; run",
    );
}

#[test]
fn other_commands_option_names_them() {
    let mut command = Command::new(BIN);
    command.args(["log", "show", "tx-1", "--timezone", "UTC"]);
    let output = run_command(command, None);
    assert_stderr_contains(
        &output,
        "this command has no option --timezone, which `translog serve`, `translog user add`, \
         `translog log list` and `translog prune` take; run `translog log show --help`",
    );
}

#[test]
fn short_option_cluster_tip_names_argument() {
    let mut command = Command::new(BIN);
    command.args(["log", "show", "-abc"]);
    let output = run_command(command, None);
    assert_stderr_contains(&output, "tip: to pass '-abc' as a value, use '-- -abc'");
}

#[test]
fn empty_db_flag_is_named() {
    let mut command = Command::new(BIN);
    command.args(["--db", "", "user", "list"]);
    let output = run_command(command, None);
    assert_eq!(output.status.code(), Some(2));
    assert_one_line_error(&output);
    let text = stderr(&output);
    assert!(text.contains("the database path is empty"), "{text}");
    assert!(
        text.contains("such as --db /var/lib/translog/translog.db"),
        "{text}"
    );
}

/// Runs `user list` with `--db VALUE` in a new directory, and returns the
/// directory and the output.
fn user_list_with_db(value: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .args(["--db", value, "user", "list"]);
    let output = run_command(command, None);
    (dir, output)
}

#[test]
fn upper_case_outcome_option_names_lower_case() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["log", "list", "--outcome", "FATAL"], None);
    assert!(
        stderr(&output)
            .contains("invalid outcome \"FATAL\"; outcomes are lower case, so use fatal"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn direction_override_in_option_is_escaped() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &["log", "list", "--since", "2026-12-04T14:57:54\u{202e}Z"],
        None,
    );
    assert!(
        stderr(&output).contains("invalid value '2026-12-04T14:57:54\\u{202e}Z'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn zero_width_space_in_option_is_escaped() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["log", "list", "--since", "2026-12-04\u{200b}"], None);
    assert!(!stderr(&output).contains('\u{200b}'), "{}", stderr(&output));
}

/// `--db` values that are a mistake, each with the text its error contains.
const MISTAKEN_DB_PATHS: [(&str, &str); 6] = [
    ("-", "the database is a file, not standard input or output"),
    (
        "a.db\r",
        "'a.db\\r' for '--db <DB>': it contains the control character U+000D",
    ),
    (
        "a\tb.db",
        "'a\\tb.db' for '--db <DB>': it contains the control character U+0009",
    ),
    (" ", "' ' for '--db <DB>': it is only white space"),
    (
        " a.db",
        "' a.db' for '--db <DB>': it starts or ends with white space",
    ),
    (
        "a.db ",
        "'a.db ' for '--db <DB>': it starts or ends with white space",
    ),
];

#[test]
fn mistaken_db_path_exits_2() {
    for (value, _) in MISTAKEN_DB_PATHS {
        let (_dir, output) = user_list_with_db(value);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{value:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn mistaken_db_path_is_named() {
    for (value, expected) in MISTAKEN_DB_PATHS {
        let (_dir, output) = user_list_with_db(value);
        assert!(
            stderr(&output).contains(expected),
            "{value:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn mistaken_db_path_creates_no_file() {
    for (value, _) in MISTAKEN_DB_PATHS {
        let (dir, _output) = user_list_with_db(value);
        let files = std::fs::read_dir(dir.path())
            .expect("list the directory")
            .count();
        assert_eq!(files, 0, "{value:?}");
    }
}

#[test]
fn db_option_overrides_mistaken_variable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .args(["--db", "good.db", "user", "list"]);
    let output = run_command_with_env(command, &[("TRANSLOG_DB", "-")]);
    assert_success(&output, "user list");
}

#[test]
fn non_utf8_db_variable_is_named() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .args(["user", "list"])
        .env("TRANSLOG_DB", std::ffi::OsStr::from_bytes(b"b\xff.db"));
    let output = run_command(command, None);
    assert_stderr_contains(
        &output,
        "environment variable TRANSLOG_DB: invalid value 'b\u{fffd}.db' for '--db <DB>': it is \
         not valid UTF-8",
    );
}

#[test]
fn dot_slash_dash_db_is_used() {
    let (dir, output) = user_list_with_db("./-");
    assert_success(&output, "user list");
    assert!(dir.path().join("-").exists());
}

#[test]
fn blank_backup_destination_is_named() {
    let (dir, db) = new_db();
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .arg("--db")
        .arg(&db)
        .args(["backup", " "]);
    let output = run_command(command, None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_stderr_contains(
        &output,
        "invalid value ' ' for '<DEST>': it is only white space",
    );
    assert!(!dir.path().join(" ").exists());
}

#[test]
fn empty_db_variable_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TRANSLOG_DB", "")
        .current_dir(dir.path());
    let output = run_command(command, None);
    assert_eq!(output.status.code(), Some(2));
    assert_one_line_error(&output);
    let text = stderr(&output);
    assert!(text.contains("environment variable TRANSLOG_DB"), "{text}");
    assert!(text.contains("the database path is empty"), "{text}");
}

#[test]
fn non_sqlite_file_as_database_is_named() {
    let (_dir, db) = new_db();
    let content = "a text file, not a database\n".repeat(10);
    std::fs::write(&db, &content).expect("write a text file");
    for args in DATABASE_COMMANDS {
        let output = run_cli(&db, args, None);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_one_line_error(&output);
        assert!(
            stderr(&output).contains(
                "the path points to a file that is not a translog database, so check --db"
            ),
            "{args:?}: {}",
            stderr(&output)
        );
        let after = std::fs::read_to_string(&db).expect("read the text file");
        assert_eq!(after, content, "{args:?} changed the file");
    }
}

/// Runs `serve` on a new database with the open file limit set to `limit`
/// by `ulimit -n`, and returns the output and the database path.
fn serve_with_open_file_limit(limit: u32) -> (tempfile::TempDir, Output, std::path::PathBuf) {
    let (dir, db) = new_db();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$@\""))
        .args(["sh", BIN, "--db"])
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    common::clean_env(&mut command);
    let output = run_command(command, None);
    (dir, output, db)
}

#[test]
fn low_open_file_limit_suggests_ulimit() {
    // Without the check, these limits failed at different steps: the
    // runtime (5), the signal handlers with a panic (7) and the database (16).
    for limit in [5, 7, 16] {
        let (_dir, output, db) = serve_with_open_file_limit(limit);
        assert_eq!(output.status.code(), Some(1), "{limit}");
        assert_one_line_error(&output);
        let text = stderr(&output);
        let expected = format!("the open file limit of {limit} is too low for translog serve");
        assert!(text.contains(&expected), "{limit}: {text}");
        assert!(
            text.contains("raise it with ulimit -n, or with LimitNOFILE="),
            "{limit}: {text}"
        );
        assert!(!db.exists(), "{limit}: database created");
    }
}

/// Returns the permission bits of `path`.
fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(path).expect("read the file's metadata");
    metadata.permissions().mode() & 0o777
}

#[test]
fn database_file_is_private() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    assert_eq!(file_mode(&db), 0o600);
}

#[test]
fn existing_empty_database_file_is_made_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, db) = new_db();
    std::fs::write(&db, b"").expect("create an empty file");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    assert_eq!(file_mode(&db), 0o600);
}

#[test]
fn zero_max_connections_is_rejected() {
    let (_dir, db) = new_db();
    let mut command = serve_command(&db);
    command.args(["--listen", "127.0.0.1:0", "--max-connections", "0"]);
    let output = run_command(command, None);
    assert_one_line_error(&output);
}

#[test]
fn closed_pipe_ends_log_list_quietly() {
    use std::io::Read as _;
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let connection = rusqlite::Connection::open(&db).expect("open the database");
    for number in 0..1000 {
        connection
            .execute(
                "INSERT INTO transactions VALUES (?1, 1796083200, 0, 1796083200, 0,
                     'WORKER_INIT', 'SUCCESS', 'started', 1, ?2, 0, 0)",
                rusqlite::params![format!("tx-{number:04}"), number],
            )
            .expect("insert a transaction");
    }
    drop(connection);
    let mut command = Command::new(BIN);
    command
        .args(["--db", db.to_str().expect("UTF-8 path")])
        .args(["log", "list", "--json", "--limit", "1000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("run translog");
    let mut first = [0u8; 1];
    let mut pipe = child.stdout.take().expect("stdout is piped");
    pipe.read_exact(&mut first).expect("read the first byte");
    drop(pipe);
    let output = child.wait_with_output().expect("wait for translog");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}

/// Runs `backup` of a database that does not exist yet to `copy.db` beside
/// it, and returns the directory, the database path and the output.
fn backup_of_missing_database() -> (tempfile::TempDir, std::path::PathBuf, Output) {
    let (dir, db) = new_db();
    let copy = dir.path().join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    (dir, db, output)
}

#[test]
fn backup_of_missing_database_creates_it() {
    let (_dir, db, _output) = backup_of_missing_database();
    assert!(db.exists());
}

#[test]
fn backup_of_missing_database_exits_1() {
    let (_dir, _db, output) = backup_of_missing_database();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn backup_of_missing_database_writes_no_copy() {
    let (dir, _db, _output) = backup_of_missing_database();
    assert!(!dir.path().join("copy.db").exists());
}

#[test]
fn backup_of_missing_database_names_db_option() {
    let (_dir, db, output) = backup_of_missing_database();
    let expected = format!(
        "translog: error: {} has no users and no entries, so it is probably not the database \
         you meant, and nothing was written to {}; check --db (or TRANSLOG_DB)",
        db.display(),
        db.with_file_name("copy.db").display()
    );
    assert_stderr_contains(&output, &expected);
}

#[test]
fn backup_of_database_with_user_only_is_written() {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let copy = dir.path().join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    assert_success(&output, "backup");
    assert!(copy.exists());
}

#[test]
fn log_list_of_missing_database_is_empty() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["log", "list"], None);
    assert_success(&output, "log list");
    assert!(db.exists());
}

// Every command creates the database and its schema on first use.

/// Returns every command that writes except `serve`, with arguments that
/// are valid apart from the database.
fn writing_commands() -> Vec<Vec<String>> {
    let commands: [&[&str]; 8] = [
        &["user", "add", "worker1", "--role", "worker"],
        &["user", "passwd", "worker1"],
        &["user", "disable", "worker1"],
        &["user", "enable", "worker1"],
        &["user", "remove", "worker1"],
        &["user", "set-timezone", "worker1", "UTC"],
        &["user", "set-role", "worker1", "admin"],
        &["prune", "--before", "2026-01-01"],
    ];
    commands
        .iter()
        .map(|args| args.iter().map(|arg| arg.to_string()).collect())
        .collect()
}

/// Returns every command that only reads, with arguments that are valid
/// apart from the database. `backup` writes its copy into `copies`.
fn read_only_commands(copies: &Path) -> Vec<Vec<String>> {
    let copy = copies.join("copy.db");
    let copy = copy.to_str().expect("UTF-8 path");
    let commands: [&[&str]; 5] = [
        &["user", "list"],
        &["log", "show", "tx-1"],
        &["log", "list"],
        &["backup", copy],
        &["prune", "--before", "2026-01-01", "--dry-run"],
    ];
    commands
        .iter()
        .map(|args| args.iter().map(|arg| arg.to_string()).collect())
        .collect()
}

/// Returns every command except `serve`: those that write, then those that
/// only read.
fn every_command(copies: &Path) -> Vec<Vec<String>> {
    let mut commands = writing_commands();
    commands.extend(read_only_commands(copies));
    commands
}

fn run_args(db: &Path, args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_cli(db, &args, None)
}

#[test]
fn missing_database_is_created_by_each_command() {
    let copies = tempfile::tempdir().expect("temporary directory");
    for command in every_command(copies.path()) {
        let (_dir, db) = new_db();
        run_args(&db, &command);
        assert!(db.exists(), "{command:?} did not create {}", db.display());
    }
}

#[test]
fn missing_database_creation_is_reported() {
    let copies = tempfile::tempdir().expect("temporary directory");
    for command in every_command(copies.path()) {
        let (_dir, db) = new_db();
        let output = run_args(&db, &command);
        let expected = format!("created database {} with its schema", db.display());
        assert!(
            stderr(&output).contains(&expected),
            "{command:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn reading_new_database_points_at_db_option() {
    let copies = tempfile::tempdir().expect("temporary directory");
    let backup = copies.path().join("backup.db");
    let commands: [&[&str]; 4] = [
        &["log", "list"],
        &["user", "list"],
        &["backup", backup.to_str().expect("a UTF-8 path")],
        &["prune", "--before", "2026-12-01", "--dry-run"],
    ];
    for command in commands {
        let (_dir, db) = new_db();
        let output = run_cli(&db, command, None);
        assert!(
            stderr(&output).contains("the new database is empty"),
            "{command:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn missing_directory_error_says_database_is_missing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("missing").join("translog.db");
    let output = run_cli(&db, &["log", "list"], None);
    assert!(
        stderr(&output).contains("no database exists at this path"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_directory_fails_read_only_command() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("missing").join("translog.db");
    let output = run_cli(&db, &["log", "list"], None);
    assert!(
        stderr(&output).contains("does not exist; create it or check --db"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn existing_database_creation_not_reported() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = run_cli(&db, &["user", "list"], None);
    assert!(
        !stderr(&output).contains("created database"),
        "{}",
        stderr(&output)
    );
}

/// Creates an empty file at `db`, as `touch` does.
fn create_empty_file(db: &Path) {
    std::fs::File::create(db).expect("create an empty file");
}

#[test]
fn empty_file_gets_schema_from_each_command() {
    let copies = tempfile::tempdir().expect("temporary directory");
    for command in every_command(copies.path()) {
        let (_dir, db) = new_db();
        create_empty_file(&db);
        run_args(&db, &command);
        let size = std::fs::metadata(&db)
            .expect("read the file's metadata")
            .len();
        assert!(size > 0, "{command:?} left the empty file empty");
    }
}

#[test]
fn empty_file_log_list_succeeds() {
    let (_dir, db) = new_db();
    create_empty_file(&db);
    let output = run_cli(&db, &["log", "list"], None);
    assert_success(&output, "log list");
}

#[test]
fn log_list_leaves_backup_unchanged() {
    let server = logged_server();
    let copy = server.dir().join("copy.db");
    let output = server.cli(&["backup", copy.to_str().expect("UTF-8 path")], None);
    assert_success(&output, "backup");
    let before = std::fs::read(&copy).expect("read the copy");
    let output = run_cli(&copy, &["log", "list"], None);
    assert_success(&output, "log list");
    let after = std::fs::read(&copy).expect("read the copy");
    assert!(after == before, "log list changed the copy");
    assert!(!server.dir().join("copy.db-wal").exists());
}

#[test]
fn user_add_initialises_empty_file() {
    let (_dir, db) = new_db();
    create_empty_file(&db);
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(text.contains("worker1"), "{text}");
}

#[test]
fn serve_initialises_empty_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    create_empty_file(&dir.path().join("translog.db"));
    let server = Server::start_in(dir, &[]);
    let reply = server.get("/healthz", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Returns what `translog COMMAND --help` prints.
fn help_text(command: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(command)
        .arg("--help")
        .output()
        .expect("run translog");
    stdout(&output)
}

#[test]
fn db_help_says_created_on_first_use() {
    let commands: [&[&str]; 14] = [
        &["serve"],
        &["user", "add"],
        &["user", "list"],
        &["user", "passwd"],
        &["user", "disable"],
        &["user", "enable"],
        &["user", "remove"],
        &["user", "set-timezone"],
        &["user", "set-role"],
        &["log", "show"],
        &["log", "list"],
        &["backup"],
        &["prune"],
        &[],
    ];
    for command in commands {
        let text = help_text(command);
        assert!(
            text.contains("created with its schema on first use"),
            "{command:?}: {text}"
        );
    }
}

// Invalid option values.

/// Commands with one invalid value each, as `(arguments, option, value)`.
/// The error must name `option` and `value`.
const INVALID_VALUES: [(&[&str], &str, &str); 26] = [
    (&["log", "show", "bad id!"], "<TRANSACTION_ID>", "bad id!"),
    (&["log", "show", ""], "<TRANSACTION_ID>", ""),
    (
        &["log", "list", "--since", "yesterday"],
        "--since",
        "yesterday",
    ),
    (
        &["log", "list", "--until", "2026-02-30"],
        "--until",
        "2026-02-30",
    ),
    (
        &[
            "log",
            "list",
            "--since",
            "2026-03-29T02:30",
            "--timezone",
            "Europe/Berlin",
        ],
        "--since",
        "2026-03-29T02:30",
    ),
    (
        &["log", "list", "--outcome", "failed"],
        "--outcome",
        "failed",
    ),
    (&["log", "list", "--limit", "0"], "--limit", "0"),
    (&["log", "list", "--cursor", "zzz"], "--cursor", "zzz"),
    (
        &["log", "list", "--timezone", "Mars/Olympus"],
        "--timezone",
        "Mars/Olympus",
    ),
    (
        &["log", "show", "tx-1", "--stall-after", "soon"],
        "--stall-after",
        "soon",
    ),
    (&["prune", "--before", "garbage"], "--before", "garbage"),
    (
        &[
            "prune",
            "--before",
            "1970-01-01",
            "--timezone",
            "Europe/Berlin",
        ],
        "--before",
        "1970-01-01",
    ),
    (
        &[
            "prune",
            "--before",
            "2026-01-01",
            "--timezone",
            "Mars/Olympus",
        ],
        "--timezone",
        "Mars/Olympus",
    ),
    (
        &["user", "add", "bad:name", "--role", "worker"],
        "<NAME>",
        "bad:name",
    ),
    (
        &["user", "add", "worker2", "--role", "boss"],
        "--role",
        "boss",
    ),
    (
        &[
            "user",
            "add",
            "worker2",
            "--role",
            "worker",
            "--timezone",
            "Nowhere",
        ],
        "--timezone",
        "Nowhere",
    ),
    (
        &["user", "set-timezone", "worker1", "Moon/Base"],
        "<ZONE>",
        "Moon/Base",
    ),
    (&["serve", "--listen", "localhost"], "--listen", "localhost"),
    (&["serve", "--stall-after", "0s"], "--stall-after", "0s"),
    (&["serve", "--read-timeout", "ten"], "--read-timeout", "ten"),
    (
        &["serve", "--trusted-proxy", "localhost"],
        "--trusted-proxy",
        "localhost",
    ),
    (
        &["serve", "--max-connections", "0"],
        "--max-connections",
        "0",
    ),
    // Values that start with a hyphen reach the value parser instead of
    // being taken for an unknown option.
    (&["serve", "--stall-after", "-1s"], "--stall-after", "-1s"),
    (&["serve", "--read-timeout", "-5"], "--read-timeout", "-5"),
    (
        &["serve", "--max-connections", "-1"],
        "--max-connections",
        "-1",
    ),
    (&["log", "list", "--since", "-5"], "--since", "-5"),
];

/// Runs each of [`INVALID_VALUES`] on an existing database, so that only the
/// value can fail the command.
fn run_invalid_values() -> Vec<(&'static [&'static str], &'static str, &'static str, Output)> {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    INVALID_VALUES
        .iter()
        .map(|&(args, option, value)| (args, option, value, run_cli(&db, args, None)))
        .collect()
}

#[test]
fn invalid_values_exit_with_status_2() {
    for (args, _, _, output) in run_invalid_values() {
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn invalid_value_errors_are_one_line() {
    for (args, _, _, output) in run_invalid_values() {
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "{args:?}: {text:?}");
    }
}

#[test]
fn invalid_value_errors_name_option() {
    for (args, option, _, output) in run_invalid_values() {
        let text = stderr(&output);
        assert!(text.contains(option), "{args:?}: {text}");
    }
}

#[test]
fn invalid_value_errors_name_value() {
    for (args, _, value, output) in run_invalid_values() {
        let text = stderr(&output);
        assert!(text.contains(&format!("'{value}'")), "{args:?}: {text}");
    }
}

/// Values that clap's parser accepts but a later check rejects, as
/// `(arguments, option)`. The first one is rejected by clap itself, which
/// shows the form. Each error must quote `option` as clap's errors do.
const VALUES_CHECKED_AFTER_PARSING: [(&[&str], &str); 5] = [
    (&["prune", "--before", "garbage"], "'--before <BEFORE>'"),
    (&["prune", "--before", "2099-01-01"], "'--before <BEFORE>'"),
    (
        &[
            "prune",
            "--before",
            "1970-01-01",
            "--timezone",
            "Europe/Berlin",
        ],
        "'--before <BEFORE>'",
    ),
    (
        &[
            "log",
            "list",
            "--since",
            "2026-03-29T02:30",
            "--timezone",
            "Europe/Berlin",
        ],
        "'--since <SINCE>'",
    ),
    (
        &[
            "log",
            "list",
            "--until",
            "2026-03-29T02:30",
            "--timezone",
            "Europe/Berlin",
        ],
        "'--until <UNTIL>'",
    ),
];

#[test]
fn checked_values_name_option_as_clap() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    for (args, option) in VALUES_CHECKED_AFTER_PARSING {
        let output = run_cli(&db, args, None);
        let text = stderr(&output);
        assert!(text.contains(&format!(" for {option}")), "{args:?}: {text}");
    }
}

#[test]
fn invalid_transaction_id_lists_characters() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = run_cli(&db, &["log", "show", "bad id!"], None);
    assert!(
        stderr(&output).contains("use only ASCII letters, digits and - _ . : ~"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn empty_transaction_id_states_length() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = run_cli(&db, &["log", "show", ""], None);
    assert!(
        stderr(&output).contains("use 1 to 128 ASCII letters"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn long_transaction_id_states_length() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let id = "a".repeat(129);
    let output = run_cli(&db, &["log", "show", &id], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("use 1 to 128 ASCII letters"),
        "stderr: {}",
        stderr(&output)
    );
}

/// Runs `serve` on a new database with `args` after `--listen 127.0.0.1:0`.
fn serve_with(args: &[&str]) -> Output {
    let (_dir, db) = new_db();
    let mut command = serve_command(&db);
    command.args(["--listen", "127.0.0.1:0"]).args(args);
    run_command(command, None)
}

#[test]
fn zero_stall_after_exits_2() {
    let output = serve_with(&["--stall-after", "0"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn zero_stall_after_states_minimum() {
    let output = serve_with(&["--stall-after", "0"]);
    assert!(
        stderr(&output).contains("too short; the minimum is 1 second (1s)"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn zero_read_timeout_variable_states_minimum() {
    let output = run_with_variable(&["serve"], "TRANSLOG_READ_TIMEOUT", "0s");
    assert!(
        stderr(&output).contains("too short; the minimum is 1 second (1s)"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn huge_stall_after_is_too_large() {
    let output = serve_with(&["--stall-after", "999999999999999999d"]);
    assert!(
        stderr(&output).contains("is too large; the maximum is"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn huge_durations_state_usable_maximum() {
    let cases = [
        ("999999999999999d", "106751d"),
        ("2562048h", "2562047h"),
        ("153722868m", "153722867m"),
        ("99999999999999999999s", "9223372036s"),
        ("9223372037", "9223372036 seconds"),
    ];
    for (value, maximum) in cases {
        let output = serve_with(&["--stall-after", value]);
        assert_eq!(output.status.code(), Some(2), "{value}");
        assert!(
            stderr(&output).contains(&format!("is too large; the maximum is {maximum}")),
            "{value}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn maximum_stall_after_is_accepted() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = run_cli(&db, &["log", "list", "--stall-after", "106751d"], None);
    assert_success(&output, "log list --stall-after 106751d");
}

/// Durations with an upper-case unit, and the value that the error suggests.
const UPPER_CASE_DURATIONS: [(&str, &str); 4] =
    [("6H", "6h"), ("6D", "6d"), ("90S", "90s"), ("30M", "30m")];

#[test]
fn upper_case_stall_after_names_lower_case() {
    for (value, expected) in UPPER_CASE_DURATIONS {
        let output = serve_with(&["--stall-after", value]);
        let hint = format!("units are lower case, so use {expected}");
        assert!(
            stderr(&output).contains(&hint),
            "{value}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn upper_case_stall_after_exits_2() {
    for (value, _) in UPPER_CASE_DURATIONS {
        let output = serve_with(&["--stall-after", value]);
        assert_eq!(output.status.code(), Some(2), "{value}");
    }
}

#[test]
fn upper_case_read_timeout_names_lower_case() {
    let output = serve_with(&["--read-timeout", "10S"]);
    assert_stderr_contains(&output, "units are lower case, so use 10s");
}

#[test]
fn upper_case_log_stall_after_names_lower_case() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let cases: [&[&str]; 2] = [
        &["log", "list", "--stall-after", "6H"],
        &["log", "show", "tx-1", "--stall-after", "6H"],
    ];
    for args in cases {
        let output = run_cli(&db, args, None);
        assert!(
            stderr(&output).contains("units are lower case, so use 6h"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn upper_case_duration_variables_name_lower_case() {
    let cases = [
        ("TRANSLOG_STALL_AFTER", "6H", "6h"),
        ("TRANSLOG_READ_TIMEOUT", "10S", "10s"),
    ];
    for (variable, value, expected) in cases {
        let output = run_with_variable(&["serve", "--listen", "127.0.0.1:0"], variable, value);
        let hint = format!("units are lower case, so use {expected}");
        assert!(
            stderr(&output).contains(&hint),
            "{variable}={value}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn usage_error_names_subcommand_help() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["prune", "--before", "nonsense"],
            "run `translog prune --help`",
        ),
        (
            &["user", "add", "bad name", "--role", "worker"],
            "run `translog user add --help`",
        ),
        (&["no-such-command"], "run `translog --help`"),
    ];
    for (args, expected) in cases {
        let (_dir, db) = new_db();
        let output = run_cli(&db, args, None);
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn invalid_max_connections_exit_2() {
    for value in ["abc", "0", "4294967296"] {
        let output = serve_with(&["--max-connections", value]);
        assert_eq!(output.status.code(), Some(2), "{value}");
    }
}

#[test]
fn invalid_max_connections_state_range() {
    for value in ["abc", "0", "4294967296"] {
        let output = serve_with(&["--max-connections", value]);
        assert!(
            stderr(&output).contains("use a whole number from 1 to 4294967295"),
            "{value}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn invalid_since_lists_accepted_forms() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let output = run_cli(&db, &["log", "list", "--since", "yesterday"], None);
    assert!(
        stderr(&output).contains("RFC 3339 such as `2026-12-04T14:57:54+01:00`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn skipped_local_time_names_zone() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let args = [
        "log",
        "list",
        "--since",
        "2026-03-29T02:30",
        "--timezone",
        "Europe/Berlin",
    ];
    let output = run_cli(&db, &args, None);
    assert!(
        stderr(&output).contains("does not exist in Europe/Berlin"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn date_alone_after_midnight_gap_is_accepted() {
    // Clocks in Chile jump from 00:00 to 01:00 on 2026-09-06, so the day starts at 01:00.
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let args = [
        "log",
        "list",
        "--since",
        "2026-09-06",
        "--timezone",
        "America/Santiago",
    ];
    assert_success(&run_cli(&db, &args, None), "log list");
}

#[test]
fn skipped_day_names_zone() {
    // Samoa skipped 2011-12-30 when it moved from -10:00 to +14:00.
    let (_dir, db) = new_db();
    let args = [
        "prune",
        "--before",
        "2011-12-30",
        "--timezone",
        "Pacific/Apia",
    ];
    let output = run_cli(&db, &args, None);
    assert!(
        stderr(&output).contains("day 2011-12-30 does not exist in Pacific/Apia"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn invalid_value_fails_before_database_check() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["prune", "--before", "garbage"], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!db.exists());
}

#[test]
fn set_timezone_none_reports_cleared() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let set = run_cli(
        &db,
        &["user", "set-timezone", "worker1", "Asia/Tokyo"],
        None,
    );
    assert_success(&set, "user set-timezone");
    let output = run_cli(&db, &["user", "set-timezone", "worker1", "none"], None);
    assert!(
        stderr(&output)
            .contains("cleared the time zone of worker1; the server's --timezone now applies"),
        "stderr: {}",
        stderr(&output)
    );
}

#[test]
fn set_timezone_reports_zone() {
    let (_dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let output = run_cli(
        &db,
        &["user", "set-timezone", "worker1", "Asia/Tokyo"],
        None,
    );
    assert_eq!(
        stderr(&output),
        "set the time zone of worker1 to Asia/Tokyo\n"
    );
}

#[test]
fn set_timezone_none_clears_zone() {
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    run_cli(
        &db,
        &["user", "set-timezone", "worker1", "Asia/Tokyo"],
        None,
    );
    let output = run_cli(&db, &["user", "set-timezone", "worker1", "none"], None);
    assert_success(&output, "user set-timezone none");
    let text = stdout(&run_cli(&db, &["user", "list"], None));
    assert!(!text.contains("Asia/Tokyo"), "{text}");
}

// Invalid values from environment variables.

/// Each variable with an invalid value, and a command that reads it.
const INVALID_VARIABLES: [(&str, &str, &[&str]); 6] = [
    ("TRANSLOG_LISTEN", "garbage", &["serve"]),
    ("TRANSLOG_TIMEZONE", "Mars/Olympus", &["serve"]),
    ("TRANSLOG_STALL_AFTER", "soon", &["serve"]),
    ("TRANSLOG_READ_TIMEOUT", "0s", &["serve"]),
    ("TRANSLOG_MAX_CONNECTIONS", "0", &["serve"]),
    ("TRANSLOG_DB", "", &["user", "list"]),
];

/// Runs `translog ARGS` in a new temporary directory with `variable` set to
/// `value` and no other TRANSLOG_* variable.
fn run_with_variable(args: &[&str], variable: &str, value: &str) -> Output {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir.path())
        .env(variable, value);
    run_command(command, None)
}

#[test]
fn invalid_variables_exit_with_status_2() {
    for (variable, value, args) in INVALID_VARIABLES {
        let output = run_with_variable(args, variable, value);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{variable}={value:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn invalid_variable_errors_are_one_line() {
    for (variable, value, args) in INVALID_VARIABLES {
        let text = stderr(&run_with_variable(args, variable, value));
        assert_eq!(text.lines().count(), 1, "{variable}={value:?}: {text:?}");
    }
}

#[test]
fn invalid_variable_errors_name_variable() {
    for (variable, value, args) in INVALID_VARIABLES {
        let text = stderr(&run_with_variable(args, variable, value));
        assert!(
            text.contains(&format!("environment variable {variable}:")),
            "{variable}={value:?}: {text}"
        );
    }
}

#[test]
fn invalid_listen_variable_error_names_option() {
    let text = stderr(&run_with_variable(&["serve"], "TRANSLOG_LISTEN", "garbage"));
    assert!(text.contains("'--listen <LISTEN>'"), "{text}");
}

#[test]
fn invalid_flag_error_names_no_variable() {
    let output = run_with_variable(
        &["serve", "--listen", "localhost"],
        "TRANSLOG_LISTEN",
        "garbage",
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("TRANSLOG_LISTEN"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn flag_with_variable_value_names_no_variable() {
    // The flag and the variable have the same invalid value, and clap uses the flag's.
    let output = run_with_variable(
        &["serve", "--listen", "garbage"],
        "TRANSLOG_LISTEN",
        "garbage",
    );
    assert!(
        !stderr(&output).contains("TRANSLOG_LISTEN"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unused_invalid_variable_is_ignored() {
    // Only `serve` reads TRANSLOG_LISTEN, so `prune` must not fail on it.
    let (_dir, db) = new_db();
    add_user(&db, "worker1", "worker");
    let mut command = Command::new(BIN);
    command
        .arg("--db")
        .arg(&db)
        .args(["prune", "--before", "2026-01-01"])
        .env("TRANSLOG_LISTEN", "garbage");
    assert_success(&run_command(command, None), "prune");
}

// Paths through a plain file, and the read timeout's upper bound.

/// Returns a temporary directory with a plain file `file` in it.
fn dir_with_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a directory").expect("write file");
    (dir, file)
}

#[test]
fn db_under_file_exits_1() {
    let (_dir, file) = dir_with_file();
    let output = add_user(&file.join("translog.db"), "worker1", "worker");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn db_under_file_says_not_directory() {
    let (_dir, file) = dir_with_file();
    let output = add_user(&file.join("translog.db"), "worker1", "worker");
    let expected = format!("{} is a file, not a directory", file.display());
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn backup_under_file_explains() {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a directory").expect("write file");
    let copy = file.join("copy.db");
    let output = run_cli(&db, &["backup", copy.to_str().expect("UTF-8 path")], None);
    let expected = format!(
        "{} is a file, not a directory; choose a path in a directory",
        file.display()
    );
    assert_stderr_contains(&output, &expected);
}

#[test]
fn huge_read_timeout_exits_2() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--read-timeout",
            "9223372036854775807s",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn huge_read_timeout_names_maximum() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &["serve", "--listen", "127.0.0.1:0", "--read-timeout", "2d"],
        None,
    );
    assert!(
        stderr(&output).contains("the maximum is 1d (86400s)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn maximum_read_timeout_serves() {
    let server = Server::start_with(&["--read-timeout", "1d"]);
    let reply = server.post_entry(
        "tx-1",
        "timestamp=2026-12-04T14:57:54Z&stage=WORKER_INIT&status=SUCCESS",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn foreign_listen_address_explains() {
    let (_dir, db) = new_db();
    let output = run_cli(&db, &["serve", "--listen", "192.0.2.1:0"], None);
    assert!(
        stderr(&output).contains("the IP address is not one of this machine's"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn whitespace_password_is_error() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--password-stdin",
        ],
        Some("   \n"),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn whitespace_password_creates_nothing() {
    let (_dir, db) = new_db();
    run_cli(
        &db,
        &[
            "user",
            "add",
            "worker1",
            "--role",
            "worker",
            "--password-stdin",
        ],
        Some("   \n"),
    );
    assert!(!db.exists());
}

// A working directory that the user may not search.

/// A working directory that the user who runs translog may not search,
/// where translog runs without `--db`. As root, the directory is root's
/// with mode 0700, and translog runs as [`NOBODY`] through `setpriv`, which
/// enters the directory before it gives up root. As another user, `sh`
/// enters its own directory and sets its mode to 0 before it starts
/// translog.
struct ClosedDirectory {
    /// Contains `closed` and, as root, the binary. Removed when dropped.
    _parent: tempfile::TempDir,
    closed: std::path::PathBuf,
    bin: std::path::PathBuf,
}

impl ClosedDirectory {
    /// Prepares the directory. Returns `None` when running as root and
    /// `setpriv` cannot run the binary as `nobody`, after [`common::skip`],
    /// which fails the test where `CI` is set.
    fn new() -> Option<ClosedDirectory> {
        let parent = tempfile::tempdir().expect("temporary directory");
        let closed = parent.path().join("closed");
        std::fs::create_dir(&closed).expect("create the directory");
        if !running_as_root() {
            let bin = std::path::PathBuf::from(BIN);
            return Some(ClosedDirectory {
                _parent: parent,
                closed,
                bin,
            });
        }

        set_mode(parent.path(), 0o755);
        set_mode(&closed, 0o700);
        // `nobody` may not reach the build directory.
        let bin = parent.path().join("translog");
        if std::fs::hard_link(BIN, &bin).is_err() {
            std::fs::copy(BIN, &bin).expect("copy the binary");
        }
        let directory = ClosedDirectory {
            _parent: parent,
            closed,
            bin,
        };

        match directory.command(&["--version"]).output() {
            Ok(output) if output.status.success() => Some(directory),
            Ok(output) => {
                common::skip(&format!(
                    "setpriv cannot run translog as nobody: {}",
                    stderr(&output).trim_end()
                ));
                None
            }
            Err(error) => {
                common::skip(&format!(
                    "cannot run setpriv ({error}), which switches to nobody"
                ));
                None
            }
        }
    }

    /// Builds `translog ARGS`, run in the closed directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = if running_as_root() {
            let mut command = Command::new("setpriv");
            command.args([
                format!("--reuid={NOBODY}"),
                format!("--regid={NOBODY}"),
                "--clear-groups".to_string(),
            ]);
            command.arg(&self.bin);
            command
        } else {
            let mut command = Command::new("sh");
            command
                .args(["-c", "chmod 0 . && exec \"$0\" \"$@\""])
                .arg(&self.bin);
            command
        };
        command.args(args).current_dir(&self.closed);
        command
    }

    /// Runs `translog ARGS` in the closed directory.
    fn run(&self, args: &[&str]) -> Output {
        self.run_prepared(self.command(args))
    }

    /// Runs `command`, built by [`ClosedDirectory::command`].
    fn run_prepared(&self, command: Command) -> Output {
        // As another user than root, the previous run closed the directory,
        // and the next one must enter it before it closes it again.
        set_mode(&self.closed, 0o700);
        run_command(command, None)
    }

    /// Returns how the error names the user who runs translog.
    fn user(&self) -> String {
        if running_as_root() {
            return "user nobody".to_string();
        }
        let output = Command::new("id").arg("-un").output().expect("run id");
        format!("user {}", stdout(&output).trim_end())
    }
}

impl Drop for ClosedDirectory {
    fn drop(&mut self) {
        set_mode(&self.closed, 0o700);
    }
}

/// Commands that open the database, given without `--db`.
const COMMANDS_WITHOUT_DB: [&[&str]; 5] = [
    &["user", "list"],
    &["user", "add", "worker1", "--role", "worker"],
    &["log", "list"],
    &["prune", "--before", "2026-01-01"],
    &["serve", "--listen", "127.0.0.1:0"],
];

/// Asserts that each of [`COMMANDS_WITHOUT_DB`], run in `directory`,
/// prints `expected` on standard error.
fn assert_each_command_prints(directory: &ClosedDirectory, expected: &str) {
    assert_each_prints(&COMMANDS_WITHOUT_DB, |args| directory.run(args), expected);
}

/// Asserts that each of `commands`, run by `run`, prints `expected` on
/// standard error.
fn assert_each_prints(commands: &[&[&str]], run: impl Fn(&[&str]) -> Output, expected: &str) {
    for args in commands {
        let output = run(args);
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn closed_working_directory_is_named() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let expected = format!(
        "has no search permission on directory {}",
        directory.closed.display()
    );
    assert_each_command_prints(&directory, &expected);
}

#[test]
fn closed_working_directory_names_user() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let expected = format!("{} has no search permission", directory.user());
    assert_each_command_prints(&directory, &expected);
}

#[test]
fn closed_working_directory_suggests_db_option() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let expected = "pass the database's path with --db (or TRANSLOG_DB)";
    assert_each_command_prints(&directory, expected);
}

#[test]
fn closed_working_directory_is_one_line() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    for args in COMMANDS_WITHOUT_DB {
        let output = directory.run(args);
        assert_one_line_error(&output);
    }
}

#[test]
fn closed_directory_above_database_is_named() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let db = directory.closed.join("data").join("translog.db");
    let db = db.to_str().expect("UTF-8 path");
    let output = directory.run(&["--db", db, "log", "list"]);
    let expected = format!(
        "no search permission on directory {};",
        directory.closed.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

/// Returns the path of a database below the closed directory of
/// `directory`, as a string for an argument or a variable.
fn database_below(directory: &ClosedDirectory) -> String {
    let db = directory.closed.join("data").join("translog.db");
    db.to_str().expect("UTF-8 path").to_string()
}

#[test]
fn closed_directory_db_option_advice() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let output = directory.run(&["--db", &database_below(&directory), "log", "list"]);
    let expected = "check the path given with --db and this user's access to it";
    assert!(stderr(&output).contains(expected), "{}", stderr(&output));
}

#[test]
fn closed_directory_skips_db_advice() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let output = directory.run(&["--db", &database_below(&directory), "log", "list"]);
    assert!(
        !stderr(&output).contains("pass the database's path"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn closed_directory_late_db_option_advice() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let output = directory.run(&["log", "list", "--db", &database_below(&directory)]);
    let expected = "check the path given with --db and this user's access to it";
    assert!(stderr(&output).contains(expected), "{}", stderr(&output));
}

#[test]
fn closed_directory_db_variable_advice() {
    let Some(directory) = ClosedDirectory::new() else {
        return;
    };
    let mut command = directory.command(&["log", "list"]);
    command.env("TRANSLOG_DB", database_below(&directory));
    let output = directory.run_prepared(command);
    let expected = "check the path given with TRANSLOG_DB and this user's access to it";
    assert!(stderr(&output).contains(expected), "{}", stderr(&output));
}

// A working directory that the user may search but not write.

/// An empty working directory that the user who runs translog may search
/// but not write, where translog runs without `--db`, as in `/`. As root,
/// the directory stays root's, with mode 0755, and translog runs as
/// [`NOBODY`]. As another user, the directory's mode is 0555.
struct UnwritableDirectory {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
}

impl UnwritableDirectory {
    /// Prepares the directory. Returns `None` when running as root and
    /// `nobody` cannot run the binary, after [`common::skip`], which fails
    /// the test where `CI` is set.
    fn new() -> Option<UnwritableDirectory> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let bin = if running_as_root() {
            set_mode(dir.path(), 0o755);
            link_binary(dir.path())
        } else {
            set_mode(dir.path(), 0o555);
            std::path::PathBuf::from(BIN)
        };
        let directory = UnwritableDirectory { dir, bin };
        let runs = directory
            .command(&["--version"])
            .output()
            .is_ok_and(|output| output.status.success());
        if !runs {
            common::skip(&format!("nobody cannot run {}", directory.bin.display()));
            return None;
        }
        Some(directory)
    }

    /// Builds `translog ARGS`, run in the directory.
    fn command(&self, args: &[&str]) -> Command {
        use std::os::unix::process::CommandExt as _;
        let mut command = Command::new(&self.bin);
        command.args(args).current_dir(self.dir.path());
        if running_as_root() {
            command.uid(NOBODY).gid(NOBODY);
        }
        command
    }

    /// Runs `translog ARGS` in the directory.
    fn run(&self, args: &[&str]) -> Output {
        run_command(self.command(args), None)
    }

    /// Returns the absolute path of the default database in the directory.
    fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("translog.db")
    }
}

impl Drop for UnwritableDirectory {
    fn drop(&mut self) {
        set_mode(self.dir.path(), 0o700);
    }
}

/// Commands that only read, given without `--db`.
const READ_COMMANDS_WITHOUT_DB: [&[&str]; 5] = [
    &["user", "list"],
    &["log", "list"],
    &["log", "show", "tx-1"],
    &["backup", "/nonexistent/copy.db"],
    &["prune", "--before", "2026-01-01", "--dry-run"],
];

/// Asserts that each of [`READ_COMMANDS_WITHOUT_DB`], run in `directory`,
/// prints `expected` on standard error.
fn assert_each_read_prints(directory: &UnwritableDirectory, expected: &str) {
    assert_each_prints(
        &READ_COMMANDS_WITHOUT_DB,
        |args| directory.run(args),
        expected,
    );
}

#[test]
fn unwritable_directory_read_names_absolute_path() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    let expected = format!("cannot open database {}:", directory.database().display());
    assert_each_read_prints(&directory, &expected);
}

#[test]
fn unwritable_directory_read_says_database_is_missing() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    assert_each_read_prints(&directory, ": no database exists at this path, and ");
}

#[test]
fn unwritable_directory_read_asks_for_no_write_access() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    for args in READ_COMMANDS_WITHOUT_DB {
        let output = directory.run(args);
        assert!(
            !stderr(&output).contains("writable"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn unwritable_directory_read_suggests_db_option() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    let expected = "pass the path of an existing database with --db (or TRANSLOG_DB)";
    assert_each_read_prints(&directory, expected);
}

#[test]
fn unwritable_directory_read_is_one_line() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    for args in READ_COMMANDS_WITHOUT_DB {
        assert_one_line_error(&directory.run(args));
    }
}

#[test]
fn unwritable_directory_write_names_directory() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    let output = directory.run(&["user", "add", "worker1", "--role", "worker"]);
    let expected = format!(
        "may not create files in directory {};",
        directory.dir.path().display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn unwritable_directory_db_option_advice() {
    let Some(directory) = UnwritableDirectory::new() else {
        return;
    };
    let db = directory.database();
    let db = db.to_str().expect("UTF-8 path");
    let output = directory.run(&["--db", db, "log", "list"]);
    assert!(
        stderr(&output).ends_with("; check the path given with --db\n"),
        "{}",
        stderr(&output)
    );
}

/// Creates a database in the directory of `directory` that the user who
/// runs translog there may write, without `-wal` and `-shm` files, and runs
/// `serve` on it as that user. Panics instead of skipping under CI.
fn serve_in_unwritable_directory() -> Option<(UnwritableDirectory, Output)> {
    run_in_unwritable_directory(&["serve", "--listen", "127.0.0.1:0"])
}

/// Runs `translog --db DB ARGS` as [`serve_in_unwritable_directory`] runs
/// `serve`.
fn run_in_unwritable_directory(args: &[&str]) -> Option<(UnwritableDirectory, Output)> {
    let Some(directory) = UnwritableDirectory::new() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot run translog as another user on the CI machine"
        );
        return None;
    };
    let db = directory.database();
    if !running_as_root() {
        set_mode(directory.dir.path(), 0o755);
    }
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    if running_as_root() {
        std::os::unix::fs::chown(&db, Some(NOBODY), Some(NOBODY)).expect("chown");
    } else {
        set_mode(directory.dir.path(), 0o555);
    }
    let db_text = db.to_str().expect("UTF-8 path").to_string();
    let mut all = vec!["--db", db_text.as_str()];
    all.extend_from_slice(args);
    let output = directory.run(&all);
    Some((directory, output))
}

/// Returns how errors name the user who runs translog in an
/// [`UnwritableDirectory`]: `nobody` under root, or else this user.
fn translog_user() -> String {
    if running_as_root() {
        return "user nobody".to_string();
    }
    let id = Command::new("id").arg("-un").output().expect("run id");
    format!("user {}", stdout(&id).trim_end())
}

/// The commands that [`run_in_unwritable_directory`] runs to check the
/// message about the `-wal` and `-shm` files: the server, and a command
/// that writes.
const WRITES_IN_UNWRITABLE_DIRECTORY: [&[&str]; 2] = [
    &["serve", "--listen", "127.0.0.1:0"],
    &["user", "disable", "worker1"],
];

#[test]
fn unwritable_directory_serve_exits_1() {
    let Some((_directory, output)) = serve_in_unwritable_directory() else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn unwritable_directory_write_names_user() {
    for args in WRITES_IN_UNWRITABLE_DIRECTORY {
        let Some((_directory, output)) = run_in_unwritable_directory(args) else {
            return;
        };
        let expected = format!("{} may not create files in directory", translog_user());
        assert!(
            stderr(&output).contains(&expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn unwritable_directory_write_names_wal_files() {
    for args in WRITES_IN_UNWRITABLE_DIRECTORY {
        let Some((directory, output)) = run_in_unwritable_directory(args) else {
            return;
        };
        let expected = format!(
            "directory {}, and SQLite creates the database's -wal and -shm files there",
            directory.dir.path().display()
        );
        assert!(
            stderr(&output).contains(&expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn unwritable_directory_serve_names_fix() {
    let Some((_directory, output)) = serve_in_unwritable_directory() else {
        return;
    };
    assert!(
        stderr(&output).contains("write access to that directory, or run translog as a user"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unwritable_directory_serve_is_one_line() {
    let Some((_directory, output)) = serve_in_unwritable_directory() else {
        return;
    };
    assert_one_line_error(&output);
}

#[test]
fn database_creation_names_absolute_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(BIN);
    command
        .args(["user", "add", "worker1", "--role", "worker"])
        .current_dir(dir.path());
    let output = run_command(command, None);
    let expected = format!(
        "created database {} with its schema",
        dir.path().join("translog.db").display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

// A user who may read the database but not write it.

/// The user and group ID of `nobody`.
const NOBODY: u32 = 65534;

/// Returns true when the tests run as root, who may write any file. The
/// commands under test then run as [`NOBODY`] to meet a file they may not
/// write.
fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether the reader may create files beside the database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Directory {
    ReadOnly,
    Writable,
}

/// The state of the server on an [`UnwritableDatabase`] while it is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerState {
    /// Stopped cleanly, so that the database has no `-wal` file.
    Stopped,
    /// Running, with an entry in the `-wal` file.
    Running,
    /// Killed, so that the `-wal` and `-shm` files are left without a server.
    Crashed,
}

/// A database with the user `admin` and the transactions `tx-1` and `tx-2`
/// that the commands under test may read but not write. As root, the files
/// stay root's, with mode 0644, and the commands run as [`NOBODY`]. As
/// another user, they run as that user once the files' write permission is
/// removed.
struct UnwritableDatabase {
    /// The running server, which keeps the directory, or the directory.
    /// Each is kept until the database is dropped.
    _server: Option<Server>,
    _dir: Option<tempfile::TempDir>,
    directory: std::path::PathBuf,
    db: std::path::PathBuf,
    /// A directory that the reader may write, for copies.
    copies: tempfile::TempDir,
    /// The binary. As root, a link in the database's directory, because
    /// `nobody` may not reach the build directory.
    bin: std::path::PathBuf,
    /// The number of transactions, each with one entry.
    transactions: usize,
}

impl UnwritableDatabase {
    /// Prepares the database. Returns `None`, with a printed reason, when
    /// running as root and `nobody` cannot run the binary.
    fn new(directory: Directory, state: ServerState) -> Option<UnwritableDatabase> {
        let server = Server::start();
        post_entry(&server, "tx-1");
        let (_, dir) = server.stop();
        let path = dir.path().to_path_buf();
        let bin = share_with_nobody(&path, directory);

        // A server started now creates the -wal and -shm files with the
        // database file's mode.
        let (server, dir) = match state {
            ServerState::Stopped => (None, Some(dir)),
            ServerState::Running => {
                let server = Server::start_in(dir, &[]);
                post_entry(&server, "tx-2");
                (Some(server), None)
            }
            ServerState::Crashed => {
                let server = Server::start_in(dir, &[]);
                post_entry(&server, "tx-2");
                (None, Some(server.crash()))
            }
        };

        let copies = tempfile::tempdir().expect("temporary directory");
        if running_as_root() {
            set_mode(copies.path(), 0o777);
        } else {
            set_mode(&path.join("translog.db"), 0o444);
            if directory == Directory::ReadOnly {
                set_mode(&path, 0o555);
            }
        }
        let database = UnwritableDatabase {
            _server: server,
            _dir: dir,
            db: path.join("translog.db"),
            directory: path,
            copies,
            bin,
            transactions: if state == ServerState::Stopped { 1 } else { 2 },
        };
        database.reader_runs().then_some(database)
    }

    /// Prepares a database that the reader owns but may not write, because
    /// its mode is 0400. As root, who may write any file, the database and
    /// its directory belong to [`NOBODY`]. Returns `None`, with a printed
    /// reason, when `nobody` cannot run the binary.
    fn owned_read_only() -> Option<UnwritableDatabase> {
        let server = Server::start();
        post_entry(&server, "tx-1");
        let (_, dir) = server.stop();
        let path = dir.path().to_path_buf();
        let bin = share_with_nobody(&path, Directory::Writable);
        let db = path.join("translog.db");
        if running_as_root() {
            std::os::unix::fs::chown(&db, Some(NOBODY), Some(NOBODY)).expect("chown");
        }
        set_mode(&db, 0o400);
        let database = UnwritableDatabase {
            _server: None,
            _dir: Some(dir),
            db,
            directory: path,
            copies: tempfile::tempdir().expect("temporary directory"),
            bin,
            transactions: 1,
        };
        database.reader_runs().then_some(database)
    }

    /// Returns true when the reader can run the binary. As root it may not,
    /// when a directory above it is closed to `nobody`. The tests then skip
    /// through [`common::skip`], which fails them where `CI` is set.
    fn reader_runs(&self) -> bool {
        let Err(error) = self.command(&["--version"]).output() else {
            return true;
        };
        assert!(
            running_as_root(),
            "cannot run {}: {error}",
            self.bin.display()
        );
        common::skip(&format!(
            "nobody cannot run {} ({error}), so root cannot meet a file it may not write",
            self.bin.display()
        ));
        false
    }

    /// Builds `translog --db DB ARGS`, run as the reader.
    fn command(&self, args: &[&str]) -> Command {
        use std::os::unix::process::CommandExt as _;
        let mut command = Command::new(&self.bin);
        command
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(&self.directory);
        if running_as_root() {
            command.uid(NOBODY).gid(NOBODY);
        }
        command
    }

    /// Runs `translog --db DB ARGS` as the reader.
    fn run(&self, args: &[&str]) -> Output {
        run_command(self.command(args), None)
    }

    /// Returns the commands that only read, each with a text that it prints
    /// on standard output for this database. `backup` writes a new copy
    /// named after `name`.
    fn read_only_commands(&self, name: &str) -> Vec<(Vec<String>, String)> {
        let copy = self.copies.path().join(format!("{name}.db"));
        let entries = match self.transactions {
            1 => "(1 entry)".to_string(),
            count => format!("({count} entries)"),
        };
        let transactions = match self.transactions {
            1 => "1 transaction".to_string(),
            count => format!("{count} transactions"),
        };
        // prune rejects a --before later than the current time.
        let now = common::timestamp_from_now(0);
        let cases: [(&[&str], String); 5] = [
            (&["log", "list"], "tx-1".to_string()),
            (&["log", "show", "tx-1"], "WORKER_INIT".to_string()),
            (&["user", "list"], "admin".to_string()),
            (
                &["backup", copy.to_str().expect("UTF-8 path")],
                entries.clone(),
            ),
            (
                &["prune", "--before", &now, "--dry-run"],
                format!("would remove {transactions} {entries}"),
            ),
        ];
        cases
            .into_iter()
            .map(|(args, text)| (args.iter().map(|arg| arg.to_string()).collect(), text))
            .collect()
    }
}

impl Drop for UnwritableDatabase {
    fn drop(&mut self) {
        if !running_as_root() {
            set_mode(&self.directory, 0o700);
        }
    }
}

/// Prepares the database in `dir` for [`NOBODY`] when running as root: it
/// may read the database, and write `dir` when `directory` is
/// [`Directory::Writable`]. Returns the binary for the reader to run, which
/// as root is a link in `dir`, because `nobody` may not reach the build
/// directory.
fn share_with_nobody(dir: &Path, directory: Directory) -> std::path::PathBuf {
    if !running_as_root() {
        return std::path::PathBuf::from(BIN);
    }
    set_mode(&dir.join("translog.db"), 0o644);
    set_mode(dir, 0o755);
    if directory == Directory::Writable {
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    link_binary(dir)
}

/// Links the binary into `dir`, or copies it there, for [`NOBODY`], who may
/// not reach the build directory. Returns the new path.
fn link_binary(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("translog");
    if std::fs::hard_link(BIN, &bin).is_err() {
        std::fs::copy(BIN, &bin).expect("copy the binary");
    }
    bin
}

/// Sets the permission bits of `path`.
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// POSTs one entry to `/worker/log/{id}` as the administrator.
fn post_entry(server: &Server, id: &str) {
    let reply = server.post_entry(id, &form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS"));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Runs each command that only reads on `database` and checks that it
/// succeeds and prints what it should.
fn assert_read_only_commands_succeed(database: &UnwritableDatabase) {
    for (args, expected) in database.read_only_commands("copy") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = database.run(&args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            stderr(&output)
        );
        assert!(
            stdout(&output).contains(&expected),
            "{args:?} printed no {expected:?}: {}",
            stdout(&output)
        );
    }
}

/// Returns the name, size and modification time of each file in `dir`.
fn directory_listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut listing: Vec<_> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|entry| {
            let entry = entry.expect("read a directory entry");
            let metadata = entry.metadata().expect("read the file's metadata");
            (
                entry.file_name().to_string_lossy().into_owned(),
                metadata.len(),
                metadata.modified().expect("read the modification time"),
            )
        })
        .collect();
    listing.sort();
    listing
}

#[test]
fn read_only_commands_read_read_only_directory() {
    let Some(database) = UnwritableDatabase::new(Directory::ReadOnly, ServerState::Stopped) else {
        return;
    };
    assert_read_only_commands_succeed(&database);
}

#[test]
fn read_only_commands_read_unwritable_file() {
    let Some(database) = UnwritableDatabase::new(Directory::Writable, ServerState::Stopped) else {
        return;
    };
    assert_read_only_commands_succeed(&database);
}

#[test]
fn read_only_commands_leave_directory_unchanged() {
    let Some(database) = UnwritableDatabase::new(Directory::Writable, ServerState::Stopped) else {
        return;
    };
    let before = directory_listing(&database.directory);
    for (args, _) in database.read_only_commands("copy") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        database.run(&args);
        let after = directory_listing(&database.directory);
        assert_eq!(after, before, "{args:?}");
    }
}

#[test]
fn read_only_commands_read_while_serving() {
    let Some(database) = UnwritableDatabase::new(Directory::ReadOnly, ServerState::Running) else {
        return;
    };
    assert_read_only_commands_succeed(&database);
}

#[test]
fn log_show_reads_entry_in_wal() {
    let Some(database) = UnwritableDatabase::new(Directory::ReadOnly, ServerState::Running) else {
        return;
    };
    let output = database.run(&["log", "show", "tx-2"]);
    assert_success(&output, "log show tx-2");
    assert!(
        stdout(&output).contains("WORKER_INIT"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn read_only_commands_read_after_crash() {
    let Some(database) = UnwritableDatabase::new(Directory::ReadOnly, ServerState::Crashed) else {
        return;
    };
    assert_read_only_commands_succeed(&database);
}

#[test]
fn unwritable_database_file_stops_serve() {
    let Some(database) = UnwritableDatabase::new(Directory::ReadOnly, ServerState::Stopped) else {
        return;
    };
    let output = database.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(
        stderr(&output).contains("the file is not writable by this user"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unwritable_database_file_is_named() {
    let Some(database) = UnwritableDatabase::new(Directory::Writable, ServerState::Stopped) else {
        return;
    };
    let output = database.run(&["user", "disable", "admin"]);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("the file is not writable by this user"),
        "{}",
        stderr(&output)
    );
}

/// Returns the advice for a database file that its owner may not write.
fn chmod_advice(database: &UnwritableDatabase) -> String {
    format!("add it with chmod u+w {}", database.db.display())
}

#[test]
fn owned_read_only_file_names_chmod() {
    let Some(database) = UnwritableDatabase::owned_read_only() else {
        return;
    };
    let commands: [&[&str]; 2] = [
        &["user", "disable", "admin"],
        &["serve", "--listen", "127.0.0.1:0"],
    ];
    for args in commands {
        let output = database.run(args);
        assert!(
            stderr(&output).contains(&chmod_advice(&database)),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn owned_read_only_file_is_one_line() {
    let Some(database) = UnwritableDatabase::owned_read_only() else {
        return;
    };
    assert_one_line_error(&database.run(&["user", "disable", "admin"]));
}

#[test]
fn owned_read_only_file_omits_owner_advice() {
    let Some(database) = UnwritableDatabase::owned_read_only() else {
        return;
    };
    let output = database.run(&["user", "disable", "admin"]);
    assert!(
        !stderr(&output).contains("run the command as the user that owns it"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unreadable_database_file_is_named() {
    let Some(database) = UnwritableDatabase::new(Directory::ReadOnly, ServerState::Stopped) else {
        return;
    };
    if running_as_root() {
        set_mode(&database.db, 0o600);
    } else {
        set_mode(&database.db, 0o000);
    }
    let output = database.run(&["log", "list"]);
    assert_one_line_error(&output);
    assert!(
        stderr(&output).contains("Permission denied"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("give this user read access to the database file"),
        "{}",
        stderr(&output)
    );
}

/// A read-only bind mount of a directory, unmounted when dropped. `None`
/// when mounting is not allowed, as for a user other than root, after
/// [`common::skip`], which fails the test where `CI` is set.
struct ReadOnlyView {
    mount_point: tempfile::TempDir,
}

impl ReadOnlyView {
    fn of(source: &Path) -> Option<ReadOnlyView> {
        let mount_point = tempfile::tempdir().expect("temporary directory");
        let target = mount_point.path().to_str().expect("UTF-8 path").to_string();
        let source = source.to_str().expect("UTF-8 path");
        let bound = Command::new("mount")
            .args(["--bind", source, &target])
            .output()
            .is_ok_and(|output| output.status.success());
        if !bound {
            common::skip("mounting needs root");
            return None;
        }
        let view = ReadOnlyView { mount_point };
        let read_only = Command::new("mount")
            .args(["-o", "remount,bind,ro", &target])
            .output()
            .is_ok_and(|output| output.status.success());
        assert!(read_only, "remounting {target} read-only failed");
        Some(view)
    }

    /// Returns the path of the database in the view.
    fn db(&self) -> std::path::PathBuf {
        self.mount_point.path().join("translog.db")
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.mount_point.path()).output();
    }
}

#[test]
fn read_only_file_system_is_named() {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let Some(view) = ReadOnlyView::of(dir.path()) else {
        return;
    };
    let output = run_cli(&view.db(), &["user", "disable", "worker1"], None);
    assert!(
        stderr(&output).contains("the file is on a read-only file system"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn read_only_mount_missing_database_named() {
    let (dir, db) = new_db();
    assert_success(&add_user(&db, "worker1", "worker"), "user add");
    let Some(view) = ReadOnlyView::of(dir.path()) else {
        return;
    };
    let missing = view.db().with_file_name("new.db");
    let output = run_cli(&missing, &["log", "list"], None);
    let expected = format!(
        "no database exists at this path, and directory {} is on a read-only file system; \
         check the path given with --db\n",
        view.mount_point.path().display()
    );
    assert!(stderr(&output).ends_with(&expected), "{}", stderr(&output));
}

/// Runs `serve` on `name` in a read-only view of the directory of a
/// database that a server stopped cleanly. Returns `None` when mounting
/// needs root.
fn serve_on_read_only_mount(name: &str) -> Option<Output> {
    let server = Server::start();
    let (_, dir) = server.stop();
    let view = ReadOnlyView::of(dir.path())?;
    let db = view.db().with_file_name(name);
    Some(run_cli(&db, &["serve", "--listen", "127.0.0.1:0"], None))
}

#[test]
fn serve_on_read_only_mount_is_named() {
    for name in ["translog.db", "new.db"] {
        let Some(output) = serve_on_read_only_mount(name) else {
            return;
        };
        assert!(
            stderr(&output).contains("the file is on a read-only file system; remount it"),
            "{name}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn serve_on_read_only_mount_is_one_line() {
    let Some(output) = serve_on_read_only_mount("translog.db") else {
        return;
    };
    assert_one_line_error(&output);
}

#[test]
fn log_list_reads_read_only_mount() {
    let server = Server::start();
    post_entry(&server, "tx-1");
    let (_, dir) = server.stop();
    let Some(view) = ReadOnlyView::of(dir.path()) else {
        return;
    };
    let output = run_cli(&view.db(), &["log", "list"], None);
    assert_success(&output, "log list");
    assert!(stdout(&output).contains("tx-1"), "{}", stdout(&output));
}

#[test]
fn log_list_reads_read_only_mount_while_serving() {
    let server = Server::start();
    let Some(view) = ReadOnlyView::of(server.dir()) else {
        return;
    };
    post_entry(&server, "tx-1");
    let output = run_cli(&view.db(), &["log", "list"], None);
    assert_success(&output, "log list");
    assert!(stdout(&output).contains("tx-1"), "{}", stdout(&output));
}

#[test]
fn short_stall_period_is_warned() {
    let server = Server::start_with(&["--stall-after", "6"]);
    assert!(
        server.wait_for_log("--stall-after is 6s", std::time::Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

#[test]
fn default_stall_period_is_not_warned() {
    let server = Server::start();
    server.wait_for_log("settings:", std::time::Duration::from_secs(5));
    assert!(
        !server.log().contains("--stall-after is"),
        "{}",
        server.log()
    );
}

#[test]
fn backup_into_closed_directory_names_it() {
    let Some(closed) = ClosedDirectory::new() else {
        return;
    };
    let (dir, db) = new_db();
    let added = run_cli(&db, &["user", "add", "w", "--role", "worker"], None);
    assert_success(&added, "user add");
    if running_as_root() {
        set_mode(dir.path(), 0o755);
        set_mode(&db, 0o644);
    }
    let db_text = db.to_string_lossy().into_owned();

    let output = closed.run(&["--db", &db_text, "backup", "copy.db"]);
    let expected = format!(
        "{} has no search permission on directory {}",
        closed.user(),
        closed.closed.display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn log_list_reversed_window_is_usage_error() {
    let (_dir, db) = new_db();
    let output = run_cli(
        &db,
        &[
            "log",
            "list",
            "--since",
            "2026-12-05",
            "--until",
            "2026-12-04",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--since is after --until"),
        "{}",
        stderr(&output)
    );
}
