#!/usr/bin/env bash
# test.sh: run every test wisp has, the way CI does.
#
#   scripts/test.sh
#
# Steps (each runs even when an earlier one failed, so one run shows everything):
#   1. scripts/setup.sh --no-build: packages and WASI sysroot (fast when done).
#   2. build/release  (-DCMAKE_BUILD_TYPE=Release): build, `ctest --output-on-failure`.
#   3. build/asan     (-DWISP_SANITIZE=ON, AddressSanitizer + UBSan, -O1 -g with
#      assertions on): build, ctest.
#   4. build/fuzz     (clang-19, -DWISP_FUZZ=ON), only if fuzz/CMakeLists.txt exists:
#      every libFuzzer target the build produces (executables named fuzz_*)
#      runs for WISP_FUZZ_SECONDS (default 60) seeded from fuzz/corpus/<target>/
#      (dictionary fuzz/<target>.dict, else fuzz/wasm.dict), two at a time. The
#      checked-in corpus is only read; new inputs and crash artifacts go to
#      build/fuzz/runs/.
#
# Then a summary; its last line is exactly `N passed, N failed` (`, N skipped`
# when tests were skipped), counting ctest tests of both builds plus fuzz runs.
# A build step that fails counts as one failed test (its tests that could not
# be built fail too). Exit status 0 only when nothing failed.
#
# Environment: WISP_JOBS (parallelism, default 2), WISP_FUZZ_SECONDS (default 60;
# 0 skips fuzzing), WISP_TEST_BUILDS (default "release asan"), WISP_TEST_TIMEOUT (seconds
# per ctest test without its own TIMEOUT, default 600), WISP_CMAKE_ARGS (more cmake
# arguments for every build, e.g. -DWISP_WERROR=OFF). Logs: build/test-logs/.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
jobs=${WISP_JOBS:-2}
fuzz_seconds=${WISP_FUZZ_SECONDS:-60}
builds=${WISP_TEST_BUILDS-release asan}
test_timeout=${WISP_TEST_TIMEOUT:-600}
read -r -a extra_cmake_args <<<"${WISP_CMAKE_ARGS:-}"
logs=build/test-logs
mkdir -p "$logs"
start=$SECONDS

passed=0 failed=0 skipped=0
failures=()      # names of what failed, for the summary
summary_lines=() # one line per step

say() { printf '\n==> %s\n' "$*"; }
fail_step() { failed=$((failed + 1)); failures+=("$1"); }

# Sanitizers: stop at the first error with a stack; leaks are errors.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# build_dir NAME DIR CMAKE_ARGS...: configure and build; 0 when both worked. The
# build keeps going past errors so that everything buildable is built and tested.
build_dir() {
  local name=$1 dir=$2
  shift 2
  say "$name: configure and build $dir"
  if ! cmake -S . -B "$dir" "$@" "${extra_cmake_args[@]}" >"$logs/$name-configure.log" 2>&1; then
    cat "$logs/$name-configure.log"
    fail_step "$name: cmake configure ($logs/$name-configure.log)"
    return 2
  fi
  local keep_going=-k
  grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt" 2>/dev/null && keep_going="-k 0"
  # shellcheck disable=SC2086
  if ! cmake --build "$dir" -j"$jobs" -- $keep_going >"$logs/$name-build.log" 2>&1; then
    grep -E -B2 -A6 'error|Error [0-9]' "$logs/$name-build.log" | head -120
    fail_step "$name: build ($logs/$name-build.log)"
    return 1
  fi
  echo "built (log: $logs/$name-build.log)"
}

# run_ctest NAME DIR: run ctest, count its tests from the per-test status lines.
run_ctest() {
  local name=$1 dir=$2 log="$logs/$1-ctest.log" t0=$SECONDS
  say "$name: ctest in $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout "$test_timeout") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p=0 f=0 s=0 line status test
  # "3/9 Test #3: unit/leb128 .......   Passed    0.01 sec" or "...***Failed  <reason>"
  # (a reason may span lines, so only the start of the status is read).
  local re='^ *[0-9]+/[0-9]+ Test +#[0-9]+: ([^ ]+) \.*[ *]+([A-Za-z][^ ]*( Run)?( \(Disabled\))?)'
  while IFS= read -r line; do
    [[ $line =~ $re ]] || continue
    test=${BASH_REMATCH[1]}
    status=${BASH_REMATCH[2]}
    case "$status" in
      Passed) p=$((p + 1)) ;;
      Skipped | "Not Run (Disabled)") s=$((s + 1)) ;;
      *) f=$((f + 1)); failures+=("$name: $test ($status)") ;;
    esac
  done <"$log"
  if [ $((p + f + s)) -eq 0 ] && [ "$rc" -ne 0 ]; then
    fail_step "$name: ctest exited $rc with no test results ($log)"
    f=1
  elif [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; then
    fail_step "$name: ctest exited $rc ($log)"
    f=1
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  summary_lines+=("$(printf '%-8s ctest: %d passed, %d failed, %d skipped (%d s)' \
                     "$name" "$p" "$f" "$s" $((SECONDS - t0)))")
}

# fuzz_one TARGET BINARY: run one libFuzzer target; its status goes to runs/TARGET/rc.
fuzz_one() {
  local target=$1 bin=$2 work=build/fuzz/runs/$1
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  local args=(-max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$work/artifacts/" "$work/corpus")
  [ -d "fuzz/corpus/$target" ] && args+=("fuzz/corpus/$target")
  if [ -f "fuzz/$target.dict" ]; then
    args=(-dict="fuzz/$target.dict" "${args[@]}")
  elif [ -f fuzz/wasm.dict ]; then
    args=(-dict=fuzz/wasm.dict "${args[@]}")
  fi
  # libFuzzer stops itself; the outer timeout only guards against a hang outside its control.
  timeout -k 10 $((fuzz_seconds * 2 + 60)) "$bin" "${args[@]}" >"$work/log" 2>&1
  echo $? >"$work/rc"
}

run_fuzz() {
  if [ ! -f fuzz/CMakeLists.txt ]; then
    summary_lines+=("fuzz     no fuzz/CMakeLists.txt: no fuzz targets yet")
    return
  fi
  if [ "$fuzz_seconds" = 0 ]; then
    summary_lines+=("fuzz     skipped (WISP_FUZZ_SECONDS=0)")
    return
  fi
  local clang
  clang=$(command -v clang-19) || { fail_step "fuzz: clang-19 not found"; return; }
  # A build failure still fuzzes whatever targets were built.
  local t0=$SECONDS built
  build_dir fuzz build/fuzz -DCMAKE_C_COMPILER="$clang" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWISP_FUZZ=ON -DBUILD_TESTING=OFF -DWISP_EXAMPLES=OFF
  built=$?
  summary_lines+=("$(printf 'fuzz     build: %s (%d s)' "$([ $built -eq 0 ] && echo ok || echo FAILED)" \
                     $((SECONDS - t0)))")
  local targets=() bins=() bin
  while IFS= read -r bin; do
    targets+=("$(basename "$bin")")
    bins+=("$bin")
  done < <(find build/fuzz -path build/fuzz/runs -prune -o -path '*/CMakeFiles' -prune -o \
                -type f -perm -u+x -name 'fuzz_*' -print | sort)
  if [ ${#targets[@]} -eq 0 ]; then
    fail_step "fuzz: fuzz/CMakeLists.txt exists but build/fuzz has no fuzz_* executable"
    return
  fi
  say "fuzz: ${targets[*]}: ${fuzz_seconds} s each, $jobs at a time"
  t0=$SECONDS
  local running=0 target i
  for i in "${!targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
      wait -n
      running=$((running - 1))
    fi
    fuzz_one "${targets[$i]}" "${bins[$i]}" &
    running=$((running + 1))
  done
  wait
  summary_lines+=("$(printf 'fuzz     %d targets (%d s)' ${#targets[@]} $((SECONDS - t0)))")
  local rc stats
  for target in "${targets[@]}"; do
    local work=build/fuzz/runs/$target
    rc=$(cat "$work/rc" 2>/dev/null || echo missing)
    stats=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$' || true)
    if [ "$rc" = 0 ]; then
      passed=$((passed + 1))
      summary_lines+=("$(printf 'fuzz     %s: ok, %s runs in %s s' "$target" "${stats:-?}" "$fuzz_seconds")")
    else
      echo "---- fuzz target $target failed (exit $rc), end of $work/log:"
      tail -40 "$work/log"
      fail_step "fuzz: $target (exit $rc; log $work/log, inputs in $work/artifacts/)"
      summary_lines+=("fuzz     $target: FAILED (exit $rc)")
    fi
  done
}

say "setup (packages, WASI sysroot)"
if ! scripts/setup.sh --no-build; then
  fail_step "setup: scripts/setup.sh --no-build failed"
  echo "0 passed, $failed failed"
  exit 1
fi
summary_lines+=("$(printf 'setup    ok (%d s)' "$SECONDS")")

for b in $builds; do
  case "$b" in
    release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan) args=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-O1 -g" -DWISP_SANITIZE=ON) ;;
    *) echo "test.sh: unknown build '$b' in WISP_TEST_BUILDS" >&2; exit 2 ;;
  esac
  t0=$SECONDS
  build_dir "$b" "build/$b" "${args[@]}"
  built=$?
  summary_lines+=("$(printf '%-8s build: %s (%d s)' "$b" "$([ $built -eq 0 ] && echo ok || echo FAILED)" \
                     $((SECONDS - t0)))")
  # Run ctest even after a build failure (not after a configure failure): the
  # tests that did build still say something.
  [ $built -ne 2 ] && run_ctest "$b" "build/$b"
done
run_fuzz

say "summary ($(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s)"
for line in "${summary_lines[@]}"; do echo "$line"; done
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed:"
  for line in "${failures[@]:0:60}"; do echo "  $line"; done
  [ ${#failures[@]} -gt 60 ] && echo "  ... and $(( ${#failures[@]} - 60 )) more (see $logs/)"
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
