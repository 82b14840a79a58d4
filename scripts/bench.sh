#!/usr/bin/env bash
# Benchmark of translog against a bare server of its own HTTP layer
# (examples/bare.rs), measured side by side in one run on one machine.
#
# Usage: scripts/bench.sh
#
# Environment:
#   BENCH_DURATION     seconds of load per step (default 10, at least 4)
#   BENCH_ROUNDS       rounds of the alternating comparison (default 3)
#   BENCH_ENTRIES      entries in the start-up database (default 1000000)
#   BENCH_SKIP_BUILD   set to 1 to use the release build as it is
#   BENCH_TRANSLOG     a translog binary to measure instead of the release
#                      build, for example an older build kept for comparison
#   BENCH_KEEP         set to 1 to keep the work directory with raw results
#
# Needs wrk (Debian package wrk), curl, ss (iproute2), python3 and cargo.
# With the defaults the whole run takes about 9 minutes. It prints a summary
# with medians over the rounds; BENCHMARKS.md explains each figure.

set -euo pipefail

duration=${BENCH_DURATION:-10}
rounds=${BENCH_ROUNDS:-3}
entries=${BENCH_ENTRIES:-1000000}
connection_counts=(8 64 256)
login_users=20
# The paced load: each connection waits this long after a response, which
# gives a rate well below what translog serves, so that CPU time is left over.
pace_ms=4

root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=$root/scripts/bench
translog=${BENCH_TRANSLOG:-$root/target/release/translog}
bare=$root/target/release/examples/bare

# The login steps spread their logins over the step after a 3 s margin.
if ! [[ $duration =~ ^[0-9]+$ ]] || ((duration < 4)); then
    echo "bench.sh: BENCH_DURATION must be a whole number of seconds, at least 4" >&2
    exit 1
fi

for tool in wrk curl ss python3 cargo; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench.sh: $tool is missing; install it (wrk: apt-get install -y wrk)" >&2
        exit 1
    fi
done

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    (cd "$root" && cargo build --release --bin translog --examples)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/translog-bench.XXXXXX")
results=$work/results.tsv
started_pids=()

cleanup() {
    for pid in "${started_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        echo "raw results kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# Prints the TCP port that process $1 listens on, once it listens.
port_of() {
    local pid=$1 port
    for _ in $(seq 300); do
        port=$(ss -ltnpH | awk -v pid="pid=$pid," 'index($0, pid) { sub(/.*:/, "", $4); print $4; exit }')
        if [[ -n $port ]]; then
            echo "$port"
            return
        fi
        sleep 0.05
    done
    echo "bench.sh: process $pid never listened" >&2
    exit 1
}

# Adds user $2 with role $3 and password $4 to database $1.
add_user() {
    if ! printf '%s\n' "$4" | "$translog" --db "$1" user add "$2" --role "$3" --password-stdin \
        >/dev/null 2>"$work/user-add.log"; then
        cat "$work/user-add.log" >&2
        exit 1
    fi
}

basic() {
    printf 'Basic %s' "$(printf '%s' "$1" | base64 -w0)"
}

# Starts translog on database $1 with RUST_LOG=$2 and stderr to file $3.
# Sets $server_pid and $server_port.
start_translog() {
    RUST_LOG=$2 "$translog" --db "$1" serve --listen 127.0.0.1:0 2>"$3" &
    server_pid=$!
    started_pids+=("$server_pid")
    server_port=$(port_of "$server_pid")
}

# Prints the entries and the commits counted so far by the server on port $1.
batch_totals() {
    curl -sf -u "watcher:watcher-password" "http://127.0.0.1:$1/metrics" |
        awk '/^translog_batch_size_entries_sum/ { sum = $2 } /^translog_batch_size_entries_count/ { count = $2 }
             END { printf "%s %s\n", sum + 0, count + 0 }'
}

# Samples the thread count of process $1 until file $2 exists; prints the maximum.
sample_threads() {
    local pid=$1 stop=$2 max=0 threads
    while [[ ! -e $stop ]]; do
        threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        ((threads > max)) && max=$threads
        sleep 0.2
    done
    echo "$max"
}

# Prints one line "TID NAME TICKS" for each thread of process $1: the CPU
# clock ticks (user and system) that the thread has used so far.
thread_ticks() {
    awk '
        {
            tid = FILENAME
            sub(/\/stat$/, "", tid)
            sub(/.*\//, "", tid)
            name = $0
            sub(/^[^(]*\(/, "", name)
            sub(/\).*$/, "", name)
            rest = $0
            sub(/^.*\) /, "", rest)
            split(rest, field, " ")
            # utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
            print tid, name, field[12] + field[13]
        }' /proc/"$1"/task/*/stat 2>/dev/null | LC_ALL=C sort
}

# Prints the ticks used between two thread_ticks listings $2 and $3 of process
# $1 as "MAIN STORAGE OTHER": the main thread (translog's HTTP thread, and
# bare's only thread), the thread named storage, and all other threads that
# ran through the whole step together.
thread_ticks_used() {
    LC_ALL=C join "$2" "$3" | awk -v pid="$1" '
        {
            used = $5 - $3
            if ($1 == pid) main += used
            else if ($2 == "storage") storage += used
            else other += used
        }
        END { printf "%d %d %d\n", main, storage, other }'
}

# Prints the idle and the total clock ticks of all CPUs so far (/proc/stat).
machine_ticks() {
    awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# Runs one load step and appends a line to $results.
#   $1 kind (post, full, full-known, full-login, paced, paced-known, paced-login, burst, read)  $2 server name  $3 pid  $4 port  $5 connections
#   $6 round  $7 wrk mode (post or get)  $8 path  $9 Authorization value
run_step() {
    local kind=$1 name=$2 pid=$3 port=$4 connections=$5 round=$6 mode=$7 path=$8 auth=$9
    local prefix="r$round-c$connections-$name-$kind" output before after stop threads_file
    local ticks_before ticks_after machine_before machine_after wrk_time
    output=$work/wrk-$prefix.txt
    wrk_time=$work/time-$prefix
    ticks_before=$work/ticks-before-$prefix
    ticks_after=$work/ticks-after-$prefix
    stop=$work/stop-$prefix
    threads_file=$work/threads-$prefix
    before="0 0"
    [[ $name == translog* ]] && before=$(batch_totals "$port")
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    echo 5 >"/proc/$pid/clear_refs"
    sample_threads "$pid" "$stop" >"$threads_file" &
    local sampler=$!
    thread_ticks "$pid" >"$ticks_before"
    machine_before=$(machine_ticks)
    # The time keyword reports the CPU seconds that wrk itself used.
    local TIMEFORMAT='%U %S'
    { time wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s -s "$bench_dir/load.lua" \
        "http://127.0.0.1:$port$path" -- "$mode" "$auth" "$prefix-$RANDOM" >"$output"; } 2>"$wrk_time"
    thread_ticks "$pid" >"$ticks_after"
    machine_after=$(machine_ticks)
    touch "$stop"
    wait "$sampler"
    after="0 0"
    [[ $name == translog* ]] && after=$(batch_totals "$port")
    local hwm
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    if grep -q '^STATUS\|^FIRST_FAILURE' "$output"; then
        echo "  $name, $connections connections, round $round: responses other than 200:"
        grep '^STATUS\|^FIRST_FAILURE' "$output" | sed 's/^/    /'
    fi
    local result
    result=$(grep '^RESULT' "$output")
    printf '%s\t%s\t%s\t%s\t%s\thwm_kb=%s threads=%s batch_before="%s" batch_after="%s"' \
        "$kind" "$name" "$connections" "$round" "$result" "$hwm" "$(cat "$threads_file")" \
        "$before" "$after" >>"$results"
    printf ' thread_ticks="%s" machine_before="%s" machine_after="%s" wrk_cpu="%s"\n' \
        "$(thread_ticks_used "$pid" "$ticks_before" "$ticks_after")" "$machine_before" "$machine_after" \
        "$(tail -n 1 "$wrk_time")" >>"$results"
    echo "  $kind $name c=$connections round $round: $(sed 's/RESULT //' <<<"$result")"
}

echo "== setting up in $work"
bench_db=$work/bench.db
info_db=$work/info.db
for db in "$bench_db" "$info_db"; do
    add_user "$db" bench worker bench-password
    add_user "$db" watcher reader watcher-password
done
for round in $(seq "$rounds"); do
    for number in $(seq "$login_users"); do
        add_user "$bench_db" "full-$round-$number" worker "full-password-$round-$number"
        add_user "$bench_db" "paced-$round-$number" worker "paced-password-$round-$number"
    done
done
add_user "$bench_db" known worker known-password

start_translog "$bench_db" warn "$work/translog.log"
translog_pid=$server_pid translog_port=$server_port
start_translog "$info_db" info "$work/translog-info.log"
info_pid=$server_pid info_port=$server_port
"$bare" 127.0.0.1:0 2>"$work/bare.log" &
bare_pid=$!
started_pids+=("$bare_pid")
bare_port=$(port_of "$bare_pid")
auth=$(basic bench:bench-password)
reader_auth=$(basic watcher:watcher-password)

# The first request of a user costs one Argon2 verification; the login steps
# measure that. Every other step starts with the credentials cached.
for port in "$translog_port" "$info_port"; do
    curl -sf -o /dev/null -u bench:bench-password \
        -d 'timestamp=2026-12-01&stage=WORKER_INIT&status=SUCCESS' "http://127.0.0.1:$port/worker/log/warm-up"
done
curl -sf -o /dev/null -u known:known-password \
    -d 'timestamp=2026-12-01&stage=WORKER_INIT&status=SUCCESS' "http://127.0.0.1:$translog_port/worker/log/warm-up-known"

echo "== POST /worker/log/{id}: translog against bare, $rounds rounds of ${duration}s steps"
for round in $(seq "$rounds"); do
    for connections in "${connection_counts[@]}"; do
        # The order alternates between rounds, so neither server always runs
        # right after the other.
        servers=(translog bare)
        ((round % 2 == 0)) && servers=(bare translog)
        ((connections == 64)) && servers+=(translog-info)
        for name in "${servers[@]}"; do
            case $name in
                translog) run_step post translog "$translog_pid" "$translog_port" "$connections" "$round" post /worker/log "$auth" ;;
                translog-info) run_step post translog-info "$info_pid" "$info_port" "$connections" "$round" post /worker/log "$auth" ;;
                bare) run_step post bare "$bare_pid" "$bare_port" "$connections" "$round" post /worker/log "$auth" ;;
            esac
        done
    done
done

# Sends $login_users requests with curl to the server on port $4, one at a
# time spread over a step, and appends "STATUS SECONDS" lines to file $5.
# With $1 "login" each is the first request of user $2-$3-N, which costs one
# Argon2 verification. With $1 "known" each comes from the user "known",
# whose credentials are cached, so the step runs the same curl processes
# without the verifications.
send_requests() {
    local which=$1 kind=$2 round=$3 port=$4 out=$5 number credentials gap
    gap=$(awk -v d="$duration" -v n="$login_users" 'BEGIN { printf "%.3f", (d - 3) / n }')
    sleep 1
    for number in $(seq "$login_users"); do
        credentials="known:known-password"
        [[ $which == login ]] && credentials="$kind-$round-$number:$kind-password-$round-$number"
        curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -u "$credentials" \
            --data-urlencode "timestamp=2026-12-01T00:00:$(printf '%02d' "$number")Z" -d stage=WORKER_INIT -d status=SUCCESS \
            "http://127.0.0.1:$port/worker/log/$which-$kind-$round-$number" >>"$out"
        sleep "$gap"
    done
}

# Runs one step of load $1 at 64 connections in round $2: "plain" with no
# other requests, "known" with the requests of a known user, "login" with the
# first requests of new users.
login_step() {
    local load=$1 round=$2 arm=$3 requests failed
    if [[ $arm == plain ]]; then
        run_step "$load" translog "$translog_pid" "$translog_port" 64 "$round" post /worker/log "$auth"
        return
    fi
    requests=$work/$load-$arm-$round.txt
    send_requests "$arm" "$load" "$round" "$translog_port" "$requests" &
    local loop=$!
    run_step "$load-$arm" translog "$translog_pid" "$translog_port" 64 "$round" post /worker/log "$auth"
    wait "$loop"
    awk -v load="$load" -v round="$round" -v arm="$arm" \
        '{ printf "%s-request\t%s\t%s\t%s\t%s\n", arm, round, $1, $2, load }' "$requests" >>"$results"
    failed=$(awk '$1 != 200' "$requests" | wc -l)
    if ((failed > 0)); then
        echo "  round $round: $failed requests of the $arm step did not get 200:"
        awk '$1 != 200' "$requests" | sed 's/^/    /'
    fi
}

# Runs the steps of one comparison of logins, load $1 at full speed or at the
# pace of BENCH_PACE_MS when it is exported. Each round has three steps: no
# other requests, $login_users requests of a known user, and $login_users
# first requests of new users. The curl processes cost CPU time of their
# own, so the step with the known user's requests is the one to compare the
# logins with. The order of the three turns every round.
compare_logins() {
    local load=$1 round arms
    for round in $(seq "$rounds"); do
        case $((round % 3)) in
            1) arms=(plain known login) ;;
            2) arms=(login plain known) ;;
            0) arms=(known login plain) ;;
        esac
        for arm in "${arms[@]}"; do
            login_step "$load" "$round" "$arm"
        done
    done
}

echo "== logins during a load at full speed: 64 connections, $login_users new users per step"
compare_logins full

echo "== logins during a paced load: 64 connections, each waiting $pace_ms ms between requests"
export BENCH_PACE_MS=$pace_ms
compare_logins paced
unset BENCH_PACE_MS

echo "== a burst of 64 connections of one user against a server that just started"
for round in $(seq "$rounds"); do
    burst_db=$work/burst-$round.db
    add_user "$burst_db" bench worker bench-password
    add_user "$burst_db" watcher reader watcher-password
    start_translog "$burst_db" warn "$work/translog-burst-$round.log"
    run_step burst translog "$server_pid" "$server_port" 64 "$round" post /worker/log "$auth"
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
done

echo "== GET /worker/log/{id} of a log of 50 entries, 64 connections"
for number in $(seq 50); do
    curl -sf -o /dev/null -u bench:bench-password \
        --data-urlencode "timestamp=2026-12-01T00:00:00.$(printf '%03d' "$number")Z" \
        -d stage=WORKER_LOAD -d status=SUCCESS -d "message=table $number of 50 loaded" \
        "http://127.0.0.1:$translog_port/worker/log/read-50"
done
for round in $(seq "$rounds"); do
    run_step read translog "$translog_pid" "$translog_port" 64 "$round" get /worker/log/read-50 "$reader_auth"
done

echo "== database size"
curl -sf -u watcher:watcher-password "http://127.0.0.1:$translog_port/metrics" >"$work/metrics.txt"
kill "$translog_pid" "$info_pid" "$bare_pid"
wait "$translog_pid" "$info_pid" "$bare_pid" 2>/dev/null || true
bench_entries=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM entries").fetchone()[0])' "$bench_db")
printf 'dbsize\tload\t%s\t%s\n' "$bench_entries" "$(stat -c %s "$bench_db")" >>"$results"

echo "== start-up on a database of $entries entries"
big_db=$work/big.db
add_user "$big_db" bench worker bench-password
python3 "$bench_dir/make_db.py" "$big_db" "$entries"
printf 'dbsize\tbuilt\t%s\t%s\n' "$entries" "$(stat -c %s "$big_db")" >>"$results"
python3 "$bench_dir/startup.py" "$translog" "$big_db" bench:bench-password "$rounds" | tee "$work/startup.txt"
sed -n 's/^STARTUP /startup\t/p' "$work/startup.txt" >>"$results"

echo
python3 "$bench_dir/summarise.py" "$results" "$duration" "$rounds" "$(getconf CLK_TCK)" "$(nproc)"
