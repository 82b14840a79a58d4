//! Serving one accepted connection until it ends: hyper's HTTP/1.1
//! connection, the graceful stop at shutdown, a `408` for a request head
//! that did not arrive within the read timeout, and the JSON error for a
//! head that hyper cannot parse.
//!
//! hyper's `header_read_timeout` (hyper 1.13) starts when hyper begins to
//! wait for a head: when the connection is first polled, and after each
//! response. When it passes, hyper ends the connection without a response,
//! whether the client sent nothing or stopped in the middle of a head.
//! [`serve`] distinguishes the two by the bytes that hyper has read but not
//! parsed yet. A client that sent part of a head gets `408`. An idle
//! keep-alive connection is closed without a byte, because a client that
//! sends a new request at that moment would take the `408` as its response,
//! while after a silent close HTTP clients retry on a new connection.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::automatic_response::AutomaticResponseFilter;
use super::head_fault::HeadFault;
use super::innermost_cause;
use super::response::{encode_http1, ApiError, Body, RequestPart};
use super::write_deadline::WriteDeadline;
use super::REQUEST_LOG;

/// The IO object that hyper serves: the socket with a write deadline, inside
/// a filter that holds back hyper's own response to a request head that it
/// cannot parse.
pub type Io = TokioIo<AutomaticResponseFilter<WriteDeadline<TcpStream>>>;

/// Tells every watched connection to finish its current request and close,
/// and waits until all have closed. [`GracefulStop::cut_off`] signals the end
/// of the grace period to the request handlers through [`CutOff`].
pub struct GracefulStop {
    stop: watch::Sender<()>,
    cut_off: watch::Sender<bool>,
}

impl Default for GracefulStop {
    fn default() -> Self {
        GracefulStop {
            stop: watch::channel(()).0,
            cut_off: watch::channel(false).0,
        }
    }
}

impl GracefulStop {
    /// Returns the receiver that [`serve`] watches for the stop.
    pub fn watcher(&self) -> watch::Receiver<()> {
        self.stop.subscribe()
    }

    /// Returns what a request handler watches for the end of the grace period.
    pub fn cut_off_watcher(&self) -> CutOff {
        CutOff(self.cut_off.subscribe())
    }

    /// Tells the watched connections to stop, and returns once every
    /// receiver from [`GracefulStop::watcher`] has been dropped.
    pub async fn stop(&self) {
        let _ = self.stop.send(());
        self.stop.closed().await;
    }

    /// Returns the number of connections that have not closed since the
    /// stop, each with a request in its handler or a response being sent.
    pub fn open_connections(&self) -> usize {
        self.stop.receiver_count()
    }

    /// Signals the end of the grace period to every [`CutOff`].
    pub fn cut_off(&self) {
        self.cut_off.send_replace(true);
    }
}

/// The end of the grace period of a stop, which request handlers wait for.
#[derive(Clone)]
pub struct CutOff(watch::Receiver<bool>);

impl CutOff {
    /// Returns once the grace period of the stop has ended, or once the
    /// server has dropped its [`GracefulStop`], which it does only on exit.
    pub async fn reached(&mut self) {
        let _ = self.0.wait_for(|reached| *reached).await;
    }
}

/// The requests of one connection that reached the service: how many are in
/// progress, and whether any has reached it so far. A request is in
/// progress from the call of the service until the handler returns its
/// response, or until its body is sent for a streamed log.
#[derive(Clone, Default)]
pub struct ConnectionRequests(Arc<RequestCounts>);

#[derive(Default)]
struct RequestCounts {
    in_progress: AtomicUsize,
    started: AtomicBool,
}

/// Counts a request as in progress until dropped.
pub struct InProgress(Arc<RequestCounts>);

impl ConnectionRequests {
    /// Counts a request as in progress until the returned guard is dropped.
    pub fn start(&self) -> InProgress {
        self.0.in_progress.fetch_add(1, Ordering::Relaxed);
        self.0.started.store(true, Ordering::Relaxed);
        InProgress(Arc::clone(&self.0))
    }

    /// Returns true when no request of the connection is in its handler or
    /// sending a streamed log.
    fn is_idle(&self) -> bool {
        self.0.in_progress.load(Ordering::Relaxed) == 0
    }

    /// Returns true once a request of the connection has reached the
    /// service, so that bytes after it come after a request.
    fn any_started(&self) -> bool {
        self.0.started.load(Ordering::Relaxed)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How long a stopping connection without a request in the handler may take
/// to end by itself: time to send a response that the handler has returned.
/// A connection that has sent only part of a head would otherwise keep the
/// stop waiting for the rest of it, up to the read timeout.
const IDLE_STOP_GRACE: Duration = Duration::from_millis(100);

/// Serves `connection` until it ends, and logs why it ended if that was an
/// error. A request head that hyper cannot parse gets translog's JSON error
/// in place of hyper's response with an empty body. `stop` starts a graceful
/// stop: a request in the handler gets its response, a streamed log goes on
/// until the server exits, and no other request is read. A connection with
/// no request in progress is closed after
/// [`IDLE_STOP_GRACE`]. `stop` is held until the connection has closed, so
/// that [`GracefulStop::stop`] waits for it.
pub async fn serve<S>(
    mut connection: http1::Connection<Io, S>,
    mut stop: watch::Receiver<()>,
    requests: ConnectionRequests,
    peer: SocketAddr,
    read_timeout: Duration,
) where
    S: HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    http1::Connection<Io, S>: Unpin,
{
    let result = tokio::select! {
        // The connection first, so that serving a request costs no draw of
        // the random branch order.
        biased;
        result = &mut connection => result,
        _ = stop.changed() => {
            std::pin::Pin::new(&mut connection).graceful_shutdown();
            match finish_at_stop(&mut connection, &requests).await {
                Some(result) => result,
                None => {
                    log::debug!(target: REQUEST_LOG, "connection from {peer} closed at the stop between requests");
                    return;
                }
            }
        }
    };
    let Err(error) = result else {
        return;
    };
    // A head read timeout is the only timeout error of hyper's HTTP/1.1
    // server. The body read timeout is the handler's own.
    if error.is_timeout() {
        let parts = connection.into_parts();
        let io = parts.io.into_inner().into_inner();
        end_after_head_timeout(io, &parts.read_buf, peer, read_timeout).await;
        return;
    }
    let parts = connection.into_parts();
    let io = parts.io.into_inner();
    let fault = (error.is_parse() || io.held_back())
        .then(|| HeadFault::from_error(&error, &parts.read_buf, requests.any_started()));
    log_connection_error(peer, &error, fault.as_ref());
    // hyper has returned the parse error after it wrote its own response,
    // which the filter dropped, so nothing else of hyper's is in the stream.
    // NOTE: a HEAD request gets the body too. The method is unknown here
    // once hyper has dropped the head, as it does before it checks the URL
    // and the framing headers.
    if let (true, Some(fault)) = (io.held_back(), fault) {
        let reply = encode_http1(ApiError::UnparsableHead(fault).into_response()).await;
        send_final_reply(io.into_inner().into_inner(), &reply).await;
    }
}

/// Waits for a connection that is stopping to end, and returns how it ended.
/// Returns `None`, so that the caller drops it, once it has had
/// [`IDLE_STOP_GRACE`] with no request in the handler.
async fn finish_at_stop<S>(
    connection: &mut http1::Connection<Io, S>,
    requests: &ConnectionRequests,
) -> Option<hyper::Result<()>>
where
    S: HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    http1::Connection<Io, S>: Unpin,
{
    loop {
        match tokio::time::timeout(IDLE_STOP_GRACE, &mut *connection).await {
            Ok(result) => return Some(result),
            Err(_) if requests.is_idle() => return None,
            Err(_) => {}
        }
    }
}

/// Returns true when `unparsed` contains a byte of a request head. hyper's
/// parser skips empty lines before a request line, so a CR or LF that a
/// client sent after its previous request is not the start of a new one.
fn started_head(unparsed: &[u8]) -> bool {
    unparsed.iter().any(|byte| !matches!(byte, b'\r' | b'\n'))
}

/// Sends `408` and closes the connection if the client sent part of a
/// request head before the head read timeout passed, or closes it silently
/// if the connection was idle. `unparsed` is what hyper read and did not
/// parse.
async fn end_after_head_timeout(
    io: WriteDeadline<TcpStream>,
    unparsed: &[u8],
    peer: SocketAddr,
    read_timeout: Duration,
) {
    if !started_head(unparsed) {
        log::debug!(target: REQUEST_LOG, "connection from {peer} closed: idle for {read_timeout:?}");
        return;
    }
    // While a write waits, hyper may still hold part of the previous
    // response, which `into_parts` drops. A 408 sent after that would read
    // as the end of the previous response. NOTE: no test reaches this branch.
    // With pipelined requests whose responses the client did not read, hyper
    // 1.13 started the head timer only after the blocked response was sent.
    if io.is_write_blocked() {
        log::info!(
        target: REQUEST_LOG,
            "connection from {peer} closed without a response: its request head was incomplete \
             after {read_timeout:?}, and its previous response was not sent yet"
        );
        return;
    }
    log::info!(
        target: REQUEST_LOG,
        "request from {peer} answered with 408 and closed: its head was incomplete after \
         {read_timeout:?} ({} bytes received)",
        unparsed.len()
    );
    let timed_out = ApiError::RequestTimeout {
        part: RequestPart::Head,
        timeout: read_timeout,
    };
    let reply = encode_http1(timed_out.into_response()).await;
    send_final_reply(io.into_inner(), &reply).await;
}

/// The maximum time to wait for room in the send buffer for a reply that
/// ends a connection which hyper does not serve.
const FINAL_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// The maximum number of unread bytes that are read and dropped before a
/// connection is closed after a final reply.
const FINAL_DRAIN_BYTES: usize = 64 * 1024;

/// Sends `reply` and closes the connection. What the client has sent and the
/// server has not read is read and dropped before the close, because closing
/// a socket with unread bytes sends a reset, which can discard the reply
/// before the client reads it. Nothing waits for more bytes, so the
/// descriptor is given back at once.
pub async fn send_final_reply(mut stream: TcpStream, reply: &[u8]) {
    let _ = tokio::time::timeout(FINAL_REPLY_TIMEOUT, stream.write_all(reply)).await;
    let mut buffer = [0u8; 4096];
    let mut dropped = 0;
    while dropped < FINAL_DRAIN_BYTES {
        match stream.try_read(&mut buffer) {
            Ok(count) if count > 0 => dropped += count,
            _ => break,
        }
    }
}

/// Logs why a connection ended with an error. hyper rejects a request head
/// that it cannot parse without calling the service, so this line is the
/// only one about such a request, and it adds the cause that `fault`, the
/// fault of that head, names beyond hyper's text. Other errors, such as a
/// client that closed the connection, are at debug.
fn log_connection_error(peer: SocketAddr, error: &hyper::Error, fault: Option<&HeadFault>) {
    if error.is_parse_version_h2() {
        log::info!(
        target: REQUEST_LOG,
            "connection from {peer} closed without a response: it sent the HTTP/2 connection \
             preface, and this server speaks HTTP/1.1 only"
        );
    } else if error.is_parse_too_large() {
        // hyper 1.x sends 414 for a URI over its own limit of 64 KiB, which no
        // head within MAX_HEAD_BYTES reaches, and 431 for a head over it.
        log::info!(
        target: REQUEST_LOG,
            "request from {peer} rejected by hyper with 431: {}",
            innermost_cause(error)
        );
    } else if error.is_parse() {
        let cause = innermost_cause(error);
        let detail = fault
            .and_then(HeadFault::log_detail)
            .map_or(String::new(), |detail| format!("; {detail}"));
        log::info!(target: REQUEST_LOG, "request from {peer} rejected by hyper with 400: {cause}{detail}");
    } else {
        log::debug!(target: REQUEST_LOG, "connection from {peer} ended: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_buffer_is_no_head() {
        assert!(!started_head(b""));
    }

    #[test]
    fn empty_lines_are_no_head() {
        assert!(!started_head(b"\r\n\n"));
    }

    #[test]
    fn request_line_start_is_head() {
        assert!(started_head(b"\r\nPO"));
    }
}
