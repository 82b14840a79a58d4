#!/usr/bin/env bash
# Splits the gap between translog and bare (examples/bare.rs) into the parts
# of a write: the sync of a commit, the rest of the storage thread's work,
# and the hand-off between the HTTP and storage threads. Each translog below
# leaves out one more of them, so none of them is a server to use:
#
#   full         translog as it is
#   no-sync      synchronous=OFF: commits are not synced to the disk
#   no-storage   the storage thread reports every batch stored without SQLite
#   no-hand-off  the HTTP thread responds 200 without the storage thread
#
# The shortcuts are in scripts/bench/ceiling.diff, applied to a temporary
# clone of HEAD; CEILING_SHORTCUT picks one at start-up. The five servers run
# side by side with the load of scripts/bench.sh (wrk, scripts/bench/load.lua,
# 2 threads), one step each per round, the order turning every round.
#
# Usage: scripts/bench/ceiling.sh
#
# Environment:
#   CEILING_DURATION   seconds per step (default 6)
#   CEILING_ROUNDS     rounds (default 5)
#
# Needs git, cargo, wrk and python3; the build takes a few minutes, the run
# about 5 minutes with the defaults. It sends traffic only to servers it
# starts on 127.0.0.1.

set -euo pipefail

duration=${CEILING_DURATION:-6}
rounds=${CEILING_ROUNDS:-5}
connection_counts=(64 256)
variants=(full no-sync no-storage no-hand-off bare)

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/translog-ceiling.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== building translog with the shortcuts, and bare, in $work"
git clone -q "$root" "$work/source"
if ! git -C "$work/source" apply "$root/scripts/bench/ceiling.diff"; then
    echo "ceiling.sh: scripts/bench/ceiling.diff no longer applies to HEAD; make the same three changes by hand and save the diff" >&2
    exit 1
fi
(cd "$work/source" && cargo build -q --release --bin translog --examples)
target=${CARGO_TARGET_DIR:-$work/source/target}
translog=$target/release/translog
bare=$target/release/examples/bare

basic() { printf 'Basic %s' "$(printf '%s' "$1" | base64 -w0)"; }
auth=$(basic bench:bench-password)

# Prints the port from the `listening on` line of the server log $1.
port_in_log() {
    local tries
    for tries in $(seq 100); do
        if grep -q 'listening on' "$1"; then
            grep -o '127\.0\.0\.1:[0-9]*' "$1" | head -n 1 | cut -d: -f2
            return
        fi
        sleep 0.1
    done
    echo "ceiling.sh: a server failed to start; its log $1 contains:" >&2
    cat "$1" >&2
    exit 1
}

declare -A ports
for variant in "${variants[@]}"; do
    log=$work/$variant.log
    if [[ $variant == bare ]]; then
        "$bare" 127.0.0.1:0 2>"$log" &
    else
        printf 'bench-password\n' | "$translog" --db "$work/$variant.db" user add bench --role worker --password-stdin >/dev/null
        shortcut=$variant
        [[ $variant == full ]] && shortcut=
        CEILING_SHORTCUT=$shortcut RUST_LOG=warn,translog::service=info \
            "$translog" --db "$work/$variant.db" serve --listen 127.0.0.1:0 2>"$log" &
    fi
    pids+=($!)
    ports[$variant]=$(port_in_log "$log")
done

results=$work/results.txt
echo "== $rounds rounds of ${duration}s steps at ${connection_counts[*]} connections"
for connections in "${connection_counts[@]}"; do
    for round in $(seq "$rounds"); do
        for index in "${!variants[@]}"; do
            variant=${variants[$(((index + round) % ${#variants[@]}))]}
            output=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s -s "$root/scripts/bench/load.lua" \
                "http://127.0.0.1:${ports[$variant]}/worker/log" -- post "$auth" "c$connections-r$round-$variant")
            result=$(grep '^RESULT' <<<"$output")
            echo "$connections $variant $round ${result#RESULT }" | tee -a "$results"
        done
    done
done

python3 - "$results" "${variants[@]}" <<'PYTHON'
import collections
import statistics
import sys

path, variants = sys.argv[1], sys.argv[2:]
steps = collections.defaultdict(dict)
for line in open(path, encoding="utf-8"):
    connections, variant, round_number, *fields = line.split()
    steps[(int(connections), variant)][int(round_number)] = dict(field.split("=", 1) for field in fields)

print()
print("medians of the rounds; ratio is to bare in the same round")
print(f"{'conns':>5}  {'server':<12} {'req/s':>8} {'ratio':>6} {'p99 ms':>7} {'failures':>8}")
for connections in sorted({key[0] for key in steps}):
    bare = steps[(connections, "bare")]
    for variant in variants:
        rounds = steps[(connections, variant)]
        rates = [float(step["ok_rps"]) for step in rounds.values()]
        ratios = [float(step["ok_rps"]) / float(bare[number]["ok_rps"]) for number, step in rounds.items()]
        p99 = statistics.median(float(step["p99_ms"]) for step in rounds.values())
        failures = sum(int(step["non200"]) + int(step["socket_errors"]) for step in rounds.values())
        print(f"{connections:>5}  {variant:<12} {statistics.median(rates):>8.0f} {statistics.median(ratios):>6.2f}"
              f" {p99:>7.2f} {failures:>8}")
PYTHON
