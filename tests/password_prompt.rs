//! `user add` and `user passwd` with `--password-stdin` at a terminal: a
//! prompt on stderr, no echo of the password, and the terminal's settings
//! restored afterwards, also when a signal from another process ends the
//! command. The terminal is a real pseudo-terminal, and the test types into
//! its other end. Piped input is tested in `cli.rs`.

mod common;

use std::io::{Read as _, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use rustix::termios::LocalModes;

use common::{assert_success, clean_env, form, run_cli, Server, BIN, PASSWORD};

/// How long a test waits for the prompt, and then for the command to exit.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A pseudo-terminal: the terminal end, which a command under test reads as
/// its standard input, and the controlling end, which the test types into
/// and which receives what the terminal echoes.
struct PseudoTerminal {
    controller: std::fs::File,
    terminal: std::fs::File,
}

impl PseudoTerminal {
    /// Opens a pseudo-terminal, or returns `None`, with a printed reason,
    /// when the system has none to give.
    fn open() -> Option<PseudoTerminal> {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let controller = match openpt(flags) {
            Ok(controller) => controller,
            Err(error) => {
                eprintln!("skipped: cannot open a pseudo-terminal ({error})");
                return None;
            }
        };
        grantpt(&controller).expect("grantpt");
        unlockpt(&controller).expect("unlockpt");
        let name = ptsname(&controller, Vec::new()).expect("ptsname");
        let name = name.to_str().expect("UTF-8 terminal name");
        let no_controlling_terminal = rustix::fs::OFlags::NOCTTY.bits() as i32;
        let terminal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(no_controlling_terminal)
            .open(name)
            .expect("open the terminal end");
        Some(PseudoTerminal {
            controller: std::fs::File::from(controller),
            terminal,
        })
    }

    /// Returns the local modes of the terminal, which hold its echo setting.
    fn local_modes(&self) -> LocalModes {
        rustix::termios::tcgetattr(&self.terminal)
            .expect("read the terminal's settings")
            .local_modes
    }

    /// Returns what the terminal has sent to the controlling end so far,
    /// which is what it echoed, since the command's output goes to pipes.
    fn echoed(&mut self) -> String {
        rustix::io::ioctl_fionbio(&self.controller, true).expect("set non-blocking");
        let mut echoed = Vec::new();
        let mut buffer = [0u8; 1024];
        while let Ok(count @ 1..) = self.controller.read(&mut buffer) {
            echoed.extend_from_slice(&buffer[..count]);
        }
        String::from_utf8_lossy(&echoed).into_owned()
    }
}

/// What a command run at a pseudo-terminal did.
#[derive(Debug)]
struct TerminalRun {
    status: ExitStatus,
    stderr: String,
    echoed: String,
    modes_before: LocalModes,
    modes_after: LocalModes,
}

/// Runs `translog --db DB ARGS` with a pseudo-terminal as standard input.
/// For each step, in order, waits until stderr contains the prompt, then
/// types the bytes. Then waits for the command to exit. Returns `None` when
/// the system has no pseudo-terminal.
fn run_at_terminal_steps(db: &Path, args: &[&str], steps: &[(&str, &[u8])]) -> Option<TerminalRun> {
    run_at_configured_terminal(db, args, steps, |_| {})
}

/// Runs [`run_at_terminal_steps`] on a pseudo-terminal whose settings
/// `configure` has changed first.
fn run_at_configured_terminal(
    db: &Path,
    args: &[&str],
    steps: &[(&str, &[u8])],
    configure: impl FnOnce(&PseudoTerminal),
) -> Option<TerminalRun> {
    let pty = PseudoTerminal::open()?;
    configure(&pty);
    let actions: Vec<(&str, Action)> = steps
        .iter()
        .map(|(prompt, typed)| (*prompt, Action::Type(typed)))
        .collect();
    Some(run_command_at_terminal(
        translog_command(db, args),
        pty,
        &actions,
    ))
}

/// Returns the command `translog --db DB ARGS` with a clean environment.
fn translog_command(db: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--db").arg(db).args(args);
    clean_env(&mut command);
    command
}

/// What a test does once the command's stderr shows a prompt.
enum Action<'a> {
    /// Types the bytes into the terminal.
    Type(&'a [u8]),
    /// Sends the signal to the command, as another process would.
    Send(Signal),
}

/// Runs `command` with the terminal end of `pty` as standard input. For each
/// step, in order, waits until stderr contains the prompt, then acts. Then
/// waits for the command to exit.
fn run_command_at_terminal(
    mut command: Command,
    mut pty: PseudoTerminal,
    steps: &[(&str, Action)],
) -> TerminalRun {
    let modes_before = pty.local_modes();
    let terminal = pty.terminal.try_clone().expect("duplicate the terminal");
    let mut child = command
        .stdin(Stdio::from(terminal))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run translog");

    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let collected = Arc::clone(&stderr);
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 256];
        while let Ok(count @ 1..) = pipe.read(&mut buffer) {
            collected
                .lock()
                .expect("stderr lock")
                .extend_from_slice(&buffer[..count]);
        }
    });
    let text = || String::from_utf8_lossy(&stderr.lock().expect("stderr lock")).into_owned();

    let deadline = Instant::now() + TIMEOUT;
    for (prompt, action) in steps {
        let prompt_shown = |_: &mut Child| text().contains(prompt).then_some(());
        let waiting_for_prompt = format!("no prompt {prompt:?}");
        wait_for(
            &mut child,
            deadline,
            &waiting_for_prompt,
            text,
            prompt_shown,
        );
        match action {
            Action::Type(typed) => pty
                .controller
                .write_all(typed)
                .expect("type into the terminal"),
            Action::Send(signal) => {
                let pid = Pid::from_child(&child);
                rustix::process::kill_process(pid, *signal).expect("send the signal");
            }
        }
    }
    let exited = |child: &mut Child| child.try_wait().expect("poll translog");
    let status = wait_for(&mut child, deadline, "no exit", text, exited);
    reader.join().expect("stderr reader");
    TerminalRun {
        status,
        stderr: text(),
        echoed: pty.echoed(),
        modes_before,
        modes_after: pty.local_modes(),
    }
}

/// Polls `done` every 10 ms until it returns a value. Once `deadline` has
/// passed, kills `child` and panics with `missing` and its stderr.
fn wait_for<T>(
    child: &mut Child,
    deadline: Instant,
    missing: &str,
    stderr: impl Fn() -> String,
    mut done: impl FnMut(&mut Child) -> Option<T>,
) -> T {
    loop {
        if let Some(value) = done(child) {
            return value;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{missing} within {TIMEOUT:?}; stderr: {:?}", stderr());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The prompt of `user add worker1` for the password.
const ADD_PROMPT: &str = "Password for new user worker1: ";

/// The prompt for the second entry of a new password.
const RETYPE_PROMPT: &str = "Retype the password: ";

/// Runs `user add worker1 --role worker --password-stdin` at a terminal on
/// the database `db`. Types the first of `entries` at the prompt for the
/// password and the second, if given, at the prompt to retype it.
fn add_user_at_terminal(db: &Path, entries: &[&[u8]]) -> Option<TerminalRun> {
    let steps: Vec<(&str, &[u8])> = [ADD_PROMPT, RETYPE_PROMPT]
        .into_iter()
        .zip(entries.iter().copied())
        .collect();
    run_at_terminal_steps(db, &ADD_WORKER1, &steps)
}

/// The arguments of `user add worker1` with the password from a terminal.
const ADD_WORKER1: [&str; 6] = [
    "user",
    "add",
    "worker1",
    "--role",
    "worker",
    "--password-stdin",
];

/// The prompt of `user passwd worker1` for the new password.
const PASSWD_PROMPT: &str = "New password for worker1: ";

/// Runs `user passwd worker1 --password-stdin` at a terminal on the
/// database `db`. Types the first of `entries` at the prompt for the new
/// password and the second, if given, at the prompt to retype it.
fn change_password_at_terminal(db: &Path, entries: &[&[u8]]) -> Option<TerminalRun> {
    let args = ["user", "passwd", "worker1", "--password-stdin"];
    let steps: Vec<(&str, &[u8])> = [PASSWD_PROMPT, RETYPE_PROMPT]
        .into_iter()
        .zip(entries.iter().copied())
        .collect();
    run_at_terminal_steps(db, &args, &steps)
}

/// Runs [`add_user_at_terminal`] on a new database in a temporary
/// directory, which is returned with the run so that it lives as long.
fn add_user_to_new_database(entries: &[&[u8]]) -> Option<(tempfile::TempDir, TerminalRun)> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let run = add_user_at_terminal(&dir.path().join("translog.db"), entries)?;
    Some((dir, run))
}

/// Returns the line that types `password` and presses Enter.
fn typed_line(password: &str) -> Vec<u8> {
    format!("{password}\n").into_bytes()
}

/// Runs [`add_user_to_new_database`], typing `password` at both prompts.
fn add_user_typing_twice(password: &str) -> Option<(tempfile::TempDir, TerminalRun)> {
    let line = typed_line(password);
    add_user_to_new_database(&[&line, &line])
}

/// Returns the part of the command's stderr after the prompts, which
/// contain no line end of their own.
fn after_prompts(run: &TerminalRun) -> &str {
    run.stderr
        .trim_start_matches(&format!("{ADD_PROMPT}\n"))
        .trim_start_matches(&format!("{RETYPE_PROMPT}\n"))
}

/// Panics with the command's stderr unless it exited 0.
fn assert_success_run(run: &TerminalRun) {
    assert!(run.status.success(), "{}: {}", run.status, run.stderr);
}

/// Returns the status of a POST of one entry as `worker1` with `password`.
fn post_as_worker1(server: &Server, password: &str) -> u16 {
    let body = form("2026-12-04T13:00:00Z", "WORKER_INIT", "SUCCESS");
    server
        .post_form("/worker/log/tx-1", ("worker1", password), &body)
        .status
}

#[test]
fn typed_password_prompt_is_shown() {
    let Some((_dir, run)) = add_user_typing_twice(PASSWORD) else {
        return;
    };
    assert!(
        run.stderr.starts_with("Password for new user worker1: "),
        "{:?}",
        run.stderr
    );
}

#[test]
fn typed_password_is_not_echoed() {
    let Some((_dir, run)) = add_user_typing_twice(PASSWORD) else {
        return;
    };
    assert!(!run.echoed.contains("horse"), "echoed {:?}", run.echoed);
}

#[test]
fn typed_password_adds_user() {
    let Some((_dir, run)) = add_user_typing_twice(PASSWORD) else {
        return;
    };
    assert_success_run(&run);
}

/// Asserts that typing the line `typed` at both prompts of `user add
/// worker1` sets the password [`PASSWORD`].
fn assert_typed_line_sets_password(typed: &str) {
    let server = Server::start();
    let line = typed_line(typed);
    if add_user_at_terminal(&server.db, &[&line, &line]).is_none() {
        return;
    }
    assert_eq!(post_as_worker1(&server, PASSWORD), 200);
}

#[test]
fn typed_password_authenticates() {
    assert_typed_line_sets_password(PASSWORD);
}

#[test]
fn typed_erase_removes_last_character() {
    // DEL, the usual erase key of a terminal, after a mistyped "X".
    assert_typed_line_sets_password(&format!("{PASSWORD}X\u{7f}"));
}

#[test]
fn typed_password_restores_terminal() {
    let Some((_dir, run)) = add_user_typing_twice(PASSWORD) else {
        return;
    };
    assert_eq!(run.modes_after, run.modes_before);
}

#[test]
fn rejected_typed_password_restores_terminal() {
    let Some((_dir, run)) = add_user_to_new_database(&[b"   \n"]) else {
        return;
    };
    assert!(!run.status.success(), "{}", run.stderr);
    assert_eq!(run.modes_after, run.modes_before);
}

#[test]
fn interrupted_password_entry_restores_terminal() {
    // Ctrl-C, the usual interrupt key of a terminal.
    let Some((_dir, run)) = add_user_to_new_database(&[b"half\x03"]) else {
        return;
    };
    assert_eq!(run.modes_after, run.modes_before);
}

/// Asserts that `user add worker1`, with `entries` typed at its prompts,
/// exits 1 with the one error line of a cancelled entry.
fn assert_entry_cancels(entries: &[&[u8]]) {
    let Some((_dir, run)) = add_user_to_new_database(entries) else {
        return;
    };
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert_eq!(
        after_prompts(&run),
        "translog: error: the password entry was cancelled, so nothing was changed\n"
    );
}

/// Asserts that `user add worker1` on a new database, with `entries` typed
/// at its prompts, leaves no database file.
fn assert_entry_creates_no_database(entries: &[&[u8]]) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    if add_user_at_terminal(&db, entries).is_none() {
        return;
    }
    assert!(!db.exists());
}

#[test]
fn interrupted_password_entry_is_one_error() {
    assert_entry_cancels(&[b"half\x03"]);
}

#[test]
fn interrupted_password_entry_creates_no_database() {
    assert_entry_creates_no_database(&[b"half\x03"]);
}

#[test]
fn passwd_at_terminal_prompts_for_new_password() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let typed = typed_line("a new password of worker1");
    let Some(run) = change_password_at_terminal(&server.db, &[&typed, &typed]) else {
        return;
    };
    assert_success_run(&run);
    assert_eq!(post_as_worker1(&server, "a new password of worker1"), 200);
}

#[test]
fn piped_password_prints_no_prompt() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    let output = run_cli(&db, &ADD_WORKER1, Some(&format!("{PASSWORD}\n")));
    assert_success(&output, "user add");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Password for"), "{stderr}");
}

#[test]
fn existing_user_gets_no_prompt() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let Some(run) = run_at_terminal_steps(&server.db, &ADD_WORKER1, &[]) else {
        return;
    };
    assert!(!run.stderr.contains("Password for"), "{}", run.stderr);
}

#[test]
fn existing_user_is_one_error() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let Some(run) = run_at_terminal_steps(&server.db, &ADD_WORKER1, &[]) else {
        return;
    };
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("translog: error: user \"worker1\" already exists;"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_directory_gets_no_prompt() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("missing").join("translog.db");
    let Some(run) = run_at_terminal_steps(&db, &ADD_WORKER1, &[]) else {
        return;
    };
    assert!(
        run.stderr
            .starts_with("translog: error: cannot open database"),
        "{}",
        run.stderr
    );
}

// Typing the password a second time.

#[test]
fn typed_password_is_asked_again() {
    let Some((_dir, run)) = add_user_typing_twice(PASSWORD) else {
        return;
    };
    assert!(run.stderr.contains(RETYPE_PROMPT), "{:?}", run.stderr);
}

#[test]
fn mismatched_retype_is_one_error() {
    let retyped = typed_line("correct horse battery stapler");
    let Some((_dir, run)) = add_user_to_new_database(&[&typed_line(PASSWORD), &retyped]) else {
        return;
    };
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert_eq!(
        after_prompts(&run),
        "translog: error: the two typed passwords differ, so nothing was changed; run the \
         command again and type the same password twice\n"
    );
}

#[test]
fn arrow_key_in_retype_is_named() {
    // The password again, with Left pressed to go back to a typo.
    let retyped: &[u8] = b"correct horse\x1b[D battery staple\n";
    let Some((_dir, run)) = add_user_to_new_database(&[&typed_line(PASSWORD), retyped]) else {
        return;
    };
    assert!(
        run.stderr
            .contains("contains an escape sequence, such as an arrow key"),
        "{}",
        run.stderr
    );
}

#[test]
fn mismatched_retype_creates_no_database() {
    let retyped = typed_line("correct horse battery stapler");
    assert_entry_creates_no_database(&[&typed_line(PASSWORD), &retyped]);
}

#[test]
fn mismatched_retype_keeps_old_password() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    let typed = typed_line("a new password of worker1");
    let retyped = typed_line("a new password of worker2");
    let Some(run) = change_password_at_terminal(&server.db, &[&typed, &retyped]) else {
        return;
    };
    assert!(!run.status.success(), "{}", run.stderr);
    assert_eq!(post_as_worker1(&server, PASSWORD), 200);
}

#[test]
fn piped_password_is_read_once() {
    let server = Server::start();
    let output = run_cli(
        &server.db,
        &ADD_WORKER1,
        Some(&format!("{PASSWORD}\nsecond line\n")),
    );
    assert_success(&output, "user add");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Retype"), "{stderr}");
    assert_eq!(post_as_worker1(&server, PASSWORD), 200);
}

// Control characters in a typed password.

/// Runs `user add worker1` at a terminal on a new database and types the
/// line `typed`, which is rejected before the second prompt.
fn add_user_typing_rejected(typed: &[u8]) -> Option<(tempfile::TempDir, TerminalRun)> {
    add_user_to_new_database(&[typed])
}

#[test]
fn ctrl_w_in_password_is_named() {
    let Some((_dir, run)) = add_user_typing_rejected(b"one two\x17three\n") else {
        return;
    };
    assert_eq!(
        after_prompts(&run),
        "translog: error: the typed password contains a control character from Ctrl-W, so \
         nothing was changed; run the command again and type it without that key, correcting \
         typos with Backspace or Ctrl-U\n"
    );
}

#[test]
fn ctrl_z_in_password_is_named() {
    let Some((_dir, run)) = add_user_typing_rejected(b"one\x1atwo\n") else {
        return;
    };
    assert!(run.stderr.contains("from Ctrl-Z,"), "{}", run.stderr);
}

#[test]
fn arrow_key_in_password_is_named() {
    // Left, as most terminals send it, to go back to a typo.
    let Some((_dir, run)) = add_user_typing_rejected(b"passwrod\x1b[D\x1b[Dor\n") else {
        return;
    };
    assert!(
        run.stderr
            .contains("contains an escape sequence, such as an arrow key"),
        "{}",
        run.stderr
    );
}

#[test]
fn control_character_exits_before_retype() {
    let Some((_dir, run)) = add_user_typing_rejected(b"one two\x17three\n") else {
        return;
    };
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains(RETYPE_PROMPT), "{}", run.stderr);
}

#[test]
fn control_character_creates_no_database() {
    assert_entry_creates_no_database(&[b"passwrod\x1b[D\x1b[Dor\n"]);
}

#[test]
fn control_character_keeps_old_password() {
    let server = Server::start();
    server.add_user("worker1", "worker");
    if change_password_at_terminal(&server.db, &[b"one two\x17three\n"]).is_none() {
        return;
    }
    assert_eq!(post_as_worker1(&server, PASSWORD), 200);
}

#[test]
fn ctrl_u_clears_typed_password() {
    // Ctrl-U, the usual kill key of a terminal, after a wrong start.
    assert_typed_line_sets_password(&format!("wrong start\x15{PASSWORD}"));
}

#[test]
fn ctrl_h_removes_last_character() {
    assert_typed_line_sets_password(&format!("{PASSWORD}X\x08"));
}

#[test]
fn delete_erases_after_stty_erase() {
    let server = Server::start();
    // DEL, which the Backspace key of most terminals sends, after a
    // mistyped "X", on a terminal set up with `stty erase ^H`.
    let typed = typed_line(&format!("{PASSWORD}X\u{7f}"));
    let steps = [
        (ADD_PROMPT, typed.as_slice()),
        (RETYPE_PROMPT, typed.as_slice()),
    ];
    let erase_ctrl_h = |pty: &PseudoTerminal| {
        use rustix::termios::{OptionalActions, SpecialCodeIndex};
        let mut settings = rustix::termios::tcgetattr(&pty.terminal).expect("read settings");
        settings.special_codes[SpecialCodeIndex::VERASE] = 0x08;
        rustix::termios::tcsetattr(&pty.terminal, OptionalActions::Now, &settings)
            .expect("set the erase key");
    };
    if run_at_configured_terminal(&server.db, &ADD_WORKER1, &steps, erase_ctrl_h).is_none() {
        return;
    }
    assert_eq!(post_as_worker1(&server, PASSWORD), 200);
}

// Ctrl-D and an empty line.

#[test]
fn ctrl_d_within_line_is_ignored() {
    assert_typed_line_sets_password("correct horse\x04 battery staple");
}

#[test]
fn ctrl_d_on_empty_line_cancels() {
    assert_entry_cancels(&[b"\x04"]);
}

#[test]
fn ctrl_d_creates_no_database() {
    assert_entry_creates_no_database(&[b"\x04"]);
}

#[test]
fn ctrl_d_on_empty_retype_cancels() {
    assert_entry_cancels(&[&typed_line(PASSWORD), b"\x04"]);
}

#[test]
fn empty_typed_password_is_rejected() {
    let Some((_dir, run)) = add_user_to_new_database(&[b"\n"]) else {
        return;
    };
    assert_eq!(
        after_prompts(&run),
        "translog: error: the typed password is empty, so nothing was changed; run the \
         command again and type one, or leave out --password-stdin to have one generated\n"
    );
}

// Signals from other processes.

/// Runs `user add worker1` on a new database at a terminal, and sends
/// `signal` to it while it waits at the prompt for the password.
fn signal_at_prompt(signal: Signal) -> Option<(tempfile::TempDir, TerminalRun)> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pty = PseudoTerminal::open()?;
    let command = translog_command(&dir.path().join("translog.db"), &ADD_WORKER1);
    let run = run_command_at_terminal(command, pty, &[(ADD_PROMPT, Action::Send(signal))]);
    Some((dir, run))
}

#[test]
fn sigterm_at_prompt_turns_echo_on() {
    let Some((_dir, run)) = signal_at_prompt(Signal::TERM) else {
        return;
    };
    assert!(run.modes_after.contains(LocalModes::ECHO), "{run:?}");
}

#[test]
fn sigterm_at_prompt_restores_terminal() {
    let Some((_dir, run)) = signal_at_prompt(Signal::TERM) else {
        return;
    };
    assert_eq!(run.modes_after, run.modes_before);
}

#[test]
fn sigterm_at_prompt_ends_by_signal() {
    let Some((_dir, run)) = signal_at_prompt(Signal::TERM) else {
        return;
    };
    assert_eq!(run.status.signal(), Some(Signal::TERM.as_raw()), "{run:?}");
}

#[test]
fn sighup_and_sigint_restore_terminal() {
    // The signal keys are off at the prompt, so SIGINT comes from kill.
    for signal in [Signal::HUP, Signal::INT] {
        let Some((_dir, run)) = signal_at_prompt(signal) else {
            return;
        };
        assert_eq!(run.modes_after, run.modes_before, "{signal:?}");
        let status = run.status.signal();
        assert_eq!(status, Some(signal.as_raw()), "{signal:?}: {run:?}");
    }
}

#[test]
fn user_signals_and_alarm_restore_terminal() {
    for signal in [Signal::USR1, Signal::USR2, Signal::ALARM] {
        let Some((_dir, run)) = signal_at_prompt(signal) else {
            return;
        };
        assert_eq!(run.modes_after, run.modes_before, "{signal:?}");
        let status = run.status.signal();
        assert_eq!(status, Some(signal.as_raw()), "{signal:?}: {run:?}");
    }
}

#[test]
fn ignored_sighup_keeps_prompt_waiting() {
    let Some(pty) = PseudoTerminal::open() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("translog.db");
    // `trap '' HUP` ignores SIGHUP, as nohup does, and exec keeps it ignored.
    let mut command = Command::new("sh");
    command
        .args(["-c", "trap '' HUP; exec \"$@\"", "sh", BIN, "--db"])
        .arg(&db)
        .args(ADD_WORKER1);
    clean_env(&mut command);
    let line = typed_line(PASSWORD);
    let steps = [
        (ADD_PROMPT, Action::Send(Signal::HUP)),
        (ADD_PROMPT, Action::Type(&line)),
        (RETYPE_PROMPT, Action::Type(&line)),
    ];
    let run = run_command_at_terminal(command, pty, &steps);
    assert_success_run(&run);
}
