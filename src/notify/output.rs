//! The standard output and standard error of a notify command, read through
//! pipes so that they reach the server log only as escaped text marked with
//! the transaction, never as lines of their own. A command that prints a
//! Worker's message could otherwise forge lines of the server log.
//!
//! The runner thread that waits for the command reads the pipes itself,
//! with `poll`, and closes them at most [`super::command::OUTPUT_CLOSE_TIMEOUT`] after
//! the command exits. So a process that the command leaves in the
//! background, holding the pipes open, keeps no thread of the server busy
//! and no descriptor of it open.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{ChildStderr, ChildStdout};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// The maximum number of bytes of each output stream that is logged. Only
/// this much is kept in memory, and the rest is read and discarded, so that
/// a command that writes more does not block on a full pipe.
pub const LOGGED_OUTPUT_LIMIT: usize = 4096;

/// The start of one output stream of a notify command.
#[derive(Debug, Default)]
pub struct CapturedOutput {
    /// The first [`LOGGED_OUTPUT_LIMIT`] bytes.
    bytes: Vec<u8>,
    /// The number of bytes read after the first [`LOGGED_OUTPUT_LIMIT`] and
    /// discarded.
    discarded: u64,
    /// True once the stream reached its end.
    closed: bool,
}

impl CapturedOutput {
    /// Appends `chunk`, keeping at most [`LOGGED_OUTPUT_LIMIT`] bytes.
    fn append(&mut self, chunk: &[u8]) {
        let room = LOGGED_OUTPUT_LIMIT.saturating_sub(self.bytes.len());
        let stored_length = chunk.len().min(room);
        self.bytes.extend_from_slice(&chunk[..stored_length]);
        self.discarded += (chunk.len() - stored_length) as u64;
    }

    /// Formats the output for a log line, or returns `None` when there was
    /// none. The text is escaped as a Rust string literal in quotes, so a
    /// newline or a control character in it cannot end the log line or
    /// start a new one. One final newline is left out.
    pub fn describe(&self) -> Option<String> {
        if self.bytes.is_empty() && self.discarded == 0 {
            return None;
        }
        let bytes = match self.discarded {
            0 => self.bytes.strip_suffix(b"\n").unwrap_or(&self.bytes),
            _ => &self.bytes,
        };
        // Valid UTF-8 is escaped as a string literal; other bytes keep their
        // values as \xNN escapes instead of turning into U+FFFD.
        let mut described = match std::str::from_utf8(bytes) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("\"{}\"", bytes.escape_ascii()),
        };
        if self.discarded > 0 {
            described.push_str(&format!(" and {} more bytes, not logged", self.discarded));
        }
        if !self.closed {
            described.push_str(
                " (logged before the stream closed, because a process that the command \
                 started still has it open)",
            );
        }
        Some(described)
    }
}

/// The standard output and standard error pipes of one notify command, read
/// by the runner thread that waits for the command, between its checks.
pub struct OutputPipes {
    /// Standard output, then standard error.
    streams: [OutputStream; 2],
    /// The first error that stopped the reading, to be logged.
    error: Option<std::io::Error>,
}

/// One pipe, until it reaches its end or is given up, and what was read.
struct OutputStream {
    pipe: Option<File>,
    captured: CapturedOutput,
}

/// The output of a notify command, as [`OutputPipes::finish`] returns it.
pub struct CommandOutput {
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
    /// The error that stopped the reading before the pipes closed, if any.
    pub error: Option<std::io::Error>,
}

impl OutputPipes {
    /// Takes the pipes of a command's standard output and standard error.
    pub fn new(stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> OutputPipes {
        let stream = |pipe: Option<OwnedFd>| OutputStream {
            pipe: pipe.map(File::from),
            captured: CapturedOutput::default(),
        };
        OutputPipes {
            streams: [
                stream(stdout.map(OwnedFd::from)),
                stream(stderr.map(OwnedFd::from)),
            ],
            error: None,
        }
    }

    /// Reads what is ready on the open pipes, waiting at most `timeout` for
    /// something to be. Without open pipes, it only waits.
    pub fn read_for(&mut self, timeout: Duration) {
        if self.streams.iter().all(|stream| stream.pipe.is_none()) {
            std::thread::sleep(timeout);
            return;
        }
        let ready = match self.poll_ready(timeout) {
            Ok(ready) => ready,
            Err(rustix::io::Errno::INTR) => return,
            Err(error) => {
                // Without poll, a read could block the runner until the
                // writers close the pipe, so the pipes are given up.
                self.error.get_or_insert(error.into());
                self.close();
                return;
            }
        };
        let mut buffer = [0u8; 8192];
        for (stream, ready) in self.streams.iter_mut().zip(ready) {
            if !ready {
                continue;
            }
            if let Err(error) = stream.read_once(&mut buffer) {
                self.error.get_or_insert(error);
            }
        }
    }

    /// Waits at most `timeout` until an open pipe has data or reaches its
    /// end, and returns which of the two streams are ready.
    fn poll_ready(&self, timeout: Duration) -> rustix::io::Result<[bool; 2]> {
        let mut poll_fds = Vec::with_capacity(2);
        let mut indexes = Vec::with_capacity(2);
        for (index, stream) in self.streams.iter().enumerate() {
            if let Some(pipe) = &stream.pipe {
                poll_fds.push(PollFd::new(pipe, PollFlags::IN));
                indexes.push(index);
            }
        }
        // Only a timeout beyond i64::MAX seconds fails to convert, and `None`
        // waits without a limit.
        let timeout = Timespec::try_from(timeout).ok();
        poll(&mut poll_fds, timeout.as_ref())?;
        let mut ready = [false; 2];
        for (poll_fd, index) in poll_fds.iter().zip(indexes) {
            ready[index] = !poll_fd.revents().is_empty();
        }
        Ok(ready)
    }

    /// Reads until both pipes reach their end or `deadline` passes, then
    /// closes them and returns what was read. A process that the command
    /// left running in the background may hold the pipes open, and it then
    /// gets an error, or `SIGPIPE`, when it writes to them later.
    pub fn finish(mut self, deadline: Instant) -> CommandOutput {
        loop {
            let open = self.streams.iter().any(|stream| stream.pipe.is_some());
            let left = deadline.saturating_duration_since(Instant::now());
            if !open || left.is_zero() {
                break;
            }
            self.read_for(left);
        }
        self.close();
        let [stdout, stderr] = self.streams.map(|stream| stream.captured);
        CommandOutput {
            stdout,
            stderr,
            error: self.error,
        }
    }

    /// Closes the pipes that are still open, and stops reading them.
    fn close(&mut self) {
        for stream in &mut self.streams {
            stream.pipe = None;
        }
    }
}

impl OutputStream {
    /// Reads once from the pipe, which poll found ready, so that the read
    /// does not block. Closes the pipe at its end or on an error.
    fn read_once(&mut self, buffer: &mut [u8]) -> std::io::Result<()> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Ok(());
        };
        match pipe.read(buffer) {
            Ok(0) => {
                self.captured.closed = true;
                self.pipe = None;
                Ok(())
            }
            Ok(count) => {
                self.captured.append(&buffer[..count]);
                Ok(())
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(error) => {
                self.pipe = None;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(bytes: &[u8]) -> CapturedOutput {
        let mut output = CapturedOutput {
            closed: true,
            ..CapturedOutput::default()
        };
        output.append(bytes);
        output
    }

    #[test]
    fn empty_output_is_not_described() {
        assert_eq!(captured(b"").describe(), None);
    }

    #[test]
    fn final_newline_is_left_out() {
        assert_eq!(captured(b"sent\n").describe().as_deref(), Some("\"sent\""));
    }

    #[test]
    fn newlines_and_escapes_are_escaped() {
        let described = captured(b"a\nb\x1b[31m\r\n").describe();
        assert_eq!(described.as_deref(), Some("\"a\\nb\\u{1b}[31m\\r\""));
    }

    #[test]
    fn invalid_utf8_keeps_byte_values() {
        let described = captured(b"caf\xe9").describe();
        assert_eq!(described.as_deref(), Some("\"caf\\xe9\""));
    }

    #[test]
    fn output_past_limit_is_counted() {
        let output = captured(&vec![b'a'; LOGGED_OUTPUT_LIMIT + 10]);
        let described = output.describe().unwrap();
        assert!(described.ends_with("\" and 10 more bytes, not logged"));
        assert_eq!(output.bytes.len(), LOGGED_OUTPUT_LIMIT);
    }

    #[test]
    fn open_stream_is_marked() {
        let mut output = captured(b"early");
        output.closed = false;
        let described = output.describe().unwrap();
        assert!(
            described.contains("before the stream closed"),
            "{described}"
        );
    }
}
