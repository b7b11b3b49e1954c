#!/usr/bin/env bash
# The allocation gate: builds and runs veil's benchmarks (package-benchmark) and checks their
# malloc counts against the committed thresholds in Benchmarks/Thresholds/.
#
#   Benchmarks/ci.sh             # check; exit 1 when a malloc count is above its threshold
#   Benchmarks/ci.sh --update    # after an intended change: rewrite Thresholds/ from a new run
#
# Only `mallocCountTotal` is gated (it repeats from run to run); each benchmark allows a drift of
# `mallocTolerance` (VeilBenchmarks.swift) either way, so one allocation per line (+100,000 per
# 100k-line iteration) always fails. Fewer allocations than the threshold pass with a note to
# tighten the thresholds with --update.
#
# Environment: VEIL_BENCH_TIME_LIMIT (seconds, default 1200) bounds the whole run, build included.
# Exit status: 0 pass, 1 regression / missing threshold / error / time limit, 2 bad usage.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
limit="${VEIL_BENCH_TIME_LIMIT:-1200}"

mode=check
case "${1:-}" in
    "") ;;
    --update) mode=update ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ci.sh: unknown option $1 (use --update or nothing)" >&2; exit 2 ;;
esac

command -v zstd >/dev/null || { echo "ci.sh: the pipeline benchmarks need the zstd tool: apt-get install zstd" >&2; exit 1; }
command -v timeout >/dev/null || { echo "ci.sh: needs timeout(1) from coreutils" >&2; exit 1; }

started=$(date +%s)
log="$(mktemp "${TMPDIR:-/tmp}/veil-bench.XXXXXX")"
trap 'rm -f "$log"' EXIT

# bench ARGS...: `swift package benchmark ARGS` under the time limit left; output shown and kept.
bench() {
    local left=$(( limit - ($(date +%s) - started) ))
    [ "$left" -gt 0 ] || { echo "ci.sh: time limit of ${limit}s reached" >&2; exit 1; }
    timeout --kill-after=30 "$left" swift package --disable-sandbox --allow-writing-to-package-directory \
        benchmark "$@" --no-progress 2>&1 | tee "$log"
    return "${PIPESTATUS[0]}"
}

if [ "$mode" = update ]; then
    mkdir -p Thresholds
    rm -f Thresholds/*.p90.json
    bench thresholds update --metric mallocCountTotal --path Thresholds
    status=$?
    [ "$status" = 0 ] || { echo "ci.sh: thresholds update failed (status $status)" >&2; exit 1; }
    echo "ci.sh: wrote $(ls Thresholds/*.p90.json | wc -l) thresholds to Benchmarks/Thresholds/ in $(( $(date +%s) - started ))s"
    exit 0
fi

ls Thresholds/*.p90.json >/dev/null 2>&1 || { echo "ci.sh: no thresholds in Benchmarks/Thresholds/ (run ci.sh --update)" >&2; exit 1; }
tolerance="$(sed -n 's/^let mallocTolerance = \([0-9][0-9]*\).*/\1/p' Benchmarks/VeilBenchmarks/VeilBenchmarks.swift)"
[ -n "$tolerance" ] || { echo "ci.sh: cannot read mallocTolerance from VeilBenchmarks.swift" >&2; exit 1; }

# 1. One run of every benchmark with all its metrics, stored as baseline `ci` and printed.
bench baseline update ci
status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then echo "ci.sh: time limit of ${limit}s reached" >&2; exit 1; fi
[ "$status" = 0 ] || { echo "ci.sh: the benchmarks failed to build or run (status $status)" >&2; exit 1; }
bench baseline read ci || true

# 2. package-benchmark's own check of that baseline against Thresholds/ (no second run). Through
#    `swift package` both "worse" and "only better" exit 1, so its verdict is read from its output.
bench thresholds check ci --path Thresholds
plugin_status=$?
if grep -q "is WORSE than the defined thresholds" "$log"; then plugin=worse
elif grep -q "is BETTER than the defined thresholds" "$log"; then plugin=better
elif [ "$plugin_status" = 0 ] && grep -q "is EQUAL to the defined thresholds" "$log"; then plugin=equal
else plugin="error (status $plugin_status)"; fi

# 3. The same comparison by threshold file name, which also fails on a benchmark without a
#    committed threshold (the plugin's check skips those, and names with spaces; see
#    VeilBenchmarks.swift).
current="$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-p90.XXXXXX")"
trap 'rm -f "$log"; rm -rf "$current"' EXIT
bench thresholds update ci --path "$current" >/dev/null 2>&1 \
    || { echo "ci.sh: cannot export this run's p90 values" >&2; exit 1; }
count_in() { tr -d ' \n' <"$1" | sed -n 's/.*"mallocCountTotal":\([0-9]*\).*/\1/p'; }
worse=0; better=0; missing=0
echo
echo "Malloc counts, p90 per iteration (100k lines, records or calls), tolerance ±$tolerance:"
printf '  %-40s %10s %10s %10s  %s\n' benchmark threshold "this run" "per line" verdict
for f in "$current"/*.p90.json; do
    file="$(basename "$f")"
    name="${file#VeilBenchmarks.}"; name="${name%.p90.json}"
    now="$(count_in "$f")"
    if [ ! -f "Thresholds/$file" ]; then
        printf '  %-40s %10s %10s %10s  %s\n' "$name" "-" "$now" "" "NO THRESHOLD (run ci.sh --update)"
        missing=$((missing + 1)); continue
    fi
    limit_count="$(count_in "Thresholds/$file")"
    verdict=ok
    if [ "$now" -gt $((limit_count + tolerance)) ]; then verdict="WORSE"; worse=$((worse + 1));
    elif [ "$now" -lt $((limit_count - tolerance)) ]; then verdict="better"; better=$((better + 1)); fi
    printf '  %-40s %10s %10s %10s  %s\n' "$name" "$limit_count" "$now" \
        "$(awk -v c="$now" 'BEGIN { printf "%.4f", c / 100000 }')" "$verdict"
done
for f in Thresholds/*.p90.json; do
    [ -f "$current/$(basename "$f")" ] || echo "  (stale threshold without a benchmark: $(basename "$f"); run ci.sh --update)"
done
elapsed=$(( $(date +%s) - started ))

if [ "$worse" -gt 0 ] || [ "$missing" -gt 0 ] || [ "$plugin" = worse ]; then
    echo "ci.sh: FAIL — $worse malloc count(s) above threshold, $missing benchmark(s) without one; package-benchmark's check: $plugin (${elapsed}s)" >&2
    exit 1
fi
case "$plugin" in
    equal|better) ;;
    *) echo "ci.sh: FAIL — package-benchmark's thresholds check: $plugin (${elapsed}s)" >&2; exit 1 ;;
esac
if [ "$better" -gt 0 ] || [ "$plugin" = better ]; then
    echo "ci.sh: PASS — $better malloc count(s) went DOWN; run Benchmarks/ci.sh --update and commit Thresholds/ to lock the gain in (${elapsed}s)"
else
    echo "ci.sh: PASS — every malloc count within ±$tolerance of its threshold (${elapsed}s)"
fi
exit 0
