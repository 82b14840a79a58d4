//! Sending the whole log of one transaction, the response to
//! `GET /worker/log/{id}` without `limit` and `cursor`.
//!
//! A log of at most [`PAGE_ENTRIES`] entries is sent in full with a
//! `Content-Length`, as one page is. A longer log is streamed. A task reads
//! it a page at a time on the reader pool and serializes each page in the
//! same blocking task. It hands the bytes to the response body through a
//! channel with room for one page, and reads the next page only once the
//! body has taken the previous one. So the server keeps about two pages of
//! a stream in memory however long the log is, and a slow client holds
//! back only its own stream.
//!
//! Each page is read in a read transaction of its own, which ends before the
//! page is sent. A stream therefore keeps no pooled connection and no SQLite
//! snapshot while the client reads. One snapshot for the whole stream would
//! keep a connection and a read transaction open for as long as the client
//! takes to read. A read transaction that stays open keeps the WAL
//! checkpoint from going past it, so the WAL file would grow for as long as
//! entries arrive meanwhile. Pages follow each other
//! as the pages of the API's cursor do, so the response contains each
//! entry once and in order. An entry stored during the stream is in it when
//! it sorts after the last entry already read, and missing otherwise.
//!
//! A client that reads nothing for `--write-timeout` is disconnected, as
//! with any response ([`super::write_deadline`]). A failed read after the
//! first page, or a log deleted while it is sent, ends the body without its
//! last chunk, because the status `200` has been sent by then. The task logs
//! why.

use std::sync::Arc;
use std::task::{ready, Context, Poll};

use hyper::body::{Bytes, Frame};
use hyper::Response;
use tokio::sync::mpsc;

use super::client_address::ClientAddress;
use super::connection::InProgress;
use super::handlers::{read_error, run_read};
use super::queries::MAX_LOG_LIMIT;
use super::response::{json_body, ok_with, ok_with_body, ApiError, Body};
use super::{AppState, REQUEST_LOG};
use crate::storage::logs::{self, EntryCursor, LogEntry, LogQuery, Outcome, TransactionLog};
use crate::storage::{self, now_ns, StorageError};

/// The entries of one page of a streamed log, the largest page of the API.
/// With messages of a few dozen bytes a page is about 250 KB of JSON.
pub const PAGE_ENTRIES: usize = MAX_LOG_LIMIT;

/// The first page of a log, as the request needs it.
enum FirstPage {
    /// The whole log, serialized.
    Whole(Bytes),
    /// The start of a longer log: the JSON up to and including the page's
    /// entries, and the position of its last entry. The bytes are empty for
    /// `HEAD`, which sends none.
    Start {
        bytes: Bytes,
        after: EntryCursor,
        entries: usize,
    },
}

/// Serves the whole log of `transaction_id` to `client`. `head` is true for
/// `HEAD`, which reads only the first page and starts no stream.
///
/// # Errors
///
/// [`ApiError::NoSuchLog`] when the transaction has no entries, and the
/// errors of a failed read of the first page.
pub async fn whole_log(
    state: &Arc<AppState>,
    transaction_id: String,
    head: bool,
    client: ClientAddress,
) -> Result<Response<Body>, ApiError> {
    let id = transaction_id.clone();
    let first = run_read(state, move |state, connection| {
        let query = LogQuery {
            limit: PAGE_ENTRIES,
            cursor: None,
        };
        let stall_after = state.config.stall_after;
        let log = logs::transaction_log_page(connection, &id, &query, now_ns(), stall_after)?;
        log.map(|log| first_page(log, head)).transpose()
    })
    .await?
    .ok_or(ApiError::NoSuchLog)??;

    let (bytes, after, entries) = match first {
        FirstPage::Whole(bytes) => return Ok(ok_with("application/json", bytes)),
        // hyper writes no body for HEAD and polls none. An empty body also
        // keeps it from writing a `Content-Length`, which is not known.
        FirstPage::Start { .. } if head => return Ok(ok_with("application/json", Bytes::new())),
        FirstPage::Start {
            bytes,
            after,
            entries,
        } => (bytes, after, entries),
    };
    let (sender, receiver) = mpsc::channel(1);
    // The channel is new and has room for one page, so the first one fits.
    let _ = sender.try_send(Chunk { bytes, last: false });
    let stream = PageStream {
        state: Arc::clone(state),
        pages: sender,
        transaction_id,
        client,
        entries_read: entries,
        finished: false,
    };
    tokio::spawn(stream.send_rest(after));
    Ok(ok_with_body(
        "application/json",
        Body::streamed(StreamedLog {
            pages: receiver,
            ended: false,
            request: None,
        }),
    ))
}

/// Returns the first page of a log for a request: the whole log, serialized,
/// when the page is the last one, else the start of a stream.
///
/// # Errors
///
/// [`ApiError::Internal`] when serde cannot serialize the page, inside a
/// read that succeeded. A stage or status that the schema does not allow
/// fails the read.
fn first_page(
    log: TransactionLog,
    head: bool,
) -> Result<Result<FirstPage, ApiError>, StorageError> {
    let (Some(_), Some(last)) = (&log.next_cursor, log.entries.last()) else {
        return Ok(json_body(&log).map(FirstPage::Whole));
    };
    let after = EntryCursor::after(&log.transaction_id, last)?;
    let bytes = if head {
        Ok(Bytes::new())
    } else {
        start_of_log(&log.transaction_id, log.outcome, &log.entries)
            .map(Bytes::from)
            .map_err(|error| ApiError::Internal(format!("serializing JSON: {error}")))
    };
    Ok(bytes.map(|bytes| FirstPage::Start {
        bytes,
        after,
        entries: log.entries.len(),
    }))
}

/// One serialized page of a streamed log; `last` is true on the page that
/// closes the JSON object.
struct Chunk {
    bytes: Bytes,
    last: bool,
}

/// The task that reads the pages of one streamed log after the first, and
/// hands them to the response body.
struct PageStream {
    state: Arc<AppState>,
    pages: mpsc::Sender<Chunk>,
    transaction_id: String,
    client: ClientAddress,
    /// The entries read so far, for the log line of a stream cut off.
    entries_read: usize,
    /// True once [`PageStream::send_pages`] has returned. A stream dropped
    /// before that was dropped with the runtime when the server stopped.
    finished: bool,
}

/// A page after the first, serialized: its entries, each after a comma,
/// and the end of the JSON object when it is the last page.
struct NextPage {
    bytes: Bytes,
    /// The position of the page's last entry, or `None` on the last page.
    after: Option<EntryCursor>,
    entries: usize,
}

impl PageStream {
    /// Runs [`PageStream::send_pages`], and marks the stream finished when
    /// it returns, so that only a stream that the server's stop dropped is
    /// logged by [`Drop`].
    async fn send_rest(mut self, after: EntryCursor) {
        self.send_pages(after).await;
        self.finished = true;
    }

    /// Reads and hands on the pages that follow the position `after`, until
    /// the last page, until the body is dropped, or until a read fails. The
    /// body ends without its last chunk unless the last page was handed on.
    async fn send_pages(&mut self, mut after: EntryCursor) {
        loop {
            // The page is read only once the channel has room, so a client
            // that reads nothing costs no reads, and one page waits here.
            let Ok(room) = self.pages.reserve().await else {
                self.log_cut_off("the connection closed before the client read the whole log");
                return;
            };
            let page = match self.read_page(after).await {
                Ok(Some(page)) => page,
                Ok(None) => {
                    self.log_cut_off("the transaction was deleted while its log was sent");
                    return;
                }
                Err(cause) => {
                    log::error!(
                        target: REQUEST_LOG,
                        "the log of transaction {:?} sent to {} was cut off after {} entries, \
                         because the next page failed: {cause}",
                        self.transaction_id,
                        self.client,
                        self.entries_read
                    );
                    return;
                }
            };
            self.entries_read += page.entries;
            room.send(Chunk {
                bytes: page.bytes,
                last: page.after.is_none(),
            });
            match page.after {
                Some(next) => after = next,
                None => return,
            }
        }
    }

    /// Reads and serializes the page after `after` in a blocking task.
    /// Returns `None` when the transaction no longer exists.
    ///
    /// # Errors
    ///
    /// The cause of a failed read or serialization, for the log. A failed
    /// read counts as a failed read of the API, which a damaged file turns
    /// `/healthz` to `503` for.
    async fn read_page(&self, after: EntryCursor) -> Result<Option<NextPage>, String> {
        let transaction_id = self.transaction_id.clone();
        let stall_after = self.state.config.stall_after;
        let read = storage::run_read(&self.state.readers, move |connection| {
            let query = LogQuery {
                limit: PAGE_ENTRIES,
                cursor: Some(after),
            };
            let log = logs::transaction_log_page(
                connection,
                &transaction_id,
                &query,
                now_ns(),
                stall_after,
            )?;
            log.map(next_page).transpose()
        })
        .await;
        match read {
            Ok(page) => page
                .transpose()
                .map_err(|error| format!("serializing JSON failed: {error}")),
            Err(error) => {
                // Records a damaged file, as every failed read of the API does.
                let _ = read_error(&self.state, &error);
                Err(error.to_string())
            }
        }
    }

    /// Logs why the stream ended before its last page.
    fn log_cut_off(&self, reason: &str) {
        log::info!(
            target: REQUEST_LOG,
            "the log of transaction {:?} sent to {} was cut off after {} entries: {reason}",
            self.transaction_id,
            self.client,
            self.entries_read
        );
    }
}

/// Logs a stream that is still reading pages when the server exits, because
/// the runtime then drops its task. A stream whose pages were all read but
/// not yet sent is not logged here.
impl Drop for PageStream {
    fn drop(&mut self) {
        if !self.finished {
            self.log_cut_off("the server stopped before the whole log was sent");
        }
    }
}

/// Serializes a page after the first.
///
/// # Errors
///
/// The error of serde when it cannot serialize an entry, inside a read that
/// succeeded. A stage or status that the schema does not allow fails the
/// read.
fn next_page(log: TransactionLog) -> Result<serde_json::Result<NextPage>, StorageError> {
    let after = match (&log.next_cursor, log.entries.last()) {
        (Some(_), Some(last)) => Some(EntryCursor::after(&log.transaction_id, last)?),
        _ => None,
    };
    let mut bytes = Vec::new();
    if let Err(error) = append_entries(&mut bytes, &log.entries, false) {
        return Ok(Err(error));
    }
    if after.is_none() {
        bytes.extend_from_slice(END_OF_LOG);
    }
    Ok(Ok(NextPage {
        bytes: Bytes::from(bytes),
        after,
        entries: log.entries.len(),
    }))
}

/// The end of the JSON object of a whole log, after its last entry: the
/// `next_cursor` of a log sent whole is null. The newline ends every JSON
/// body of the API.
const END_OF_LOG: &[u8] = b"],\"next_cursor\":null}\n";

/// Serializes the start of a log's JSON object, as serde serializes a
/// [`TransactionLog`], up to and including `entries`.
fn start_of_log(
    transaction_id: &str,
    outcome: Outcome,
    entries: &[LogEntry],
) -> serde_json::Result<Vec<u8>> {
    let mut bytes = b"{\"transaction_id\":".to_vec();
    serde_json::to_writer(&mut bytes, transaction_id)?;
    bytes.extend_from_slice(b",\"outcome\":");
    serde_json::to_writer(&mut bytes, &outcome)?;
    bytes.extend_from_slice(b",\"entries\":[");
    append_entries(&mut bytes, entries, true)?;
    Ok(bytes)
}

/// Appends `entries` to the array that `bytes` ends in, each after a comma
/// unless `first` is true and it is the first entry of the array.
fn append_entries(
    bytes: &mut Vec<u8>,
    entries: &[LogEntry],
    first: bool,
) -> serde_json::Result<()> {
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 || !first {
            bytes.push(b',');
        }
        serde_json::to_writer(&mut *bytes, entry)?;
    }
    Ok(())
}

/// The receiving end of a streamed log: the part of a response [`Body`]
/// that yields the pages that [`PageStream`] reads.
pub struct StreamedLog {
    pages: mpsc::Receiver<Chunk>,
    /// True once the last page was yielded, or the stream broke.
    ended: bool,
    /// The request, counted as in progress until the body is dropped.
    request: Option<InProgress>,
}

impl StreamedLog {
    /// Keeps `request` counted as in progress until the body is dropped.
    pub fn hold(&mut self, request: InProgress) {
        self.request = Some(request);
    }

    /// Yields the next page. When the stream fails, the task that sends the
    /// pages drops its end of the channel without a last page. The body then
    /// fails with [`BrokenStream`], so that hyper closes the connection
    /// without the final chunk of the chunked transfer coding.
    pub fn poll_frame(
        &mut self,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BrokenStream>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let Some(chunk) = ready!(self.pages.poll_recv(context)) else {
            self.ended = true;
            return Poll::Ready(Some(Err(BrokenStream)));
        };
        self.ended = chunk.last;
        Poll::Ready(Some(Ok(Frame::data(chunk.bytes))))
    }

    pub fn is_end_stream(&self) -> bool {
        self.ended
    }
}

/// The error of a streamed log that ended before its last page. The task
/// that read the pages has logged the cause.
#[derive(Debug)]
pub struct BrokenStream;

impl std::fmt::Display for BrokenStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the log stream ended before its last page")
    }
}

impl std::error::Error for BrokenStream {}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(second: i64, message: Option<&str>) -> LogEntry {
        LogEntry {
            timestamp: format!("2026-12-04T13:00:{second:02}.000000000Z"),
            timestamp_sent: format!("2026-12-04T14:00:{second:02}+01:00"),
            stage: "WORKER_LOAD".to_string(),
            status: "FAIL".to_string(),
            message: message.map(str::to_string),
            received_at: format!("2026-12-04T13:00:{second:02}.000000001Z"),
            reported_by: "worker-\"eu1\"".to_string(),
            timestamp_parts: (1_764_853_200 + second, 0),
            received_at_ns: (1_764_853_200 + second) * 1_000_000_000 + 1,
        }
    }

    /// Returns the bytes of a log sent in pages of `entries` split at each
    /// index of `splits`.
    fn streamed(log: &TransactionLog, splits: &[usize]) -> Vec<u8> {
        let mut bounds = vec![0];
        bounds.extend_from_slice(splits);
        bounds.push(log.entries.len());
        let first = &log.entries[..bounds[1]];
        let mut bytes = start_of_log(&log.transaction_id, log.outcome, first).expect("start");
        for pair in bounds[1..].windows(2) {
            append_entries(&mut bytes, &log.entries[pair[0]..pair[1]], false).expect("entries");
        }
        bytes.extend_from_slice(END_OF_LOG);
        bytes
    }

    fn whole_log(entries: Vec<LogEntry>) -> TransactionLog {
        TransactionLog {
            transaction_id: "tx-\"1\"".to_string(),
            outcome: Outcome::Fatal,
            entries,
            next_cursor: None,
        }
    }

    #[test]
    fn streamed_log_is_serde_serialization() {
        let log = whole_log((0..5).map(|second| entry(second, Some("é\n"))).collect());
        let expected = json_body(&log).expect("serialize");
        assert_eq!(streamed(&log, &[2, 4]), expected.to_vec());
    }

    #[test]
    fn null_message_streams_as_serde() {
        let log = whole_log(vec![entry(0, None), entry(1, None)]);
        let expected = json_body(&log).expect("serialize");
        assert_eq!(streamed(&log, &[1]), expected.to_vec());
    }
}
