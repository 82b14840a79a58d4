#!/usr/bin/env python3
"""Measures reads of one very large transaction.

Usage: scripts/bench/large_log.py BINARY DATABASE [ENTRIES]

Unless DATABASE exists, builds it with one transaction `big` of ENTRIES
entries (default 300,000) through the real write API, which takes about a
minute on 2 cores. Then for each read it starts a fresh
`BINARY serve` on a copy of it and fetches the read 1 or 4 times at once
while one other client POSTs an entry every 10 ms. One read follows
`next_cursor` from page to page, 1000 entries each, until the last page, on
one connection, and counts all its pages as one read. It prints, per read,
the response time and size, the longest POST, and the server's peak RSS
(VmHWM from /proc/PID/status). Only servers on 127.0.0.1 that it starts
itself get traffic, and it stops them all.
"""

import base64
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

USER, PASSWORD = "bench", "bench-password-1234"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
FORM = {"Authorization": AUTH, "Content-Type": "application/x-www-form-urlencoded"}
POSTING_THREADS = 16


def start(binary, db):
    """Starts `serve` on db and returns the process and its port."""
    log = open(db + ".log", "w")
    server = subprocess.Popen(
        [binary, "serve", "--db", db, "--listen", "127.0.0.1:0"],
        stderr=log, stdout=log, env={**os.environ, "RUST_LOG": "warn,translog::service=info"})
    for _ in range(100):
        text = open(db + ".log").read()
        if "listening on http://127.0.0.1:" in text:
            port = int(text.split("listening on http://127.0.0.1:")[1].split(",")[0])
            return server, port
        time.sleep(0.1)
    server.kill()
    sys.exit("the server did not start: " + open(db + ".log").read())


def stop(server):
    server.terminate()
    server.wait(timeout=30)


def post(connection, transaction_id, body):
    connection.request("POST", f"/worker/log/{transaction_id}", body, FORM)
    response = connection.getresponse()
    response.read()
    return response.status


def populate(port, entries):
    """POSTs a FAIL every 5 s of Worker time, from several keep-alive clients."""
    def client(first):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        for i in range(first, entries, POSTING_THREADS):
            body = (f"timestamp={1_700_000_000 + 5 * i}&stage=WORKER_LOAD&status=FAIL"
                    "&message=MySQL+server+has+gone+away%2C+retrying+in+5+s")
            if post(connection, "big", body) != 200:
                sys.exit(f"entry {i} was not stored")
    threads = [threading.Thread(target=client, args=(k,)) for k in range(POSTING_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(line.split()[1] for line in status if line.startswith("VmHWM")) + " kB"


def fetch(connection, path):
    """GETs path on connection and returns the status and the body."""
    connection.request("GET", path, headers={"Authorization": AUTH})
    response = connection.getresponse()
    return response.status, response.read()


def fetch_all_pages(connection, path):
    """GETs path with limit=1000, then each next page until next_cursor is
    null. Returns the last status and the bytes of all pages."""
    status, body = fetch(connection, path + "?limit=1000")
    size = len(body)
    while status == 200:
        cursor = json.loads(body)["next_cursor"]
        if cursor is None:
            break
        status, body = fetch(connection, f"{path}?limit=1000&cursor={cursor}")
        size += len(body)
    return status, size


def measure(binary, database, path, readers, follow=False):
    """Prints one line per fetch and one for the POSTs and the peak RSS.
    With follow, each fetch reads every page of the log at path."""
    work = tempfile.mkdtemp(prefix="translog-large-log.")
    db = os.path.join(work, "t.db")
    shutil.copy(database, db)
    server, port = start(binary, db)
    stop_posting = threading.Event()
    latencies = []

    def poster():
        connection = http.client.HTTPConnection("127.0.0.1", port)
        i = 0
        while not stop_posting.is_set():
            i += 1
            started = time.perf_counter()
            post(connection, "poster", f"timestamp={1_800_000_000 + i}&stage=WORKER_INIT&status=SUCCESS")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.010)

    def reader(results):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        if follow:
            status, size = fetch_all_pages(connection, path)
        else:
            status, body = fetch(connection, path)
            size = len(body)
        results.append((status, time.perf_counter() - started, size))

    posting = threading.Thread(target=poster)
    posting.start()
    time.sleep(0.5)
    results = []
    threads = [threading.Thread(target=reader, args=(results,)) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    stop_posting.set()
    posting.join()
    rss = peak_rss(server.pid)
    stop(server)
    shutil.rmtree(work)
    shown = path if len(path) < 40 else path[:40] + "..."
    if follow:
        shown += " following next_cursor"
    for status, seconds, size in results:
        print(f"{shown} x{readers}: status {status}, {seconds * 1000:.0f} ms, {size:,} bytes")
    print(f"  longest POST {max(latencies) * 1000:.0f} ms of {len(latencies)}, "
          f"server peak RSS {rss}")


def late_cursor(database, position):
    """Returns the cursor after the entry at `position` (from 0) of the log,
    in the form of translog's `EntryCursor::encode`."""
    row = sqlite3.connect(database).execute(
        "SELECT timestamp_s, timestamp_nanos, received_at_ns, stage, status FROM entries"
        " WHERE transaction_id = 'big'"
        " ORDER BY timestamp_s, timestamp_nanos, received_at_ns, stage, status"
        " LIMIT 1 OFFSET ?", (position,)).fetchone()
    text = "entry:" + ":".join(str(value) for value in row) + ":big/"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    database = os.path.abspath(sys.argv[2])
    entries = int(sys.argv[3]) if len(sys.argv) == 4 else 300_000
    if not os.path.exists(database):
        subprocess.run([binary, "user", "add", USER, "--role", "admin", "--password-stdin",
                        "--db", database], input=PASSWORD + "\n", text=True, check=True,
                       capture_output=True)
        server, port = start(binary, database)
        started = time.time()
        populate(port, entries)
        stop(server)
        print(f"stored {entries:,} entries in {time.time() - started:.0f} s")
    count = sqlite3.connect(database).execute(
        "SELECT entry_count FROM transactions WHERE transaction_id = 'big'").fetchone()[0]
    cursor = late_cursor(database, count - 1001)
    for path, readers, follow in [("/worker/log/big", 1, False), ("/worker/log/big", 4, False),
                                  ("/worker/log/big", 1, True), ("/transactions/big", 1, False),
                                  (f"/worker/log/big?cursor={cursor}", 1, False),
                                  (f"/transactions/big?cursor={cursor}", 1, False)]:
        measure(binary, database, path, readers, follow)


if __name__ == "__main__":
    main()
