#!/usr/bin/env bash
# Regenerates every golden file under tests/golden/default from the bundled pcaps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build && IMGUARD_UPDATE_GOLDEN=1 ctest -R '^golden' -E 'no-orphans|link-types|bad-input|no-false-positives|negative-corpus' --output-on-failure
