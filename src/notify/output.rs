//! The standard output and standard error of a notify command, read through
//! pipes so that they reach the server log only as escaped text marked with
//! the transaction, never as lines of their own. A command that prints a
//! Worker's message could otherwise forge lines of the server log.

use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

/// Reads one output stream of a notify command on a thread of its own.
pub struct OutputReader {
    captured: Arc<Mutex<CapturedOutput>>,
    closed: mpsc::Receiver<()>,
}

impl OutputReader {
    /// Starts reading `stream` until its end.
    ///
    /// # Errors
    ///
    /// Fails when the thread cannot be started; `stream` is then closed.
    pub fn start(mut stream: impl Read + Send + 'static) -> std::io::Result<OutputReader> {
        let captured = Arc::new(Mutex::new(CapturedOutput::default()));
        let (closed_sender, closed) = mpsc::channel();
        let shared = Arc::clone(&captured);
        std::thread::Builder::new()
            .name("notify-output".into())
            .spawn(move || {
                let mut buffer = [0u8; 8192];
                loop {
                    let count = match stream.read(&mut buffer) {
                        Ok(0) => break,
                        Ok(count) => count,
                        Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    if let Ok(mut captured) = shared.lock() {
                        captured.append(&buffer[..count]);
                    }
                }
                if let Ok(mut captured) = shared.lock() {
                    captured.closed = true;
                }
                let _ = closed_sender.send(());
            })?;
        Ok(OutputReader { captured, closed })
    }

    /// Waits until the stream ends or `deadline` passes, and returns what
    /// was read by then. A process that the command left running in the
    /// background keeps the stream open after the command exits, and the
    /// reader then goes on reading and discarding until that process closes
    /// it.
    pub fn finish(self, deadline: Instant) -> CapturedOutput {
        let wait = deadline.saturating_duration_since(Instant::now());
        let _ = self.closed.recv_timeout(wait);
        self.captured
            .lock()
            .map(|mut captured| std::mem::take(&mut *captured))
            .unwrap_or_default()
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
