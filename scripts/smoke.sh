#!/usr/bin/env bash
# Smoke test of a translog server with curl, doing what a Worker and an
# operator do: report every stage of one transaction, report a FATAL in
# another, and read both logs back.
#
# Usage: scripts/smoke.sh [BASE_URL USER:PASSWORD]
#
# Without arguments it starts its own server on a free port with a database
# in a temporary directory, using $TRANSLOG_BIN, else the newer of
# target/release/translog and target/debug/translog, and stops it at the end. The credentials need
# the admin role, or the worker role plus reading rights (admin covers both).
# Needs bash, curl, grep and GNU date. Exits 0 when every check passes.
set -euo pipefail

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

step() {
    echo "ok: $*"
}

usage() {
    echo "usage: $0 [BASE_URL USER:PASSWORD]" >&2
    exit 2
}

server_pid=""
work_dir=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$work_dir" ]; then
        rm -rf "$work_dir"
    fi
}
trap cleanup EXIT

find_binary() {
    local root
    root="$(cd "$(dirname "$0")/.." && pwd)"
    local release="$root/target/release/translog" debug="$root/target/debug/translog"
    if [ -n "${TRANSLOG_BIN:-}" ]; then
        echo "$TRANSLOG_BIN"
    elif [ -x "$release" ] && { [ ! -x "$debug" ] || [ "$release" -nt "$debug" ]; }; then
        echo "$release"
    elif [ -x "$debug" ]; then
        echo "$debug"
    else
        fail "no translog binary; run cargo build or set TRANSLOG_BIN"
    fi
}

# Starts a server on 127.0.0.1 port 0 and sets base_url and credentials from
# its log line and its credentials file.
start_server() {
    local binary db log address
    binary="$(find_binary)"
    [ -x "$binary" ] || fail "$binary is not an executable"
    work_dir="$(mktemp -d)"
    db="$work_dir/translog.db"
    log="$work_dir/server.log"
    RUST_LOG=info "$binary" --db "$db" serve --listen 127.0.0.1:0 2>"$log" &
    server_pid=$!
    address=""
    for _ in $(seq 1 200); do
        address="$(grep -o 'listening on http://[^ ,]*' "$log" | head -n 1 | sed 's|listening on http://||' || true)"
        [ -n "$address" ] && break
        kill -0 "$server_pid" 2>/dev/null || fail "server exited at start: $(cat "$log")"
        sleep 0.1
    done
    [ -n "$address" ] || fail "server did not log its address within 20 s"
    base_url="http://$address"
    credentials="$(cat "$db.credentials")"
    step "started $binary on $base_url"
}

case $# in
    0) start_server ;;
    2)
        base_url="${1%/}"
        credentials="$2"
        ;;
    *) usage ;;
esac

# curl options shared by every call: fail on HTTP errors, retry what is
# retryable (a refused connection, 408, 429, 5xx) three times.
curl_options=(-fsS --retry 3 --retry-connrefused --max-time 20 -u "$credentials")

health="$(curl "${curl_options[@]}" "$base_url/healthz")" || fail "GET /healthz"
case "$health" in
    *'"ok"'*) step "healthz: $health" ;;
    *) fail "GET /healthz returned $health" ;;
esac

# Reports one entry, as a Worker does after each step.
report() {
    local transaction="$1" stage="$2" status="$3" message="$4"
    if ! curl "${curl_options[@]}" \
        --data-urlencode "timestamp=$(date -Iseconds)" \
        --data-urlencode "stage=$stage" \
        --data-urlencode "status=$status" \
        --data-urlencode "message=$message" \
        "$base_url/worker/log/$transaction"; then
        fail "POST /worker/log/$transaction $stage $status"
    fi
    step "posted $transaction $stage $status"
}

# Prints how often a fixed string occurs in a text.
count() {
    { grep -o -F -- "$2" <<<"$1" || true; } | wc -l | tr -d ' '
}

read_log() {
    curl "${curl_options[@]}" "$base_url/worker/log/$1" || fail "GET /worker/log/$1"
}

run_id="smoke-$(date +%s)-$$"

good="$run_id-ok"
stages=(WORKER_INIT WORKER_DECOMPRESS WORKER_DEENCRYPT WORKER_LOAD WORKER_END)
for stage in "${stages[@]}"; do
    report "$good" "$stage" SUCCESS "smoke test step $stage"
done

log="$(read_log "$good")"
entries="$(count "$log" '"stage":"WORKER_')"
[ "$entries" = 5 ] || fail "log of $good has $entries entries, expected 5: $log"
for stage in "${stages[@]}"; do
    [ "$(count "$log" "\"stage\":\"$stage\"")" = 1 ] || fail "log of $good lacks $stage: $log"
done
[ "$(count "$log" '"outcome":"succeeded"')" = 1 ] || fail "log of $good is not succeeded: $log"
step "log of $good has 5 entries and outcome succeeded"

bad="$run_id-fatal"
report "$bad" WORKER_INIT SUCCESS "smoke test start"
report "$bad" WORKER_DECOMPRESS FATAL "smoke test: the dump file is truncated"
log="$(read_log "$bad")"
[ "$(count "$log" '"outcome":"fatal"')" = 1 ] || fail "log of $bad is not fatal: $log"
[ "$(count "$log" '"status":"FATAL"')" = 1 ] || fail "log of $bad lacks its FATAL entry: $log"
step "log of $bad has outcome fatal"

list="$(curl "${curl_options[@]}" "$base_url/worker/log?outcome=fatal&limit=1000")" ||
    fail "GET /worker/log?outcome=fatal"
[ "$(count "$list" "\"transaction_id\":\"$bad\"")" = 1 ] || fail "$bad missing from the fatal list: $list"
step "list of fatal transactions contains $bad"

echo "smoke test passed against $base_url"
