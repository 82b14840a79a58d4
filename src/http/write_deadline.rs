//! A time limit on writing responses (`--write-timeout`). hyper bounds how
//! long it waits for a request head, but not how long a response may wait for
//! the client to read it. Without a limit, a client that sends requests and
//! never reads the responses would hold its connection, and one of
//! `--max-connections`, for as long as it likes.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::REQUEST_LOG;

/// A stream whose writes fail with [`io::ErrorKind::TimedOut`] once a write
/// has waited `limit` for room in the socket's send buffer. The clock starts
/// when a write finds the buffer full, and stops at the next write that goes
/// through. The kernel makes room only as the client's receive window opens,
/// which can lag its reading by many KiB. So a client that reads very slowly
/// can be cut off too, and the limit is far longer than a read timeout.
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    peer: SocketAddr,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    pub fn new(inner: S, limit: Duration, peer: SocketAddr) -> Self {
        WriteDeadline {
            inner,
            limit,
            peer,
            stalled: None,
        }
    }

    /// Returns true while a write is waiting for room in the send buffer.
    pub fn is_write_blocked(&self) -> bool {
        self.stalled.is_some()
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Returns a write's result, or an error once the write has waited past
    /// the limit.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if stalled.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            // hyper reports the failed write without its cause, and the
            // request line already shows 200, so this line records the cut.
            log::info!(
                target: REQUEST_LOG,
                "connection from {} closed: the client read none of its responses for {} s",
                self.peer,
                limit.as_secs()
            );
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read no response for {limit:?}"),
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.check(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
