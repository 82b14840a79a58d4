#!/usr/bin/env bash
# Starts a real translog server on 127.0.0.1 with sample transactions and
# opens the dashboard in headless Chromium. It checks the content of each page,
# saves screenshots at desktop and phone width, and checks GET /metrics with
# the parser of the Prometheus Python client.
#
# Usage: scripts/dashboard-screenshots.sh [OUTPUT_DIR]
#   OUTPUT_DIR   where the PNG files go (default docs/screenshots)
# Environment:
#   TRANSLOG_BIN   the binary to run (default: target/debug/translog, built with cargo)
#   CHROMIUM       the browser (default: chromium or chromium-browser from PATH)
#
# Skips, with exit status 0 and a message, when Chromium is not installed
# (Debian: apt-get install -y chromium). The metrics check is skipped the same
# way without the Python module prometheus_client (pip install prometheus-client).
# Exit status 1 when a check fails.

set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
output_dir=${1:-$repo/docs/screenshots}

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $chromium ]]; then
    echo "skipped: Chromium is not installed; install it with: apt-get install -y chromium" >&2
    exit 0
fi

if [[ -z ${TRANSLOG_BIN:-} ]]; then
    (cd "$repo" && cargo build --quiet)
    TRANSLOG_BIN=$repo/target/debug/translog
fi

workdir=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [[ -n ${KEEP_WORKDIR:-} ]] && echo "kept $workdir" >&2 || rm -rf "$workdir"
}
trap cleanup EXIT

failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "FAIL: $*" >&2
}

# --- A server with a reader, a worker and a stall period of one second.
db=$workdir/translog.db
printf 'reader-password\n' | "$TRANSLOG_BIN" --db "$db" user add reader --role reader --password-stdin 2>/dev/null
printf 'worker-password\n' | "$TRANSLOG_BIN" --db "$db" user add worker --role worker --password-stdin 2>/dev/null
"$TRANSLOG_BIN" --db "$db" serve --listen 127.0.0.1:0 --stall-after 1s 2>"$workdir/server.log" &
server_pid=$!
address=
for _ in $(seq 1 300); do
    address=$(sed -n 's|.*listening on http://\([^ ,]*\).*|\1|p' "$workdir/server.log")
    [[ -n $address ]] && break
    sleep 0.1
done
if [[ -z $address ]]; then
    echo "the server did not start; its log:" >&2
    cat "$workdir/server.log" >&2
    exit 1
fi
base_url=http://$address
reader_url=http://reader:reader-password@$address
echo "server on $base_url"

# post ID STAGE STATUS MESSAGE [TIMESTAMP]
post() {
    local timestamp=${5:-$(date -Ins)}
    curl -fsS -u worker:worker-password -o /dev/null \
        --data-urlencode "timestamp=$timestamp" \
        --data-urlencode "stage=$2" --data-urlencode "status=$3" \
        --data-urlencode "message=$4" \
        "$base_url/worker/log/$1"
}

# --- Sample transactions, oldest first.
script_message='bad decrypt: wrong key? <script>alert(1)</script>'
post nightly-db1-20261204 WORKER_INIT SUCCESS "verifying db1-20261204.sql.enc.gz"
post nightly-db1-20261204 WORKER_DECOMPRESS SUCCESS "decompressed 812 MiB"
post nightly-db1-20261204 WORKER_DEENCRYPT SUCCESS "decrypted, SHA-256 matches"
post nightly-db1-20261204 WORKER_LOAD SUCCESS "loaded 1204 tables"
post nightly-db1-20261204 WORKER_END SUCCESS "backup verified"

post nightly-db2-20261204 WORKER_INIT SUCCESS "verifying db2-20261204.sql.enc.gz"
post nightly-db2-20261204 WORKER_DECOMPRESS SUCCESS "decompressed 96 MiB"
post nightly-db2-20261204 WORKER_DEENCRYPT SUCCESS "decrypted, SHA-256 matches"
post nightly-db2-20261204 WORKER_LOAD FAIL "ERROR 2002 (HY000): Can't connect to local MySQL server; retrying in 30 s"
post nightly-db2-20261204 WORKER_LOAD SUCCESS "loaded 87 tables on attempt 2"
post nightly-db2-20261204 WORKER_END WARNING "backup verified; the load needed 2 attempts"

post nightly-db3-20261204 WORKER_INIT SUCCESS "verifying db3-20261204.sql.enc.gz"
post nightly-db3-20261204 WORKER_DECOMPRESS SUCCESS "decompressed 2.1 GiB"
post nightly-db3-20261204 WORKER_DEENCRYPT FATAL "$script_message"

post nightly-db4-20261204 WORKER_INIT SUCCESS "verifying db4-20261204.sql.enc.gz"
post nightly-db4-20261204 WORKER_DECOMPRESS SUCCESS "decompressed 40 GiB"

# A Worker in Berlin that sends its local time without an offset, read by a
# server in UTC: the entries look an hour in the future, so the skew is -1 h.
berlin_time() { TZ=Europe/Berlin date '+%Y-%m-%d %H:%M:%S.%N'; }
post eu-db5-20261204 WORKER_INIT SUCCESS "verifying eu-db5-20261204.sql.gz" "$(berlin_time)"
sleep 1
post eu-db5-20261204 WORKER_DECOMPRESS SUCCESS "decompressed 3 GiB" "$(berlin_time)"
post eu-db5-20261204 WORKER_DEENCRYPT WARNING "not encrypted; nothing to decrypt" "$(berlin_time)"
post eu-db5-20261204 WORKER_LOAD SUCCESS "loaded 12 tables" "$(berlin_time)"
post eu-db5-20261204 WORKER_END SUCCESS "backup verified" "$(berlin_time)"

echo "waiting for nightly-db4-20261204 to turn stalled"
stalled=
for _ in $(seq 1 100); do
    if curl -fsS -u reader:reader-password "$base_url/worker/log/nightly-db4-20261204" |
        grep -q '"outcome":"stalled"'; then
        stalled=yes
        break
    fi
    sleep 0.2
done
[[ -n $stalled ]] && pass || fail "nightly-db4-20261204 never turned stalled"

# --- Chromium.
chromium_run() {
    timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --hide-scrollbars --force-device-scale-factor=1 \
        --user-data-dir="$(mktemp -d -p "$workdir")" "$@" 2>>"$workdir/chromium.log"
}

# dump_dom PATH FILE
dump_dom() {
    chromium_run --dump-dom "$reader_url$1" >"$2" ||
        fail "chromium --dump-dom $1 failed; see its log below"
}

# screenshot PATH NAME WIDTH HEIGHT
screenshot() {
    chromium_run --screenshot="$output_dir/$2" --window-size="$3,$4" "$reader_url$1" >/dev/null &&
        [[ -s $output_dir/$2 ]] && pass || fail "screenshot $2 of $1 failed"
}

# expect_text FILE TEXT LABEL: the serialized DOM contains TEXT.
expect_text() {
    grep -qF -- "$2" "$1" && pass || fail "$3: missing $2"
}

# expect_no_text FILE TEXT LABEL
expect_no_text() {
    grep -qiF -- "$2" "$1" && fail "$3: unexpected $2" || pass
}

# The DOM serializer writes < > & in text as entities, so the message shows up
# escaped when it is text, and as <script when it became an element.
escaped_script='&lt;script&gt;alert(1)&lt;/script&gt;'

dump_dom / "$workdir/index.html"
for word in '>fatal<' '>stalled<' '>succeeded<' '>FATAL<' '>WARNING<'; do
    expect_text "$workdir/index.html" "$word" "index"
done
expect_text "$workdir/index.html" "$escaped_script" "index"
expect_no_text "$workdir/index.html" "<script" "index"
expect_text "$workdir/index.html" 'Fatal<span class="count">1</span>' "index filter counts"
expect_text "$workdir/index.html" \
    "Failed for good at <code>WORKER_DEENCRYPT</code>: bad decrypt: wrong key? $escaped_script" \
    "index fatal row"

dump_dom "/?outcome=fatal" "$workdir/fatal.html"
expect_text "$workdir/fatal.html" "/transactions/nightly-db3-20261204" "fatal filter"
expect_no_text "$workdir/fatal.html" "/transactions/nightly-db1-20261204" "fatal filter"

# The time filter: none on the plain list, and a window with a link that
# clears it.
expect_text "$workdir/index.html" "<b>Time filter:</b> none" "index time filter"
expect_text "$workdir/index.html" ">Last 24 hours</a>" "index time filter"
dump_dom "/?outcome=fatal&since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z" \
    "$workdir/window.html"
expect_text "$workdir/window.html" "last entry's timestamp from <time" "time window"
expect_text "$workdir/window.html" '<a href="/?outcome=fatal">Clear time filter</a>' "time window"
expect_text "$workdir/window.html" "No transactions match." "time window"

dump_dom "/transactions/nightly-db1-20261204?limit=2" "$workdir/paged.html"
expect_text "$workdir/paged.html" ">Newest entries</a>" "transaction of several pages"

dump_dom /transactions/nightly-db3-20261204 "$workdir/transaction.html"
expect_text "$workdir/transaction.html" "Failed for good" "fatal transaction"
expect_text "$workdir/transaction.html" "$escaped_script" "fatal transaction"
expect_no_text "$workdir/transaction.html" "<script" "fatal transaction"
expect_text "$workdir/transaction.html" "Clock skew" "fatal transaction"

dump_dom /transactions/eu-db5-20261204 "$workdir/skew.html"
expect_text "$workdir/skew.html" '<span class="skew-large">-1 h</span>' "skewed transaction"

dump_dom /transactions/nightly-db4-20261204 "$workdir/stalled.html"
expect_text "$workdir/stalled.html" "<b>Stuck</b>" "stalled transaction"

# Errors are HTML pages in a browser: a path of the dashboard without a page,
# an unknown path, and a worker, who may not read.
dump_dom /transactions/ "$workdir/no-page.html"
expect_text "$workdir/no-page.html" "<h1>Page not found</h1>" "/transactions/ without an id"
dump_dom /robots.txt "$workdir/unknown-path.html"
expect_text "$workdir/unknown-path.html" "<h1>Page not found</h1>" "unknown path"
chromium_run --dump-dom "http://worker:worker-password@$address/" >"$workdir/forbidden.html" ||
    fail "chromium --dump-dom / as the worker failed; see its log below"
expect_text "$workdir/forbidden.html" "<h1>Access denied</h1>" "/ as the worker"

mkdir -p "$output_dir"
screenshot / index-desktop.png 1280 640
screenshot / index-phone.png 390 1230
screenshot /transactions/nightly-db3-20261204 transaction-fatal-desktop.png 1280 620
screenshot /transactions/nightly-db3-20261204 transaction-fatal-phone.png 390 1280
screenshot /transactions/eu-db5-20261204 transaction-skew-desktop.png 1280 720

# --- GET /metrics against the Prometheus text format.
curl -fsS -u reader:reader-password -D "$workdir/metrics.headers" \
    "$base_url/metrics" >"$workdir/metrics.txt"
grep -qi '^content-type: text/plain; version=0.0.4' "$workdir/metrics.headers" && pass ||
    fail "metrics: Content-Type is not text/plain; version=0.0.4"
if python3 -c 'import prometheus_client' 2>/dev/null; then
    if python3 - "$workdir/metrics.txt" <<'EOF'; then pass; else fail "metrics: see the messages above"; fi
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
families = {family.name: family for family in text_string_to_metric_families(text)}
expected = {
    "translog_entries_stored": "counter",
    "translog_http_responses": "counter",
    "translog_http_request_duration_seconds": "histogram",
    "translog_batch_size_entries": "histogram",
    "translog_transactions": "gauge",
    "translog_database_size_bytes": "gauge",
    "translog_password_verifications": "counter",
    "translog_alerts": "counter",
    "translog_connections_open": "gauge",
    "translog_connections_rejected": "counter",
}
problems = []
for name, kind in expected.items():
    if name not in families:
        problems.append(f"missing family {name}")
    elif families[name].type != kind:
        problems.append(f"{name} has type {families[name].type}, expected {kind}")
for name in ("translog_http_request_duration_seconds", "translog_batch_size_entries"):
    samples = families.get(name).samples if name in families else []
    buckets = [(float(s.labels["le"]), s.value) for s in samples if s.name == name + "_bucket"]
    counts = [s.value for s in samples if s.name == name + "_count"]
    if [b for b, _ in buckets] != sorted(b for b, _ in buckets) or buckets[-1][0] != math.inf:
        problems.append(f"{name}: buckets out of order or without +Inf")
    if any(a[1] > b[1] for a, b in zip(buckets, buckets[1:])):
        problems.append(f"{name}: bucket counts are not cumulative")
    if counts != [buckets[-1][1]]:
        problems.append(f"{name}: _count differs from the +Inf bucket")
outcomes = {s.labels["outcome"]: s.value for s in families["translog_transactions"].samples}
if outcomes != {"fatal": 1, "stalled": 1, "succeeded": 3, "running": 0}:
    problems.append(f"translog_transactions: {outcomes}")
for problem in problems:
    print("metrics:", problem, file=sys.stderr)
print(f"metrics: {len(families)} families parsed")
sys.exit(1 if problems else 0)
EOF
else
    echo "skipped the metrics parser check: install it with: pip install prometheus-client" >&2
fi

if ((failures > 0)); then
    echo "--- chromium log" >&2
    tail -n 20 "$workdir/chromium.log" >&2 || true
    echo "--- server log" >&2
    tail -n 20 "$workdir/server.log" >&2
    echo "$failures of $checks checks failed" >&2
    exit 1
fi
echo "all $checks checks passed; screenshots in $output_dir:"
ls -l "$output_dir"
