#!/usr/bin/env python3
"""Print the summary of a scripts/bench.sh run from its results file.

Usage: summarise.py RESULTS DURATION ROUNDS CLOCK_TICKS_PER_SECOND CPUS

Every figure of a load step is the median over the rounds. Requests per
second count only responses with status 200; any other status is a failure.
CPU time per request divides the CPU time of each thread during a step by all
the requests of that step.
"""

import re
import statistics
import sys

TARGET_RATIO = {64: 0.7, 256: 0.8}
TARGET_P99_MS_AT_64 = 10.0
TARGET_PEAK_RSS_MIB_AT_256 = 64.0

PAIR = re.compile(r'(\w+)=("[^"]*"|\S+)')


STEP_KINDS = ("post", "full", "full-known", "full-login", "paced", "paced-known", "paced-login",
              "burst", "read")


def parse_fields(text):
    return {name: value.strip('"') for name, value in PAIR.findall(text)}


def load(path):
    """Returns the load steps as dicts, and the other lines as lists of columns."""
    steps = []
    other = []
    with open(path, encoding="utf-8") as results:
        for line in results:
            columns = line.rstrip("\n").split("\t")
            if columns[0] in STEP_KINDS:
                fields = parse_fields(" ".join(columns[4:]))
                fields.update(kind=columns[0], server=columns[1],
                              connections=int(columns[2]), round=int(columns[3]))
                steps.append(fields)
            else:
                other.append(columns)
    return steps, other


def rows_per_commit(step):
    before = [float(number) for number in step["batch_before"].split()]
    after = [float(number) for number in step["batch_after"].split()]
    commits = after[1] - before[1]
    return (after[0] - before[0]) / commits if commits > 0 else None


def cpu_per_request(step, ticks_per_second, cpus):
    """Returns the CPU time per request in microseconds of the server's main
    thread, its storage thread, its other threads and wrk, and the idle CPUs
    of the machine during the step.

    Returns None for a step without these fields."""
    if "thread_ticks" not in step:
        return None
    requests = int(step["requests"])
    if requests == 0:
        return None
    main_ticks, storage_ticks, other_ticks = (int(number) for number in step["thread_ticks"].split())
    microseconds_per_tick = 1e6 / ticks_per_second
    wrk_seconds = sum(float(number) for number in step["wrk_cpu"].split())
    idle_before, total_before = (int(number) for number in step["machine_before"].split())
    idle_after, total_after = (int(number) for number in step["machine_after"].split())
    total = total_after - total_before
    return {
        "main": main_ticks * microseconds_per_tick / requests,
        "storage": storage_ticks * microseconds_per_tick / requests,
        "other": other_ticks * microseconds_per_tick / requests,
        "wrk": wrk_seconds * 1e6 / requests,
        "idle_cpus": (idle_after - idle_before) / total * cpus if total > 0 else None,
    }


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def summarise_steps(steps):
    """Returns the medians of the steps, with the sum of failures."""
    return {
        "rps": median(float(step["ok_rps"]) for step in steps),
        "p50": median(float(step["p50_ms"]) for step in steps),
        "p99": median(float(step["p99_ms"]) for step in steps),
        "rss": median(int(step["hwm_kb"]) / 1024 for step in steps),
        "threads": median(int(step["threads"]) for step in steps),
        "rows": median(rows_per_commit(step) for step in steps)
        if steps[0]["server"].startswith("translog") else None,
        "failures": sum(int(step["non200"]) + int(step["socket_errors"]) for step in steps),
        "rounds": len(steps),
    }


def number(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def verdict(passed):
    return "met" if passed else "MISSED"


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: summarise.py RESULTS DURATION ROUNDS CLOCK_TICKS_PER_SECOND CPUS")
    steps, other = load(sys.argv[1])
    duration, rounds = sys.argv[2], sys.argv[3]
    ticks_per_second, cpus = int(sys.argv[4]), int(sys.argv[5])

    def select(kind, server, connections):
        return [step for step in steps
                if step["kind"] == kind and step["server"] == server
                and step["connections"] == connections]

    print(f"translog benchmark summary: medians of {rounds} rounds, {duration} s per step")
    print()
    print("POST /worker/log/{id}, unique valid entries, authenticated (RUST_LOG=warn unless noted)")
    header = (f"{'conns':>5}  {'server':<22} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}"
              f" {'peak RSS MiB':>12} {'threads':>7} {'rows/commit':>11} {'failures':>8}")
    print(header)
    ratios = {}
    figures = {}
    for connections in sorted({step["connections"] for step in steps if step["kind"] == "post"}):
        bare = summarise_steps(select("post", "bare", connections))
        for server, label in (("translog", "translog"), ("translog-info", "translog, RUST_LOG=info"),
                              ("bare", "bare hyper")):
            chosen = select("post", server, connections)
            if not chosen:
                continue
            medians = summarise_steps(chosen)
            figures[(server, connections)] = medians
            ratio = medians["rps"] / bare["rps"] if server != "bare" and bare["rps"] else None
            if server == "translog":
                ratios[connections] = ratio
            print(f"{connections:>5}  {label:<22} {number(medians['rps'], 0):>8} {number(ratio, 2):>6}"
                  f" {number(medians['p50'], 2):>7} {number(medians['p99'], 2):>7}"
                  f" {number(medians['rss']):>12} {number(medians['threads'], 0):>7}"
                  f" {number(medians['rows']):>11} {medians['failures']:>8}")
    print()

    print("CPU time per request (µs, medians) of each thread and of wrk, and idle CPUs of the machine")
    print(f"{'conns':>5}  {'server':<22} {'HTTP':>6} {'storage':>7} {'other':>6} {'server':>7}"
          f" {'wrk':>6} {'all':>6} {'idle CPUs':>9}")
    for connections in sorted({step["connections"] for step in steps if step["kind"] == "post"}):
        for server, label in (("translog", "translog"), ("bare", "bare hyper")):
            usage = [cpu_per_request(step, ticks_per_second, cpus)
                     for step in select("post", server, connections)]
            usage = [figures for figures in usage if figures is not None]
            if not usage:
                continue
            columns = {name: median(figures[name] for figures in usage)
                       for name in ("main", "storage", "other", "wrk", "idle_cpus")}
            server_total = median(figures["main"] + figures["storage"] + figures["other"]
                                  for figures in usage)
            everything = median(figures["main"] + figures["storage"] + figures["other"]
                                + figures["wrk"] for figures in usage)
            print(f"{connections:>5}  {label:<22} {number(columns['main']):>6}"
                  f" {number(columns['storage']):>7} {number(columns['other']):>6}"
                  f" {number(server_total):>7} {number(columns['wrk']):>6} {number(everything):>6}"
                  f" {number(columns['idle_cpus'], 2):>9}")
    print()

    curl_requests = [columns for columns in other if columns[0] in ("login-request", "known-request")]
    login_failures = sum(1 for columns in curl_requests if columns[2] != "200")
    logins = {}
    for kind, title in (("full", "a load at full speed"),
                        ("paced", "a paced load (each connection waits between requests)")):
        plain = summarise_steps(select(kind, "translog", 64))
        known = summarise_steps(select(f"{kind}-known", "translog", 64))
        during = summarise_steps(select(f"{kind}-login", "translog", 64))
        known_p99s = [float(step["p99_ms"]) for step in select(f"{kind}-known", "translog", 64)]
        logins[kind] = (plain, known, during, known_p99s)
        print(f"First requests of new users (one Argon2 verification each) during {title}, 64 connections")
        arms = (("no other requests", plain, None),
                ("{} requests of a known user per step", known, "known-request"),
                ("{} first requests of new users per step", during, "login-request"))
        for label, medians, source in arms:
            times = [float(columns[3]) * 1000 for columns in curl_requests
                     if columns[0] == source and columns[4] == kind]
            label = label.format(len(times) // max(int(rounds), 1))
            print(f"  {label}: {number(medians['rps'], 0)} req/s, p50 {number(medians['p50'], 2)} ms,"
                  f" p99 {number(medians['p99'], 2)} ms, failures {medians['failures']}")
            if times:
                print(f"    the curl requests themselves: median {number(statistics.median(times), 0)} ms,"
                      f" max {number(max(times), 0)} ms")
    print(f"  curl requests that did not get 200: {login_failures}")
    print()

    burst = select("burst", "translog", 64)
    if burst:
        medians = summarise_steps(burst)
        worst = max(float(step["max_ms"]) for step in burst)
        print("A burst of 64 connections of one user against a server that just started (a cold cache)")
        print(f"  {number(medians['rps'], 0)} req/s, p50 {number(medians['p50'], 2)} ms,"
              f" p99 {number(medians['p99'], 2)} ms, slowest {worst:.1f} ms,"
              f" peak RSS {number(medians['rss'])} MiB, failures {medians['failures']}")
        print()

    read = summarise_steps(select("read", "translog", 64))
    print("GET /worker/log/{id}, a log of 50 entries, 64 connections")
    print(f"  {number(read['rps'], 0)} req/s, p50 {number(read['p50'], 2)} ms, p99 {number(read['p99'], 2)} ms,"
          f" failures {read['failures']}")
    print()

    for columns in other:
        if columns[0] == "dbsize":
            entries, size = int(columns[2]), int(columns[3])
            per_million = size / entries * 1_000_000 / 2**20 if entries else 0
            source = ("built for the start-up test" if columns[1] == "built"
                      else "after the load steps")
            print(f"Database size {source}: {entries} entries, {size / 2**20:.1f} MiB,"
                  f" {per_million:.0f} MiB per million entries")
        if columns[0] == "startup":
            fields = parse_fields(" ".join(columns[1:]))
            print(f"Start-up on that database: listening after {fields['listening_ms']} ms,"
                  f" first 200 after {fields['first_200_ms']} ms (medians)")
    print()

    print("Targets")
    for connections, target in TARGET_RATIO.items():
        ratio = ratios.get(connections)
        print(f"  translog/bare at {connections} connections >= {target}: {number(ratio, 2)}"
              f" {verdict(ratio is not None and ratio >= target)}")
    p99 = figures.get(("translog", 64), {}).get("p99")
    print(f"  p99 at 64 connections <= {TARGET_P99_MS_AT_64} ms: {number(p99, 2)} ms"
          f" {verdict(p99 is not None and p99 <= TARGET_P99_MS_AT_64)}")
    rss = figures.get(("translog", 256), {}).get("rss")
    print(f"  peak RSS at 256 connections <= {TARGET_PEAK_RSS_MIB_AT_256} MiB: {number(rss)} MiB"
          f" {verdict(rss is not None and rss <= TARGET_PEAK_RSS_MIB_AT_256)}")
    for kind, (plain, known, during, known_p99s) in logins.items():
        if during["p99"] is None or not known_p99s:
            continue
        # The logins delay the load when the median p99 of their steps is
        # above the p99 of every step with the known user's requests, which
        # run the same curl processes without Argon2.
        print(f"  p99 of the {kind} load with first logins {number(during['p99'], 2)} ms, with a known"
              f" user's requests {number(known['p99'], 2)} ms (rounds"
              f" {', '.join(number(p99, 2) for p99 in known_p99s)}), with neither {number(plain['p99'], 2)} ms:"
              f" {'within' if during['p99'] <= max(known_p99s) else 'above'} the known user's rounds")
    translog_steps = [step for step in steps if step["server"] == "translog"]
    if translog_steps:
        peak = max(int(step["hwm_kb"]) for step in translog_steps) / 1024
        threads = max(int(step["threads"]) for step in translog_steps)
        print(f"  translog (RUST_LOG=warn) over all its steps: peak RSS {peak:.1f} MiB, at most {threads} threads")
    total_failures = sum(int(step["non200"]) + int(step["socket_errors"]) for step in steps)
    print(f"  responses other than 200, and socket errors, in all steps: {total_failures + login_failures}")


if __name__ == "__main__":
    main()
