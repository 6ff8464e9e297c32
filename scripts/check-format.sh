#!/usr/bin/env bash
# Fails when any C++ file differs from .clang-format (IMGUARD_FIX_FORMAT=1 rewrites them).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cc' '*.h')
[ "${#files[@]}" -eq 0 ] && exit 0
if [ "${IMGUARD_FIX_FORMAT:-0}" = 1 ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}"; then
  echo "check-format: run IMGUARD_FIX_FORMAT=1 scripts/check-format.sh" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files clean"
