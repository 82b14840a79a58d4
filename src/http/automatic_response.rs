//! Holding back the response that hyper writes by itself for a request head
//! that it cannot parse. hyper 1.13 (`Server::on_error` in
//! `proto/h1/role.rs`) responds to such a head with `400`, `431` or `414`, an
//! empty body and `content-length: 0`, and offers no hook to change it.
//! translog's own errors all have a body (JSON, or HTML on the dashboard's
//! pages), so this stream drops those bytes and skips the shutdown that
//! follows them. [`super::connection::serve`] then sends the JSON error in
//! their place, once hyper has returned the parse error.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The maximum length of hyper's automatic response head: a status line, a
/// `content-length`, a `connection` and a `date` header. It is about 100
/// bytes, so a longer write is never one.
const MAX_AUTOMATIC_HEAD_BYTES: usize = 256;

/// A stream that drops hyper's automatic response to an unparsable request
/// head, reports its bytes as written, and then ignores the shutdown that
/// hyper sends after it.
pub struct AutomaticResponseFilter<S> {
    inner: S,
    held_back: bool,
}

impl<S> AutomaticResponseFilter<S> {
    pub fn new(inner: S) -> Self {
        AutomaticResponseFilter {
            inner,
            held_back: false,
        }
    }

    /// Returns true once hyper's automatic response was dropped, so that the
    /// caller has to send a response in its place.
    pub fn held_back(&self) -> bool {
        self.held_back
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Returns true when a write whose first non-empty buffer is `first` and
/// whose buffers have `total` bytes in all is hyper's automatic response: a
/// `4xx` head with `content-length: 0`, alone in the write.
///
/// Only a write that starts with a `4xx` status line is looked at further,
/// so other writes cost two comparisons. translog's own `4xx` responses
/// always have a JSON or HTML body, and so a `Content-Length` above 0, also
/// in the response to a `HEAD` request, where hyper writes the head alone.
/// hyper writes a head in one buffer, the body in the next ones, and its
/// automatic response last on a connection, so a write that carries more
/// bytes than a head is not one.
///
/// NOTE: only the start of a write is checked, so an automatic response
/// written in one buffer after the end of an earlier response would keep its
/// empty body. With pipelined requests, hyper 1.13 sent the earlier response
/// in a write of its own.
fn is_automatic_response(first: &[u8], total: usize) -> bool {
    if first.get(9) != Some(&b'4') || !first.starts_with(b"HTTP/1.") {
        return false;
    }
    if first.len() != total || total > MAX_AUTOMATIC_HEAD_BYTES {
        return false;
    }
    let Some(end) = first.windows(4).position(|window| window == b"\r\n\r\n") else {
        return false;
    };
    if end + 4 != first.len() {
        return false;
    }
    // hyper writes header names in lower case.
    first[..end + 2]
        .windows(21)
        .any(|line| line == b"\r\ncontent-length: 0\r\n")
}

impl<S: AsyncRead + Unpin> AsyncRead for AutomaticResponseFilter<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AutomaticResponseFilter<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if is_automatic_response(buf, buf.len()) {
            this.held_back = true;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let first = bufs.iter().find(|buf| !buf.is_empty());
        if let Some(first) = first {
            // The sum is taken only for a write that starts with a 4xx head.
            if first.get(9) == Some(&b'4') {
                let total = bufs.iter().map(|buf| buf.len()).sum();
                if is_automatic_response(first, total) {
                    this.held_back = true;
                    return Poll::Ready(Ok(total));
                }
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// Shuts down the sending side, unless a response was held back, which
    /// the caller still has to send.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.held_back {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTOMATIC_431: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
        content-length: 0\r\nconnection: close\r\ndate: Fri, 04 Dec 2026 13:57:54 GMT\r\n\r\n";

    #[test]
    fn automatic_431_is_held_back() {
        assert!(is_automatic_response(AUTOMATIC_431, AUTOMATIC_431.len()));
    }

    #[test]
    fn head_with_body_after_it_is_written() {
        assert!(!is_automatic_response(
            AUTOMATIC_431,
            AUTOMATIC_431.len() + 10
        ));
    }

    #[test]
    fn head_response_with_length_is_written() {
        let head = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\
            content-length: 120\r\ndate: Fri, 04 Dec 2026 13:57:54 GMT\r\n\r\n";
        assert!(!is_automatic_response(head, head.len()));
    }

    #[test]
    fn empty_200_is_written() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\
            date: Fri, 04 Dec 2026 13:57:54 GMT\r\n\r\n";
        assert!(!is_automatic_response(head, head.len()));
    }

    #[test]
    fn head_after_other_bytes_is_written() {
        let mut write = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec();
        write.extend_from_slice(AUTOMATIC_431);
        assert!(!is_automatic_response(&write, write.len()));
    }
}
