#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Privileged tests of firewall::Firewall against a real kernel, each inside throwaway
# network namespaces that are deleted on exit.
#
#   firewall.sh TOOL CASE    TOOL: the firewall_tool helper; CASE: a case_* function below
#
# Needs root; exits 77 (ctest: skipped) with the reason otherwise.
set -euo pipefail
TOOL=$(realpath "$1")
CASE=$2
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP firewall/$CASE: needs root (network namespaces, nftables, iptables)" >&2
  exit 77
fi
for t in ip nft iptables-save ip6tables-save iptables-restore python3; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done

NS=fwt$$a
PEER=fwt$$b
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }

FAILS=0
fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}
pass() { echo "ok: $*"; }
expect_rc() {  # expect_rc WANT DESCRIPTION CMD...
  local want=$1 what=$2 rc=0
  shift 2
  "$@" >"$WORK/out" 2>&1 || rc=$?
  if [ "$rc" -eq "$want" ]; then pass "$what"; else fail "$what: exit $rc, want $want: $(cat "$WORK/out")"; fi
}
contains() {  # contains TEXT NEEDLE DESCRIPTION
  if grep -qF -- "$2" <<<"$1"; then pass "$3"; else fail "$3: missing '$2'"; fi
}
absent() {
  if grep -qF -- "$2" <<<"$1"; then fail "$3: unexpected '$2'"; else pass "$3"; fi
}

write_config() {  # write_config MODE BACKEND
  cat >"$WORK/imguard.yaml" <<YAML
version: 1
engine:
  backend: $2
  mode: $1
  queue: {first: 3, count: 2, bypass: true}
actions:
  default: allow
  categories: {p2p: drop, im: reject}
  apps: {irc: throttle 64kB/s}
YAML
}
fw() { in_ns "$TOOL" "$WORK/imguard.yaml" "$@"; }

nft_queue_supported() {
  printf 'table inet imguard_probe {\n chain c {\n type filter hook forward priority 0; policy accept;\n queue num 0\n }\n}\n' |
    in_ns nft -c -f - >/dev/null 2>&1
}

# Foreign rules that must survive install, reinstall and remove untouched.
add_foreign_rules() {
  in_ns iptables -t mangle -A FORWARD -m comment --comment foreign -j ACCEPT
  in_ns iptables -A INPUT -m comment --comment foreign -j ACCEPT
  in_ns nft -f - <<<'table inet foreign {
  chain c {
    type filter hook forward priority 0; policy accept;
    counter
  }
}'
}
check_foreign_rules() {
  contains "$(in_ns iptables-save)" '-A FORWARD -m comment --comment foreign -j ACCEPT' "foreign iptables rule kept"
  expect_rc 0 "foreign nft table kept" in_ns nft list table inet foreign
}

# lifecycle PLAN MODE: install, verify, idempotent reinstall, flush → reinstall, remove.
lifecycle() {
  local plan=$1 mode=$2 hook
  [ "$mode" = gateway ] && hook=FORWARD || hook=INPUT
  write_config "$mode" auto
  add_foreign_rules
  expect_rc 0 "install ($plan, $mode)" fw "$plan" install
  expect_rc 0 "installed() after install" fw "$plan" installed
  local save6 save4 nftl=""
  save4=$(in_ns iptables-save)
  save6=$(in_ns ip6tables-save)
  if [ "$mode" = host ]; then
    contains "$save4" "-A INPUT ! -i lo -m comment --comment imguard -j IMGUARD-QUEUE" "v4 queue jump in INPUT, lo skipped"
    contains "$save4" "-A OUTPUT ! -o lo -m comment --comment imguard -j IMGUARD-QUEUE" "v4 queue jump in OUTPUT, lo skipped"
  else
    contains "$save4" "-A FORWARD -m comment --comment imguard -j IMGUARD-QUEUE" "v4 queue jump in FORWARD"
  fi
  contains "$save4" "-A IMGUARD-QUEUE -p tcp -m connmark --mark 0x0/0xff0000 -j NFQUEUE --queue-balance 3:4 --queue-bypass" "v4 NFQUEUE rule"
  contains "$save6" "-A IMGUARD-QUEUE -p udp -m connmark --mark 0x0/0xff0000 -j NFQUEUE --queue-balance 3:4 --queue-bypass" "v6 NFQUEUE rule"
  if [ "$plan" = iptables ]; then
    contains "$save4" "-A IMGUARD-ENFORCE -m connmark --mark 0x0/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000" "v4 save-mark"
    contains "$save4" "-A IMGUARD-ENFORCE -m connmark --mark 0x30000/0x70000 -j DROP" "v4 drop"
    contains "$save6" "--reject-with icmp6-port-unreachable" "v6 reject"
    contains "$save4" "--hashlimit-name imguard-b0 -j DROP" "v4 throttle bucket"
    expect_rc 1 "no nft table in the iptables plan" in_ns nft list table inet imguard
  else
    nftl=$(in_ns nft list table inet imguard)
    contains "$nftl" "ct mark set ct mark | 0x00030000" "nft save of the drop value"
    contains "$nftl" "reject with tcp reset" "nft reject"
    contains "$nftl" "limit rate over 64000 bytes/second" "nft throttle bucket"
    absent "$nftl" "queue" "no nft queue statement in this plan"
    absent "$save4" "IMGUARD-ENFORCE" "no iptables enforcement in this plan"
  fi

  expect_rc 0 "second install replaces, does not duplicate" fw "$plan" install
  local jumps
  jumps=$(in_ns iptables-save | grep -c -- '--comment imguard -j IMGUARD-QUEUE' || true)
  [ "$mode" = host ] && want=2 || want=1
  [ "$jumps" -eq "$want" ] && pass "one queue jump per hook ($jumps)" || fail "queue jumps: $jumps, want $want"
  expect_rc 3 "reinstall_if_missing: nothing missing" fw "$plan" reinstall

  # Somebody flushes our rules: detected and reinstalled.
  if [ "$plan" = iptables ]; then
    in_ns iptables -F IMGUARD-ENFORCE
  else
    in_ns nft flush table inet imguard
  fi
  expect_rc 1 "flushed enforcement detected" fw "$plan" installed
  expect_rc 0 "reinstall_if_missing reinstalls" fw "$plan" reinstall
  expect_rc 0 "installed() after reinstall" fw "$plan" installed
  in_ns ip6tables -t mangle -D "$hook" $([ "$mode" = host ] && echo "! -i lo") -m comment --comment imguard -j IMGUARD-QUEUE
  expect_rc 1 "deleted v6 queue jump detected" fw "$plan" installed
  expect_rc 0 "reinstall after jump deletion" fw "$plan" reinstall
  contains "$(in_ns ip6tables-save)" "--comment imguard -j IMGUARD-QUEUE" "v6 queue jump back"
  if [ "$plan" != iptables ]; then
    in_ns nft delete table inet imguard
    expect_rc 1 "deleted table detected" fw "$plan" installed
    expect_rc 0 "reinstall after table deletion" fw "$plan" reinstall
    expect_rc 0 "table back" in_ns nft list table inet imguard
  fi

  expect_rc 0 "remove" fw "$plan" remove
  expect_rc 1 "installed() false after remove" fw "$plan" installed
  expect_rc 1 "nft table gone" in_ns nft list table inet imguard
  absent "$(in_ns iptables-save)" "IMGUARD" "no IMGUARD chains or jumps (v4)"
  absent "$(in_ns ip6tables-save)" "IMGUARD" "no IMGUARD chains or jumps (v6)"
  expect_rc 0 "remove again is not an error" fw "$plan" remove
  check_foreign_rules
}

case_nftables_iptables_queue() { lifecycle nftables+iptables-queue gateway; }
case_iptables() { lifecycle iptables gateway; }
case_iptables_host() { lifecycle iptables host; }
case_nftables_host() { lifecycle nftables+iptables-queue host; }

case_nftables_native_queue() {
  if ! nft_queue_supported; then
    # Without CONFIG_NFT_QUEUE the pure-nftables plan cannot load: it must fail as one
    # transaction, say why, and leave nothing behind (auto and the hybrid plan cover use).
    write_config gateway nftables
    local rc=0
    fw nftables install >"$WORK/out" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && pass "pure nftables plan refused on this kernel" ||
      fail "pure nftables plan installed although the kernel lacks nft queue"
    [ -s "$WORK/out" ] && pass "the refusal says why: $(head -c 160 "$WORK/out" | tr '\n' ' ')" ||
      fail "the refusal printed no reason"
    expect_rc 1 "no nft table left behind" in_ns nft list table inet imguard
    absent "$(in_ns iptables-save)" "IMGUARD" "no iptables leftovers"
    return
  fi
  write_config gateway nftables
  expect_rc 0 "install (nftables)" fw nftables install
  contains "$(in_ns nft list table inet imguard)" "queue flags bypass num 3-4" "nft queue rule"
  expect_rc 0 "remove (nftables)" fw nftables remove
  expect_rc 1 "nft table gone" in_ns nft list table inet imguard
}

case_auto() {
  write_config gateway auto
  local plan
  plan=$(fw auto installed | head -1 || true)
  if nft_queue_supported; then
    [ "$plan" = "plan nftables" ] && pass "auto chose nftables" || fail "auto chose '$plan'"
  else
    [ "$plan" = "plan nftables+iptables-queue" ] && pass "auto fell back to iptables for queueing" || fail "auto chose '$plan'"
  fi
  expect_rc 0 "auto install" fw auto install
  expect_rc 0 "auto installed" fw auto installed
  expect_rc 0 "auto remove" fw auto remove
}

# The kernel half of the offload without a daemon: a decision mark put on the first packet
# (as the daemon's verdict would) is saved into the ct mark and enforced. Host mode, a TCP
# client in $NS, a server in $PEER across a veth pair; queue bypass lets the packet pass
# the queue rule since no daemon listens.
enforce() {
  local plan=$1
  write_config host auto
  ip netns add "$PEER"
  # Unique names: the pair is born in the caller's namespace before it moves.
  ip link add "fw$$a" type veth peer name "fw$$b"
  ip link set "fw$$a" netns "$NS" name fwa
  ip link set "fw$$b" netns "$PEER" name fwb
  in_ns ip addr add 10.77.0.1/24 dev fwa
  ip netns exec "$PEER" ip addr add 10.77.0.2/24 dev fwb
  in_ns ip link set fwa up
  in_ns ip link set lo up
  ip netns exec "$PEER" ip link set fwb up
  ip netns exec "$PEER" ip link set lo up
  ip netns exec "$PEER" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5555)); s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"hello"); c.settimeout(1)
        if c.recv(4) == b"bulk":
            c.settimeout(60)  # a throttled send takes seconds
            c.sendall(b"x" * 320000)
    except OSError:
        pass
    c.close()
' &
  SERVER_PID=$!
  sleep 0.5
  expect_rc 0 "install ($plan, host)" fw "$plan" install
  # mark_first MARK: the next connection's packets leave with MARK in the window.
  mark_first() {
    in_ns nft -f - <<<"table inet emu { }
delete table inet emu
table inet emu {
  chain o {
    type filter hook output priority -300; policy accept;
    meta l4proto tcp meta mark set $1
  }
}"
  }
  connect() {
    in_ns python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("10.77.0.2", 5555)); print("data" if s.recv(5) == b"hello" else "nodata")
except ConnectionRefusedError: print("refused")
except (socket.timeout, TimeoutError): print("timeout")
'
  }
  mark_first 0x00010000
  [ "$(connect)" = data ] && pass "allow mark: connection works" || fail "allow mark blocked"
  contains "$(in_ns conntrack -L -p tcp --dport 5555 2>/dev/null)" "mark=65536" "allow decision saved in ct mark"
  mark_first 0x00030000
  r=$(connect)
  [ "$r" = timeout ] && pass "drop mark: connection dropped" || fail "drop mark: $r"
  mark_first 0x00050000
  r=$(connect)
  [ "$r" = refused ] && pass "reject mark: TCP reset" || fail "reject mark: $r"
  # bulk: bytes and seconds to download 320 kB. A 64 kB/s bucket (nft starts it with rate +
  # burst = 128 kB of tokens) needs at least 3 s; unthrottled it takes milliseconds.
  bulk() {
    in_ns python3 -c '
import socket, time
s = socket.socket(); s.settimeout(30); s.connect(("10.77.0.2", 5555))
start = time.monotonic(); s.recv(5); s.sendall(b"bulk"); n = 0
while n < 320000:
    d = s.recv(65536)
    if not d: break
    n += len(d)
print("%d %.2f" % (n, time.monotonic() - start))
'
  }
  mark_first 0x00010000
  read -r n t <<<"$(bulk)"
  awk -v n="$n" -v t="$t" 'BEGIN { exit !(n == 320000 && t < 2.0) }' &&
    pass "allow: 320 kB in ${t}s" || fail "allow bulk: $n bytes in ${t}s"
  mark_first 0x00070000  # throttle, bucket 0 (irc: 64kB/s)
  read -r n t <<<"$(bulk)"
  awk -v n="$n" -v t="$t" 'BEGIN { exit !(n == 320000 && t >= 2.5) }' &&
    pass "throttle: 320 kB took ${t}s at 64 kB/s" || fail "throttle bulk: $n bytes in ${t}s"
  mark_first 0x01000000  # foreign bits only: not imguard's, undecided
  r=$(connect)
  [ "$r" = data ] && pass "bits outside the window are ignored" || fail "foreign mark: $r"
  expect_rc 0 "remove" fw "$plan" remove
}
case_enforce_nftables() { enforce nftables+iptables-queue; }
case_enforce_iptables() { enforce iptables; }

fn="case_${CASE//-/_}"
fn="${fn//+/_}"
if ! declare -F "$fn" >/dev/null; then
  echo "unknown case $CASE" >&2
  exit 2
fi
"$fn"
if [ "$FAILS" -ne 0 ]; then
  echo "firewall/$CASE: $FAILS failure(s)" >&2
  exit 1
fi
echo "firewall/$CASE: all checks passed"
