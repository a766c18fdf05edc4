#!/usr/bin/env bash
# Benchmark of `espi ingest`: a year of history into a fresh lake, then a
# 1 GB daily Bulk feed (the next day, with corrections of earlier days) into
# it. Prints wall time and peak memory (max RSS) of each ingest.
#
# usage: benches/scripts/lake-ingest.sh [WORK_DIR] [USAGE_POINTS]
# (WORK_DIR default /tmp/espi-lake-bench; the feeds are generated there once)
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-/tmp/espi-lake-bench}"
points="${2:-2000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/espi-target}"
cargo build --release -q -p espi-cli
espi="$CARGO_TARGET_DIR/release/espi"
mkdir -p "$work"
year="$work/year-$points.xml"
daily="$work/daily-1GB.xml"
[ -s "$year" ] || "$espi" gen --kind history --usage-points "$points" --days 365 \
    --start 2023-06-01 --corrections 0 -o "$year"
[ -s "$daily" ] || "$espi" gen --size 1GB --start 2024-05-31 --corrections 0.05 -o "$daily"
rm -rf "$work/lake"

# Wall time and peak anonymous memory (RssAnon: the memory-mapped input's
# pages, which the kernel can drop at any time, are not counted).
measure() {
    local label="$1"
    shift
    local start peak=0 anon pid rc=0
    start=$(date +%s%N)
    "$@" >"$work/$label.out" 2>"$work/$label.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        anon=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        if [ -n "$anon" ] && [ "$anon" -gt "$peak" ]; then peak=$anon; fi
        sleep 0.05
    done
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$work/$label.err"; exit 1; }
    echo "$label: $(( ($(date +%s%N) - start) / 1000000 )) ms wall, peak anonymous RSS $((peak / 1024)) MiB"
}

ls -l "$year" "$daily"
measure year "$espi" ingest "$year" --lake "$work/lake" -q
measure daily "$espi" ingest "$daily" --lake "$work/lake" -q
grep -E "^(table|readings|usage_points) " "$work/daily.out"
"$espi" lake stats --lake "$work/lake" | grep -E "^(table|readings) "
