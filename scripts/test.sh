#!/usr/bin/env bash
# Installs dependencies, builds, checks formatting and runs the whole test suite.
# Privileged tests (network namespaces, nftables, iptables, NFQUEUE) run when root and
# skip with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
status=0
(cd build && ctest --output-on-failure --timeout 900 "$@") || status=$?
# Then fuzzing (ASan/UBSan, 30 s per target) and ThreadSanitizer (unit tests, and two live
# e2e cases when root). Each failure fails the whole script; IMGUARD_SKIP_FUZZ=1 or
# IMGUARD_SKIP_TSAN=1 leaves one out, IMGUARD_FUZZ_SECONDS changes the fuzzing time.
if [ "${IMGUARD_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh "${IMGUARD_FUZZ_SECONDS:-30}" || status=1
fi
if [ "${IMGUARD_SKIP_TSAN:-0}" != 1 ]; then
  scripts/tsan.sh || status=1
fi
exit "$status"
