#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# End-to-end tests of `imguard run` on a router namespace between a client and a server
# namespace (tests/e2e/lab.sh). Real sockets cross the router; imguard decides them.
#
#   e2e.sh IMGUARD CASE     CASE is one of the functions named case_* below.
#
# Needs root; exits 77 (ctest: skipped) with a message otherwise. Every wait is bounded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lab.sh
. "$HERE/lab.sh"
lab_case_args "$@"

# write_config FILE [bypass] [backend] [p2p action]
write_config() {
  cat >"$1" <<EOF
version: 1
engine:
  backend: ${3:-auto}
  mode: gateway
  queue: {first: 0, count: 2, maxlen: 2048, fail_open: true, bypass: ${2:-true}}
  budget: {tcp_packets: 24, udp_packets: 8}
actions:
  default: allow
  categories: {p2p: ${4:-drop}}
EOF
}

# start_imguard CONFIG [NAMESPACE]   (default: the router)
start_imguard() {
  # Its own control socket: the default (/run/imguard/imguard.sock) is shared by every
  # namespace and every parallel run.
  lab_start_imguard "${2:-$LAB_R}" "$LAB_TMP/imguard.log" 10 \
    "$IMGUARD" run --config "$1" --control "$LAB_TMP/imguard.sock" --log-decisions
}

stop_imguard() {
  lab_stop "$IMGUARD_PID"
  STATS=$(grep "imguard: stats" "$LAB_TMP/imguard.log" | tail -1 || true)
}

stat_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$STATS"; }

# talk KIND HOST [ROUNDS] : 0 passed, 3 blocked
talk() {
  timeout 20 ip netns exec "$LAB_C" "$PY" "$TRAFFIC" talk "$1" "$2" "$PORT" \
    --rounds "${3:-3}" --timeout 2
}

expect_pass() {
  if talk "$@"; then pass "$1 to $2 passed"; else fail "$1 to $2 should pass"; fi
}
expect_blocked() {
  local rc=0
  talk "$@" || rc=$?
  if [ "$rc" -eq 3 ]; then pass "$1 to $2 blocked"; else fail "$1 to $2 should be blocked (rc=$rc)"; fi
}

rules_present() {
  ip netns exec "$LAB_R" nft list table inet imguard >/dev/null 2>&1 ||
    ip netns exec "$LAB_R" iptables-save 2>/dev/null | grep -q IMGUARD
}

start_servers() {
  lab_bg "$LAB_S" "$PY" "$TRAFFIC" serve "$PORT"
  lab_wait_for 10 ip netns exec "$LAB_S" ss -ltn "sport = :$PORT" -H
  lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH 'sport = :$PORT' | grep -q LISTEN"
}

# P2P is blocked from its first data packet; HTTP, DNS and allowed IM pass; IPv4 and IPv6.
case_enforce() {
  local backend=${1:-auto}
  start_servers
  local dns=0
  if command -v dnsmasq >/dev/null && command -v dig >/dev/null; then
    lab_bg "$LAB_S" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
      --pid-file="$LAB_TMP/dnsmasq.pid" --port=53 --listen-address="$LAB_SERVER" \
      --bind-interfaces --address=/lab.test/10.199.2.2 --log-facility=/dev/null
    dns=1
  fi
  write_config "$LAB_TMP/c.yaml" true "$backend"
  start_imguard "$LAB_TMP/c.yaml"
  expect_pass http "$LAB_SERVER" 20
  expect_pass xmpp "$LAB_SERVER" 20
  expect_pass irc "$LAB_SERVER" 20
  expect_blocked bittorrent "$LAB_SERVER"
  expect_pass http "$LAB_SERVER6" 5
  expect_blocked bittorrent "$LAB_SERVER6"
  if [ "$dns" = 1 ]; then
    local answer=""
    lab_wait_for 5 ip netns exec "$LAB_S" ss -lunH "sport = :53"
    answer=$(timeout 10 ip netns exec "$LAB_C" dig +short +time=2 +tries=2 -p 53 \
      @"$LAB_SERVER" lab.test A || true)
    if [ "$answer" = "10.199.2.2" ]; then pass "dns passed"; else fail "dns: got '$answer'"; fi
  fi
  stop_imguard
  echo "$STATS"
  [ "$(stat_of decided_drop)" -ge 2 ] || fail "expected >= 2 dropped flows in: $STATS"
  [ "$(stat_of app_bittorrent)" -ge 2 ] || fail "bittorrent flows not identified: $STATS"
  [ "$(stat_of app_xmpp)" -ge 1 ] || fail "xmpp flow not identified: $STATS"
  [ "$(stat_of app_irc)" -ge 1 ] || fail "irc flow not identified: $STATS"
  [ "$(stat_of app_http)" -ge 2 ] || fail "http flows not identified: $STATS"
  if [ "$dns" = 1 ]; then [ "$(stat_of app_dns)" -ge 1 ] || fail "dns flow not identified: $STATS"; fi
  grep -q "app=bittorrent category=p2p action=drop" "$LAB_TMP/imguard.log" ||
    fail "no drop decision logged"
}

# A new connection on a reused 5-tuple is classified afresh: a web request, a reset, and at
# once BitTorrent from the same source port to the same server. The first connection's end
# reaches the engine only later (conntrack's destroy event), so without the ruleset's
# new-connection tag the second one would inherit the first one's "allow http".
case_port_reuse() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  # One worker: with two, round-robin steering would put the two connections on different
  # workers (an attacker would open one more in between).
  sed -i 's/count: 2,/count: 1,/' "$LAB_TMP/c.yaml"
  grep -q "count: 1," "$LAB_TMP/c.yaml" || fail "config not switched to one queue"
  start_imguard "$LAB_TMP/c.yaml"
  local i rc
  for i in 1 2 3 4 5; do
    for server in "$LAB_SERVER" "$LAB_SERVER6"; do
      rc=0
      timeout 20 ip netns exec "$LAB_C" "$PY" "$TRAFFIC" reuse http bittorrent "$server" "$PORT" \
        --timeout 2 || rc=$?
      [ "$rc" -eq 3 ] || fail "round $i: bittorrent after http on the same 5-tuple to $server was not blocked (rc=$rc)"
    done
  done
  pass "bittorrent on a reused 5-tuple blocked (10 of 10)"
  for i in 1 2 3; do
    rc=0
    timeout 20 ip netns exec "$LAB_C" "$PY" "$TRAFFIC" reuse http xmpp "$LAB_SERVER" "$PORT" \
      --timeout 2 || rc=$?
    [ "$rc" -eq 0 ] || fail "round $i: xmpp after http on the same 5-tuple did not pass (rc=$rc)"
  done
  pass "xmpp on a reused 5-tuple passed (3 of 3)"
  stop_imguard
  echo "$STATS"
  [ "$(stat_of port_reused)" -ge 10 ] || fail "expected >= 10 flows ended by port reuse: $STATS"
  [ "$(stat_of app_bittorrent)" -ge 10 ] || fail "bittorrent flows not identified: $STATS"
}

# A claimed flow (IRC waits for later lines before it settles its features) whose app the
# policy blocks is dropped from the claim on, not after the packet budget.
case_early_block() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  printf '  apps: {irc: drop}\n' >>"$LAB_TMP/c.yaml"
  start_imguard "$LAB_TMP/c.yaml"
  expect_blocked irc "$LAB_SERVER"
  expect_pass xmpp "$LAB_SERVER" 5
  stop_imguard
  echo "$STATS"
  [ "$(stat_of early_blocked)" -ge 1 ] || fail "irc was not blocked on its claim: $STATS"
}

# Host mode: imguard on the client host itself (OUTPUT and INPUT hooks, local sockets),
# the router forwarding without it. P2P from the host is blocked, its web and IM pass.
case_host_mode() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  sed -i 's/^  mode: gateway$/  mode: host/' "$LAB_TMP/c.yaml"
  grep -q "mode: host" "$LAB_TMP/c.yaml" || fail "config not switched to host mode"
  start_imguard "$LAB_TMP/c.yaml" "$LAB_C"
  expect_pass http "$LAB_SERVER" 5
  expect_pass xmpp "$LAB_SERVER" 5
  expect_blocked bittorrent "$LAB_SERVER"
  expect_blocked bittorrent "$LAB_SERVER6"
  if ip netns exec "$LAB_R" nft list ruleset | grep -qi imguard ||
    ip netns exec "$LAB_R" iptables-save | grep -qi imguard; then
    fail "host mode installed rules on the router"
  fi
  stop_imguard
  echo "$STATS"
  [ "$(stat_of app_bittorrent)" -ge 2 ] || fail "bittorrent not identified in host mode: $STATS"
  [ "$(stat_of decided_drop)" -ge 2 ] || fail "no drop decisions in host mode: $STATS"
  grep -q "rules removed" "$LAB_TMP/imguard.log" || fail "no 'rules removed' in log"
}

case_enforce_iptables() {
  case_enforce iptables
  grep -q "rules installed (iptables)" "$LAB_TMP/imguard.log" || fail "iptables backend not used"
}

# A decided connection leaves the queue: hundreds of request/reply rounds after the
# decision add (almost) nothing to the kernel's queued-packet counter.
case_offload() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  start_imguard "$LAB_TMP/c.yaml"
  local before after
  before=$(lab_queue_total)
  expect_pass xmpp "$LAB_SERVER" 500
  after=$(lab_queue_total)
  local queued=$((after - before))
  echo "one xmpp connection, ~1000 data packets + handshake: $queued packets queued"
  # Decided on the first data packets: handshake, opening, reply and a few in flight.
  [ "$queued" -le 24 ] || fail "decided connection kept being queued ($queued packets)"
  [ "$queued" -ge 3 ] || fail "connection was never queued ($queued packets)"
  stop_imguard
  echo "$STATS"
  [ "$(stat_of queued_per_conn_max)" -le 24 ] || fail "queued per connection too high: $STATS"
  [ "$(stat_of connections)" -ge 1 ] || fail "no connection counted: $STATS"
}

# Only what can change a decision is queued: a connection that carries no payload never
# is; data in a SYN (TCP Fast Open) is, so a BitTorrent handshake there is dropped before
# it reaches the server; a server that speaks first is still the server (the SYN that
# names the client stays in the kernel: the reply queue tells the direction).
case_payload_only() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  start_imguard "$LAB_TMP/c.yaml"
  local before after
  before=$(lab_queue_total)
  ip netns exec "$LAB_C" "$PY" - "$LAB_SERVER" "$PORT" <<'PY'
import socket, sys
for _ in range(20):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    s.close()
PY
  sleep 0.3
  after=$(lab_queue_total)
  echo "20 connections without payload: $((after - before)) packets queued"
  [ $((after - before)) -eq 0 ] || fail "payload-less packets were queued ($((after - before)))"

  # TCP Fast Open without cookies on both ends: the first data rides in the SYN.
  ip netns exec "$LAB_C" sysctl -qw net.ipv4.tcp_fastopen=5
  ip netns exec "$LAB_S" sysctl -qw net.ipv4.tcp_fastopen=0x602
  lab_bg "$LAB_S" "$PY" "$TRAFFIC" serve $((PORT + 1))
  lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH 'sport = :$((PORT + 1))' | grep -q LISTEN"
  local tfo_py="$LAB_TMP/tfo.py"
  cat >"$tfo_py" <<PY
import socket, sys
sys.path.insert(0, "$HERE")
from traffic import OPENINGS
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.settimeout(2)
try:
    s.sendto(OPENINGS[kind][0], socket.MSG_FASTOPEN, (host, port))
    sys.exit(0 if s.recv(100) else 3)
except OSError:
    sys.exit(3)
PY
  before=$(lab_queue_total)
  if timeout 20 ip netns exec "$LAB_C" "$PY" "$tfo_py" http "$LAB_SERVER" $((PORT + 1)); then
    pass "http in a SYN passed"
  else
    fail "http in a SYN should pass"
  fi
  after=$(lab_queue_total)
  [ $((after - before)) -ge 1 ] || fail "the SYN with data was not queued"
  local rc=0
  timeout 20 ip netns exec "$LAB_C" "$PY" "$tfo_py" bittorrent "$LAB_SERVER" $((PORT + 1)) || rc=$?
  if [ "$rc" -eq 3 ]; then pass "bittorrent in a SYN blocked"; else fail "bittorrent in a SYN passed"; fi

  # A server that speaks first (SMTP, FTP style): its greeting is the first payload.
  cat >"$LAB_TMP/first.py" <<'PY'
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1])))
srv.listen(8)
while True:
    c, _ = srv.accept()
    c.sendall(b"220 mail.lab ESMTP ready\r\n")
    c.settimeout(2)
    try:
        c.recv(100)
        c.sendall(b"221 bye\r\n")
    except OSError:
        pass
    c.close()
PY
  lab_bg "$LAB_S" "$PY" "$LAB_TMP/first.py" $((PORT + 2))
  lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH 'sport = :$((PORT + 2))' | grep -q LISTEN"
  ip netns exec "$LAB_C" "$PY" - "$LAB_SERVER" $((PORT + 2)) <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
s.recv(100)
s.sendall(b"QUIT\r\n")
s.recv(100)
s.close()
PY
  # Closed with FIN, conntrack keeps it for TIME_WAIT (120 s): end it there, and its
  # destroy event must end (and decide) the flow in the worker, long before the stop.
  ip netns exec "$LAB_R" conntrack -D -p tcp --dport $((PORT + 2)) >/dev/null 2>&1 || true
  if lab_wait_for 5 grep -q "decided tcp .* -> $LAB_SERVER:$((PORT + 2)) .*(at its end)" "$LAB_TMP/imguard.log"; then
    pass "a connection that ended undecided was decided at its conntrack end"
  else
    grep ":$((PORT + 2)) " "$LAB_TMP/imguard.log" >&2 || true
    ip netns exec "$LAB_R" conntrack -L -p tcp --dport $((PORT + 2)) >&2 2>/dev/null || true
    fail "no decision at the conntrack end of the server-first connection"
  fi

  # One client/server pair, many connections: steering spreads them over both workers
  # (queues 0 and 1 take the original direction of workers 0 and 1).
  local q0 q1
  for _ in 1 2 3 4 5 6 7 8; do talk http "$LAB_SERVER" 0 >/dev/null || true; done
  q0=$(lab_queue_ids | awk '$1 == 0 {print $2}')
  q1=$(lab_queue_ids | awk '$1 == 1 {print $2}')
  echo "8 http connections from one host: queue 0 took ${q0:-0}, queue 1 took ${q1:-0} packets"
  [ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] || fail "one host pair stayed on one worker"
  stop_imguard
  echo "$STATS"
  if grep -q "decided tcp $LAB_CLIENT:[0-9]* -> $LAB_SERVER:$((PORT + 2)) " "$LAB_TMP/imguard.log"; then
    pass "server-first connection kept its client and server"
  else
    grep "decided tcp" "$LAB_TMP/imguard.log" | grep ":$((PORT + 2))" >&2 || true
    fail "server-first connection decided with the wrong direction (or not at all)"
  fi
  grep -q "app=bittorrent.*action=drop" "$LAB_TMP/imguard.log" || fail "no bittorrent drop logged"
  [ "$(stat_of decided_flows)" -ge 11 ] || fail "decided_flows too low: $STATS"
}

# Queue bypass (default): with the daemon gone (crash: rules stay) traffic still passes.
case_bypass() {
  start_servers
  write_config "$LAB_TMP/c.yaml" true
  start_imguard "$LAB_TMP/c.yaml"
  expect_blocked bittorrent "$LAB_SERVER"
  kill -9 "$IMGUARD_PID"
  wait "$IMGUARD_PID" 2>/dev/null || true
  rules_present || fail "rules should stay after a crash"
  expect_pass http "$LAB_SERVER" 3
  expect_pass bittorrent "$LAB_SERVER" 3
}

# Fail-closed (bypass false): with the daemon gone nothing new passes.
case_fail_closed() {
  start_servers
  write_config "$LAB_TMP/c.yaml" false
  start_imguard "$LAB_TMP/c.yaml"
  expect_pass http "$LAB_SERVER" 3
  # An established, decided connection keeps its ct-mark verdict while imguard is gone.
  local hold="$LAB_TMP/hold.log"
  lab_bg "$LAB_C" "$PY" "$TRAFFIC" hold xmpp "$LAB_SERVER" "$PORT" --interval 0.1 --rounds 200 \
    --log "$hold"
  lab_wait_for 10 sh -c "[ \$(grep -c ' ok reply ' '$hold') -ge 10 ]" ||
    fail "the held connection did not get going"
  kill -9 "$IMGUARD_PID"
  wait "$IMGUARD_PID" 2>/dev/null || true
  local killed
  killed=$(date +%s.%N)
  rules_present || fail "rules should stay after a crash"
  expect_blocked http "$LAB_SERVER"
  expect_blocked irc "$LAB_SERVER"
  local after
  after=$(awk -v t="$killed" '$1 == "recv" && $2 > t + 1 { n++ } END { print n + 0 }' "$hold")
  if [ "$after" -gt 0 ]; then
    pass "the decided connection kept passing after the crash ($after replies)"
  else
    fail "the decided connection stopped when imguard died (fail-closed must only stop new ones)"
  fi
  # A restart replaces its own old rules: the same number of imguard rules, not twice.
  local before_count after_count
  before_count=$(owned_rule_count)
  start_imguard "$LAB_TMP/c.yaml"
  after_count=$(owned_rule_count)
  echo "imguard-owned rules: $before_count after the crash, $after_count after the restart"
  [ "$after_count" -eq "$before_count" ] || fail "the restart duplicated rules ($before_count -> $after_count)"
  expect_pass http "$LAB_SERVER" 3
  stop_imguard
}

# imguard-owned nft rules plus iptables/ip6tables IMGUARD jumps and chain rules.
owned_rule_count() {
  local n=0 k
  k=$(ip netns exec "$LAB_R" nft list table inet imguard 2>/dev/null | grep -c 'comment "imguard"' || true)
  n=$((n + k))
  k=$(ip netns exec "$LAB_R" iptables-save 2>/dev/null | grep -c 'IMGUARD' || true)
  n=$((n + k))
  k=$(ip netns exec "$LAB_R" ip6tables-save 2>/dev/null | grep -c 'IMGUARD' || true)
  echo $((n + k))
}

# A clean stop removes every rule; traffic then flows without imguard.
case_stop() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  start_imguard "$LAB_TMP/c.yaml"
  rules_present || fail "rules not installed"
  expect_blocked bittorrent "$LAB_SERVER"
  stop_imguard
  grep -q "rules removed" "$LAB_TMP/imguard.log" || fail "no 'rules removed' in log"
  if rules_present; then fail "rules left after stop"; else pass "no rules after stop"; fi
  ip netns exec "$LAB_R" iptables-save | grep -qi imguard && fail "iptables rules left"
  ip netns exec "$LAB_R" ip6tables-save | grep -qi imguard && fail "ip6tables rules left"
  ip netns exec "$LAB_R" nft list ruleset | grep -qi imguard && fail "nft rules left"
  expect_pass bittorrent "$LAB_SERVER" 3
  [ -n "$STATS" ] || fail "no stats line on exit"
}

# Someone flushes imguard's table: the daemon notices and puts it back.
case_reinstall() {
  start_servers
  write_config "$LAB_TMP/c.yaml"
  start_imguard "$LAB_TMP/c.yaml"
  ip netns exec "$LAB_R" nft delete table inet imguard 2>/dev/null ||
    ip netns exec "$LAB_R" iptables -t mangle -F IMGUARD-QUEUE
  if lab_wait_for 10 grep -q "re-installed" "$LAB_TMP/imguard.log"; then
    pass "re-installed"
  else
    fail "flushed rules were not re-installed"
  fi
  rules_present || fail "rules missing after re-install"
  expect_blocked bittorrent "$LAB_SERVER"
  expect_pass http "$LAB_SERVER" 3
  stop_imguard
  [ "$(stat_of rules_reinstalled)" -ge 1 ] || fail "rules_reinstalled not counted: $STATS"
}

lab_main imguard.log
