#!/usr/bin/env python3
"""Fault tests of translog: hostile clients, a crashed or stopped process, a
locked database, a full disk and the file descriptor limit, each against the
real release binary on 127.0.0.1.

Every case prints `PASS name: figure` or `FAIL name: figure`, and the run ends
with `N passed, M failed`. In every case a well-behaved client (a POST of a
valid, unique entry with the administrator's credentials) must get a response
within 1 s while the fault lasts and after it. Every loop is bounded in count
and time. Standard library only.

Usage: fault_test.py --binary target/release/translog [--only NAME ...]
"""

from __future__ import annotations

import argparse
import base64
import errno
import json
import os
import re
import resource
import secrets
import selectors
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

# The time within which a well-behaved client must get a response, in seconds.
PROBE_TIMEOUT = 1.0

# Read timeout of the servers under test (`serve --read-timeout`), in seconds.
READ_TIMEOUT = 2

TIMESTAMP = "2026-12-04T14:57:54Z"
FORM = "application/x-www-form-urlencoded"

# A random tag that keeps the transaction ids of one run apart from any other.
RUN = secrets.token_hex(3)


class ConnectionClosed(Exception):
    """The server closed the connection before a whole response arrived."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self):
        return json.loads(self.body)


class RawConnection:
    """A client connection that writes raw bytes and parses HTTP/1.1
    responses itself, so that a case can send what no HTTP library would."""

    def __init__(self, address: tuple[str, int], timeout: float = 5.0):
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        """Closes with a TCP reset, as a peer that vanished would."""
        self.sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.sock.close()

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete response in time")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("the server closed the connection")
        self.buffer += chunk

    def read_response(self, timeout: float) -> Response:
        """Reads one response, a `1xx` included. Raises TimeoutError,
        ConnectionClosed or ConnectionResetError."""
        deadline = time.monotonic() + timeout
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill(deadline)

        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        if 100 <= status < 200 or status in (204, 304):
            return Response(status, headers, b"")

        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(self.buffer) < length:
                self._fill(deadline)
            body = bytes(self.buffer[:length])
            del self.buffer[:length]
            return Response(status, headers, body)

        # Without a length the body ends when the connection does.
        try:
            while True:
                self._fill(deadline)
        except ConnectionClosed:
            pass
        body = bytes(self.buffer)
        self.buffer.clear()
        return Response(status, headers, body)

    def wait_closed(self, timeout: float) -> bool:
        """Returns whether the server closed the connection within `timeout`;
        bytes that arrive meanwhile are kept for `read_response`."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except (ConnectionClosed, ConnectionResetError):
            return True
        except TimeoutError:
            return False


class Server:
    """One `translog serve` process on 127.0.0.1, port 0, with its database
    and log in `directory`."""

    def __init__(
        self,
        binary: Path,
        directory: Path,
        name: str,
        args: tuple[str, ...] = (),
        nofile: int | None = None,
    ):
        self.binary = binary
        self.directory = directory
        self.db = directory / "translog.db"
        self.log_path = directory / f"{name}.log"
        self.args = ("--read-timeout", f"{READ_TIMEOUT}s", *args)
        self.nofile = nofile
        self.process: subprocess.Popen | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self.authorization = ""

    def start(self, timeout: float = 20.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        offset = log.tell()
        limit = self.nofile

        def lower_fd_limit() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("TRANSLOG_")
        }
        env["RUST_LOG"] = "info"
        command = [
            str(self.binary),
            "--db",
            str(self.db),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]
        self.process = subprocess.Popen(
            [*command, *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            preexec_fn=lower_fd_limit,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text(offset)
            found = re.search(r"listening on http://(\S+?):(\d+)[,\s]", text)
            if found:
                self.address = (found.group(1), int(found.group(2)))
                break
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {text[-500:]}"
                )
            time.sleep(0.02)
        else:
            raise RuntimeError("server did not log its address within 20 s")
        credentials = Path(f"{self.db}.credentials").read_text().strip()
        self.authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        # The first request verifies the password with Argon2id (about 19 MiB
        # while it runs); later ones hit the credential cache. Warming the
        # cache here keeps that one-off cost out of each case's memory figures.
        self.request("GET", "/healthz")
        self.request("GET", "/worker/log?limit=1")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self, offset: int = 0) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def status_kib(self, field_name: str) -> int:
        """A memory figure such as VmRSS or VmHWM from /proc/PID/status, in KiB."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
        return int(found.group(1)) if found else -1

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self) -> int | None:
        """Sends SIGTERM, waits up to 10 s, then SIGKILL. Returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> Response:
        """Sends one request on a new connection and returns the response."""
        connection = RawConnection(self.address, timeout)
        try:
            connection.send(build_request(self, method, path, body, headers))
            return connection.read_response(timeout)
        finally:
            connection.close()


def build_request(
    server: Server,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    authorized: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: translog"]

    if authorized:
        lines.append(f"Authorization: {server.authorization}")
    all_headers = (
        {"Content-Type": FORM, "Content-Length": str(len(body))} if body else {}
    )
    all_headers.update(headers or {})
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def entry_form(
    timestamp: str = TIMESTAMP,
    stage: str = "WORKER_INIT",
    status: str = "SUCCESS",
    message: str | None = None,
) -> bytes:
    pairs = [("timestamp", timestamp), ("stage", stage), ("status", status)]

    if message is not None:
        pairs.append(("message", message))
    return urllib.parse.urlencode(pairs).encode()


def post_entry(server: Server, transaction_id: str, body: bytes | None = None) -> bytes:
    return build_request(
        server, "POST", f"/worker/log/{transaction_id}", body or entry_form()
    )


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def stored_timestamps(server: Server, transaction_id: str) -> set[str] | None:
    """The `timestamp_sent` of every stored entry of a transaction, read page
    by page, or None when the transaction has no entries."""
    timestamps: set[str] = set()
    path = f"/worker/log/{transaction_id}"
    while True:
        response = server.request("GET", path, timeout=10)
        if response.status == 404:
            return None
        if response.status != 200:
            raise RuntimeError(f"GET {path} returned {response.status}")
        page = response.json()
        timestamps.update(entry["timestamp_sent"] for entry in page["entries"])
        if page["next_cursor"] is None:
            return timestamps
        path = f"/worker/log/{transaction_id}?cursor={page['next_cursor']}"


def is_stored(server: Server, transaction_id: str) -> bool:
    return stored_timestamps(server, transaction_id) is not None


# ---------------------------------------------------------------------------
# The well-behaved client


@dataclass
class ProbeResult:
    status: int | None
    seconds: float
    error: str = ""
    retry_after: str = ""


_probe_numbers = iter(range(10**9))


def probe(server: Server) -> ProbeResult:
    """POSTs a valid, unique entry on a new connection; everything, the
    connect included, must finish within PROBE_TIMEOUT."""
    transaction_id = f"probe-{RUN}-{next(_probe_numbers)}"
    started = time.monotonic()
    try:
        connection = RawConnection(server.address, PROBE_TIMEOUT)
    except OSError as error:
        return ProbeResult(None, time.monotonic() - started, f"connect failed: {error}")
    try:
        connection.send(post_entry(server, transaction_id))
        remaining = PROBE_TIMEOUT - (time.monotonic() - started)
        response = connection.read_response(max(remaining, 0.001))
        seconds = time.monotonic() - started
        return ProbeResult(
            response.status, seconds, retry_after=response.header("retry-after")
        )
    except (OSError, ConnectionClosed) as error:
        return ProbeResult(
            None, time.monotonic() - started, f"{type(error).__name__}: {error}"
        )
    finally:
        connection.close()


class Prober:
    """Sends a probe at once and then every `interval` seconds from a
    background thread while the `with` block runs."""

    def __init__(self, server: Server, interval: float = 0.25):
        self.server = server
        self.interval = interval
        self.results: list[ProbeResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(PROBE_TIMEOUT + 2)

    def _run(self) -> None:
        for _ in range(2000):
            self.results.append(probe(self.server))
            if self._stop.wait(self.interval):
                return


def judge_probes(
    results: list[ProbeResult],
    problems: list[str],
    allowed: tuple[int, ...] = (200,),
    label: str = "probes",
) -> str:
    """Adds a problem for the first probe without a response of an allowed
    status within 1 s, and returns a summary for the figure."""

    if not results:
        problems.append(f"{label}: none ran")
        return f"{label} 0"
    good = [r for r in results if r.status in allowed and r.seconds <= PROBE_TIMEOUT]
    for number, result in enumerate(results):
        if result not in good:
            what = result.error or f"status {result.status}"
            problems.append(
                f"{label} #{number}: {what} after {result.seconds * 1000:.0f} ms"
            )
            break
    slowest = max(r.seconds for r in results) * 1000
    statuses = "/".join(str(s) for s in sorted({r.status for r in good if r.status}))
    return f"{label} {len(good)}/{len(results)} answered {statuses or '-'} within 1 s (max {slowest:.0f} ms)"


def probe_after(server: Server, problems: list[str], tries: int = 1) -> str:
    """Probes once the fault is over. A case may allow a few tries, 0.2 s
    apart, for a state that clears by itself, such as a failed batch."""
    results = []
    for _ in range(tries):
        results.append(probe(server))
        if results[-1].status == 200 and results[-1].seconds <= PROBE_TIMEOUT:
            break
        time.sleep(0.2)
    last = results[-1]

    if last.status != 200 or last.seconds > PROBE_TIMEOUT:
        problems.append(
            f"probe after the fault: {last.error or last.status} after {last.seconds * 1000:.0f} ms"
        )
    tried = f" at try {len(results)}" if len(results) > 1 else ""
    return f"after: {last.status} in {last.seconds * 1000:.0f} ms{tried}"


# ---------------------------------------------------------------------------
# Concurrent writers


class WriteLoad:
    """`writers` threads, each POSTing unique entries of its own transaction
    over one keep-alive connection until stopped or the connection fails.
    An entry counts as acknowledged only when its response was `200`."""

    MAX_ENTRIES_PER_WRITER = 100_000

    def __init__(self, server: Server, prefix: str, writers: int = 16):
        self.server = server
        self.transaction_ids = [f"{prefix}-{RUN}-w{n}" for n in range(writers)]
        self.acknowledged: list[set[str]] = [set() for _ in range(writers)]
        self.statuses: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True)
            for n in range(writers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def count(self, key: str) -> None:
        with self._lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def _write(self, number: int) -> None:
        transaction_id = self.transaction_ids[number]
        try:
            connection = RawConnection(self.server.address, 5)
        except OSError:
            self.count("connect failed")
            return
        for sequence in range(self.MAX_ENTRIES_PER_WRITER):
            if self._stop.is_set():
                break
            timestamp = f"2026-12-04T14:57:54.{sequence:09d}Z"
            try:
                connection.send(
                    post_entry(self.server, transaction_id, entry_form(timestamp))
                )
                response = connection.read_response(5)
            except (OSError, ConnectionClosed) as error:
                self.count(type(error).__name__)
                break
            self.count(str(response.status))
            if response.status == 200:
                self.acknowledged[number].add(timestamp)
            if "close" in response.header("connection").lower():
                break
        connection.close()

    def verify(self, server: Server) -> tuple[int, int, int]:
        """Returns (acknowledged, of them present, stored in total)."""
        acknowledged = present = stored = 0
        for transaction_id, sent in zip(self.transaction_ids, self.acknowledged):
            found = stored_timestamps(server, transaction_id) or set()
            acknowledged += len(sent)
            present += len(sent & found)
            stored += len(found)
        return acknowledged, present, stored


# ---------------------------------------------------------------------------
# Cases


@dataclass
class Context:
    binary: Path
    workdir: Path
    main: Server
    started: list[Server] = field(default_factory=list)

    def new_server(self, name: str, **options) -> Server:
        server = Server(self.binary, self.workdir / name, name, **options)
        self.started.append(server)
        return server


def check_alive(server: Server, problems: list[str]) -> None:
    if not server.alive():
        problems.append(
            f"server exited with {server.process.returncode if server.process else '?'}"
        )


def stalled_body(ctx: Context, declared: int, sent: int) -> tuple[list[str], str]:
    """A request that declares `declared` body bytes, sends `sent` and stalls."""
    server = ctx.main
    problems: list[str] = []
    rss_before = server.status_kib("VmRSS")

    with Prober(server) as prober:
        connection = RawConnection(server.address)
        head = build_request(
            server,
            "POST",
            f"/worker/log/stall-{RUN}",
            headers={
                "Content-Type": FORM,
                "Content-Length": str(declared),
            },
        )
        started = time.monotonic()
        connection.send(head + entry_form()[:sent])
        try:
            response = connection.read_response(READ_TIMEOUT + 2)
            answer = (
                f"{response.status} in {(time.monotonic() - started) * 1000:.0f} ms"
            )
        except (TimeoutError, ConnectionClosed, ConnectionResetError) as error:
            response = None
            answer = f"no reply ({type(error).__name__})"
        closed = connection.wait_closed(READ_TIMEOUT + 1)
        time.sleep(1.0)
        connection.close()
    rss_growth = server.status_kib("VmRSS") - rss_before

    if response is None or response.status != 413:
        problems.append(f"expected 413, got {answer}")
    elif "close" not in response.header("connection").lower():
        problems.append("413 without Connection: close")
    if not closed:
        problems.append("connection left open")
    if rss_growth > 4096:
        problems.append(f"RSS grew {rss_growth} KiB")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)

    figure = (
        f"{answer} without reading the body, connection closed: {closed}, "
        f"RSS {rss_growth:+d} KiB; {probes}; {after}"
    )

    return problems, figure


def case_declared_body_huge(ctx: Context) -> tuple[list[str], str]:
    return stalled_body(ctx, 10**14, 4)


def case_declared_body_over_limit(ctx: Context) -> tuple[list[str], str]:
    return stalled_body(ctx, 100_000, 10)


def grow_head(server: Server, one_line: bool) -> tuple[int | None, int]:
    """Sends an ever longer request head until the server replies or closes
    (at most 4 MiB). Returns the status and the bytes sent."""
    connection = RawConnection(server.address, 2)
    sent = 0
    start = f"GET /worker/log HTTP/1.1\r\nHost: translog\r\nAuthorization: {server.authorization}\r\n"

    if one_line:
        start += "X-Filler: "
    connection.send(start.encode())
    selector = selectors.DefaultSelector()
    selector.register(connection.sock, selectors.EVENT_READ)
    try:
        for number in range(4096):
            chunk = (
                b"a" * 1024
                if one_line
                else b"X-Filler-%05d: %s\r\n" % (number, b"a" * 1000)
            )
            try:
                connection.send(chunk)
            except OSError:
                break
            sent += len(chunk)
            if selector.select(0):
                break
        try:
            return connection.read_response(3).status, sent
        except (OSError, ConnectionClosed):
            return None, sent
    finally:
        selector.close()
        connection.close()


def case_growing_head(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    rss_before = server.status_kib("VmRSS")
    hwm_before = server.status_kib("VmHWM")

    with Prober(server) as prober:
        lines_status, lines_sent = grow_head(server, one_line=False)
        line_status, line_sent = grow_head(server, one_line=True)
    rss_growth = server.status_kib("VmRSS") - rss_before
    hwm_growth = server.status_kib("VmHWM") - hwm_before
    for label, status in (("many lines", lines_status), ("one line", line_status)):
        if status != 431:
            problems.append(f"{label}: expected 431, got {status}")

    if rss_growth > 4096 or hwm_growth > 4096:
        problems.append(f"memory grew: RSS {rss_growth} KiB, peak {hwm_growth} KiB")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)

    figure = (
        f"{lines_status} to a head of ever more lines ({lines_sent // 1024} KiB sent), {line_status} to "
        f"one ever longer line ({line_sent // 1024} KiB sent); RSS {rss_growth:+d} KiB, "
        f"peak {hwm_growth:+d} KiB; "
        f"{probes}; {after}"
    )

    return problems, figure


def wait_all_closed(connections: list[RawConnection], timeout: float) -> list[float]:
    """Waits until the server closes each connection; returns the seconds
    each took, for those closed within `timeout`."""
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    for connection in connections:
        connection.sock.setblocking(False)
        selector.register(connection.sock, selectors.EVENT_READ)
    closed_after: list[float] = []
    remaining = len(connections)
    while remaining and (left := started + timeout - time.monotonic()) > 0:
        for key, _ in selector.select(left):
            try:
                data = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                closed_after.append(time.monotonic() - started)
                remaining -= 1
    selector.close()
    return closed_after


def case_idle_keepalive(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    count = 500
    fds_before = server.fd_count()
    rss_before = server.status_kib("VmRSS")
    connections = [RawConnection(server.address, 5) for _ in range(count)]
    for number, connection in enumerate(connections):
        connection.send(post_entry(server, f"idle-{RUN}-{number}"))
    served = 0
    for connection in connections:
        try:
            served += connection.read_response(10).status == 200
        except (OSError, ConnectionClosed):
            pass
    rss_open = server.status_kib("VmRSS") - rss_before
    fds_open = server.fd_count()

    with Prober(server) as prober:
        closed_after = wait_all_closed(connections, READ_TIMEOUT + 4)
    for connection in connections:
        connection.close()
    time.sleep(0.2)
    fds_after = server.fd_count()

    if served != count:
        problems.append(f"only {served} of {count} first requests answered 200")
    if len(closed_after) != count:
        problems.append(
            f"only {len(closed_after)} of {count} idle connections closed by the server"
        )
    if rss_open > 100 * count:
        problems.append(f"RSS grew {rss_open} KiB with {count} connections open")
    if fds_after > fds_before + 2:
        problems.append(f"server fds {fds_before} before, {fds_after} after")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)
    window = (
        f"{min(closed_after):.1f} to {max(closed_after):.1f} s" if closed_after else "-"
    )

    figure = (
        f"{served}/{count} first requests answered 200; {len(closed_after)}/{count} idle connections "
        f"closed by the server after {window} (read timeout {READ_TIMEOUT} s); RSS {rss_open:+d} KiB "
        f"with {count} open ({fds_open} fds), fds {fds_before} -> {fds_after}; {probes}; {after}"
    )

    return problems, figure


def case_silent_client(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    fds_before = server.fd_count()

    with Prober(server) as prober:
        mid_body = RawConnection(server.address)
        mid_head = RawConnection(server.address)
        vanished = RawConnection(server.address)
        started = time.monotonic()
        head = build_request(
            server,
            "POST",
            f"/worker/log/silent-{RUN}",
            headers={
                "Content-Type": FORM,
                "Content-Length": "1000",
            },
        )
        mid_body.send(head + entry_form()[:10])
        mid_head.send(b"POST /worker/log/x HTTP/1.1\r\nHost: translog\r\nContent-Le")
        vanished.send(head + entry_form()[:10])
        time.sleep(0.2)
        vanished.reset()
        try:
            body_reply = mid_body.read_response(READ_TIMEOUT + 3)
            body_answer = (
                f"{body_reply.status} after {time.monotonic() - started:.1f} s"
            )
        except (OSError, ConnectionClosed) as error:
            body_reply = None
            body_answer = f"no reply ({type(error).__name__})"
        body_closed = mid_body.wait_closed(2)
        head_closed = mid_head.wait_closed(READ_TIMEOUT + 3)
        head_seconds = time.monotonic() - started
        head_answer = "closed" if head_closed else "left open"
        if head_closed and mid_head.buffer:
            head_answer = (
                "closed after " + bytes(mid_head.buffer[:12]).decode("latin-1").strip()
            )
    mid_body.close()
    mid_head.close()
    fds_after = fds_before + 99
    for _ in range(20):
        fds_after = server.fd_count()
        if fds_after <= fds_before:
            break
        time.sleep(0.1)

    if body_reply is None or body_reply.status != 408:
        problems.append(f"stalled body: expected 408, got {body_answer}")
    if not body_closed:
        problems.append("stalled body: connection left open")
    if not head_closed:
        problems.append("stalled head: connection left open")
    elif not bytes(mid_head.buffer).startswith(b"HTTP/1.1 408"):
        problems.append(f"stalled head: expected 408, got {head_answer}")
    if fds_after > fds_before:
        problems.append(f"server fds {fds_before} before, {fds_after} after")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)

    figure = (
        f"stalled body: {body_answer}, closed; stalled head: {head_answer} after {head_seconds:.1f} s; "
        f"vanished peer reclaimed; server fds {fds_before} -> {fds_after}; {probes}; {after}"
    )

    return problems, figure


@dataclass
class SmuggleResult:
    statuses: list[int]
    closed: bool
    smuggled_stored: bool
    outer_stored: bool


def try_smuggle(
    server: Server, name: str, head_lines: list[str], body: bytes
) -> SmuggleResult:
    """Sends a POST with the given framing headers and body, and a POST of a
    distinctive entry after it on the same connection. Reads every reply until
    the server closes the connection, then looks up both entries."""
    outer = f"outer-{name}-{RUN}"
    smuggled = f"smuggled-{name}-{RUN}"
    lines = [
        f"POST /worker/log/{outer} HTTP/1.1",
        "Host: translog",
        f"Authorization: {server.authorization}",
        f"Content-Type: {FORM}",
        *head_lines,
    ]
    data = (
        ("\r\n".join(lines) + "\r\n\r\n").encode() + body + post_entry(server, smuggled)
    )
    connection = RawConnection(server.address)
    statuses = []
    try:
        connection.send(data)
        for _ in range(3):
            try:
                statuses.append(connection.read_response(3).status)
            except (ConnectionClosed, ConnectionResetError):
                break
            except TimeoutError:
                break
        closed = connection.wait_closed(3)
    finally:
        connection.close()
    return SmuggleResult(
        statuses, closed, is_stored(server, smuggled), is_stored(server, outer)
    )


def case_te_with_cl(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    entry = entry_form()
    smuggled = post_entry(server, "x")
    variants = {
        # The chunked body is the real one; a short Content-Length would end
        # the body early and turn the rest into a second request.
        "te-cl": (
            ["Content-Length: 4", "Transfer-Encoding: chunked"],
            chunked(entry),
            200,
        ),
        # An empty chunked body, but a Content-Length that covers a second request.
        "cl-te": (
            [f"Content-Length: {5 + len(smuggled)}", "Transfer-Encoding: chunked"],
            b"0\r\n\r\n",
            400,
        ),
    }
    figures = []

    with Prober(server) as prober:
        for name, (head_lines, body, expected) in variants.items():
            result = try_smuggle(server, name, head_lines, body)
            figures.append(f"{name}: {result.statuses} closed={result.closed}")
            if result.statuses[:1] != [expected]:
                problems.append(
                    f"{name}: expected one {expected}, got {result.statuses}"
                )
            if len(result.statuses) > 1:
                problems.append(f"{name}: a second request was answered")
            if not result.closed:
                problems.append(f"{name}: connection not closed after the reply")
            if result.smuggled_stored:
                problems.append(f"{name}: the smuggled entry was stored")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)
    return (
        problems,
        f"{'; '.join(figures)}; smuggled entries stored: 0; {probes}; {after}",
    )


def case_unknown_transfer_coding(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    entry = entry_form()
    plain = [f"Content-Length: {len(entry)}"]
    variants = {
        "gzip": (["Transfer-Encoding: gzip", *plain], entry),
        "xchunked": (["Transfer-Encoding: xchunked", *plain], entry),
        "chunked-identity": (["Transfer-Encoding: chunked, identity", *plain], entry),
        "identity": (["Transfer-Encoding: identity", *plain], entry),
        "gzip-chunked": (["Transfer-Encoding: gzip, chunked"], chunked(entry)),
        "two-te-headers": (
            ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
            chunked(entry),
        ),
        "chunked-twice": (
            ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
            chunked(entry),
        ),
        "space-before-colon": (["Transfer-Encoding : chunked", *plain], chunked(entry)),
        "vertical-tab": (["Transfer-Encoding:\x0bchunked", *plain], chunked(entry)),
        "two-lengths": ([*plain, "Content-Length: 5"], entry),
    }
    rejected = 0
    figures = []

    with Prober(server) as prober:
        for name, (head_lines, body) in variants.items():
            result = try_smuggle(server, name, head_lines, body)
            figures.append(f"{name} {'/'.join(map(str, result.statuses)) or 'closed'}")
            if result.smuggled_stored:
                problems.append(f"{name}: the smuggled entry was stored")
            if result.outer_stored or 200 in result.statuses:
                problems.append(f"{name}: the request was accepted ({result.statuses})")
            elif any(status >= 500 and status != 501 for status in result.statuses):
                problems.append(f"{name}: server error {result.statuses}")
            else:
                rejected += 1
            if not result.closed:
                problems.append(f"{name}: connection not closed after the reply")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)

    figure = f"{rejected}/{len(variants)} rejected ({', '.join(figures)}); smuggled entries stored: 0; {probes}; {after}"

    return problems, figure


def case_pipelined(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    transaction_id = f"pipe-{RUN}"
    count = 200
    data = bytearray()
    sent_order: list[str] = []
    for number in range(count):
        timestamp = f"2026-12-04T14:57:54.{number:09d}Z"
        sent_order.append(timestamp)
        data += post_entry(server, transaction_id, entry_form(timestamp))
        if number % 10 == 9:
            # A read after every tenth entry shows the replies come in order
            # and each entry is stored before the next request runs.
            data += build_request(server, "GET", f"/worker/log/{transaction_id}")

    with Prober(server) as prober:
        connection = RawConnection(server.address, 10)
        connection.send(bytes(data))
        replies = 0
        out_of_order = 0
        try:
            for number in range(count):
                response = connection.read_response(10)
                replies += response.status == 200
                if number % 10 == 9:
                    log = connection.read_response(10)
                    if log.status != 200 or len(log.json()["entries"]) != number + 1:
                        out_of_order += 1
        except (OSError, ConnectionClosed) as error:
            problems.append(f"reading replies failed after {replies}: {error}")
        connection.close()
    stored = server.request("GET", f"/worker/log/{transaction_id}", timeout=10).json()[
        "entries"
    ]
    stored_order = [
        entry["timestamp_sent"]
        for entry in sorted(stored, key=lambda e: e["received_at"])
    ]

    if replies != count:
        problems.append(f"{replies} of {count} POSTs answered 200")
    if out_of_order:
        problems.append(f"{out_of_order} interleaved reads saw the wrong entry count")
    if stored_order != sent_order:
        problems.append(f"{len(stored)} stored, not in the order sent")

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)

    figure = (
        f"{count} POSTs and {count // 10} GETs in one write: {replies}/{count} answered 200 in order, "
        f"{len(stored)} stored in arrival order; {probes}; {after}"
    )

    return problems, figure


def case_expect_continue(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    body = entry_form()

    with Prober(server) as prober:
        connection = RawConnection(server.address)
        head = build_request(
            server,
            "POST",
            f"/worker/log/expect-{RUN}",
            headers={
                "Content-Type": FORM,
                "Content-Length": str(len(body)),
                "Expect": "100-continue",
            },
        )
        started = time.monotonic()
        connection.send(head)
        interim = connection.read_response(PROBE_TIMEOUT)
        interim_ms = (time.monotonic() - started) * 1000
        connection.send(body)
        final = connection.read_response(PROBE_TIMEOUT)
        connection.close()

        oversized = RawConnection(server.address)
        oversized.send(
            build_request(
                server,
                "POST",
                f"/worker/log/expect-{RUN}",
                headers={
                    "Content-Type": FORM,
                    "Content-Length": str(10**6),
                    "Expect": "100-continue",
                },
            )
        )
        rejection = oversized.read_response(PROBE_TIMEOUT)
        oversized.close()

    if interim.status != 100:
        problems.append(f"expected 100 Continue, got {interim.status}")
    if final.status != 200:
        problems.append(f"expected 200 after the body, got {final.status}")
    if rejection.status != 413:
        problems.append(
            f"oversized: expected 413 before the body, got {rejection.status}"
        )

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)

    figure = (
        f"{interim.status} Continue after {interim_ms:.0f} ms, then {final.status}; 1 MB declared: "
        f"{rejection.status} without 100 Continue; {probes}; {after}"
    )

    return problems, figure


def case_connection_burst(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    count = 64
    barrier = threading.Barrier(count)
    first: list[float | None] = [None] * count
    second: list[float | None] = [None] * count
    connections: list[RawConnection | None] = [None] * count

    def client(number: int) -> None:
        try:
            barrier.wait(5)
            started = time.monotonic()
            connection = RawConnection(server.address, 5)
            connections[number] = connection
            connection.send(post_entry(server, f"burst-{RUN}-{number}"))
            if connection.read_response(5).status == 200:
                first[number] = time.monotonic() - started
        except (OSError, ConnectionClosed, threading.BrokenBarrierError):
            pass

    def reuse(number: int) -> None:
        connection = connections[number]
        if connection is None:
            return
        try:
            started = time.monotonic()
            body = entry_form("2026-12-04T14:57:55Z")
            connection.send(post_entry(server, f"burst-{RUN}-{number}", body))
            if connection.read_response(5).status == 200:
                second[number] = time.monotonic() - started
        except (OSError, ConnectionClosed):
            pass
        connection.close()

    with Prober(server) as prober:
        for target in (client, reuse):
            threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(15)
    served_first = [s for s in first if s is not None]
    served_second = [s for s in second if s is not None]

    if len(served_first) != count:
        problems.append(f"{len(served_first)} of {count} new connections served")
    if len(served_second) != count:
        problems.append(
            f"{len(served_second)} of {count} second requests on them served"
        )

    probes = judge_probes(prober.results, problems)
    check_alive(server, problems)
    after = probe_after(server, problems)
    slowest = max(served_first, default=0) * 1000

    figure = (
        f"{len(served_first)}/{count} new keep-alive connections served (slowest {slowest:.0f} ms), "
        f"{len(served_second)}/{count} second requests on them; {probes}; {after}"
    )

    return problems, figure


def case_kill_under_load(ctx: Context) -> tuple[list[str], str]:
    problems: list[str] = []
    server = ctx.new_server("kill9")

    server.start()
    load = WriteLoad(server, "kill9")

    with Prober(server) as prober:
        load.start()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(5)
    load.stop()

    probes = judge_probes(prober.results[:-2], problems, label="probes before the kill")

    server.start()
    acknowledged, present, stored = load.verify(server)
    after = probe_after(server, problems)

    if present != acknowledged:
        problems.append(f"{acknowledged - present} acknowledged entries lost")
    if acknowledged == 0:
        problems.append("no entry was acknowledged before the kill")
    server.stop()

    figure = (
        f"16 writers, kill -9 after 1.5 s, restart: acknowledged {acknowledged}, present {present}, "
        f"stored {stored}, lost {acknowledged - present}; {probes}; {after}"
    )

    return problems, figure


def case_database_locked(ctx: Context) -> tuple[list[str], str]:
    server = ctx.main
    problems: list[str] = []
    holder = sqlite3.connect(server.db, isolation_level=None, timeout=5)
    holder.execute("BEGIN IMMEDIATE")
    locked_at = time.monotonic()

    with Prober(server, interval=0.2) as prober:
        time.sleep(3.0)
    holder.execute("ROLLBACK")
    holder.close()
    held = time.monotonic() - locked_at
    during = prober.results
    statuses = sorted({r.status for r in during if r.status is not None})
    without_retry_after = [r for r in during if r.status == 503 and not r.retry_after]

    if 500 in statuses:
        problems.append("a write got 500")
    if 503 not in statuses:
        problems.append(f"no 503 while the lock was held (statuses {statuses})")
    if without_retry_after:
        problems.append(
            f"{len(without_retry_after)} replies of 503 without Retry-After"
        )

    probes = judge_probes(during, problems, allowed=(503,), label="probes while locked")
    check_alive(server, problems)
    after = probe_after(server, problems, tries=3)

    figure = f"lock held {held:.1f} s by another process: {probes}, all with Retry-After; {after}"

    return problems, figure


def mount_small_filesystem(directory: Path, image: Path) -> str:
    """Mounts a 2 MiB tmpfs at `directory`, or else a loop-mounted 4 MiB ext4
    image. Returns how, or raises OSError with the reasons."""
    directory.mkdir(parents=True, exist_ok=True)
    tmpfs = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )

    if tmpfs.returncode == 0:
        return "tmpfs of 2 MiB"
    reasons = [f"tmpfs: {tmpfs.stderr.strip()}"]
    try:
        with open(image, "wb") as file:
            file.truncate(4 * 1024 * 1024)
        subprocess.run(
            ["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True
        )
        subprocess.run(
            ["mount", "-o", "loop", str(image), str(directory)],
            check=True,
            capture_output=True,
            text=True,
        )
        return "loop-mounted ext4 of 4 MiB"
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or error
        reasons.append(f"loop: {str(detail).strip()}")
    raise OSError("; ".join(reasons))


def fill_disk(path: Path) -> int:
    """Writes `path` until the file system is full (at most 64 MiB); returns the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as file:
        while written < 64 * 1024 * 1024:
            try:
                written += file.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                small = b"\0" * 512
                try:
                    while written < 64 * 1024 * 1024:
                        written += file.write(small)
                except OSError:
                    break
                break
    return written


def case_disk_full(ctx: Context) -> tuple[list[str] | None, str]:
    problems: list[str] = []
    directory = ctx.workdir / "small-fs"
    try:
        how = mount_small_filesystem(directory, ctx.workdir / "small-fs.img")
    except OSError as reason:
        return None, f"no small file system could be mounted ({reason})"
    server = ctx.new_server("disk-full")
    server.db = directory / "translog.db"
    try:
        server.start()
        transaction_id = f"full-{RUN}"
        acknowledged: set[str] = set()
        statuses: dict[int | None, int] = {}

        def write(number: int) -> int | None:
            timestamp = f"2026-12-04T14:57:54.{number:09d}Z"
            body = entry_form(timestamp, message="x" * 1000)
            try:
                status = server.request(
                    "POST", f"/worker/log/{transaction_id}", body, timeout=PROBE_TIMEOUT
                ).status
            except (OSError, ConnectionClosed):
                status = None
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                acknowledged.add(timestamp)
            return status

        for number in range(5):
            write(number)
        filler = directory / "filler"
        filled = fill_disk(filler)
        first_503 = None
        with Prober(server) as prober:
            for number in range(5, 205):
                if write(number) == 503:
                    first_503 = number - 5
                    break
            # Keep the disk full for a while, so that probes see it too.
            for number in range(205, 215):
                write(number)
                time.sleep(0.1)
        health = server.request("GET", "/healthz").status
        alive_while_full = server.alive()
        filler.unlink()
        after = probe_after(server, problems, tries=5)
        stored = stored_timestamps(server, transaction_id) or set()
        lost = len(acknowledged - stored)
        if first_503 is None:
            problems.append("no 503 while the disk was full")
        if 500 in statuses:
            problems.append(f"{statuses[500]} writes got 500")
        if not alive_while_full:
            problems.append("the server exited while the disk was full")
        if lost:
            problems.append(f"{lost} acknowledged entries lost")
        probes = judge_probes(
            prober.results, problems, allowed=(200, 503), label="probes while full"
        )
        check_alive(server, problems)
        counts = ", ".join(
            f"{count}x {status}" for status, count in sorted(statuses.items(), key=str)
        )
        figure = (
            f"{how}, filler {filled // 1024} KiB: writes {counts}, first 503 after {first_503} more 200s, "
            f"/healthz {health} while full, alive; {probes}; {after}; acknowledged {len(acknowledged)}, "
            f"present {len(acknowledged & stored)}"
        )
        return problems, figure
    finally:
        server.stop()
        subprocess.run(["umount", str(directory)], capture_output=True)
        if os.path.ismount(directory):
            subprocess.run(["umount", "-l", str(directory)], capture_output=True)


def case_sigterm_under_load(ctx: Context) -> tuple[list[str], str]:
    problems: list[str] = []
    server = ctx.new_server("sigterm")

    server.start()
    load = WriteLoad(server, "term")

    with Prober(server) as prober:
        load.start()
        time.sleep(1.5)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - signalled
    load.stop()

    probes = judge_probes(prober.results[:-2], problems, label="probes before SIGTERM")

    if code != 0:
        problems.append(f"exit status {code}")
    if seconds > 5:
        problems.append(f"took {seconds:.1f} s to exit")

    server.start()
    acknowledged, present, stored = load.verify(server)
    after = probe_after(server, problems)
    server.stop()

    if present != acknowledged:
        problems.append(f"{acknowledged - present} acknowledged entries lost")
    if acknowledged == 0:
        problems.append("no entry was acknowledged before SIGTERM")

    figure = (
        f"16 writers, SIGTERM after 1.5 s: exit {code} in {seconds:.2f} s; acknowledged {acknowledged}, "
        f"present {present}, stored {stored}; {probes}; restarted, {after}"
    )

    return problems, figure


def case_fd_limit(ctx: Context) -> tuple[list[str], str]:
    problems: list[str] = []
    limit = 128
    server = ctx.new_server("fd-limit", nofile=limit)
    server.start()
    fds_idle = server.fd_count()

    # Open connections until the server stops taking them or connecting fails.
    held: list[RawConnection] = []
    for _ in range(3 * limit):
        try:
            held.append(RawConnection(server.address, 1))
        except OSError:
            break
    time.sleep(0.5)
    fds_peak = server.fd_count()
    rejected = 0
    for connection in held:
        try:
            rejected += connection.read_response(0.005).status == 503
        except (OSError, ConnectionClosed):
            pass
    log = server.log_text()
    accept_failed = "accepting a connection failed" in log
    capped = re.search(r"capping connections at (\d+)", log)
    during = probe(server)

    # Close them, then the server must serve again or have exited non-zero.
    for connection in held:
        connection.close()
    time.sleep(0.2)
    results = []
    exit_code = None
    for _ in range(5):
        if not server.alive():
            exit_code = server.process.returncode
            break
        results.append(probe(server))
        if results[-1].status == 200:
            break
        time.sleep(0.2)
    server.stop()

    last = results[-1] if results else None
    if exit_code is not None:
        outcome = f"exited with {exit_code} for the supervisor to restart"
        if exit_code == 0:
            problems.append("exited with 0, so Restart=on-failure would not restart it")
    elif last and last.status == 200 and last.seconds <= PROBE_TIMEOUT:
        outcome = f"serving again: {last.status} in {last.seconds * 1000:.0f} ms"
    else:
        outcome = "alive but not serving"
        problems.append(f"alive but deaf after the connections closed: {last}")
    if during.status not in (200, 503) or during.seconds > PROBE_TIMEOUT:
        what = during.error or during.status
        problems.append(
            f"probe at the limit: {what} after {during.seconds * 1000:.0f} ms"
        )

    if during.status:
        during_text = f"{during.status} in {during.seconds * 1000:.0f} ms"
    else:
        during_text = during.error
    if capped:
        cap_text = f"connection cap lowered to {capped.group(1)}"
    else:
        cap_text = "connection cap not lowered"
    figure = (
        f"ulimit -n {limit}, {cap_text}: {len(held)} connections opened, {rejected} of "
        f"them answered 503 and closed, server fds {fds_idle} -> {fds_peak}, accept "
        f"failed: {accept_failed}; probe at the limit: {during_text}; after closing "
        f"them: {outcome}"
    )
    return problems, figure


CASES = [
    ("declared-body-1e14", case_declared_body_huge),
    ("declared-body-100000", case_declared_body_over_limit),
    ("growing-head", case_growing_head),
    ("idle-keepalive-500", case_idle_keepalive),
    ("silent-client", case_silent_client),
    ("te-with-cl", case_te_with_cl),
    ("unknown-transfer-coding", case_unknown_transfer_coding),
    ("pipelined-200", case_pipelined),
    ("expect-100-continue", case_expect_continue),
    ("burst-64-keepalive", case_connection_burst),
    ("kill-9-under-load", case_kill_under_load),
    ("database-locked", case_database_locked),
    ("disk-full", case_disk_full),
    ("sigterm-under-load", case_sigterm_under_load),
    ("fd-limit", case_fd_limit),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--binary", type=Path, required=True, help="path of the translog binary"
    )
    parser.add_argument("--only", nargs="*", default=[], help="run only these cases")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory"
    )
    options = parser.parse_args()
    binary = options.binary.resolve()
    selected = [
        (name, case) for name, case in CASES if not options.only or name in options.only
    ]

    workdir = Path(tempfile.mkdtemp(prefix="translog-fault-"))
    main_server = Server(binary, workdir / "main", "main")
    ctx = Context(binary, workdir, main_server, [main_server])
    passed = failed = 0
    try:
        main_server.start()
        for name, case in selected:
            started = time.monotonic()
            try:
                problems, figure = case(ctx)
            except (
                Exception
            ) as error:  # a broken case is a failure, not the end of the run
                problems, figure = [f"{type(error).__name__}: {error}"], "case raised"
                traceback.print_exc(file=sys.stderr)
            seconds = time.monotonic() - started
            if problems is None:
                print(f"SKIP {name}: {figure}", flush=True)
            elif problems:
                failed += 1
                print(
                    f"FAIL {name}: {figure} [{'; '.join(problems)}] ({seconds:.1f} s)",
                    flush=True,
                )
            else:
                passed += 1
                print(f"PASS {name}: {figure} ({seconds:.1f} s)", flush=True)
            if not main_server.alive():
                print(
                    f"main server exited with {main_server.process.returncode}; log: {main_server.log_path}"
                )
                break
    finally:
        for server in ctx.started:
            if server.alive():
                server.stop()
        if options.keep or failed:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
