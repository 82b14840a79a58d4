#!/usr/bin/env bash
# An example Worker: verifies one backup and reports every stage to translog
# with curl. The backup is simulated with a small SQL file that this script
# encrypts and compresses itself, so no MySQL server is needed. The comment in
# load_dump shows where a real Worker runs its load command.
#
# Usage:
#   worker-example.sh [--simulate MODE] [BASE_URL [TRANSACTION_ID]]
#
# MODE is one of:
#   ok           every step succeeds
#   transient    the load fails once (MySQL unreachable), is retried and
#                succeeds; the run ends with WARNING (default)
#   unreachable  every load attempt fails (MySQL unreachable); FATAL after
#                LOAD_ATTEMPTS attempts
#   corrupt      the compressed dump is truncated; FATAL at once, because
#                retrying cannot repair a broken archive
#
# Environment:
#   TRANSLOG_URL             base URL, e.g. http://127.0.0.1:8080 (or BASE_URL)
#   TRANSLOG_USER            a user with the role worker or admin
#   TRANSLOG_PASSWORD        its password
#   TRANSLOG_TRANSACTION_ID  id of this run (or TRANSACTION_ID); default
#                            verify-HOST-YYYYmmddTHHMMSS-PID
#   LOAD_ATTEMPTS            load attempts before giving up (default 3)
#   RETRY_DELAY              seconds between load attempts (default 5)
#   REPORT_RETRIES           curl's retries of a report (default 5); once a
#                            report got no response at all, the next ones are
#                            tried once each until one gets a response
#
# Exit status: 0 when the backup verified, 1 when it failed, 2 on a usage
# error, 3 when it verified but some report could not be delivered.

set -euo pipefail

simulate=transient
while [[ $# -gt 0 ]]; do
    case $1 in
        --simulate)
            if [[ $# -lt 2 ]]; then
                echo "worker-example.sh: --simulate needs a mode: ok, transient, unreachable or corrupt" >&2
                exit 2
            fi
            simulate=$2
            shift 2
            ;;
        --simulate=*) simulate=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) echo "worker-example.sh: unknown option $1; see --help" >&2; exit 2 ;;
        *) break ;;
    esac
done
case $simulate in
    ok|transient|unreachable|corrupt) ;;
    *) echo "worker-example.sh: unknown mode '$simulate'; use ok, transient, unreachable or corrupt" >&2; exit 2 ;;
esac

base_url=${1:-${TRANSLOG_URL:-}}
transaction_id=${2:-${TRANSLOG_TRANSACTION_ID:-verify-$(hostname -s)-$(date +%Y%m%dT%H%M%S)-$$}}
load_attempts=${LOAD_ATTEMPTS:-3}
retry_delay=${RETRY_DELAY:-5}
report_retries=${REPORT_RETRIES:-5}
if [[ ! $load_attempts =~ ^[0-9]{1,3}$ ]] || ((10#$load_attempts < 1)); then
    echo "worker-example.sh: invalid LOAD_ATTEMPTS '$load_attempts'; use a whole number from 1 to 999" >&2
    exit 2
fi
if [[ ! $retry_delay =~ ^[0-9]{1,5}$ ]]; then
    echo "worker-example.sh: invalid RETRY_DELAY '$retry_delay'; use a whole number of seconds from 0 to 99999" >&2
    exit 2
fi
# Base 10, so that a leading zero (08) is not read as an octal number.
load_attempts=$((10#$load_attempts)) retry_delay=$((10#$retry_delay))
if [[ ! $report_retries =~ ^[0-9]{1,2}$ ]]; then
    echo "worker-example.sh: invalid REPORT_RETRIES '$report_retries'; use a whole number from 0 to 99" >&2
    exit 2
fi
if [[ -z $base_url || -z ${TRANSLOG_USER:-} || -z ${TRANSLOG_PASSWORD:-} ]]; then
    echo "worker-example.sh: set TRANSLOG_URL (or pass BASE_URL), TRANSLOG_USER and TRANSLOG_PASSWORD" >&2
    exit 2
fi
if [[ ! $transaction_id =~ ^[A-Za-z0-9._:~-]{1,128}$ ]]; then
    # %q quotes the id, and writes a control character such as the carriage
    # return of a CRLF line end as an escape.
    printf -v shown %q "$transaction_id"
    echo "worker-example.sh: invalid transaction id $shown; use 1 to 128 ASCII letters, digits and - _ . : ~" >&2
    exit 2
fi
# curl reads the ids . and .. as path segments and would send /worker/ in
# place of the log's path, but it sends their percent-encoded form as it is.
case $transaction_id in
    .) id_segment=%2E ;;
    ..) id_segment=%2E%2E ;;
    *) id_segment=$transaction_id ;;
esac
log_url="${base_url%/}/worker/log/$id_segment"
undelivered_reports=0
# Set after a 401, 403 or 404: the next reports would be rejected too, and
# every 401 counts towards the failed-login limit of this host's address,
# which the other Workers on the host share.
reports_rejected=0
# Set after a report got no response at all, through all of curl's retries:
# the server is down or unreachable. The next reports are tried once each,
# so that each does not hold up the verification for half a minute, until
# one of them gets a response.
server_silent=0

# Sends one entry: report STAGE STATUS [MESSAGE].
report() {
    local stage=$1 status=$2 message=${3:-}
    if ((reports_rejected)); then
        undelivered_reports=$((undelivered_reports + 1))
        return
    fi
    # The timestamp is taken once, before curl runs, so that curl's retries
    # resend the identical entry and the server stores it once. Nanoseconds
    # keep two reports within the same second distinct and in order.
    local timestamp
    timestamp=$(date -Ins)
    # The server takes at most 1024 bytes; iconv -c drops a character that
    # head cut in half. iconv then exits 1, and printf may be killed by
    # SIGPIPE when head stops reading. Under set -e and pipefail either would
    # stop the script before it reports, so "|| true" ignores the status.
    message=$(printf '%s' "$message" | head -c 1000 | iconv -f UTF-8 -t UTF-8 -c 2>/dev/null || true)
    # The credentials go to curl on standard input (--config -), because an
    # argument such as -u user:password is visible to every local user in ps.
    # --retry resends after a timeout, 408, 429 and 5xx, and honours
    # Retry-After. --retry-all-errors also resends after a refused or reset
    # connection and an empty reply, which is how a response lost in a server
    # restart looks. Without --fail, an HTTP error is not a curl error, so a
    # 4xx is not resent; --write-out adds the status code on a line of its own.
    local response code retries=$report_retries
    if ((server_silent)); then
        retries=0
    fi
    response=$(curl --config - --silent --show-error \
        --retry "$retries" --retry-all-errors --retry-max-time 60 --max-time 20 \
        --write-out '\n%{http_code}' \
        --data-urlencode "timestamp=$timestamp" \
        --data-urlencode "stage=$stage" \
        --data-urlencode "status=$status" \
        --data-urlencode "message=$message" \
        "$log_url" <<<"$(curl_credentials)") || true
    code=${response##*$'\n'}
    if [[ $code != 000 ]]; then
        server_silent=0
    elif ((!server_silent)); then
        echo "worker-example.sh: translog at $base_url did not answer; the next reports" \
            "are tried once each until one gets a response" >&2
        server_silent=1
    fi
    if [[ $code == 200 ]]; then
        return
    fi
    # The JSON body ends with a newline of its own, which printf adds again.
    local body=${response%$'\n'*}
    body=${body%$'\n'}
    if [[ -n $body && $body != "$response" ]]; then
        printf '%s\n' "$body" >&2
    fi
    # The verification goes on: its own result matters more than one lost
    # report, and translog marks a run without WORKER_END stalled.
    echo "worker-example.sh: could not report $stage $status for $transaction_id" >&2
    undelivered_reports=$((undelivered_reports + 1))
    if [[ $code == 401 ]]; then
        echo "worker-example.sh: the server rejected the credentials of $TRANSLOG_USER" \
            "(HTTP 401); the remaining reports are skipped" >&2
        reports_rejected=1
    elif [[ $code == 403 ]]; then
        echo "worker-example.sh: $TRANSLOG_USER may not append entries (HTTP 403): its" \
            "role or state does not allow it (translog user set-role, translog user" \
            "enable); the remaining reports are skipped" >&2
        reports_rejected=1
    elif [[ $code == 404 ]]; then
        echo "worker-example.sh: no write API at $log_url (HTTP 404): set TRANSLOG_URL to" \
            "the server's address alone, such as http://127.0.0.1:8080; the remaining" \
            "reports are skipped" >&2
        reports_rejected=1
    fi
}

# Prints the curl config line with the credentials, quoted as curl expects.
curl_credentials() {
    local credentials="$TRANSLOG_USER:$TRANSLOG_PASSWORD"
    credentials=${credentials//\\/\\\\}
    credentials=${credentials//\"/\\\"}
    printf 'user = "%s"\n' "$credentials"
}

# Reports FATAL for a stage and exits: a permanent failure ends the run, and
# no WORKER_END follows, because the FATAL entry already decides the outcome.
fail_permanently() {
    local stage=$1 message=$2
    report "$stage" FATAL "$message"
    echo "worker-example.sh: $transaction_id failed at $stage: $message" >&2
    exit 1
}

# The last line of a command's error output, for a message, without the
# temporary directory's path.
last_line() {
    tail -n 1 "$1" 2>/dev/null | sed "s|$workdir/||g" || true
}

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

# --- The backup to verify. A real Worker receives dump.sql.enc.gz and its
# key from the backup system; this script makes both.
make_backup() {
    {
        echo "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(64));"
        for i in $(seq 1 50); do
            echo "INSERT INTO customers VALUES ($i, 'customer $i');"
        done
    } >"$workdir/source.sql"
    head -c 32 /dev/urandom | base64 >"$workdir/backup.key"
    openssl enc -aes-256-cbc -pbkdf2 -salt -pass "file:$workdir/backup.key" \
        -in "$workdir/source.sql" -out "$workdir/dump.sql.enc"
    gzip -9 "$workdir/dump.sql.enc"
    sha256sum <"$workdir/source.sql" | cut -d' ' -f1 >"$workdir/expected.sha256"
    if [[ $simulate == corrupt ]]; then
        local size
        size=$(stat -c %s "$workdir/dump.sql.enc.gz")
        truncate -s $((size / 2)) "$workdir/dump.sql.enc.gz"
    fi
}

make_backup
report WORKER_INIT SUCCESS "verifying dump.sql.enc.gz ($(stat -c %s "$workdir/dump.sql.enc.gz") bytes) on $(hostname -s), mode $simulate"

# --- WORKER_DECOMPRESS: a broken archive stays broken, so it is FATAL at once.
if ! gzip -t "$workdir/dump.sql.enc.gz" 2>"$workdir/gzip.err"; then
    fail_permanently WORKER_DECOMPRESS "archive is corrupt: $(last_line "$workdir/gzip.err")"
fi
if ! gzip -dc "$workdir/dump.sql.enc.gz" >"$workdir/dump.sql.enc" 2>"$workdir/gzip.err"; then
    fail_permanently WORKER_DECOMPRESS "decompressing failed: $(last_line "$workdir/gzip.err")"
fi
report WORKER_DECOMPRESS SUCCESS "decompressed to $(stat -c %s "$workdir/dump.sql.enc") bytes"

# --- WORKER_DEENCRYPT: a wrong key or a damaged file never decrypts on retry.
if ! openssl enc -d -aes-256-cbc -pbkdf2 -pass "file:$workdir/backup.key" \
        -in "$workdir/dump.sql.enc" -out "$workdir/dump.sql" 2>"$workdir/openssl.err"; then
    fail_permanently WORKER_DEENCRYPT "decryption failed: $(last_line "$workdir/openssl.err")"
fi
if [[ $(sha256sum <"$workdir/dump.sql" | cut -d' ' -f1) != "$(cat "$workdir/expected.sha256")" ]]; then
    fail_permanently WORKER_DEENCRYPT "checksum mismatch after decryption"
fi
report WORKER_DEENCRYPT SUCCESS "decrypted, SHA-256 matches"

# --- WORKER_LOAD: a server that is down or restarting may come back, so a
# failed attempt is FAIL and is retried. Only the last failure is FATAL.
load_dump() {
    local attempt=$1
    # A real Worker loads into a scratch schema here, for example:
    #   mysql --defaults-extra-file=/etc/backup-verify/my.cnf verify_scratch <"$workdir/dump.sql"
    # This simulation fails as that command would when the server is down.
    if [[ $simulate == unreachable || ($simulate == transient && $attempt -eq 1) ]]; then
        echo "ERROR 2002 (HY000): Can't connect to local MySQL server through socket '/run/mysqld/mysqld.sock' (111)" >&2
        return 1
    fi
    grep -c '^INSERT INTO' "$workdir/dump.sql" >"$workdir/rows"
}

attempt=1
while ! load_dump "$attempt" 2>"$workdir/load.err"; do
    error=$(last_line "$workdir/load.err")
    if ((attempt >= load_attempts)); then
        fail_permanently WORKER_LOAD "gave up after $attempt attempts: $error"
    fi
    report WORKER_LOAD FAIL "attempt $attempt of $load_attempts failed, retrying in ${retry_delay}s: $error"
    sleep "$retry_delay"
    attempt=$((attempt + 1))
done
rows=$(cat "$workdir/rows")
report WORKER_LOAD SUCCESS "loaded $rows rows on attempt $attempt"

# --- WORKER_END: WARNING marks a backup that verified only after a retry.
if ((attempt > 1)); then
    report WORKER_END WARNING "backup verified, $rows rows; the load needed $attempt attempts"
else
    report WORKER_END SUCCESS "backup verified, $rows rows"
fi

if ((undelivered_reports > 0)); then
    echo "worker-example.sh: backup verified, but $undelivered_reports reports were not delivered" >&2
    exit 3
fi
echo "worker-example.sh: $transaction_id verified"
