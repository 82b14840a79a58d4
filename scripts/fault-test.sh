#!/usr/bin/env bash
# Runs the fault cases of scripts/fault_test.py against the release binary,
# building it first if it is missing or out of date. Extra arguments go to
# fault_test.py (for example `--only disk-full`). The disk-full case mounts a
# small tmpfs, so it needs root; without it that case is reported as SKIP.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/fault_test.py --binary target/release/translog "$@"
