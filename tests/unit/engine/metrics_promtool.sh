#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# ctest unit/metrics-promtool: `promtool check metrics` on the sample exposition that the
# unit-test binary's hidden "[.promtool]" case renders (tests/unit/engine/metrics_test.cc).
# Usage: metrics_promtool.sh UNIT_TEST_BINARY. Exit 77 (skipped) without promtool.
set -eu
if ! command -v promtool >/dev/null 2>&1; then
  echo "metrics-promtool: promtool not found (Debian package prometheus; scripts/install-deps.sh); skipping"
  exit 77
fi
sample=$(mktemp)
trap 'rm -f "$sample"' EXIT
IMGUARD_METRICS_SAMPLE="$sample" "$1" "[.promtool]" >/dev/null
promtool check metrics <"$sample"
echo "metrics-promtool: $(grep -vc '^#' "$sample") samples pass promtool check metrics"
