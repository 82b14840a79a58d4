//! Reading a new password typed at a terminal, with a prompt and with echo
//! off, so that the password never shows on the screen or stays in the
//! scrollback. The password is typed twice, and an entry that contains a
//! control character is rejected, because the user could not type it the
//! same way again.
//!
//! The terminal reads in non-canonical mode with its signal keys off, so
//! that Ctrl-C ends the entry here and the terminal's settings are restored
//! before the process exits. Its line editing is done here instead. A
//! signal from another process, such as SIGTERM, restores them too, before
//! it ends the process.

use std::os::fd::{AsFd as _, BorrowedFd};
use std::sync::{Mutex, OnceLock, PoisonError};

use rustix::io::Errno;
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use signal_hook::consts::{SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;

use crate::service::is_signal_ignored;

/// The prompt for the second entry of a new password.
const CONFIRM_PROMPT: &str = "Retype the password: ";

/// Prints `prompt` on standard error and reads a new password from the
/// terminal on standard input with echo off, then reads it a second time
/// after [`CONFIRM_PROMPT`]. Returns the password.
///
/// # Errors
///
/// Fails when the terminal's settings cannot be read or changed, when
/// reading fails, and when the user cancels with Ctrl-C, Ctrl-\ or Ctrl-D on
/// an empty line. Also fails when the first entry is empty, only white
/// space, not UTF-8 or contains a control character, and when the two
/// entries differ.
pub fn read_new_password(prompt: &str) -> Result<String, String> {
    let terminal = QuietTerminal::open()?;
    let typed = terminal.read_line(prompt)?;
    let password = check_typed_password(typed)?;
    let retyped = terminal.read_line(CONFIRM_PROMPT)?;
    if retyped != password.as_bytes() {
        // A control key in the second entry is named too, because "differ"
        // would not tell the user why.
        check_typed_password(retyped)?;
        return Err(
            "the two typed passwords differ, so nothing was changed; run the command \
             again and type the same password twice"
                .into(),
        );
    }
    Ok(password)
}

/// Checks a password typed at the terminal and returns it as text.
fn check_typed_password(typed: Vec<u8>) -> Result<String, String> {
    let password = String::from_utf8(typed).map_err(|_| {
        "the typed password is not valid UTF-8, so nothing was changed; set the terminal's \
         encoding to UTF-8, or send the password as UTF-8 text through a pipe"
            .to_string()
    })?;
    if password.is_empty() {
        return Err(
            "the typed password is empty, so nothing was changed; run the command \
             again and type one, or leave out --password-stdin to have one generated"
                .into(),
        );
    }
    if password.trim().is_empty() {
        return Err(
            "the typed password is only white space, so nothing was changed; run the \
             command again and type one with other characters, or leave out \
             --password-stdin to have one generated"
                .into(),
        );
    }
    if let Some(control) = password.chars().find(|character| character.is_control()) {
        return Err(format!(
            "the typed password contains {}, so nothing was changed; run the command again \
             and type it without that key, correcting typos with Backspace or Ctrl-U",
            describe_control_character(control)
        ));
    }
    Ok(password)
}

/// Describes the control character `control` in a typed password with the
/// key that most likely sent it.
fn describe_control_character(control: char) -> String {
    const ESCAPE: char = '\u{1b}';
    match control {
        ESCAPE => "an escape sequence, such as an arrow key, Home, End or Delete sends".into(),
        '\t' => "a control character from the Tab key".into(),
        '\0'..='\u{1f}' => {
            let letter = char::from(control as u8 + 0x40);
            format!("a control character from Ctrl-{letter}")
        }
        _ => format!("the control character U+{:04X}", u32::from(control)),
    }
}

/// The signals whose default action ends the process and that another
/// process may send while a password is typed, such as `kill -USR1` or
/// `timeout -s ALRM`. With the signal keys off, SIGINT and SIGQUIT
/// too come only from another process.
const ENDING_SIGNALS: [i32; 7] = [SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM];

/// The terminal's own settings while a [`QuietTerminal`] has changed them,
/// for the thread of [`restore_terminal_on_signals`] to put back.
static CHANGED_SETTINGS: Mutex<Option<Termios>> = Mutex::new(None);

/// Starts, once per process, a thread that receives [`ENDING_SIGNALS`]. For
/// each, it puts back the settings in [`CHANGED_SETTINGS`], if any, then
/// ends the process with the signal's default action, so that the exit
/// status names the signal, as it would without the thread.
///
/// The crate forbids `unsafe` code, which installing a signal handler of
/// its own takes, so signal-hook installs one. That handler only writes a
/// byte to a socket, which is async-signal-safe, and the thread does the
/// rest. signal-hook cannot remove its handlers, so the thread keeps ending
/// the process on these signals after the password is read. A signal that
/// the process inherited as ignored, as `nohup` ignores SIGHUP, gets no
/// handler and stays ignored.
fn restore_terminal_on_signals() -> Result<(), String> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let start = || {
        let handled = ENDING_SIGNALS
            .into_iter()
            .filter(|signal| !is_signal_ignored(*signal));
        let mut signals =
            Signals::new(handled).map_err(|error| format!("cannot handle signals: {error}"))?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    // The lock is held until the process ends, so that the
                    // terminal is not changed again in between.
                    let changed = CHANGED_SETTINGS
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if let Some(settings) = changed.as_ref() {
                        let stdin = std::io::stdin();
                        let _ = termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, settings);
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            })
            .map_err(|error| format!("cannot start the thread that handles signals: {error}"))?;
        Ok(())
    };
    STARTED.get_or_init(start).clone()
}

/// The terminal on standard input with echo, line editing and signal keys
/// off. Its own settings are put back when it is dropped: on success, on an
/// error and on a panic that unwinds. A signal that ends the process puts
/// them back too, through [`restore_terminal_on_signals`].
struct QuietTerminal {
    settings: Termios,
    keys: EditingKeys,
}

impl QuietTerminal {
    /// Turns echo, line editing and the signal keys of the terminal off.
    fn open() -> Result<QuietTerminal, String> {
        restore_terminal_on_signals()?;
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let settings = termios::tcgetattr(fd)
            .map_err(|error| format!("cannot read the settings of the terminal: {error}"))?;
        let mut quiet = settings.clone();
        quiet.local_modes.remove(
            LocalModes::ECHO
                | LocalModes::ECHONL
                | LocalModes::ICANON
                | LocalModes::ISIG
                | LocalModes::IEXTEN,
        );
        quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
        quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
        let mut changed = CHANGED_SETTINGS
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        termios::tcsetattr(fd, OptionalActions::Now, &quiet)
            .map_err(|error| format!("cannot turn off the echo of the terminal: {error}"))?;
        *changed = Some(settings.clone());
        drop(changed);
        Ok(QuietTerminal {
            keys: EditingKeys::of(&settings),
            settings,
        })
    }

    /// Prints `prompt` on standard error and reads one line. Returns the
    /// bytes typed, without the line end.
    fn read_line(&self, prompt: &str) -> Result<Vec<u8>, String> {
        eprint!("{prompt}");
        let line = read_line(std::io::stdin().as_fd(), &self.keys);
        // The Enter key was not echoed, so the next output would follow the prompt.
        eprintln!();
        line
    }
}

impl Drop for QuietTerminal {
    fn drop(&mut self) {
        let mut changed = CHANGED_SETTINGS
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let stdin = std::io::stdin();
        let _ = termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, &self.settings);
        *changed = None;
    }
}

/// The control characters of the terminal that edit or end the line. A
/// character of 0 is disabled (`_POSIX_VDISABLE` on Linux).
struct EditingKeys {
    interrupt: u8,
    quit: u8,
    erase: u8,
    kill: u8,
    end_of_file: u8,
}

impl EditingKeys {
    fn of(settings: &Termios) -> EditingKeys {
        let code = |index| settings.special_codes[index];
        EditingKeys {
            interrupt: code(SpecialCodeIndex::VINTR),
            quit: code(SpecialCodeIndex::VQUIT),
            erase: code(SpecialCodeIndex::VERASE),
            kill: code(SpecialCodeIndex::VKILL),
            end_of_file: code(SpecialCodeIndex::VEOF),
        }
    }
}

/// Returns true when `byte` is the enabled control character `key`.
fn is_key(byte: u8, key: u8) -> bool {
    key != 0 && byte == key
}

/// Reads bytes up to the end of the line. Erase (and Backspace or Delete)
/// removes the last character and kill removes the whole line, as in
/// canonical mode. Interrupt and quit cancel the entry, and so do
/// end-of-file on an empty line and a read of no bytes. A closed
/// pseudo-terminal fails the read with EIO on Linux. End-of-file on a line
/// with text is ignored, as in glibc's `getpass` (checked with 2.36), which
/// reads on when canonical mode passes the text without a line end. Any
/// other byte is part of the line, control characters included, for the
/// caller to reject.
fn read_line(fd: BorrowedFd<'_>, keys: &EditingKeys) -> Result<Vec<u8>, String> {
    const BACKSPACE: u8 = 0x08;
    const DELETE: u8 = 0x7f;
    let cancelled = || "the password entry was cancelled, so nothing was changed".to_string();
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        match rustix::io::read(fd, &mut byte) {
            Ok(0) => return Err(cancelled()),
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(error) => {
                return Err(format!(
                    "cannot read the password from the terminal: {error}"
                ))
            }
        }
        match byte[0] {
            b'\n' | b'\r' => return Ok(line),
            byte if is_key(byte, keys.end_of_file) => {
                if line.is_empty() {
                    return Err(cancelled());
                }
            }
            byte if is_key(byte, keys.interrupt) || is_key(byte, keys.quit) => {
                return Err(cancelled())
            }
            byte if is_key(byte, keys.erase) || byte == BACKSPACE || byte == DELETE => {
                erase_last_character(&mut line)
            }
            byte if is_key(byte, keys.kill) => line.clear(),
            byte => line.push(byte),
        }
    }
}

/// Removes the last UTF-8 character of `line`: its continuation bytes, then
/// the byte that starts it.
fn erase_last_character(line: &mut Vec<u8>) {
    while let Some(byte) = line.pop() {
        if byte & 0b1100_0000 != 0b1000_0000 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erase_removes_multibyte_character() {
        let mut line = "pé".as_bytes().to_vec();
        erase_last_character(&mut line);
        assert_eq!(line, b"p");
    }

    #[test]
    fn erase_removes_ascii_character() {
        let mut line = b"ab".to_vec();
        erase_last_character(&mut line);
        assert_eq!(line, b"a");
    }

    #[test]
    fn erase_of_empty_line_keeps_it_empty() {
        let mut line = Vec::new();
        erase_last_character(&mut line);
        assert!(line.is_empty());
    }

    #[test]
    fn disabled_key_matches_nothing() {
        assert!(!is_key(0, 0));
    }

    #[test]
    fn escape_is_described_as_arrow_key() {
        let description = describe_control_character('\u{1b}');
        assert!(description.contains("arrow key"), "{description}");
    }

    #[test]
    fn control_letter_is_described_as_ctrl_key() {
        assert_eq!(
            describe_control_character('\u{17}'),
            "a control character from Ctrl-W"
        );
    }

    #[test]
    fn tab_is_described_as_tab_key() {
        assert_eq!(
            describe_control_character('\t'),
            "a control character from the Tab key"
        );
    }

    #[test]
    fn c1_control_is_described_by_code_point() {
        assert_eq!(
            describe_control_character('\u{9b}'),
            "the control character U+009B"
        );
    }

    #[test]
    fn typed_password_with_delete_character_is_rejected() {
        let error = check_typed_password(b"ab\x7fcd".to_vec()).expect_err("DEL is rejected");
        assert!(error.contains("U+007F"), "{error}");
    }

    #[test]
    fn typed_password_with_c1_control_is_rejected() {
        let typed = "ab\u{85}cd".as_bytes().to_vec();
        assert!(check_typed_password(typed).is_err());
    }

    #[test]
    fn typed_password_with_non_ascii_letters_is_accepted() {
        let typed = "pé ñ 密码".as_bytes().to_vec();
        assert_eq!(check_typed_password(typed), Ok("pé ñ 密码".to_string()));
    }
}
