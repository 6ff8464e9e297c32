#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into ./build-fuzz, replays the committed
# regression inputs (tests/fuzz/<target>/*), then fuzzes each target for SECONDS (default
# 30) from seeds generated out of the repository's pcaps and configs.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 300 policy chain
#
# Fails on any crash, leak, timeout (>10 s per input) or out-of-memory (>2 GiB); the input
# is saved under build-fuzz/artifacts/<target>/ (printed in base64 too when CI=true, so it
# survives the CI machine). FUZZ_JOBS=N runs N targets at once (default 1; 2 when CI=true). See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-30}"
shift || true
ALL_TARGETS=(packet_parse chain bencode tls_client_hello quic_initial signatures policy pcap
  nfq_message control_request)
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then TARGETS=("${ALL_TARGETS[@]}"); fi
B=build-fuzz
# CI: two targets at once (two cores), so the whole run stays near 2.5 min at 30 s each.
JOBS="${FUZZ_JOBS:-$([ "${CI:-}" = true ] && echo 2 || echo 1)}"

echo "fuzz: building $B (clang, -fsanitize=fuzzer,address,undefined)"
CC=clang CXX=clang++ cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DIMGUARD_BUILD_FUZZERS=ON -DIMGUARD_BUILD_TESTS=OFF >/dev/null
cmake --build "$B" --target fuzzers -j"$(nproc)" >"$B/fuzz-build.log" 2>&1 ||
  { tail -50 "$B/fuzz-build.log"; echo "fuzz: build failed (log: $B/fuzz-build.log)"; exit 1; }
/usr/bin/python3 fuzz/make_corpus.py "$B/corpus/seed" >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
report_artifacts() {  # $1: target
  for a in "$B/artifacts/$1"/*; do
    [ -f "$a" ] || continue
    echo "fuzz: $1: failing input $a ($(stat -c %s "$a") bytes)"
    if [ "${CI:-}" = "true" ]; then base64 -w0 "$a"; echo; fi
  done
}

# 1. Regression inputs: each must run clean (libFuzzer runs file arguments once each).
for t in "${TARGETS[@]}"; do
  inputs=(tests/fuzz/"$t"/*)
  [ -e "${inputs[0]}" ] || continue
  if ! "$B/fuzz/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "${inputs[@]}" >"$B/replay-$t.log" 2>&1; then
    tail -40 "$B/replay-$t.log"
    echo "fuzz: $t: a regression input in tests/fuzz/$t/ fails again"
    status=1
  else
    echo "fuzz: $t: ${#inputs[@]} regression inputs replayed clean"
  fi
done

# 2. Fuzzing, SECONDS per target.
run_one() {  # $1: target; writes $B/fuzz-$1.log
  local t="$1" extra=()
  mkdir -p "$B/corpus/work/$t" "$B/artifacts/$t"
  rm -f "$B/artifacts/$t"/*
  if [ "$t" = policy ]; then extra+=(-dict="$B/corpus/seed/policy.dict"); fi
  "$B/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" "${extra[@]}" \
    "$B/corpus/work/$t" "$B/corpus/seed/$t" >"$B/fuzz-$t.log" 2>&1
}
summarise() {  # $1: target, $2: exit status
  local t="$1" rc="$2" execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz-$t.log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$B/fuzz-$t.log" | head -5 || true
    tail -60 "$B/fuzz-$t.log"
    report_artifacts "$t"
    printf 'fuzz: %-17s FAILED (exit %s) after %s executions (log: %s)\n' "$t" "$rc" \
      "${execs:-?}" "$B/fuzz-$t.log"
    status=1
  else
    printf 'fuzz: %-17s ok: %s executions in %ss\n' "$t" "${execs:-?}" "$SECONDS_PER_TARGET"
  fi
}
pending=()
for t in "${TARGETS[@]}"; do
  [ -x "$B/fuzz/fuzz_$t" ] || { echo "fuzz: no target fuzz_$t"; exit 2; }
  run_one "$t" &
  pending+=("$t:$!")
  if [ "${#pending[@]}" -ge "$JOBS" ]; then
    for p in "${pending[@]}"; do rc=0; wait "${p#*:}" || rc=$?; summarise "${p%%:*}" "$rc"; done
    pending=()
  fi
done
for p in "${pending[@]}"; do rc=0; wait "${p#*:}" || rc=$?; summarise "${p%%:*}" "$rc"; done
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (a reproducer: $B/fuzz/fuzz_TARGET FILE; add it to tests/fuzz/TARGET/ once fixed)"
fi
exit "$status"
