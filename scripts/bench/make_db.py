#!/usr/bin/env python3
"""Fill a translog database with synthetic entries for the start-up benchmark.

Usage: make_db.py DATABASE [ENTRIES]

DATABASE must already have translog's schema (any `translog user add` creates
it). ENTRIES (default 1,000,000) is rounded down to a multiple of five: every
transaction gets five entries, WORKER_INIT to WORKER_END with SUCCESS, or, for
one transaction in fifty, ending with WORKER_LOAD FAIL and then FATAL. The
`transactions` table gets the row that the storage thread would have written
for the same entries. Transaction ids are random hex strings, so the
`entries` table, keyed by transaction id first, is filled in random order, as
it is by Workers that run at once.
"""

import os
import sqlite3
import sys
import time


# 2026-01-01T00:00:00Z; transaction k starts 30 seconds after transaction k-1.
BASE_SECONDS = 1767225600

ENTRY_INSERT = """
    INSERT INTO entries (transaction_id, timestamp_s, timestamp_nanos, timestamp_sent,
                         stage, status, message, received_at_ns, reported_by)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""

TRANSACTION_INSERT = """
    INSERT INTO transactions (transaction_id, first_timestamp_s, first_timestamp_nanos,
                              last_timestamp_s, last_timestamp_nanos, last_stage, last_status,
                              last_message, entry_count, last_received_at_ns, has_fatal, has_end)
    VALUES (?, ?, 0, ?, 0, ?, ?, ?, ?, ?, ?, ?)"""


def sent_text(seconds):
    """Returns the instant as `date -Iseconds` prints it in UTC+01:00."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+01:00", time.gmtime(seconds + 3600))


def transaction_entries(number):
    """Returns the five entries of transaction `number` as (stage, status, message)."""
    size = 100 + number % 900
    if number % 50 == 49:
        return [
            ("WORKER_INIT", "SUCCESS", None),
            ("WORKER_DECOMPRESS", "SUCCESS", f"decompressed {size} MiB"),
            ("WORKER_DEENCRYPT", "SUCCESS", None),
            ("WORKER_LOAD", "FAIL", "ERROR 2013 (HY000): Lost connection to MySQL server"),
            ("WORKER_LOAD", "FATAL", "giving up after 3 attempts"),
        ]
    return [
        ("WORKER_INIT", "SUCCESS", None),
        ("WORKER_DECOMPRESS", "SUCCESS", f"decompressed {size} MiB"),
        ("WORKER_DEENCRYPT", "SUCCESS", None),
        ("WORKER_LOAD", "SUCCESS", f"loaded {size * 9} tables"),
        ("WORKER_END", "SUCCESS", None),
    ]


def fill(path, entry_count):
    connection = sqlite3.connect(path, isolation_level=None)
    # A rollback journal without syncs while filling; translog turns WAL back
    # on when it opens the file.
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-262144")
    connection.execute("BEGIN")
    for number in range(entry_count // 5):
        transaction_id = f"restore-{os.urandom(8).hex()}"
        start = BASE_SECONDS + number * 30
        entries = transaction_entries(number)
        rows = []
        for index, (stage, status, message) in enumerate(entries):
            seconds = start + index * 60
            received_at_ns = (seconds + 1) * 1_000_000_000
            rows.append(
                (transaction_id, seconds, 0, sent_text(seconds), stage, status, message,
                 received_at_ns, "worker")
            )
        connection.executemany(ENTRY_INSERT, rows)
        last = rows[-1]
        has_fatal = int(any(status == "FATAL" for _, status, _ in entries))
        has_end = int(any(stage == "WORKER_END" and status in ("SUCCESS", "WARNING")
                          for stage, status, _ in entries))
        connection.execute(
            TRANSACTION_INSERT,
            (transaction_id, rows[0][1], last[1], last[4], last[5], last[6], len(rows),
             last[7], has_fatal, has_end),
        )
    connection.execute("COMMIT")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make_db.py DATABASE [ENTRIES]")
    path = sys.argv[1]
    entry_count = int(sys.argv[2]) if len(sys.argv) == 3 else 1_000_000
    started = time.monotonic()
    fill(path, entry_count)
    print(f"filled {path} with {entry_count // 5 * 5} entries in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
