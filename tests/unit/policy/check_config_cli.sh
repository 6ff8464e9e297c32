#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `imguard check-config` and `imguard rules` as a user runs them: exit codes and output.
#   check_config_cli.sh IMGUARD SOURCE_DIR
set -uo pipefail
IMGUARD=$1
SRC=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

out=$("$IMGUARD" check-config "$SRC/systemd/imguard.yaml" 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "shipped config: exit $rc: $out"

printf 'version: 1\nengine:\n  mode: router\nactions:\n  apps: {bitorrent: drop}\n' >"$WORK/bad.yaml"
out=$("$IMGUARD" check-config "$WORK/bad.yaml" 2>&1)
rc=$?
[ "$rc" -eq 1 ] || fail "bad config: exit $rc, want 1"
[ "$(wc -l <<<"$out")" -eq 2 ] || fail "bad config: want 2 lines, got: $out"
grep -qF "$WORK/bad.yaml:3:9: engine.mode: unknown value \"router\" (expected: gateway, host)" <<<"$out" ||
  fail "bad config: mode message missing: $out"
grep -qF "$WORK/bad.yaml:5:10: actions.apps.bitorrent: unknown app \"bitorrent\"" <<<"$out" ||
  fail "bad config: app message missing: $out"

# Not a configuration file at all: a clear message, exit 1, never an out-of-memory abort.
for f in /dev/zero "$WORK"; do
  out=$(timeout 10 "$IMGUARD" check-config "$f" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "check-config $f: exit $rc, want 1: $out"
  grep -qF "$f: not a regular file" <<<"$out" || fail "check-config $f: message: $out"
done
head -c 5000000 /dev/zero | tr '\0' 'a' >"$WORK/huge.yaml"
out=$("$IMGUARD" check-config "$WORK/huge.yaml" 2>&1)
[ $? -eq 1 ] && grep -q "too large for a configuration" <<<"$out" || fail "a 5 MB file: $out"

"$IMGUARD" check-config >/dev/null 2>&1
[ $? -eq 2 ] || fail "check-config without FILE: want usage exit 2"

out=$("$IMGUARD" rules --config "$SRC/systemd/imguard.yaml" --plan iptables 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "rules --plan iptables: exit $rc: $out"
grep -qF -- "-A IMGUARD-QUEUE -p tcp -m bpf --bytecode" <<<"$out" ||
  fail "rules: TCP queue rule missing: $out"
grep -qF -- "-A IMGUARD-QSELECT -j NFQUEUE --queue-num 0 --queue-bypass" <<<"$out" ||
  fail "rules: NFQUEUE rule missing: $out"
grep -qF -- "-A IMGUARD-QSELECT -m conntrack --ctdir REPLY -j NFQUEUE --queue-num 1 --queue-bypass" <<<"$out" ||
  fail "rules: reply-direction NFQUEUE rule missing: $out"
grep -qF "# ---- ip6tables (\`ip6tables-restore --noflush\`)" <<<"$out" || fail "rules: ip6tables part missing"

"$IMGUARD" rules --config "$WORK/bad.yaml" --plan iptables >/dev/null 2>&1
[ $? -eq 1 ] || fail "rules with a bad config: want exit 1"

[ "$FAILS" -eq 0 ] || exit 1
echo "check-config/rules CLI: all checks passed"
