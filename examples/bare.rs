//! A bare HTTP server for benchmarks: the same HTTP layer as `translog serve`
//! (hyper 1.x, HTTP/1.1 only, on a single-threaded tokio runtime, with the same
//! `http1::Builder` settings and `TCP_NODELAY`) that reads each request body
//! and responds `200` with an empty body. It does nothing else: no routing, no
//! authentication, no parsing, no storage, no logging and no cap on open
//! connections.
//!
//! `scripts/bench.sh` runs it beside translog, so that the ratio of the two
//! shows what translog's own work costs on top of its HTTP layer.
//!
//! Usage: `bare [ADDR]` (default `127.0.0.1:0`). It prints
//! `listening on http://ADDR` on stderr once bound, and stops on SIGINT or
//! SIGTERM.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::signal::unix::{signal, SignalKind};

use translog::http::{MAX_BODY_BYTES, MAX_HEAD_BYTES};

/// The default of `translog serve --read-timeout`.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES);
    let status = match tokio::time::timeout(READ_TIMEOUT, body.collect()).await {
        Ok(Ok(_)) => StatusCode::OK,
        Ok(Err(_)) => StatusCode::BAD_REQUEST,
        Err(_) => StatusCode::REQUEST_TIMEOUT,
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Ok(response)
}

async fn serve(address: SocketAddr) -> Result<(), String> {
    let listener = translog::service::listen(address)
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    let bound = listener
        .local_addr()
        .map_err(|error| format!("cannot read the bound address: {error}"))?;
    eprintln!("listening on http://{bound}");

    let mut terminate = signal(SignalKind::terminate()).map_err(|error| error.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|error| error.to_string())?;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        };
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(READ_TIMEOUT)
            .max_buf_size(MAX_HEAD_BYTES)
            .half_close(true)
            .serve_connection(TokioIo::new(stream), service_fn(answer));
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

fn main() -> std::process::ExitCode {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let address: SocketAddr = match address.parse() {
        Ok(address) => address,
        Err(_) => {
            eprintln!("bare: invalid address {address:?}; use IP:PORT such as 127.0.0.1:0");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bare: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(address)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bare: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
