//! The HTTP server: hyper 1.x (HTTP/1.1 only) on a single-threaded tokio
//! runtime. Limits keep one client from hurting the others. The request head
//! has a size cap and a read timeout, which also closes idle keep-alive
//! connections (a partial head gets `408`, see [`connection`]). The body has
//! a size limit and a read timeout, and open connections are capped.
//!
//! Slow work never runs on this thread: entries go to the storage thread,
//! reads to tokio's blocking threads, password hashing to threads of lower
//! CPU priority. Two small reads of the users' data run here: the credentials
//! generation for each request that is not a write and for each write whose
//! credentials are checked again, and the users table once after each change
//! to users, to check the credentials cache.

pub mod automatic_response;
pub mod client_address;
pub mod connection;
pub mod dashboard;
pub mod failure_log;
pub mod handlers;
pub mod head_fault;
pub mod host;
pub mod log_stream;
pub mod origin;
pub mod queries;
pub mod request_line;
pub mod response;
pub mod router;
pub mod write_deadline;
pub mod zone_skew;

/// The log target of the lines about single requests and connections. A
/// filter such as `RUST_LOG=info,translog::request=warn` leaves out the line
/// of every request and keeps the start and stop lines, warnings and errors.
pub const REQUEST_LOG: &str = "translog::request";

use std::future::{poll_fn, Future as _};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use automatic_response::AutomaticResponseFilter;
use chrono_tz::Tz;
use client_address::ClientAddress;
use connection::{send_final_reply, ConnectionRequests, CutOff, GracefulStop};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, VARY};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use write_deadline::WriteDeadline;
use zone_skew::ZoneWarnings;

use crate::auth::Authenticator;
use crate::metrics::{ConnectionMetrics, Metrics, UnavailableReason};
use crate::storage::writer::Writer;
use crate::storage::{now_ns, ReaderPool};
use crate::throttled_log::{EventBatch, ThrottledEvents};
use failure_log::{FailureGroup, FailureLog};
use handlers::RequestContext;
use response::{ApiError, Body, CONNECTIONS_MESSAGE};

/// The largest request body, in bytes. One entry needs about 1.2 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest request head, in bytes; a larger one gets `431`.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The maximum number of characters of the path and of the transaction id
/// that a request log line shows. Both come from the client, so a long one
/// would make a long line.
const MAX_LOGGED_CHARS: usize = 200;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub db_path: PathBuf,
    /// Resolves timestamps without an offset for users without a zone.
    pub timezone: Tz,
    pub stall_after: Duration,
    /// The maximum wait for a request head or body, and for the next request
    /// on an idle keep-alive connection.
    pub read_timeout: Duration,
    /// The maximum wait for room in the send buffer while a response is sent.
    pub write_timeout: Duration,
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client, as
    /// canonical addresses (an IPv4-mapped IPv6 address as IPv4).
    pub trusted_proxies: Vec<IpAddr>,
}

/// The state that every request handler shares.
pub struct AppState {
    pub config: ServerConfig,
    pub writer: Writer,
    pub auth: Arc<Authenticator>,
    pub readers: Arc<ReaderPool>,
    pub metrics: Arc<Metrics>,
    /// Open connections, which `--max-connections` caps, and rejected ones.
    pub connections: ConnectionMetrics,
    /// The warnings about Workers whose local times are read in another
    /// time zone than their clocks'.
    pub zone_warnings: ZoneWarnings,
    /// The lines about failed requests that are counted together.
    pub failures: Arc<FailureLog>,
    requests: AtomicU64,
}

impl AppState {
    pub fn new(
        config: ServerConfig,
        writer: Writer,
        auth: Arc<Authenticator>,
        readers: Arc<ReaderPool>,
        metrics: Arc<Metrics>,
    ) -> AppState {
        AppState {
            config,
            writer,
            auth,
            readers,
            metrics,
            connections: ConnectionMetrics::default(),
            zone_warnings: ZoneWarnings::default(),
            failures: Arc::default(),
            requests: AtomicU64::new(0),
        }
    }
}

/// How long shutdown waits for requests in progress before it sends `503` to
/// those not yet handed to the storage thread.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long shutdown waits, after [`SHUTDOWN_GRACE`], for the `503` responses
/// of the requests it cut off to be sent, and for requests that the storage
/// thread is storing. Connections still open then are closed without a
/// response. A `503` is a few hundred bytes, so only a client that left
/// earlier responses unread keeps it from being sent.
const CUT_OFF_REPLY_TIME: Duration = Duration::from_millis(500);

/// Accepts connections on `listener` until `shutdown` completes, then lets
/// requests in progress finish for [`SHUTDOWN_GRACE`]. Requests not handed
/// to the storage thread by then get `503`.
pub async fn run(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = GracefulStop::default();
    let timer_anchor = tokio::spawn(anchor_timer_wake_ups());
    tokio::pin!(shutdown);
    let mut last_accept_error: Option<Instant> = None;
    let mut rejections = RejectionLog::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = sleep_until(rejections.flush_at()) => {
                rejections.flush(state.config.max_connections);
                continue;
            }
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => accept(&state, &graceful, &mut rejections, stream, peer),
            Err(error) => {
                // Running out of file descriptors ends once connections close,
                // so the loop pauses instead of exiting or spinning.
                if last_accept_error.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    log::error!("accepting a connection failed: {error}");
                    last_accept_error = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    rejections.flush(state.config.max_connections);
    timer_anchor.abort();
    log::info!("stopped accepting connections; finishing requests in progress");
    finish_requests(&graceful).await;
    state.failures.flush();
}

/// Lets requests in progress finish for [`SHUTDOWN_GRACE`], then sends `503`
/// to those not yet handed to the storage thread.
async fn finish_requests(graceful: &GracefulStop) {
    let stopped = graceful.stop();
    tokio::pin!(stopped);
    if tokio::time::timeout(SHUTDOWN_GRACE, &mut stopped)
        .await
        .is_ok()
    {
        return;
    }
    log::info!(
        "answering the requests still in progress after {SHUTDOWN_GRACE:?} with 503, unless \
         the storage thread has their entries"
    );
    graceful.cut_off();
    if tokio::time::timeout(CUT_OFF_REPLY_TIME, stopped)
        .await
        .is_err()
    {
        let count = graceful.open_connections();
        let (noun, verb) = if count == 1 {
            ("request", "was")
        } else {
            ("requests", "were")
        };
        log::warn!(
            "{count} {noun} still in progress after {:?} {verb} cut off",
            SHUTDOWN_GRACE + CUT_OFF_REPLY_TIME
        );
    }
}

/// The period of [`anchor_timer_wake_ups`], shorter than the request timeouts.
const TIMER_ANCHOR_PERIOD: Duration = Duration::from_millis(500);

/// Keeps one timer due within [`TIMER_ANCHOR_PERIOD`] at all times.
///
/// A runtime that goes idle with no timer pending sleeps without a deadline.
/// The next timer a request sets (hyper's head read timeout, the body read
/// timeout) then wakes the runtime with an eventfd write, even while the
/// thread is busy. Under load that cost one system call on about a third of
/// all requests. With a deadline always near, setting a request timeout of
/// more than this period costs no system call.
async fn anchor_timer_wake_ups() {
    let mut ticks = tokio::time::interval(TIMER_ANCHOR_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
    }
}

/// Sleeps until `at`, or forever when it is `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn accept(
    state: &Arc<AppState>,
    graceful: &GracefulStop,
    rejections: &mut RejectionLog,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let open = state.connections.open();
    let guard = ConnectionGuard(Arc::clone(state));
    let max = state.config.max_connections;
    if open >= max as u64 {
        state.connections.count_rejected();
        state
            .metrics
            .count_unavailable(UnavailableReason::Connections);
        rejections.record(peer, open, max);
        tokio::spawn(reject_connection(stream, guard));
        return;
    }
    if let Err(error) = stream.set_nodelay(true) {
        log::debug!("setting TCP_NODELAY for {peer} failed: {error}");
    }
    if let Err(error) =
        rustix::net::sockopt::set_socket_send_buffer_size(&stream, SEND_BUFFER_BYTES)
    {
        log::debug!("setting SO_SNDBUF for {peer} failed: {error}");
    }
    let service_state = Arc::clone(state);
    let requests = ConnectionRequests::default();
    let counted = requests.clone();
    let cut_off = graceful.cut_off_watcher();
    let service = service_fn(move |request| {
        let in_progress = counted.start();
        let handled = handle(Arc::clone(&service_state), request, peer, cut_off.clone());
        async move {
            let mut response = handled.await;
            if let Ok(response) = &mut response {
                response.body_mut().hold_until_sent(in_progress);
            }
            response
        }
    });
    let http_connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        // A client may shut down its sending side once the request is sent
        // (`shutdown(SHUT_WR)`) and still read the response.
        .half_close(true)
        .serve_connection(
            TokioIo::new(AutomaticResponseFilter::new(WriteDeadline::new(
                stream,
                state.config.write_timeout,
                peer,
            ))),
            service,
        );
    let stop = graceful.watcher();
    let read_timeout = state.config.read_timeout;
    tokio::spawn(async move {
        connection::serve(http_connection, stop, requests, peer, read_timeout).await;
        drop(guard);
    });
}

/// The send buffer of each connection. [`WriteDeadline`] counts time from a
/// blocked write to the next one that goes through, and Linux reports a full
/// socket writable only after much of its buffer has drained. Without a cap
/// the kernel grows the buffer to several MiB (`net.ipv4.tcp_wmem`), and on
/// loopback a client that read 64 KiB every half second was cut off by a 2 s
/// limit. With 128 KiB (which Linux doubles) the same client keeps its
/// connection. NOTE: measured on loopback only. On a link with a long round
/// trip the cap may slow large responses, which no test here covers.
const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// Counts a connection as open until dropped.
struct ConnectionGuard(Arc<AppState>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.close();
    }
}

/// The shortest time between two log lines about connections rejected over
/// `--max-connections`, so that an overload does not flood the log.
const REJECTION_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Connections rejected over `--max-connections` that are not logged yet.
/// The first rejection is logged at once. Later ones are counted and logged
/// in one line when [`REJECTION_LOG_INTERVAL`] has passed since the last line.
/// The details of each are its peer and the number of connections open when
/// it arrived.
struct RejectionLog(ThrottledEvents<(SocketAddr, u64)>);

impl Default for RejectionLog {
    fn default() -> Self {
        RejectionLog(ThrottledEvents::new(REJECTION_LOG_INTERVAL))
    }
}

impl RejectionLog {
    /// Counts a rejected connection, and logs the rejections so far unless a
    /// line was written less than [`REJECTION_LOG_INTERVAL`] ago.
    fn record(&mut self, peer: SocketAddr, open: u64, max: usize) {
        let now = Instant::now();
        self.0.record(now, (peer, open));
        if let Some(batch) = self.0.take_due(now) {
            log_rejections(&batch, now, max);
        }
    }

    /// Returns when the rejections not logged yet are due, if there are any.
    fn flush_at(&self) -> Option<Instant> {
        self.0.due_at()
    }

    /// Logs the rejections not logged yet in one line, if there are any.
    fn flush(&mut self, max: usize) {
        let now = Instant::now();
        if let Some(batch) = self.0.take(now) {
            log_rejections(&batch, now, max);
        }
    }
}

/// Logs one line about the connections of `batch`, rejected because
/// `--max-connections` was `max`.
fn log_rejections(batch: &EventBatch<(SocketAddr, u64)>, now: Instant, max: usize) {
    let (peer, open) = batch.latest;
    let limit = format!(
        "{open} connections were open and --max-connections is {max}; raise it if this \
         load is expected"
    );
    if batch.count == 1 {
        log::warn!("connection from {peer} rejected with 503: {limit}");
    } else {
        log::warn!(
            "{} connections rejected with 503 in the last {:.1} s, the latest from {peer}: \
             {limit}",
            batch.count,
            now.duration_since(batch.first).as_secs_f64()
        );
    }
}

/// Sends `503` to a connection over the cap and closes it, without parsing the
/// request. The descriptor is given back at once, also when descriptors run
/// out.
async fn reject_connection(stream: TcpStream, _guard: ConnectionGuard) {
    // The message contains no character that JSON escapes.
    let body = format!("{{\"error\":\"unavailable\",\"message\":\"{CONNECTIONS_MESSAGE}\"}}\n");
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send_final_reply(stream, reply.as_bytes()).await;
}

/// A guard that logs the request line when dropped before the response was
/// ready. hyper drops a request's future when its connection ends, and then
/// the line that [`handle`] logs at the end is never reached.
struct UnansweredLog<'a> {
    number: u64,
    method: &'a Method,
    path: &'a str,
    started: Instant,
    response_ready: bool,
}

impl Drop for UnansweredLog<'_> {
    fn drop(&mut self) {
        if !self.response_ready {
            log::info!(
                target: REQUEST_LOG,
                "#{} {} {:?} no response after {:.1}ms: the connection closed or the server \
                 stopped first",
                self.number,
                self.method,
                self.path,
                self.started.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

/// Returns true when the request head announces a body.
fn declares_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(CONTENT_LENGTH)
        .is_some_and(|value| value.as_bytes() != b"0");
    length || headers.contains_key(TRANSFER_ENCODING)
}

/// Returns the message of the innermost source of `error`, or of `error`
/// itself when it has none. hyper's own message for a failed body read or
/// connection names only the kind of failure, and its source the cause.
pub(crate) fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |error| error.source())
        .last()
        .unwrap_or(error)
        .to_string()
}

/// Returns the first [`MAX_LOGGED_CHARS`] characters of `text`.
fn cut_for_log(text: &str) -> &str {
    match text.char_indices().nth(MAX_LOGGED_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Returns the `tx` field of a request log line. The transaction id is set
/// before the credentials are checked, so an anonymous client chooses it, and
/// it is quoted and escaped like the path.
fn logged_transaction_id(context: &RequestContext) -> String {
    match context.transaction_id.as_deref() {
        Some(raw_id) => {
            let id = handlers::decode_logged_transaction_id(raw_id);
            format!("{:?}", cut_for_log(&id))
        }
        None => "-".to_string(),
    }
}

/// The error of [`handle`] for a request that gets no response. hyper then
/// closes the connection without writing anything.
#[derive(Debug)]
struct BodyCutOff;

impl std::fmt::Display for BodyCutOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the client closed the connection before it sent the whole request body")
    }
}

impl std::error::Error for BodyCutOff {}

async fn handle(
    state: Arc<AppState>,
    request: Request<Incoming>,
    peer: SocketAddr,
    cut_off: CutOff,
) -> Result<Response<Body>, BodyCutOff> {
    let started = Instant::now();
    let received_at_ns = now_ns();
    let number = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let method = request.method().clone();
    // A clone of the URI shares its bytes, so keeping it for the log line
    // costs no copy of the path.
    let uri = request.uri().clone();
    let path = cut_for_log(uri.path());
    let client = ClientAddress::of(peer, request.headers(), &state.config.trusted_proxies);
    let mut context = RequestContext::default();

    let mut unanswered = UnansweredLog {
        number,
        method: &method,
        path,
        started,
        response_ready: false,
    };
    let built = build_response(
        &state,
        request,
        &client,
        received_at_ns,
        number,
        cut_off,
        &mut context,
    )
    .await;
    unanswered.response_ready = true;
    let response = match built {
        Ok(response) => response,
        // A client that did not send the whole request is not sent a
        // response, so the log line states that in place of a status.
        Err(cause) => {
            log::info!(
                target: REQUEST_LOG,
                "#{number} {method} {path:?} no response after {:.1}ms user={} tx={}: {BodyCutOff} \
                 ({cause})",
                started.elapsed().as_secs_f64() * 1000.0,
                context.user.as_deref().unwrap_or("-"),
                logged_transaction_id(&context),
            );
            return Err(BodyCutOff);
        }
    };

    let elapsed = started.elapsed();
    state
        .metrics
        .observe_response(response.status().as_u16(), elapsed);
    log_request(number, &method, path, elapsed, &context, &response);
    Ok(response)
}

/// Handles a request and returns its response with the headers that end its
/// connection where needed. Logs the cause of an error response and counts
/// a `503`.
///
/// # Errors
///
/// The cause, when the client closed the connection before the whole request
/// arrived, so that it gets no response.
async fn build_response(
    state: &Arc<AppState>,
    request: Request<Incoming>,
    client: &ClientAddress,
    received_at_ns: i64,
    number: u64,
    cut_off: CutOff,
    context: &mut RequestContext,
) -> Result<Response<Body>, String> {
    let has_body = declares_body(request.headers());
    let version = request.version();
    let result =
        dispatch_until_cut_off(state, request, client, received_at_ns, cut_off, context).await;
    let mut response = match result {
        Ok(response) => response,
        Err(ApiError::ClientClosed(cause)) => return Err(cause),
        Err(error) => {
            let (level, detail) = error.log_detail();
            // The transaction id, as in the request line that follows, finds
            // the rejected writes to one log.
            let transaction = match context.transaction_id {
                Some(_) => format!(" tx={}", logged_transaction_id(context)),
                None => String::new(),
            };
            let line = format!("request #{number} from {client}{transaction} {detail}");
            if error.is_grouped_in_log() {
                let group = FailureGroup {
                    monitoring: context.monitoring,
                    status: error.status().as_u16(),
                    reason: error.unavailable_reason().map(UnavailableReason::as_str),
                };
                state.failures.record(group, level, line);
            } else {
                log::log!(target: REQUEST_LOG, level, "{line}");
            }
            if let Some(reason) = error.unavailable_reason() {
                state.metrics.count_unavailable(reason);
            }
            if let ApiError::BadCredentials {
                existing_user: Some(name),
                ..
            } = &error
            {
                context.attempted_user = Some(name.clone());
            }
            let mut response = if context.html_errors {
                dashboard::error_response(error)
            } else {
                error.into_response()
            };
            if context.errors_vary_by_accept {
                response
                    .headers_mut()
                    .insert(VARY, HeaderValue::from_static("Accept"));
            }
            response
        }
    };
    // hyper closes a connection whose request body was left unread, because
    // the rest of the body would be taken for the next request. Saying so in
    // the response keeps a client from sending its next request on it. A
    // handler also closes one whose head announced no body when the request
    // may have had one (`close_connection`).
    if context.close_connection || (has_body && !context.body_read) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    close_as_http10(version, &mut response);
    Ok(response)
}

/// Runs [`handlers::dispatch`] until it returns, or until the grace period of
/// a stop ends while the request has not been handed to the storage thread.
/// Such a request gets `503` and its connection closes. Nothing of it is
/// stored, because its entry is dropped with the handler. A request whose
/// entry is with the storage thread waits for its outcome, because the entry
/// may be stored.
async fn dispatch_until_cut_off(
    state: &Arc<AppState>,
    request: Request<Incoming>,
    client: &ClientAddress,
    received_at_ns: i64,
    mut cut_off: CutOff,
    context: &mut RequestContext,
) -> Result<Response<Body>, ApiError> {
    let handed_to_storage = Arc::clone(&context.handed_to_storage);
    // The handler borrows `context` until it is dropped at the end of this block.
    {
        let mut dispatched = pin!(handlers::dispatch(
            state,
            request,
            client,
            received_at_ns,
            context
        ));
        let mut reached = pin!(cut_off.reached());
        // The handler is polled first, so that a request which completes at
        // the cut-off gets its own response. The cut-off is not polled once
        // the storage thread has the entry, whose outcome is awaited anyway,
        // so most writes never register with the cut-off's channel.
        let finished = poll_fn(|task| {
            if let Poll::Ready(result) = dispatched.as_mut().poll(task) {
                return Poll::Ready(Some(result));
            }
            if handed_to_storage.load(Ordering::Relaxed) {
                return Poll::Pending;
            }
            reached.as_mut().poll(task).map(|()| None)
        })
        .await;
        if let Some(result) = finished {
            return result;
        }
    }
    context.close_connection = true;
    Err(ApiError::Unavailable(
        UnavailableReason::Stopped,
        format!(
            "the server is stopping, and the request had not reached the storage thread after \
             {SHUTDOWN_GRACE:?}"
        ),
    ))
}

/// Logs the line of a request that got `response` after `elapsed`. The
/// successful requests of monitoring are logged at debug.
fn log_request(
    number: u64,
    method: &Method,
    path: &str,
    elapsed: Duration,
    context: &RequestContext,
    response: &Response<Body>,
) {
    let level = if context.monitoring && response.status().is_success() {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    if !log::log_enabled!(target: REQUEST_LOG, level) {
        return;
    }
    // A failed login has no user, so the existing user whose password it got
    // wrong is a field of its own, quoted and escaped like the path.
    let attempted_user = context
        .attempted_user
        .as_ref()
        .map(|name| format!(" attempted_user={name:?}"))
        .unwrap_or_default();
    // A write from cached credentials is checked again when its user changed,
    // and a user removed since then gets 401 after the name was set.
    let user = match context.user.as_deref() {
        Some(name) if response.status() != hyper::StatusCode::UNAUTHORIZED => name,
        _ => "-",
    };
    let transaction_id = logged_transaction_id(context);
    log::log!(
        target: REQUEST_LOG,
        level,
        "#{number} {method} {path:?} {} {:.1}ms user={user} tx={transaction_id}{attempted_user}",
        response.status().as_u16(),
        elapsed.as_secs_f64() * 1000.0,
    );
}

/// Marks a response that closes the connection as HTTP/1.0 when the request
/// was HTTP/1.0. For an HTTP/1.0 request with `Connection: keep-alive`, hyper
/// (1.13, `Conn::fix_keep_alive`) adds `keep-alive` to the `Connection`
/// header of a version 1.1 response that lacks it, even beside `close`, so
/// the client would read a header that contradicts itself. hyper closes a
/// version 1.0 response's connection without adding it, and writes an
/// HTTP/1.0 status line to an HTTP/1.0 client in both cases.
fn close_as_http10(request_version: Version, response: &mut Response<Body>) {
    let closes = response
        .headers()
        .get_all(CONNECTION)
        .iter()
        .any(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
    if request_version == Version::HTTP_10 && closes {
        *response.version_mut() = Version::HTTP_10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_cut_keeps_short_text() {
        assert_eq!(cut_for_log("/worker/log/tx-1"), "/worker/log/tx-1");
    }

    #[test]
    fn log_cut_counts_characters() {
        let text = "é".repeat(MAX_LOGGED_CHARS + 5);
        assert_eq!(cut_for_log(&text).chars().count(), MAX_LOGGED_CHARS);
    }
}
