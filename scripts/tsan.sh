#!/usr/bin/env bash
# ThreadSanitizer run: builds the unit tests and the imguard binary with g++
# -fsanitize=thread into ./build-tsan, runs the unit tests, then (as root) one live e2e case
# of each kind under TSan: tests/e2e/e2e.sh enforce (two workers deciding real traffic) and
# tests/e2e/policy_e2e.sh reload-cut (a reload swapping the policy under the workers while
# the control thread re-decides open connections). Not root: the e2e part is skipped with a
# message. Fails on any data race report (TSAN_OPTIONS halt_on_error=1) or test failure.
#
#   scripts/tsan.sh            TSAN_E2E=0 skips the e2e part; TSAN_UNIT_FILTER picks tests
set -euo pipefail
cd "$(dirname "$0")/.."
B=build-tsan
REPORTS="$PWD/$B/tsan-reports"

echo "tsan: building $B (g++, -fsanitize=thread)"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMGUARD_SANITIZERS=thread \
  -DIMGUARD_BUILD_TESTS=ON >/dev/null
cmake --build "$B" --target imguard_unit_tests imguard -j"$(nproc)" >"$B/tsan-build.log" 2>&1 ||
  { tail -50 "$B/tsan-build.log"; echo "tsan: build failed (log: $B/tsan-build.log)"; exit 1; }

rm -rf "$REPORTS"
mkdir -p "$REPORTS"
# Reports go to files (one per process) as well as failing the process: a daemon's stderr
# lands in the e2e lab's temporary log, which the lab removes.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$REPORTS/report ${TSAN_EXTRA_OPTIONS:-}"
# TSan's shadow layout needs the classic 28-bit mmap randomisation; newer kernels default
# higher ("FATAL: ThreadSanitizer: unexpected memory mapping"). Then setarch -R turns ASLR
# off for our process tree instead of changing the sysctl for the whole machine.
RUN=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  RUN=(setarch "$(uname -m)" -R)
fi

status=0
show_reports() {
  local found=0
  for r in "$REPORTS"/report.*; do
    [ -f "$r" ] || continue
    found=1
    echo "---- $r"
    cat "$r"
  done
  return "$found"
}

echo "tsan: unit tests"
rc=0
"${RUN[@]}" "$B/tests/unit/imguard_unit_tests" ${TSAN_UNIT_FILTER:+"$TSAN_UNIT_FILTER"} \
  >"$B/tsan-unit.log" 2>&1 || rc=$?
tail -3 "$B/tsan-unit.log"
if [ "$rc" -ne 0 ] || ! show_reports; then
  echo "tsan: unit tests FAILED (exit $rc; log: $B/tsan-unit.log)"
  status=1
fi
rm -f "$REPORTS"/report.*

if [ "${TSAN_E2E:-1}" = 0 ]; then
  echo "tsan: e2e skipped (TSAN_E2E=0)"
elif [ "$(id -u)" -ne 0 ]; then
  echo "tsan: e2e skipped: not root (the namespace lab needs CAP_NET_ADMIN)"
else
  for c in "tests/e2e/e2e.sh enforce" "tests/e2e/policy_e2e.sh reload-cut"; do
    read -r script name <<<"$c"
    echo "tsan: e2e $name"
    rc=0
    "${RUN[@]}" timeout 300 "$script" "$B/engine/imguard" "$name" >"$B/tsan-e2e-$name.log" 2>&1 ||
      rc=$?
    if [ "$rc" -ne 0 ] || ! show_reports; then
      tail -30 "$B/tsan-e2e-$name.log"
      echo "tsan: e2e $name FAILED (exit $rc; log: $B/tsan-e2e-$name.log)"
      status=1
    else
      grep -E '^(ok|FAIL|MEASURE)' "$B/tsan-e2e-$name.log" | tail -4
      echo "tsan: e2e $name ok, no race reported"
    fi
    rm -f "$REPORTS"/report.*
  done
fi
[ "$status" -eq 0 ] && echo "tsan: ok" || echo "tsan: FAILED"
exit "$status"
