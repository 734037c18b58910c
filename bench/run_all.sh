#!/usr/bin/env bash
# Runs every benchmark, one after another (they share the machine's cores), and writes each one's
# Markdown table under bench/results/, then bench/results/README.md with all of them and how long
# each took. Budget: under 15 minutes on a 2-core machine.
#
# Usage: bench/run_all.sh            (after `make system venv`; `make bench` does both)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=bench/results
mkdir -p "$OUT"
summary=$(mktemp)
started=$(date +%s)

run() {
    local name=$1
    shift
    local t0
    t0=$(date +%s)
    echo "== $name: $*"
    "$PY" "$@" --output "$OUT/$name.md"
    echo "| $name | $(($(date +%s) - t0)) s |" >>"$summary"
}

run ingest bench/ingest.py
run device_growth bench/device_growth.py
run diagnostics bench/diagnostics.py
run alerts bench/alerts.py
run campaign bench/campaign.py
run console bench/console.py
run commands bench/commands.py
run customer_page bench/customer_page.py
run status_api bench/status_api.py  # last: its 18 GB of history weighs on whatever runs after it

total=$(($(date +%s) - started))
{
    echo "# Benchmark results"
    echo
    echo "Written by \`bench/run_all.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown);"
    echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) of memory, shared by broker, database, product processes and load generators."
    echo "Every figure is printed beside its baseline, measured in the same run. Total time: $((total / 60)) min $((total % 60)) s."
    for name in ingest device_growth diagnostics alerts campaign console commands customer_page status_api; do
        echo
        echo "## $name"
        echo
        cat "$OUT/$name.md"
    done
    echo
    echo "## Time per benchmark"
    echo
    echo "| benchmark | time |"
    echo "|---|---|"
    cat "$summary"
} >"$OUT/README.md"
rm -f "$summary"
echo "== all benchmarks in $((total / 60)) min $((total % 60)) s; results in $OUT/README.md"
