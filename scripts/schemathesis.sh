#!/usr/bin/env bash
# Runs schemathesis against a fresh translog server and docs/openapi.yaml:
# generated requests, valid and invalid, on every operation, checked for
# server errors and for conformance of status codes, content types, headers
# and response bodies to the schema.
#
# Installs schemathesis from PyPI into a virtual environment on first use.
# Bounded by MAX_EXAMPLES test cases per operation and MAX_TIME seconds.
# Fails on any schemathesis failure and on any 5xx in the server log. The
# JSON report is written to target/schemathesis-report.
#
# Environment: MAX_EXAMPLES (default 50), MAX_TIME (seconds, default 120),
# SEED (default random), SCHEMATHESIS_VENV (default target/schemathesis-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
venv=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
max_examples=${MAX_EXAMPLES:-50}
max_time=${MAX_TIME:-120}
report_dir=target/schemathesis-report

if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
cargo build --release --quiet

workdir=$(mktemp -d "${TMPDIR:-/tmp}/translog-schemathesis.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

RUST_LOG=info target/release/translog --db "$workdir/translog.db" serve --listen 127.0.0.1:0 \
    2>"$workdir/server.log" &
server_pid=$!
address=
for _ in $(seq 200); do
    address=$(grep -oE 'listening on http://[^ ,]+' "$workdir/server.log" | head -n 1 | cut -d' ' -f3 || true)
    [ -n "$address" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$workdir/server.log" >&2; exit 1; }
    sleep 0.1
done
if [ -z "$address" ]; then
    echo "the server did not log its address within 20 s" >&2
    exit 1
fi
credentials=$(cat "$workdir/translog.db.credentials")

# Entries under the example id of the schema, so that the read operations
# also answer 200 and their bodies get checked.
for entry in "WORKER_INIT SUCCESS" "WORKER_LOAD WARNING" "WORKER_END FATAL"; do
    read -r stage status <<<"$entry"
    curl --silent --show-error --fail --max-time 5 --user "$credentials" \
        --data-urlencode "timestamp=2026-12-04T14:57:54+01:00" \
        --data "stage=$stage" --data "status=$status" \
        "$address/worker/log/backup-2026-12-04.db01" >/dev/null
done

# ignored_auth sends wrong passwords, which trip the throttle of failed
# logins (10 a minute per address) and turn the rest of the run into 429s.
# positive_data_acceptance expects 2xx for every schema-valid request, but
# the schema cannot express that a parameter is given once across query
# string and body, nor which timestamp texts are real dates.
checks_status=0
rm -rf "$report_dir"
"$venv/bin/schemathesis" run docs/openapi.yaml \
    --url "$address" \
    --auth "$credentials" \
    --checks all \
    --exclude-checks ignored_auth,positive_data_acceptance \
    --max-examples "$max_examples" \
    --max-time "$max_time" \
    --request-timeout 10 \
    ${SEED:+--seed "$SEED"} \
    --report json \
    --report-dir "$report_dir" \
    --no-color >"$workdir/schemathesis.out" 2>&1 || checks_status=$?
sed -n '/^=* SUMMARY =*$/,$p' "$workdir/schemathesis.out"
if [ "$checks_status" -ne 0 ]; then
    # The failures and how to reproduce them come before the summary.
    sed -n '/^=* FAILURES =*$/,/^=* SUMMARY =*$/p' "$workdir/schemathesis.out" | head -n 200
fi

generated=$(python3 -c 'import json, glob, sys; print(json.load(open(glob.glob(sys.argv[1])[0]))["test_cases"]["generated"])' \
    "$report_dir/json-*.json" 2>/dev/null || echo "?")
# The server log has one line per request; the 3 seed entries are among them.
requests=$(grep -cE '\] #[0-9]+ ' "$workdir/server.log" || true)
server_errors=$(grep -cE '\] #[0-9]+ [A-Z]+ "[^"]*" 5[0-9][0-9] ' "$workdir/server.log" || true)
alive=yes
kill -0 "$server_pid" 2>/dev/null || alive=no

echo "schemathesis: $generated test cases generated, $requests requests served, $server_errors with 5xx, server alive: $alive, schemathesis exit status $checks_status"
if [ "$server_errors" -gt 0 ]; then
    grep -E '\] #[0-9]+ [A-Z]+ "[^"]*" 5[0-9][0-9] |ERROR' "$workdir/server.log" | head -n 20 >&2
fi
if [ "$checks_status" -ne 0 ] || [ "$server_errors" -gt 0 ] || [ "$alive" != yes ]; then
    exit 1
fi
