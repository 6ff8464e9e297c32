#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# apps.sh IMGUARD: `imguard apps --json` and the text table against their golden files
# (IMGUARD_UPDATE_GOLDEN=1 rewrites them). App names are a contract: a rename fails here.
set -euo pipefail
imguard=$1
here=$(cd "$(dirname "$0")" && pwd)
fails=0
for mode in json text; do
  expected="$here/apps.$mode"
  actual=$(mktemp)
  if [ "$mode" = json ]; then "$imguard" apps --json >"$actual"; else "$imguard" apps >"$actual"; fi
  if [ "${IMGUARD_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$actual" "$expected"
    echo "updated $expected"
  elif ! diff -u "$expected" "$actual"; then
    echo "imguard apps ($mode) differs from $expected" >&2
    fails=1
  fi
  rm -f "$actual"
done
/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert all({"app","category","file_transfer"} <= set(x) for x in a)' \
  "$here/apps.json"
exit $fails
