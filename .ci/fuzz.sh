#!/usr/bin/env bash
# Fuzzes veil's readers of untrusted input with libFuzzer, each target for a bounded time, and
# prints a table: target, executions, crashes. Exits non-zero when any target crashed (or
# libFuzzer failed), after saying where the crashing input was saved.
#
#   .ci/fuzz.sh                       # every target, 20 s each (FUZZ_SECONDS to change)
#   .ci/fuzz.sh --seconds 300 json    # one target, longer
#   .ci/fuzz.sh --no-build ...        # reuse the last build
#
# The build: `veil-fuzz` in release with AddressSanitizer and libFuzzer's coverage
# instrumentation (`-sanitize=fuzzer` given to the frontend only), linked with the toolchain's
# libclang_rt.fuzzer_no_main, whose LLVMFuzzerRunDriver the program calls from its own main.
# The flags are given here, on the scratch path .build-fuzz, never in Package.swift.
#
# Inputs per target: Fixtures/fuzz/corpus/<target>/ (seeds, made by Fixtures/fuzz/make-seeds.sh),
# Fixtures/fuzz/regressions/<target>/ (inputs that once crashed; `swift test` replays them), and
# a corpus that grows during the run under $FUZZ_OUT/<target>/corpus. A crash is saved as
# $FUZZ_OUT/<target>/artifacts/crash-<sha1>: fix the bug, then move the file to
# Fixtures/fuzz/regressions/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
build=1
targets=()
while (($#)); do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
    esac
done

scratch=.build-fuzz
out=${FUZZ_OUT:-$scratch/fuzz-run}
bin=$scratch/release/veil-fuzz

if ((build)); then
    resource=$(swiftc -print-target-info | sed -n 's/.*"runtimeResourcePath": *"\([^"]*\)".*/\1/p')
    runtime="$resource/clang/lib/linux/libclang_rt.fuzzer_no_main-$(uname -m).a"
    if [[ ! -f "$runtime" ]]; then
        echo "fuzz: the Swift toolchain has no libFuzzer runtime ($runtime)" >&2
        exit 1
    fi
    echo "fuzz: building veil-fuzz (release, AddressSanitizer, libFuzzer) in $scratch"
    started=$SECONDS
    mkdir -p "$scratch"
    if ! swift build -c release --scratch-path "$scratch" --product veil-fuzz \
        -Xswiftc -sanitize=address -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer \
        -Xswiftc -DVEIL_LIBFUZZER -Xlinker "$runtime" -Xlinker -lstdc++ >"$scratch/fuzz-build.log" 2>&1; then
        tail -n 40 "$scratch/fuzz-build.log"
        echo "fuzz: build failed (log: $scratch/fuzz-build.log)" >&2
        exit 1
    fi
    echo "fuzz: built in $((SECONDS - started)) s"
fi
if [[ ! -x "$bin" ]]; then
    echo "fuzz: $bin is missing; run without --no-build" >&2
    exit 1
fi
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <("$bin" list | cut -f1)
fi

# The Swift runtime's backtracer would compete with libFuzzer's and ASan's signal handlers.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}

failed=0
rows=()
for t in "${targets[@]}"; do
    dir="$out/$t"
    rm -rf "$dir/artifacts"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    inputs=("$dir/corpus")
    for d in "Fixtures/fuzz/corpus/$t" "Fixtures/fuzz/regressions/$t"; do
        [[ -d "$d" ]] && inputs+=("$d")
    done
    flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1
        -artifact_prefix="$dir/artifacts/")
    [[ -f "Fixtures/fuzz/dict/$t.dict" ]] && flags+=(-dict="Fixtures/fuzz/dict/$t.dict")

    "$bin" "$t" "${flags[@]}" "${inputs[@]}" >"$dir/log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n 1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$dir/log" | tail -n 1)
    crashes=$(find "$dir/artifacts" -type f | wc -l)
    if ((status != 0 || crashes > 0)); then
        failed=1
        ((crashes == 0)) && crashes="exit $status"
        echo "fuzz: $t FAILED; the last lines of $dir/log:"
        grep -v '^#[0-9]' "$dir/log" | tail -n 40
        find "$dir/artifacts" -type f | sed "s|^|fuzz: $t: input saved: |; s|\$| (fix, then move it to Fixtures/fuzz/regressions/$t/)|"
    fi
    echo "$t: ${execs:-0} executions"
    rows+=("$(printf '%-15s %12s %9s %8s %8s' "$t" "${execs:-0}" "${rate:-0}" "${added:-0}" "$crashes")")
done

echo
printf '%-15s %12s %9s %8s %8s\n' target executions exec/s new crashes
printf '%s\n' "${rows[@]}"
if ((failed)); then
    echo "fuzz: FAILED: a target crashed (inputs under $out/*/artifacts/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no crash"
