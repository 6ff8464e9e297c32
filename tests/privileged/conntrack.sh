#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Privileged test of conntrack::Conntrack against a real kernel: real TCP and UDP
# connections (IPv4 and IPv6) between two throwaway network namespaces, dumped, given
# masked marks and labels through the library, and checked with `conntrack -L`; then a
# scale check of 10,000 UDP entries updated in one call. Namespaces are deleted on exit.
#
#   conntrack.sh TOOL    TOOL: the imguard_conntrack_tool helper
#
# Needs root; exits 77 (ctest: skipped) with the reason otherwise.
set -euo pipefail
TOOL=$(realpath "$1")

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (network namespaces, nftables, ctnetlink)" >&2
  exit 77
fi
for t in ip nft conntrack python3 unshare mount; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done

NS=ctt$$c    # the client: conntrack is read and written here
PEER=ctt$$s  # the server
WORK=$(mktemp -d)
cleanup() {
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
in_ns() { ip netns exec "$NS" "$@"; }
addr() { local a=${1%:*}; a=${a#[}; echo "${a%]}"; }  # [fd98::1]:80 -> fd98::1
wait_for_file() {  # wait_for_file PATH: at most 5 s
  for _ in $(seq 50); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}

ip netns add "$NS"
ip netns add "$PEER"
ip link add ctt$$a netns "$NS" type veth peer name ctt$$b netns "$PEER"
ip -n "$NS" addr add 10.198.61.1/24 dev ctt$$a
ip -n "$PEER" addr add 10.198.61.2/24 dev ctt$$b
ip -n "$NS" addr add fd98::1/64 dev ctt$$a nodad
ip -n "$PEER" addr add fd98::2/64 dev ctt$$b nodad
for n in "$NS" "$PEER"; do ip -n "$n" link set lo up; done
ip -n "$NS" link set ctt$$a up
ip -n "$PEER" link set ctt$$b up
in_ns sysctl -qw net.netfilter.nf_conntrack_udp_timeout=180 2>/dev/null || true

# Conntrack on, but no label reference yet: connections made now get no label extension.
in_ns nft -f - <<'NFT'
table inet ctt {
  chain out { type filter hook output priority 0; ct state new counter; }
}
NFT
in_ns python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('10.198.61.2', 7000))"
# An unreferenced chain that sets a label is enough: loading it makes the kernel attach the
# label extension to every connection created afterwards (see conntrack/README.md).
in_ns nft -f - <<'NFT'
table inet ctt {
  chain labels_ref { ct label set 127; }
}
NFT
# The server drops the scale check's UDP silently (no ICMP port unreachable).
ip netns exec "$PEER" nft -f - <<'NFT'
table inet ctt {
  chain in { type filter hook input priority 0; udp dport 20000-39999 drop; }
}
NFT

ip netns exec "$PEER" python3 - "$WORK/server-ready" <<'PY' >/dev/null 2>&1 &
import os, socket, sys, threading, time
open(sys.argv[1] + '.pid', 'w').write(str(os.getpid()))
def tcp(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8080)); s.listen(8); return s
servers = [tcp(socket.AF_INET, '10.198.61.2'), tcp(socket.AF_INET6, 'fd98::2')]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.198.61.2', 9999))
def accept(s):
    held = []
    while True:
        c, _ = s.accept(); c.sendall(b'hello'); held.append(c)
def echo():
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)
for s in servers: threading.Thread(target=accept, args=(s,), daemon=True).start()
threading.Thread(target=echo, daemon=True).start()
open(sys.argv[1], 'w').close()
time.sleep(90)  # killed by cleanup; the bound if that fails
PY
wait_for_file "$WORK/server-ready" || { echo "FAIL: server did not start" >&2; exit 1; }

in_ns python3 - "$WORK/client-ready" <<'PY' >/dev/null 2>&1 &
import os, socket, sys, time
open(sys.argv[1] + '.pid', 'w').write(str(os.getpid()))
t4 = socket.create_connection(('10.198.61.2', 8080), timeout=5); t4.recv(5)
t6 = socket.create_connection(('fd98::2', 8080), timeout=5); t6.recv(5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.sendto(b'ping', ('10.198.61.2', 9999)); u.recvfrom(16)
open(sys.argv[1], 'w').close()
time.sleep(90)  # killed by cleanup; the bound if that fails
PY
wait_for_file "$WORK/client-ready" || { echo "FAIL: client did not connect" >&2; exit 1; }

# --- dump
in_ns "$TOOL" dump >"$WORK/dump" 2>"$WORK/dump.err" || fail "dump: $(cat "$WORK/dump.err")"
cat "$WORK/dump"
grep -q '^tcp 10.198.61.1:[0-9]* -> 10.198.61.2:8080 reply tcp 10.198.61.2:8080' "$WORK/dump" &&
  pass "dump: IPv4 TCP connection with its reply tuple" || fail "dump: no IPv4 TCP entry"
grep -q '^tcp \[fd98::1\]:[0-9]* -> \[fd98::2\]:8080 ' "$WORK/dump" &&
  pass "dump: IPv6 TCP connection" || fail "dump: no IPv6 TCP entry"
grep -q '^udp 10.198.61.1:[0-9]* -> 10.198.61.2:9999 ' "$WORK/dump" &&
  pass "dump: IPv4 UDP connection" || fail "dump: no IPv4 UDP entry"

# --- masked mark: bits outside the mask stay as `conntrack -U` left them
# `conntrack -U` with only a filter (-p tcp --mark X) gets EOPNOTSUPP from this kernel (its
# CT_GET carries CTA_MARK); with the full tuple it updates the entry directly.
while read -r proto src arrow dst _; do
  in_ns conntrack -U -p "$proto" --src "$(addr "$src")" --dst "$(addr "$dst")" \
    --sport "${src##*:}" --dport "${dst##*:}" --mark 0xab000001 >/dev/null 2>&1 ||
    fail "conntrack -U --mark for $proto $src $arrow $dst"
done < <(grep -E ':(8080|9999) reply' "$WORK/dump")
out=$(in_ns "$TOOL" set-mark 0x00ff0000 0x00420000 --dport 8080) || fail "set-mark tcp: $out"
grep -q 'applied=2 not_found=0 failed=0' <<<"$out" && pass "set-mark: two TCP connections" ||
  fail "set-mark tcp: $out"
out=$(in_ns "$TOOL" set-mark 0x00ff0000 0x00420000 --dport 9999) || fail "set-mark udp: $out"
grep -q 'applied=1 ' <<<"$out" && pass "set-mark: the UDP connection" || fail "set-mark udp: $out"
list=$(in_ns conntrack -L -o extended 2>/dev/null)
want=$((0xab420001))
for port in 8080 9999; do
  n=$(grep "dport=$port " <<<"$list" | grep -c "mark=$want " || true)
  total=$(grep -c "dport=$port " <<<"$list" || true)
  [ "$n" -ge 1 ] && [ "$n" -eq "$total" ] && pass "conntrack -L: dport $port mark 0xab420001 (mask kept the rest)" ||
    fail "conntrack -L: dport $port marks: $(grep "dport=$port " <<<"$list")"
done

# --- labels, read back through a private /etc holding a connlabel.conf for `conntrack`
mkdir -p "$WORK/etc-up/xtables" "$WORK/etc-work"
printf '5 five\n100 hundred\n127 reference\n' >"$WORK/etc-up/xtables/connlabel.conf"
list_labels() {
  in_ns unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$WORK/etc-up,workdir=$WORK/etc-work /etc && conntrack -L -o extended,labels 2>/dev/null"
}
out=$(in_ns "$TOOL" set-label 5,100 --dport 8080) || fail "set-label: $out"
grep -q 'applied=2 not_found=0 failed=0' <<<"$out" && pass "set-label: two TCP connections" ||
  fail "set-label: $out"
labels=$(list_labels)
n=$(grep "dport=8080 " <<<"$labels" | grep -c 'labels=five,hundred' || true)
[ "$n" -eq 2 ] && pass "conntrack -L -o extended,labels: bits 5 and 100 on both TCP connections" ||
  fail "labels: $(grep "dport=8080 " <<<"$labels")"
grep "dport=8080 " <<<"$labels" | grep -q "mark=$want " && pass "labels left the mark alone" ||
  fail "mark after set-label: $(grep "dport=8080 " <<<"$labels")"
in_ns "$TOOL" dump --dport 8080 2>/dev/null | grep -q 'label=20000000000000000000000010000000' &&
  pass "dump: CTA_LABELS bytes (bit n = byte n/8, bit n%8)" || fail "dump: label bytes"

# --- the connection made before any label reference has no label extension
out=$(in_ns "$TOOL" set-label 5 --dport 7000 || true)
grep -q 'failed=1' <<<"$out" && grep -q 'No space left on device' <<<"$out" &&
  pass "set-label without the label extension: ENOSPC, reported" || fail "label without extension: $out"

# --- scale: 10,000 UDP entries, one update call
max=$(in_ns cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo 0)
if [ "$max" -lt 12000 ]; then
  echo "note: nf_conntrack_max=$max, scale check skipped"
else
  in_ns python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(20000, 30000):
    s.sendto(b'x', ('10.198.61.2', port))
PY
  in_ns "$TOOL" dump --dport-min 20000 >/dev/null 2>"$WORK/scale-dump" || fail "scale dump"
  cat "$WORK/scale-dump"
  out=$(in_ns "$TOOL" set-mark 0x00ff0000 0x00170000 --dport-min 20000 2>"$WORK/scale-time") ||
    fail "scale set-mark: $out"
  echo "scale: $out $(cat "$WORK/scale-time")"
  grep -q 'applied=10000 not_found=0 failed=0' <<<"$out" && pass "scale: 10000 updates applied" ||
    fail "scale: $out"
  ms=$(sed -n 's/.*update_ms=\([0-9]*\).*/\1/p' "$WORK/scale-time")
  [ -n "$ms" ] && [ "$ms" -lt 1000 ] && pass "scale: 10000 updates in ${ms} ms (< 1000)" ||
    fail "scale: update took ${ms:-?} ms"
  n=$(in_ns conntrack -L -p udp --mark 0x00170000/0x00ff0000 2>/dev/null | grep -c 'dport=[23][0-9]\{4\} ' || true)
  [ "$n" -eq 10000 ] && pass "scale: conntrack -L sees 10000 marked entries" || fail "scale: $n marked"
fi

if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "all conntrack checks passed"
