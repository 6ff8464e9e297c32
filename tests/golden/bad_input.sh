#!/usr/bin/env bash
# Bad files on the command line: each gets a clear error, the exit status is 1, and the
# good files given alongside are still classified in full. Bad options exit 2.
set -euo pipefail
imguard=$1 good=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'this is not a capture file\n' >"$tmp/text.pcap"
head -c "$(( $(stat -c %s "$good") - 37 ))" "$good" >"$tmp/truncated.pcap"
head -c 10 "$good" >"$tmp/header-only.pcap"
: >"$tmp/empty.pcap"
fail() { echo "FAIL: $*" >&2; exit 1; }

want=$("$imguard" classify --format jsonl "$good" | grep -c '"record":"flow"')
set +e
out=$("$imguard" classify --format jsonl "$tmp/text.pcap" "$tmp/missing.pcap" "$tmp/empty.pcap" \
      "$tmp/header-only.pcap" "$tmp/truncated.pcap" "$good" 2>"$tmp/err")
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit status $rc, want 1"
got=$(printf '%s\n' "$out" | grep '"record":"flow"' | grep -c . || true)
trunc=$("$imguard" classify --format jsonl "$tmp/truncated.pcap" 2>/dev/null | grep -c '"record":"flow"' || true)
[ "$got" -eq $((want + trunc)) ] || fail "flows printed $got, want $want (good) + $trunc (truncated)"
[ "$trunc" -gt 0 ] || fail "flows before the damage in a truncated file must be reported"
for f in text missing empty header-only truncated; do
  grep -q "$f.pcap" "$tmp/err" || fail "no error naming $f.pcap: $(cat "$tmp/err")"
done
[ "$(grep -c . "$tmp/err")" -eq 5 ] || fail "want one error line per bad file: $(cat "$tmp/err")"
set +e
"$imguard" classify --format xml "$good" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--format xml must exit 2"
"$imguard" classify --bogus "$good" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--bogus must exit 2"
"$imguard" classify >/dev/null 2>&1; [ $? -eq 2 ] || fail "no file must exit 2"
"$imguard" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command must exit 2"
set -e
echo "ok: bad inputs reported, $got flows from the readable data"
