#!/usr/bin/env bash
# Side-by-side comparison of veil with `zstd -dc` (the floor) and GoAccess on one generated
# workload, with public tools only (GNU time for wall time and peak RSS). `veil inspect` (read
# and parse, one thread) is timed too, to split veil's single-thread time into stages.
#
#   Benchmarks/compare.sh                 # 2M lines, median of 3 runs, plus the 10x memory run
#   Benchmarks/compare.sh --short         # CI: 200k lines, 1 run, no 10x run
#
# The floor is `zstd -dc` as DESIGN.md names it (the zstd command line's defaults); the table
# also times `zstd -dc --no-asyncio`, the command line's one-thread decoder, where zstd has it.
#
# Options:
#   --lines N        lines of the reference workload (default 2000000)
#   --runs R         timed runs per tool; the table shows medians (default 3)
#   --short          200k lines, 1 run, no 10x run (for CI)
#   --long-shape S   how the 10x workload keeps the traffic shape: `days` (default: the same
#                    visitors and the same traffic per day, for 10x as many days) or `lines`
#                    (the same visitors and days, 10x the requests per visitor)
#   --no-long        skip the 10x run
#   --no-formats     skip the other log formats (by default each of common, vhost_combined,
#                    json-caddy, json-nginx, json-traefik, w3c, traefik_clf and aws_alb is generated with half the
#                    reference's lines, the same traffic shape, and timed like the reference:
#                    zstd -dc, veil inspect, veil run on one thread and on all cores)
#   --veil PATH      the veil binary to measure (default: build it with `swift build -c release
#                    --static-swift-stdlib`, the README's build, in the root package); veil-fixtures is taken from the same directory when
#                    it is there, else built
#   --build-path D   SwiftPM scratch path for that build (default: <root>/.build)
#   --work DIR       keep the generated files in DIR (default: a temporary directory, removed)
#   --no-install     never apt-get install missing tools
#
# The workload is deterministic: `veil-fixtures generate --format combined_cookie --seed 1
# --lines N --visitors N/20 --days 1`, compressed with `zstd -3`. Exit status: 0 when every
# tool ran (performance targets are reported, not enforced), 1 on an error, 2 on bad usage.
#
# The tools run one after another in each round, the rounds one after another. The table's
# "× zstd" is the ratio of the medians; the ratio lines also give the median and range of each
# round's own ratio, which a slow spell of a shared machine moves less (it slows the tools of
# one round alike).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The README's release build: the Swift runtime linked in (about 2% faster than linking it
# dynamically, and 6 MiB less resident).
build_flags=(-c release --static-swift-stdlib)
root="$(cd "$here/.." && pwd)"

lines=2000000
runs=3
short=0
long=1
formats=1
long_shape=days
veil=""
build_path="$root/.build"
work=""
install=1

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "compare.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --lines) lines="${2:?--lines needs a number}"; shift 2 ;;
        --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
        --short) short=1; shift ;;
        --long-shape) long_shape="${2:?--long-shape needs days or lines}"; shift 2 ;;
        --no-long) long=0; shift ;;
        --no-formats) formats=0; shift ;;
        --veil) veil="${2:?--veil needs a path}"; shift 2 ;;
        --build-path) build_path="${2:?--build-path needs a directory}"; shift 2 ;;
        --work) work="${2:?--work needs a directory}"; shift 2 ;;
        --no-install) install=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$short" = 1 ]; then lines=200000; runs=1; long=0; fi
case "$lines" in ''|*[!0-9]*) echo "compare.sh: --lines needs a positive integer" >&2; exit 2 ;; esac
case "$runs" in ''|*[!0-9]*|0) echo "compare.sh: --runs needs a positive integer" >&2; exit 2 ;; esac
case "$long_shape" in days|lines) ;; *) echo "compare.sh: --long-shape is days or lines" >&2; exit 2 ;; esac
[ "$lines" -ge 1000 ] || { echo "compare.sh: --lines must be at least 1000" >&2; exit 2; }

# MARK: - Tools

need_install=()
command -v zstd >/dev/null || need_install+=(zstd)
[ -x /usr/bin/time ] || need_install+=(time)
command -v goaccess >/dev/null || need_install+=(goaccess)
if [ ${#need_install[@]} -gt 0 ]; then
    if [ "$install" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing ${need_install[*]} with apt-get ..."
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null 2>&1; } \
            || echo "compare.sh: apt-get install ${need_install[*]} failed" >&2
    fi
fi
command -v zstd >/dev/null || die "zstd is missing (apt-get install zstd)"
[ -x /usr/bin/time ] || die "GNU time is missing at /usr/bin/time (apt-get install time)"
have_goaccess=1
command -v goaccess >/dev/null || { have_goaccess=0; echo "compare.sh: goaccess is missing (apt-get install goaccess); its row is skipped" >&2; }
# zstd's command line decompresses and writes on two threads by default where it has
# asynchronous I/O (`--[no-]asyncio`, as in zstd 1.5.4); `--no-asyncio` times its one-thread
# decoder as well. (The help is captured first, as with veil's below.)
have_noasync=0
zstd_help="$(zstd -H 2>&1 || true)"
if grep -q -- '--\[no-\]asyncio' <<<"$zstd_help"; then have_noasync=1; fi

if [ -z "$veil" ]; then
    echo "Building veil and veil-fixtures (swift build ${build_flags[*]}, scratch path $build_path) ..."
    (cd "$root" && swift build "${build_flags[@]}" --scratch-path "$build_path" --product veil >/dev/null \
        && swift build "${build_flags[@]}" --scratch-path "$build_path" --product veil-fixtures >/dev/null) \
        || die "swift build ${build_flags[*]} failed"
    bin="$(cd "$root" && swift build "${build_flags[@]}" --scratch-path "$build_path" --show-bin-path)"
    if commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null)"; then
        git -C "$root" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || commit="$commit with uncommitted changes"
        provenance="built from $commit (swift build ${build_flags[*]})"
    else
        provenance="built from a checkout without git"
    fi
    veil="$bin/veil"
    fixtures="$bin/veil-fixtures"
else
    [ -x "$veil" ] || die "--veil $veil is not an executable"
    veil="$(cd "$(dirname "$veil")" && pwd)/$(basename "$veil")"
    provenance="at $veil"
    fixtures="$(dirname "$veil")/veil-fixtures"
    if [ ! -x "$fixtures" ]; then
        echo "Building veil-fixtures (swift build ${build_flags[*]}, scratch path $build_path) ..."
        (cd "$root" && swift build "${build_flags[@]}" --scratch-path "$build_path" --product veil-fixtures >/dev/null) \
            || die "swift build ${build_flags[*]} --product veil-fixtures failed"
        fixtures="$(cd "$root" && swift build "${build_flags[@]}" --scratch-path "$build_path" --show-bin-path)/veil-fixtures"
    fi
fi
[ -x "$veil" ] || die "no veil binary at $veil"
[ -x "$fixtures" ] || die "no veil-fixtures binary at $fixtures"

threads_flag=0
# (The help text is captured first: `grep -q` closing the pipe early would fail it under pipefail.)
run_help="$("$veil" run --help 2>&1 || true)"
if grep -q -- '--threads' <<<"$run_help"; then threads_flag=1; fi

# MARK: - Work directory

if [ -n "$work" ]; then
    mkdir -p "$work"
    work="$(cd "$work" && pwd)"
    # Samples of an earlier run in the same directory must not count in this run's medians.
    rm -f "$work"/*.samples "$work"/*.rss
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/veil-compare.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi
"$veil" keys init --keys "$work/keys" >/dev/null 2>&1 || true
[ -d "$work/keys" ] || die "veil keys init --keys $work/keys failed"

# MARK: - Helpers

# measure NAME CMD...: runs CMD under GNU time; appends "seconds kib" to $work/NAME.samples.
# Standard output and error go to $work/NAME.out (the last run's).
measure() {
    local name="$1"; shift
    local t0 t1 status
    t0=$(date +%s%N)
    set +e
    /usr/bin/time -f '%M' -o "$work/$name.rss" "$@" >"$work/$name.out" 2>&1
    status=$?
    set -e
    t1=$(date +%s%N)
    if [ "$status" != 0 ]; then
        echo "compare.sh: '$*' failed with status $status:" >&2
        tail -5 "$work/$name.out" >&2
        exit 1
    fi
    echo "$(( (t1 - t0) / 1000 )) $(tail -1 "$work/$name.rss")" >>"$work/$name.samples"
}

# median: the median of the numbers on standard input, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 } END { printf "%.10g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# median_col NAME COL: the median of column COL (1 = microseconds, 2 = KiB) of NAME's samples.
median_col() {
    cut -d' ' -f"$2" "$work/$1.samples" | median
}

# round_ratios A B: A's time over B's in each round (the tools run one after another in a
# round, so a slow spell of the machine weighs on both): "median (min–max)" of those ratios.
round_ratios() {
    local ratios
    ratios="$(paste -d' ' <(cut -d' ' -f1 "$work/$1.samples") <(cut -d' ' -f1 "$work/$2.samples") \
        | awk '{ print $1 / $2 }' | sort -g)"
    awk -v m="$(median <<<"$ratios")" -v lo="$(head -n 1 <<<"$ratios")" -v hi="$(tail -n 1 <<<"$ratios")" \
        'BEGIN { printf "%.2f× (%.2f–%.2f×)", m, lo, hi }'
}

# generate FILE LINES VISITORS DAYS: the deterministic workload, compressed with zstd -3.
generate() {
    "$fixtures" generate --format combined_cookie --seed 1 --lines "$2" --visitors "$3" --days "$4" --output - \
        | zstd -3 -q -f -o "$1"
}

veil_run() { # veil_run NAME FILE... [--threads N]
    local name="$1"; shift
    rm -rf "$work/rollups-$name"
    measure "$name" "$veil" run "$@" -o "$work/rollups-$name" --keys "$work/keys" --quiet
}

# MARK: - Reference workload

visitors=$(( lines / 20 ))
ref="$work/reference.log.zst"
plain="$work/reference.log"
echo "Generating $lines combined_cookie lines ($visitors visitors, 1 day), zstd -3 ..."
generate "$ref" "$lines" "$visitors" 1
zstd -dc -q "$ref" >"$plain"
raw_bytes=$(stat -c %s "$plain")
zst_bytes=$(stat -c %s "$ref")

# The same lines as a night of rotated logs: 8 files of consecutive lines (3 hours each).
rotated=()
if [ "$threads_flag" = 1 ]; then
    split -n l/8 -d -a 1 "$plain" "$work/rotated.log-"
    for f in "$work"/rotated.log-[0-7]; do
        zstd -3 -q -f --rm "$f" -o "$f.zst"
        rotated+=("$f.zst")
    done
fi

single_label="veil run --threads 1"
single_args=(--threads 1)
if [ "$threads_flag" = 0 ]; then
    single_label="veil (single thread)"
    single_args=()
fi

load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "Measuring ($runs run(s) each, interleaved) ..."
zstd -dc -q "$ref" >/dev/null   # warm the page cache
for ((r = 1; r <= runs; r++)); do
    measure zstd zstd -dc -q "$ref" -o /dev/null
    if [ "$have_noasync" = 1 ]; then measure zstd1 zstd -dc -q --no-asyncio "$ref" -o /dev/null; fi
    # The first stages alone, on one thread: decompress, split, parse, count rejects.
    measure inspect "$veil" inspect "$ref" --quiet
    veil_run veil1 "$ref" "${single_args[@]}"
    if [ "$threads_flag" = 1 ]; then
        veil_run veilN "$ref"
        veil_run veilR "${rotated[@]}"
    fi
    if [ "$have_goaccess" = 1 ]; then
        measure goaccess goaccess "$plain" --log-format=COMBINED --no-global-config --no-progress \
            -o "$work/goaccess.csv"
    fi
done

# MARK: - Table

fmt_row() { # fmt_row LABEL NAME
    local us kib
    us=$(median_col "$2" 1)
    kib=$(median_col "$2" 2)
    awk -v label="$1" -v us="$us" -v kib="$kib" -v lines="$lines" -v bytes="$raw_bytes" -v zus="$zstd_us" 'BEGIN {
        s = us / 1e6
        printf "| %-26s | %9.2f | %12.0f | %8.1f | %9.1f | %7.2f |\n", label, s, lines / s, bytes / 1048576 / s, kib / 1024, us / zus
    }'
}

zstd_us=$(median_col zstd 1)
veil1_us=$(median_col veil1 1)
veil1_kib=$(median_col veil1 2)
if [ "$threads_flag" = 1 ]; then veilN_us=$(median_col veilN 1); veilN_kib=$(median_col veilN 2); fi

echo
echo "## veil vs zstd -dc vs GoAccess"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, $(uname -sr); load average at start $load"
echo "veil $("$veil" --version 2>/dev/null || echo '(version unknown)') $provenance; $(zstd --version | head -1 | tr -d '*' | sed 's/^ *//;s/ *$//'); $( [ "$have_goaccess" = 1 ] && goaccess --version 2>/dev/null | head -1 || echo 'no GoAccess')"
awk -v l="$lines" -v v="$visitors" -v rb="$raw_bytes" -v zb="$zst_bytes" -v runs="$runs" 'BEGIN {
    printf "Workload: %d combined_cookie lines, %d visitors, 1 day (veil-fixtures --seed 1); %.0f MB raw, %.1f MB zstd -3; median of %d run(s)\n", l, v, rb / 1e6, zb / 1e6, runs }'
echo
echo "| tool                       |  wall (s) |      lines/s |     MB/s | RSS (MiB) | × zstd  |"
echo "|----------------------------|----------:|-------------:|---------:|----------:|--------:|"
fmt_row "zstd -dc > /dev/null" zstd
if [ "$have_noasync" = 1 ]; then fmt_row "zstd -dc --no-asyncio" zstd1; fi
fmt_row "veil inspect (parse only)" inspect
fmt_row "$single_label" veil1
if [ "$threads_flag" = 1 ]; then fmt_row "veil run ($(nproc) threads)" veilN; fi
if [ "$have_goaccess" = 1 ]; then fmt_row "GoAccess (COMBINED, CSV)" goaccess; fi
echo
echo "MB/s counts uncompressed bytes (GoAccess reads the decompressed file; zstd and veil the .zst)."
if [ "$have_noasync" = 1 ]; then
    echo "zstd -dc decompresses and writes on two threads (its default asynchronous I/O); --no-asyncio is its one-thread decoder."
fi
# Where the single-thread time goes, by stage: what zstd alone takes, what inspect adds (split
# and parse), and what run adds to inspect (classify, pseudonymise, aggregate, release, CSV).
inspect_us=$(median_col inspect 1)
awk -v z="$zstd_us" -v i="$inspect_us" -v v="$veil1_us" -v label="$single_label" 'BEGIN {
    a = i - z; b = v - i; if (a < 0) a = 0; if (b < 0) b = 0
    printf "Stages of %s: decompress %.0f%% (zstd alone), split + parse %.0f%% (inspect minus zstd), classify + pseudonymise + aggregate + release %.0f%% (run minus inspect).\n", label, 100 * z / v, 100 * a / v, 100 * b / v }'
if [ "$lines" -lt 1000000 ]; then
    echo "At $lines lines veil's fixed costs (key store, release, CSV) weigh on the ratios: a smoke test, not a measurement."
fi

# verdict VALUE OP LIMIT: "ok" or "MISSED".
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=") ? (v <= l) : (v >= l); print ok ? "ok" : "MISSED" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "Ratios (targets from DESIGN.md):"
r1=$(ratio "$veil1_us" "$zstd_us")
echo "- $single_label / zstd time: ${r1}×  (target ≤ 3×: $(verdict "$r1" '<=' 3)); round by round $(round_ratios veil1 zstd)"
if [ "$threads_flag" = 1 ]; then
    rN=$(ratio "$veilN_us" "$zstd_us")
    echo "- veil run (all cores) / zstd time: ${rN}×  (target ≤ 1.5×: $(verdict "$rN" '<=' 1.5)); round by round $(round_ratios veilN zstd)"
fi
if [ "$have_goaccess" = 1 ]; then
    goaccess_us=$(median_col goaccess 1)
    g1=$(ratio "$goaccess_us" "$veil1_us")
    echo "- GoAccess time / $single_label time: ${g1}×  (target ≥ 50×: $(verdict "$g1" '>=' 50))"
    if [ "$threads_flag" = 1 ]; then
        gN=$(ratio "$goaccess_us" "$veilN_us")
        echo "- GoAccess time / veil run (all cores) time: ${gN}×  (target ≥ 50×: $(verdict "$gN" '>=' 50))"
    fi
fi
if [ "$have_noasync" = 1 ]; then
    zstd1_us=$(median_col zstd1 1)
    echo "- not targets: $single_label / zstd -dc --no-asyncio time: $(ratio "$veil1_us" "$zstd1_us")×; round by round $(round_ratios veil1 zstd1)"
    if [ "$threads_flag" = 1 ]; then
        echo "  veil run (all cores) / zstd -dc --no-asyncio time: $(ratio "$veilN_us" "$zstd1_us")×; round by round $(round_ratios veilN zstd1)"
    fi
fi
rss1=$(awk -v k="$veil1_kib" 'BEGIN { printf "%.1f", k / 1024 }')
echo "- peak RSS, $single_label: ${rss1} MiB  (target < 256 MiB: $(verdict "$rss1" '<=' 255.99))"
if [ "$threads_flag" = 1 ]; then
    rssN=$(awk -v k="$veilN_kib" 'BEGIN { printf "%.1f", k / 1024 }')
    echo "- peak RSS, veil run (all cores): ${rssN} MiB  (target < 256 MiB: $(verdict "$rssN" '<=' 255.99))"
fi

if [ "$threads_flag" = 1 ]; then
    veilR_us=$(median_col veilR 1)
    echo
    echo "## The same lines as 8 rotated files (3 hours each, zstd -3)"
    echo
    echo "| run                        |  wall (s) |      lines/s | RSS (MiB) | × one file |"
    echo "|----------------------------|----------:|-------------:|----------:|-----------:|"
    for row in "one file:veilN" "8 files:veilR"; do
        awk -v label="veil run, ${row%%:*}" -v us="$(median_col "${row#*:}" 1)" -v kib="$(median_col "${row#*:}" 2)" \
            -v lines="$lines" -v one="$veilN_us" 'BEGIN {
            printf "| %-26s | %9.2f | %12.0f | %9.1f | %10.2f |\n", label, us / 1e6, lines / (us / 1e6), kib / 1024, us / one }'
    done
    same=no
    if diff -q -x manifest.json "$work/rollups-veilN" "$work/rollups-veilR" >/dev/null; then same=yes; fi
    echo
    echo "Rollup CSVs identical to the one-file run's: $same (the manifests differ: they list the inputs)."
fi

# MARK: - Other formats

if [ "$formats" = 1 ]; then
    format_lines=$(( lines / 2 ))
    format_visitors=$(( format_lines / 20 ))
    other_formats=(common vhost_combined json-caddy json-nginx json-traefik w3c traefik_clf aws_alb)
    echo
    echo "Generating $format_lines lines ($format_visitors visitors, 1 day) of each of ${other_formats[*]}, zstd -3 ..."
    for f in "${other_formats[@]}"; do
        "$fixtures" generate --format "$f" --seed 1 --lines "$format_lines" --visitors "$format_visitors" --days 1 \
            --output - | zstd -3 -q -f -o "$work/$f.log.zst"
        zstd -dc -q "$work/$f.log.zst" >/dev/null   # warm the page cache
    done
    for ((r = 1; r <= runs; r++)); do
        for f in "${other_formats[@]}"; do
            measure "zstd-$f" zstd -dc -q "$work/$f.log.zst" -o /dev/null
            measure "inspect-$f" "$veil" inspect "$work/$f.log.zst" --quiet
            veil_run "run1-$f" "$work/$f.log.zst" "${single_args[@]}"
            if [ "$threads_flag" = 1 ]; then veil_run "runN-$f" "$work/$f.log.zst"; fi
        done
    done
    echo
    echo "## Other log formats ($format_lines lines each, the reference's traffic shape; wall seconds, × that file's zstd -dc)"
    echo
    if [ "$threads_flag" = 1 ]; then
        echo "| format          | MB raw | zstd -dc (s) |   inspect    | run, 1 thread | run, $(nproc) threads |"
        echo "|-----------------|-------:|-------------:|-------------:|--------------:|--------------:|"
    else
        echo "| format          | MB raw | zstd -dc (s) |   inspect    | run, 1 thread |"
        echo "|-----------------|-------:|-------------:|-------------:|--------------:|"
    fi
    for f in "${other_formats[@]}"; do
        raw=$(zstd -dc -q "$work/$f.log.zst" | wc -c)
        z=$(median_col "zstd-$f" 1)
        cells=("inspect-$f" "run1-$f")
        if [ "$threads_flag" = 1 ]; then cells+=("runN-$f"); fi
        row=$(awk -v f="$f" -v raw="$raw" -v z="$z" 'BEGIN { printf "| %-15s | %6.0f | %12.2f |", f, raw / 1e6, z / 1e6 }')
        for c in "${cells[@]}"; do
            row+=$(awk -v us="$(median_col "$c" 1)" -v z="$z" 'BEGIN { printf " %5.2f (%4.2f×) |", us / 1e6, us / z }')
        done
        echo "$row"
    done
fi

# MARK: - 10x run

if [ "$long" = 1 ]; then
    long_lines=$(( lines * 10 ))
    if [ "$long_shape" = days ]; then long_days=10; else long_days=1; fi
    echo
    echo "Generating the 10× workload: $long_lines lines, the same $visitors visitors, $long_days day(s) ..."
    long_file="$work/long.log.zst"
    rm -f "$plain"   # room on disk; GoAccess does not run on the 10x workload
    generate "$long_file" "$long_lines" "$visitors" "$long_days"
    veil_run long1 "$long_file" "${single_args[@]}"
    if [ "$threads_flag" = 1 ]; then veil_run longN "$long_file"; fi
    echo
    if [ "$long_shape" = days ]; then
        echo "## Peak RSS with 10× the lines (the same traffic per day for 10 days, the same visitors)"
    else
        echo "## Peak RSS with 10× the lines (the same visitors and day, 10× the requests per visitor)"
    fi
    echo
    echo "| run                        | lines      | wall (s) | RSS (MiB) | × reference RSS |"
    echo "|----------------------------|-----------:|---------:|----------:|----------------:|"
    long_row() { # long_row LABEL NAME REFERENCE_KIB
        awk -v label="$1" -v us="$(median_col "$2" 1)" -v kib="$(median_col "$2" 2)" -v ref="$3" -v l="$long_lines" 'BEGIN {
            printf "| %-26s | %10d | %8.2f | %9.1f | %15.2f |\n", label, l, us / 1e6, kib / 1024, kib / ref }'
    }
    long_row "$single_label" long1 "$veil1_kib"
    if [ "$threads_flag" = 1 ]; then long_row "veil run ($(nproc) threads)" longN "$veilN_kib"; fi
    g=$(ratio "$(median_col long1 2)" "$veil1_kib")
    echo
    echo "- RSS growth, $single_label: ${g}×  (target ≤ 1.2×: $(verdict "$g" '<=' 1.2))"
    if [ "$threads_flag" = 1 ]; then
        gN=$(ratio "$(median_col longN 2)" "$veilN_kib")
        echo "- RSS growth, veil run (all cores): ${gN}×  (target ≤ 1.2×: $(verdict "$gN" '<=' 1.2))"
    fi
fi
