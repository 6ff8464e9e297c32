#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `imguard check-config` on each tests/policy/broken/NAME.yaml, compared with NAME.expected:
# stderr then stdout exactly as printed (run from the repository root, relative path), then
# a line `exit: N`. IMGUARD_UPDATE_GOLDEN=1 rewrites the expected files instead.
#   check_config_golden.sh IMGUARD        (working directory: the repository root)
set -uo pipefail
IMGUARD=$1
DIR=tests/policy/broken
[ -d "$DIR" ] || { echo "run from the repository root (no $DIR here)" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
COUNT=0
for yaml in "$DIR"/*.yaml; do
  name=${yaml%.yaml}
  COUNT=$((COUNT + 1))
  "$IMGUARD" check-config "$yaml" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  { cat "$WORK/err" "$WORK/out"; echo "exit: $rc"; } >"$WORK/got"
  if [ "${IMGUARD_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$WORK/got" "$name.expected"
  elif ! diff -u "$name.expected" "$WORK/got"; then
    echo "FAIL: $yaml (IMGUARD_UPDATE_GOLDEN=1 rewrites $name.expected)" >&2
    FAILS=$((FAILS + 1))
  fi
done
for expected in "$DIR"/*.expected; do
  [ -e "${expected%.expected}.yaml" ] || { echo "FAIL: $expected has no .yaml" >&2; FAILS=$((FAILS + 1)); }
done
[ "$FAILS" -eq 0 ] || exit 1
echo "check-config goldens: $COUNT files match"
