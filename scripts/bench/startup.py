#!/usr/bin/env python3
"""Measure how long `translog serve` takes to start on an existing database.

Usage: startup.py TRANSLOG DATABASE USER:PASSWORD [RUNS]

Each run starts `translog serve --listen 127.0.0.1:0` with the default `info`
logging, and measures, from the moment the process is started:

- listening: until the line `listening on http://ADDR` appears on stderr;
- first 200: until an authenticated `POST /worker/log/{id}` with a new entry
  gets `200`. It includes the first Argon2 verification of USER.

Then it sends SIGTERM and waits for the exit. It prints one line per run and a
last line `STARTUP listening_ms=... first_200_ms=...` with the medians.
"""

import base64
import http.client
import os
import re
import signal
import statistics
import subprocess
import sys
import time

LISTENING = re.compile(r"listening on http://([0-9.]+):([0-9]+)")


def post_entry(host, port, authorization, transaction_id):
    """Sends one new entry and returns the status code."""
    body = "timestamp=2026-12-01T00%3A00%3A00Z&stage=WORKER_INIT&status=SUCCESS"
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST",
            f"/worker/log/{transaction_id}",
            body=body,
            headers={
                "Authorization": authorization,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def measure(translog, database, authorization, run):
    environment = dict(os.environ, RUST_LOG="info")
    started = time.monotonic()
    server = subprocess.Popen(
        [translog, "--db", database, "serve", "--listen", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=environment,
        text=True,
    )
    try:
        address = None
        for line in server.stderr:
            match = LISTENING.search(line)
            if match:
                address = match.groups()
                break
        if address is None:
            raise RuntimeError("translog exited before it logged its address")
        listening = time.monotonic() - started
        status = post_entry(*address, authorization, f"startup-{os.getpid()}-{run}")
        first_200 = time.monotonic() - started
        if status != 200:
            raise RuntimeError(f"the first POST got {status}, expected 200")
        return listening, first_200
    finally:
        server.send_signal(signal.SIGTERM)
        # Drain stderr so that the server never blocks on a full pipe while stopping.
        server.communicate(timeout=30)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: startup.py TRANSLOG DATABASE USER:PASSWORD [RUNS]")
    translog, database, credentials = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) == 5 else 3
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    listening_times = []
    first_200_times = []
    for run in range(runs):
        listening, first_200 = measure(translog, database, authorization, run)
        listening_times.append(listening * 1000)
        first_200_times.append(first_200 * 1000)
        print(f"run {run + 1}: listening after {listening * 1000:.0f} ms, "
              f"first 200 after {first_200 * 1000:.0f} ms")
    print(f"STARTUP listening_ms={statistics.median(listening_times):.0f} "
          f"first_200_ms={statistics.median(first_200_times):.0f}")


if __name__ == "__main__":
    main()
