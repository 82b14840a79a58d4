//! Running the notify command of one alert: `sh -c` in a process group of
//! its own, with the alert in environment variables, a timeout, and its
//! output logged.

use std::borrow::Cow;
use std::os::unix::process::CommandExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::output::OutputPipes;
use super::{Alert, AlertResult};

/// The signals that stop a process, as a service manager or an operator
/// sends them, in contrast to those of a crash.
const STOP_SIGNALS: [i32; 4] = [
    rustix::process::Signal::TERM.as_raw(),
    rustix::process::Signal::INT.as_raw(),
    rustix::process::Signal::HUP.as_raw(),
    rustix::process::Signal::KILL.as_raw(),
];

/// How long a notify command may run before it is killed, so that a hanging
/// command cannot keep its runner thread forever.
pub(super) const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait, after the command ended, for its output to close. A
/// process that the command left running in the background keeps it open,
/// and then the output read by that time is logged and the pipes are closed.
pub(super) const OUTPUT_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The maximum time between two checks whether a notify command exited.
const EXIT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The end of a notify command: its result, and whether a signal ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandEnd {
    pub result: AlertResult,
    /// True when a stop signal that translog did not send (SIGTERM, SIGINT,
    /// SIGHUP or SIGKILL) ended the command. At a stop of the service,
    /// systemd sends SIGTERM to every process of the unit, the running
    /// commands included. A command that crashes, such as with SIGSEGV, is not
    /// stopped: its alert ran.
    pub stopped: bool,
}

/// Runs `command` for `alert`, waits for it to end, at most `timeout`, and
/// logs its output and how it ended.
pub(super) fn run_command(command: &str, alert: &Alert, timeout: Duration) -> CommandEnd {
    let spawned = shell(command)
        .env(
            "TRANSLOG_TRANSACTION_ID",
            &*environment_value(&alert.transaction_id),
        )
        .env("TRANSLOG_OUTCOME", alert.outcome.as_str())
        .env("TRANSLOG_STAGE", &*environment_value(&alert.stage))
        .env("TRANSLOG_STATUS", &*environment_value(&alert.status))
        .env(
            "TRANSLOG_MESSAGE",
            &*environment_value(alert.message.as_deref().unwrap_or("")),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            log::error!(
                "notify command for transaction {} could not start: {error}",
                alert.transaction_id
            );
            return CommandEnd {
                result: AlertResult::Failed,
                stopped: false,
            };
        }
    };
    let subject = format!(
        "notify command for transaction {} ({})",
        alert.transaction_id,
        alert.outcome.as_str()
    );
    let output = OutputPipes::new(child.stdout.take(), child.stderr.take());
    report_exit(&mut child, output, &subject, timeout)
}

/// Returns `value` with each NUL replaced by U+FFFD. An environment variable
/// ends at its first NUL, so `Command::spawn` fails on a value that
/// contains one, and a Worker's message may.
fn environment_value(value: &str) -> Cow<'_, str> {
    if value.contains('\0') {
        Cow::Owned(value.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Prepares `sh -c COMMAND` in a process group of its own, so that a timeout
/// ends whatever the shell started too, not only the shell.
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.process_group(0).arg("-c").arg(command);
    shell
}

/// Waits for the notify command of one alert, described by `subject`, at
/// most `timeout`, logs its output and how it ended, and returns that.
/// Standard output is logged at `info`. Standard error goes into the error
/// line of a command that failed or timed out, and is otherwise logged at
/// `warn`.
fn report_exit(
    child: &mut std::process::Child,
    mut output: OutputPipes,
    subject: &str,
    timeout: Duration,
) -> CommandEnd {
    let exit = wait_with_timeout(child, timeout, &mut output);

    let output = output.finish(Instant::now() + OUTPUT_CLOSE_TIMEOUT);
    if let Some(error) = &output.error {
        log::error!("reading the output of the {subject} failed: {error}");
    }
    let stdout = output.stdout.describe();
    let stderr = output.stderr.describe();
    if let Some(text) = stdout {
        log::info!("{subject} wrote to stdout: {text}");
    }
    let stderr_suffix = stderr
        .as_ref()
        .map(|text| format!("; stderr: {text}"))
        .unwrap_or_default();

    let stopped = matches!(
        &exit,
        Ok(Some(status)) if status.signal().is_some_and(|signal| STOP_SIGNALS.contains(&signal))
    );
    let result = match exit {
        Ok(Some(status)) if status.success() => {
            if let Some(text) = stderr {
                log::warn!("{subject} wrote to stderr: {text}");
            }
            log::info!("{subject} ran");
            AlertResult::Ok
        }
        Ok(Some(status)) => {
            log::error!("{subject} failed: {status}{stderr_suffix}");
            AlertResult::Failed
        }
        Ok(None) => {
            log::error!("{subject} timed out after {timeout:?} and was killed{stderr_suffix}");
            AlertResult::TimedOut
        }
        Err(error) => {
            log::error!("waiting for the {subject} failed: {error}{stderr_suffix}");
            AlertResult::Failed
        }
    };
    CommandEnd { result, stopped }
}

/// Waits for `child` to exit, reading its `output` meanwhile, and kills its
/// process group after `timeout`. Returns `None` when it was killed.
fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
    output: &mut OutputPipes,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let group = rustix::process::Pid::from_child(child);
            if rustix::process::kill_process_group(group, rustix::process::Signal::KILL).is_err() {
                child.kill()?;
            }
            child.wait()?;
            return Ok(None);
        }
        output.read_for(EXIT_CHECK_INTERVAL.min(left));
    }
}

/// Describes the notify command for the settings line: its program, quoted
/// and escaped, so that an operator sees which script runs. The words after
/// it, and variable assignments before it, are only counted, because a
/// webhook's token may be among them.
pub fn describe_notify_command(command: &str) -> String {
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
pub fn missing_program(command: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns true while process `pid` exists and has not exited.
    fn is_running(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z')
            })
            .unwrap_or(false)
    }

    #[test]
    fn timeout_kills_started_processes() {
        let directory = tempfile::tempdir().unwrap();
        let pid_file = directory.path().join("pid");
        let command = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let mut child = shell(&command).spawn().unwrap();
        let mut pid = String::new();
        for _ in 0..50 {
            pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if pid.ends_with('\n') {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = pid.trim().to_string();
        assert!(is_running(&pid), "sleep {pid} did not start");
        let mut output = OutputPipes::new(None, None);
        let status = wait_with_timeout(&mut child, Duration::from_millis(100), &mut output);
        assert!(status.unwrap().is_none());
        std::thread::sleep(Duration::from_millis(200));
        assert!(!is_running(&pid), "sleep {pid} survived the timeout");
    }

    fn fatal_alert() -> Alert {
        Alert::fatal_for_test("tx-unit")
    }

    #[test]
    fn nul_in_environment_value_is_replaced() {
        assert_eq!(environment_value("mysql\0error"), "mysql\u{FFFD}error");
    }

    #[test]
    fn successful_command_is_ok() {
        let end = run_command("true", &fatal_alert(), Duration::from_secs(10));
        assert_eq!(end.result, AlertResult::Ok);
    }

    #[test]
    fn failing_command_is_failed() {
        let end = run_command("exit 3", &fatal_alert(), Duration::from_secs(10));
        assert_eq!(end.result, AlertResult::Failed);
    }

    #[test]
    fn failing_command_is_not_stopped() {
        let end = run_command("exit 3", &fatal_alert(), Duration::from_secs(10));
        assert!(!end.stopped);
    }

    #[test]
    fn command_ended_by_sigterm_is_stopped() {
        let end = run_command("kill -TERM $$", &fatal_alert(), Duration::from_secs(10));
        assert!(end.stopped);
    }

    #[test]
    fn crashed_command_is_not_stopped() {
        let end = run_command("kill -SEGV $$", &fatal_alert(), Duration::from_secs(10));
        assert!(!end.stopped);
    }

    #[test]
    fn slow_command_is_timed_out() {
        let end = run_command("sleep 5", &fatal_alert(), Duration::from_millis(200));
        assert_eq!(end.result, AlertResult::TimedOut);
    }

    #[test]
    fn timed_out_command_is_not_stopped() {
        let end = run_command("sleep 5", &fatal_alert(), Duration::from_millis(200));
        assert!(!end.stopped);
    }

    /// Returns what the descriptors `fds` of process `pid` refer to, such as
    /// `pipe:[1234]`, leaving out those that are not open.
    fn open_files(pid: &str, fds: &[&str]) -> Vec<std::path::PathBuf> {
        fds.iter()
            .filter_map(|fd| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok())
            .collect()
    }

    /// Returns what every open descriptor of this process refers to.
    fn own_open_files() -> Vec<std::path::PathBuf> {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .collect()
    }

    #[test]
    fn background_process_output_is_closed() {
        let directory = tempfile::tempdir().unwrap();
        let pid_file = directory.path().join("pid");
        // The background sleep keeps the command's stdout and stderr open.
        let command = format!("sleep 30 & echo $! > {}", pid_file.display());
        let result = run_command(&command, &fatal_alert(), Duration::from_secs(10)).result;
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let sleep_output = open_files(pid, &["1", "2"]);
        let ours = own_open_files();
        let _ = std::process::Command::new("kill").arg(pid).status();

        assert_eq!(result, AlertResult::Ok);
        assert_eq!(
            sleep_output.len(),
            2,
            "sleep {pid} has {sleep_output:?} open"
        );
        for pipe in &sleep_output {
            assert!(
                !ours.contains(pipe),
                "{} still open after the command exited",
                pipe.display()
            );
        }
    }

    #[test]
    fn quick_command_reports_status() {
        let mut child = shell("exit 3").spawn().unwrap();
        let mut output = OutputPipes::new(None, None);
        let status = wait_with_timeout(&mut child, Duration::from_secs(10), &mut output).unwrap();
        assert_eq!(status.and_then(|status| status.code()), Some(3));
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
}
