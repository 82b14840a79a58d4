//! Reading a password typed at a terminal, with a prompt and with echo off,
//! so that the password never shows on the screen or stays in the
//! scrollback.
//!
//! The terminal reads in non-canonical mode with its signal keys off, so
//! that Ctrl-C ends the entry here and the terminal's settings are restored
//! before the process exits. Its line editing is done here instead.
//!
//! NOTE: a signal from another process, such as SIGTERM, still ends the
//! process with echo off, because no signal handler restores the settings;
//! `stty sane` restores them then.

use std::os::fd::{AsFd as _, BorrowedFd};

use rustix::io::Errno;
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

/// The terminal's own settings, put back when dropped: on success, on an
/// error and on a panic that unwinds.
struct RestoreSettings<'fd> {
    fd: BorrowedFd<'fd>,
    settings: Termios,
}

impl Drop for RestoreSettings<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, OptionalActions::Now, &self.settings);
    }
}

/// Prints `prompt` on standard error and reads one line from the terminal on
/// standard input with echo off. Returns the bytes typed, without the line
/// end.
///
/// # Errors
///
/// Fails when the terminal's settings cannot be read or changed, when
/// reading fails, and when the user cancels with Ctrl-C or Ctrl-\.
pub fn read_password(prompt: &str) -> Result<Vec<u8>, String> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let settings = termios::tcgetattr(fd)
        .map_err(|error| format!("cannot read the settings of the terminal: {error}"))?;
    let keys = EditingKeys::of(&settings);
    let restore = RestoreSettings {
        fd,
        settings: settings.clone(),
    };

    let mut quiet = settings;
    quiet.local_modes.remove(
        LocalModes::ECHO
            | LocalModes::ECHONL
            | LocalModes::ICANON
            | LocalModes::ISIG
            | LocalModes::IEXTEN,
    );
    quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
    quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
    termios::tcsetattr(fd, OptionalActions::Now, &quiet)
        .map_err(|error| format!("cannot turn off the echo of the terminal: {error}"))?;

    eprint!("{prompt}");
    let line = read_line(fd, &keys);
    drop(restore);
    // The Enter key was not echoed, so the next output would follow the prompt.
    eprintln!();
    line
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

/// Reads bytes up to the end of the line, as canonical mode would: erase
/// (and Backspace) removes the last character, kill removes the whole line,
/// and end-of-file or a hang-up ends the line. Interrupt and quit cancel
/// the entry. Any other byte is part of the password.
fn read_line(fd: BorrowedFd<'_>, keys: &EditingKeys) -> Result<Vec<u8>, String> {
    const BACKSPACE: u8 = 0x08;
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        match rustix::io::read(fd, &mut byte) {
            Ok(0) => return Ok(line),
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
            byte if is_key(byte, keys.end_of_file) => return Ok(line),
            byte if is_key(byte, keys.interrupt) || is_key(byte, keys.quit) => {
                return Err("the password entry was cancelled, so nothing was changed".into())
            }
            byte if is_key(byte, keys.erase) || byte == BACKSPACE => {
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
}
