#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# An active/standby pair that keeps decisions (tests/e2e/lab_ha.sh): imguard and conntrackd
# (FT-FW, configured from the shipped doc/ha/conntrackd.conf) on a primary and a standby
# router. The primary decides three connections — alice's BitTorrent dropped, her XMPP
# allowed, the guest's HTTP download throttled to 1 Mbit/s — then dies (kill -9 of imguard
# and conntrackd, every link down). The standby runs doc/ha/failover.sh primary (commit)
# and the next hops move to it. Checked on the standby: each connection keeps its verdict
# (the drop stays dropped, the XMPP stream flows, the download stays at the rate), its
# imguard neither queues nor decides them (queue counters, status, `flows`), the ct marks,
# label records and timeouts arrived, a reload re-decides them to the same verdict, and
# new connections are still decided there. Prints MEASURE lines (failover time, rates).
#
#   ha.sh IMGUARD CONNTRACK_TOOL [CASE]     CASE: failover (default), labels-need-ruleset,
#                                           late-commit, udp-dropped-first
#
# Needs root and conntrackd; exits 77 (ctest: skipped) with a message otherwise. Every wait
# is bounded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
IMGUARD=$(realpath "$1")
CT_TOOL=$(realpath "$2")
# shellcheck source=tests/e2e/lab.sh
. "$HERE/lab.sh"
# shellcheck source=tests/e2e/lab_ha.sh
. "$HERE/lab_ha.sh"
# shellcheck source=tests/e2e/check.sh
. "$HERE/check.sh"
lab_require_root "e2e/ha"
if ! command -v conntrackd >/dev/null; then
  echo "SKIP: e2e/ha needs conntrackd (Debian package conntrackd; scripts/install-deps.sh installs it)" >&2
  exit 77
fi

TRAFFIC="$HERE/traffic.py"
CTD_EXAMPLE="$ROOT/doc/ha/conntrackd.conf"
FAILOVER="$ROOT/doc/ha/failover.sh"
PORT=$((20000 + RANDOM % 20000))
FAILS=0
RATE=1000000  # the throttle, bit/s
declare -A IMGUARD_PID CTD_PID  # by node: p (primary), s (standby)

# node p|s : the namespace of the primary or the standby
node() { if [ "$1" = p ]; then echo "$LAB_R"; else echo "$LAB_R2"; fi; }
sock() { echo "$LAB_TMP/imguard-$1.sock"; }
ctd_conf() { echo "$LAB_TMP/conntrackd-$1.conf"; }

# ctd_render NODE OWN PEER : the shipped example with the lab's addresses and private paths
# (each instance its own lock file, UNIX socket and log); the example's virtual address
# and node A map to the primary's addresses, node B to the standby's
ctd_render() {
  local n=$1
  sed -e "s|192\.168\.100\.1\b|@OWN@|; s|192\.168\.100\.2\b|@PEER@|" \
    -e "s|@OWN@|$2|; s|@PEER@|$3|; s|192\.168\.100\.0/30|10.199.3.0/24|" \
    -e "s|\bInterface eth2\b|Interface sync|" \
    -e "s|192\.168\.0\.[12]\b|$LAB_PRIMARY_C|; s|192\.168\.0\.3\b|$LAB_STANDBY_C|" \
    -e "s|198\.51\.100\.[12]\b|$LAB_PRIMARY_S|; s|198\.51\.100\.3\b|$LAB_STANDBY_S|" \
    -e "s|/var/log/conntrackd.log|$LAB_TMP/conntrackd-$n.log|" \
    -e "s|/var/lock/conntrackd.lock|$LAB_TMP/conntrackd-$n.lock|" \
    -e "s|/var/run/conntrackd.ctl|$LAB_TMP/conntrackd-$n.ctl|" "$CTD_EXAMPLE" >"$(ctd_conf "$n")"
  if grep -vE '^[[:space:]]*#' "$(ctd_conf "$n")" | grep -E '192\.168\.|198\.51\.100\.|eth2|/var/'; then
    fail "the rendered conntrackd.conf of $n still has example values (doc/ha/conntrackd.conf changed?)"
    exit 1
  fi
}

ctd() { ip netns exec "$(node "$1")" conntrackd -C "$(ctd_conf "$1")" "${@:2}"; }

start_conntrackd() {
  lab_bg "$(node "$1")" conntrackd -C "$(ctd_conf "$1")"
  CTD_PID[$1]=$LAB_LAST_PID
  if ! lab_wait_for 10 test -S "$LAB_TMP/conntrackd-$1.ctl"; then
    cat "$LAB_TMP/conntrackd-$1.log" >&2 || true
    echo "FAIL: conntrackd ($1) did not start" >&2
    exit 1
  fi
}

write_config() {
  cat >"$LAB_TMP/policy.yaml" <<EOF
version: 1
engine:
  backend: auto
  mode: gateway
  queue: {first: 0, count: 1, maxlen: 2048, fail_open: true, bypass: true}
  budget: {tcp_packets: 24, udp_packets: 8}
networks: {local: [10.199.1.0/24]}
users:
  alice: {addresses: [$LAB_CLIENT]}
  guest: {addresses: [$LAB_CLIENT_B]}
rules:
  - {name: no-p2p, app: bittorrent, action: drop}
  - {name: guest-web-slow, who: [guest], app: http, action: throttle 1Mbit/s per host}
  - {name: im-chat, category: im, action: allow}
actions:
  default: allow
EOF
}

# start_imguard NODE [LOG] : the same policy file on both nodes, each its own socket and log
# (default $LAB_TMP/imguard-NODE.log)
start_imguard() {
  local log=${2:-$LAB_TMP/imguard-$1.log}
  lab_bg "$(node "$1")" "$IMGUARD" run --config "$LAB_TMP/policy.yaml" --control "$(sock "$1")" \
    --log-decisions 2>>"$log"
  IMGUARD_PID[$1]=$LAB_LAST_PID
  if ! lab_wait_for 15 grep -q "worker(s) running" "$log"; then
    cat "$log" >&2
    echo "FAIL: imguard ($1) did not start" >&2
    exit 1
  fi
}

status_of() { # NODE KEY
  { timeout 10 "$IMGUARD" status --control "$(sock "$1")" || true; } | tr ' ' '\n' |
    sed -n "s/^$2=//p" | head -1
}

# flows_line NODE : "<kind> user app action rule" per connection to $PORT, sorted
flows_lines() {
  timeout 10 "$IMGUARD" flows --control "$(sock "$1")" --json |
    "$PY" -c '
import json, sys
port = int(sys.argv[1])
for l in sys.stdin:
    if l.strip():
        f = json.loads(l)
        if f["dest_port"] == port:
            print(f["src_ip"], f["src_port"], f["user"], f["app"], f["action"], f["rule"])
' "$PORT" | sort
}

# ct_lines NODE : "src sport mark label" of each TCP and UDP connection to $PORT (imguard's
# conntrack tool: the conntrack CLI cannot print labels without a connlabel.conf)
ct_lines() {
  ip netns exec "$(node "$1")" "$CT_TOOL" dump --dport "$PORT" 2>/dev/null |
    sed -n 's/^[tu][cd]p \([0-9.]*\):\([0-9]*\) -> [^ ]* reply .* mark=\(0x[0-9a-f]*\) .* label=\([0-9a-fnone]*\) .*/\1 \2 \3 \4/p' |
    sort
}
# ct_packets NODE SPORT : "orig/reply" packets of the connection from SPORT
ct_packets() {
  ip netns exec "$(node "$1")" "$CT_TOOL" dump --dport "$PORT" 2>/dev/null |
    sed -n "s/^[tu][cd]p [0-9.]*:$2 -> .* packets=\([0-9]*\/[0-9]*\) .*/\1/p"
}
# timeout_of NODE SPORT : the kernel's remaining timeout of that connection (s)
timeout_of() {
  ip netns exec "$(node "$1")" conntrack -L -p tcp --dport "$PORT" --sport "$2" 2>/dev/null |
    awk '{ print $3; exit }'
}

# bucket_elements NODE : elements in imguard's throttle sets (b_*): the buckets the
# kernel created for the traffic it saw
bucket_elements() {
  ip netns exec "$(node "$1")" nft -j list table inet imguard 2>/dev/null | "$PY" -c '
import json, sys
n = 0
for item in json.load(sys.stdin).get("nftables", []):
    s = item.get("set")
    if s and s.get("name", "").startswith("b_"):
        n += len(s.get("elem", []))
print(n)
'
}

# bytes_between LOG A B : bytes received in [A, B) (epoch seconds)
bytes_between() {
  awk -v a="$2" -v b="$3" '$1 == "recv" && $2 >= a && $2 < b { s += $3 } END { print s + 0 }' "$1"
}
recv_after() { awk -v t="$2" '$1 == "recv" && $2 > t { n++ } END { print n + 0 }' "$1"; }
first_recv_after() { awk -v t="$2" '$1 == "recv" && $2 > t { print $2; exit }' "$1"; }
sport_of() { sed -n 's/^open [0-9.]* [0-9.]*:\([0-9]*\)$/\1/p' "$1" | head -1; }

# start_pair [no-standby-imguard] : imguard (standby first: its ruleset makes the kernel
# keep the labels of the connections conntrackd commits there), conntrackd on both, the
# server
start_pair() {
  [ "${1:-}" = no-standby-imguard ] || start_imguard s
  start_imguard p
  start_conntrackd s
  start_conntrackd p
  lab_bg "$LAB_S" "$PY" "$TRAFFIC" serve "$PORT"
  lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH 'sport = :$PORT' | grep -q LISTEN"
}

# wait_replicated N : the primary wrote N label records and the standby's external cache
# holds N decided connections to $PORT; then one more second for the label updates, which
# follow the marks by a control tick
wait_replicated() {
  lab_wait_for 10 sh -c "[ \"\$(timeout 5 '$IMGUARD' status --control '$(sock p)' | tr ' ' '\n' | sed -n 's/^records_written=//p')\" -ge $1 ]" ||
    fail "the primary wrote fewer than $1 label records: $(status_of p records_written)"
  lab_wait_for 10 sh -c "[ \$(ip netns exec $LAB_R2 conntrackd -C $(ctd_conf s) -e ct | grep -c 'dport=$PORT .*mark=[1-9]') -ge $1 ]" ||
    fail "the standby's external cache lacks decided connections: $(ctd s -e ct)"
  sleep 1
}

# primary_dies : kill -9 of its imguard and conntrackd, every link down
primary_dies() {
  kill -9 "${IMGUARD_PID[p]}" "${CTD_PID[p]}"
  lab_ha_cut_primary
}

# failover_standby : doc/ha/failover.sh primary on the standby; its exit code in FO_RC
failover_standby() {
  FO_RC=0
  CONNTRACKD_CONFIG=$(ctd_conf s) IMGUARD_CONTROL=$(sock s) IMGUARD=$IMGUARD \
    ip netns exec "$LAB_R2" "$FAILOVER" primary || FO_RC=$?
}

# ---------------------------------------------------------------------------------------

# The primary decides three connections and dies; the standby takes over with them.
case_failover() {
  # A shorter established timeout on the primary than the standby's default, so the standby
  # shows whether a committed connection carries the primary's timeout or its own.
  ip netns exec "$LAB_R" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=7200
  start_pair

  XMPP="$LAB_TMP/xmpp.log"
  BT="$LAB_TMP/bt.log"
  DL="$LAB_TMP/dl.log"
  lab_bg "$LAB_C" "$PY" "$TRAFFIC" hold xmpp "$LAB_SERVER" "$PORT" --interval 0.1 --rounds 600 \
    --log "$XMPP" --bind "$LAB_CLIENT"
  lab_bg "$LAB_C" timeout 80 "$PY" "$TRAFFIC" download "$LAB_SERVER" "$PORT" --seconds 60 \
    --bind "$LAB_CLIENT_B" --log "$DL"
  DL_START=$(now)
  # BitTorrent last, so its retransmissions (backing off from its opening on) still come
  # after the failover.
  lab_wait_for 15 sh -c "[ \$(grep -c ' ok reply ' '$XMPP') -ge 20 ]" ||
    { cat "$XMPP" >&2; fail "the xmpp connection did not get going"; exit 1; }
  lab_bg "$LAB_C" "$PY" "$TRAFFIC" hold bittorrent "$LAB_SERVER" "$PORT" --interval 0.5 \
    --rounds 120 --log "$BT" --bind "$LAB_CLIENT" --keep
  lab_wait_for 10 grep -q "^opening unanswered" "$BT" ||
    { cat "$BT" >&2; fail "the bittorrent opening was not dropped by the primary"; }

  # The primary decided all three; the standby's conntrackd holds them.
  wait_replicated 3
  P_FLOWS=$(flows_lines p)
  P_CT=$(ct_lines p)
  XMPP_SPORT=$(sport_of "$XMPP")
  BT_SPORT=$(sport_of "$BT")
  echo "primary flows:"
  echo "$P_FLOWS"
  echo "primary ct (src sport mark label):"
  echo "$P_CT"
  [ "$(wc -l <<<"$P_FLOWS")" -eq 3 ] || fail "the primary shows $(wc -l <<<"$P_FLOWS") connections, expected 3"
  grep -q "^$LAB_CLIENT $BT_SPORT alice bittorrent drop no-p2p$" <<<"$P_FLOWS" ||
    fail "primary: bittorrent not dropped by no-p2p"
  grep -q " alice xmpp allow im-chat$" <<<"$P_FLOWS" || fail "primary: xmpp not allowed by im-chat"
  grep -q " guest http throttle guest-web-slow$" <<<"$P_FLOWS" || fail "primary: download not throttled"
  P_TIMEOUT=$(timeout_of p "$XMPP_SPORT")
  P_SETS=$(bucket_elements p)
  S_SETS_BEFORE=$(bucket_elements s)
  S_QUEUED_BEFORE=$(lab_ha_standby_queue_total)

  # --- the primary dies ------------------------------------------------------------------
  T_KILL=$(now)
  primary_dies
  T_DEAD=$(now)  # from here on, nothing crosses the primary
  # --- failover: commit on the standby, then move the next hops ---------------------------
  T_FO=$(now)
  failover_standby
  rc=$FO_RC
  T_COMMITTED=$(now)
  S_TIMEOUT_COMMITTED=$(timeout_of s "$XMPP_SPORT")  # before any packet crosses the standby
  lab_ha_route_via standby
  T_MOVED=$(now)
  [ "$rc" -eq 0 ] && pass "failover.sh primary exited 0" || fail "failover.sh primary exited $rc"

  lab_wait_for 10 sh -c "awk -v t=$T_DEAD '\$1 == \"recv\" && \$2 > t { f = 1 } END { exit !f }' '$XMPP'" ||
    fail "the xmpp stream did not resume through the standby within 10 s"
  T_RESUME=$(first_recv_after "$XMPP" "$T_DEAD")
  T_RESUME=${T_RESUME:-$T_MOVED}
  lab_wait_for 10 sh -c "awk -v t=$T_DEAD '\$1 == \"recv\" && \$2 > t { f = 1 } END { exit !f }' '$DL'" ||
    fail "the download did not resume through the standby within 10 s"
  DL_RESUME=$(first_recv_after "$DL" "$T_DEAD")
  DL_RESUME=${DL_RESUME:-$T_MOVED}
  echo "MEASURE ha-failover: traffic flowing again $(fcalc "$T_RESUME - $T_DEAD") s after the" \
    "primary died (xmpp's first reply after its links went down; kill -9 and links down took" \
    "$(fcalc "$T_DEAD - $T_KILL") s); failover.sh primary took $(fcalc "$T_COMMITTED - $T_FO") s," \
    "moving the next hops $(fcalc "$T_MOVED - $T_COMMITTED") s; the download resumed" \
    "$(fcalc "$DL_RESUME - $T_DEAD") s after"
  fcmp "$T_RESUME - $T_DEAD < 5" && pass "traffic flowing again within 5 s" ||
    fail "traffic resumed only $(fcalc "$T_RESUME - $T_DEAD") s after the primary died"

  # Observe the standby for 10 s of traffic.
  sleep "$(fcalc "$DL_RESUME + 10.2 - $(now)")" 2>/dev/null || true

  # XMPP keeps flowing: the rounds sent from 1 s after the resume on are all answered.
  ok_after=$(awk -v t="$(fcalc "$T_RESUME + 1")" '$1 == "round" && $4 > t && $5 == "ok" { n++ } END { print n + 0 }' "$XMPP")
  miss_after=$(awk -v t="$(fcalc "$T_RESUME + 1")" '$1 == "round" && $4 > t && $5 == "miss" { n++ } END { print n + 0 }' "$XMPP")
  echo "MEASURE ha-xmpp: $ok_after rounds answered, $miss_after missed from 1 s after the resume on"
  [ "$ok_after" -ge 40 ] && [ "$miss_after" -le 2 ] && pass "the allowed xmpp stream keeps flowing" ||
    fail "xmpp after the failover: $ok_after answered, $miss_after missed"

  # BitTorrent stays dropped: not one byte came back, while its retransmissions reached the
  # standby (its conntrack entry counts packets in the original direction only).
  bt_recv=$(recv_after "$BT" 0)
  # Its retransmissions back off (0.2 s, doubling): wait for one, bounded.
  lab_wait_for 10 sh -c "ip netns exec $LAB_R2 '$CT_TOOL' dump --proto tcp --dport $PORT 2>/dev/null | grep -q ':$BT_SPORT -> .* packets=[1-9]'" || true
  bt_pk=$(ct_packets s "$BT_SPORT")
  echo "MEASURE ha-bittorrent: $bt_recv chunks received; standby conntrack packets orig/reply=$bt_pk"
  [ "$bt_recv" -eq 0 ] && pass "the dropped bittorrent connection got no reply" ||
    fail "the dropped bittorrent connection got $bt_recv replies"
  if [ -n "$bt_pk" ] && [ "${bt_pk%/*}" -ge 1 ] && [ "${bt_pk#*/}" -eq 0 ]; then
    pass "its packets reached the standby and were dropped there ($bt_pk)"
  else
    fail "bittorrent on the standby: packets orig/reply '${bt_pk:-no entry}'"
  fi

  # The download stays throttled: rate on the primary (2 s after its start to the death)
  # and on the standby (2 s after its resume to 10 s).
  p_a=$(fcalc "$DL_START + 2")
  p_bytes=$(bytes_between "$DL" "$p_a" "$T_DEAD")
  p_rate=$(fcalc "$p_bytes * 8 / ($T_DEAD - $p_a)")
  s_a=$(fcalc "$DL_RESUME + 2")
  s_b=$(fcalc "$DL_RESUME + 10")
  s_bytes=$(bytes_between "$DL" "$s_a" "$s_b")
  s_rate=$(fcalc "$s_bytes * 8 / 8")
  echo "MEASURE ha-throttle: primary $(fcalc "$p_rate / 1e6") Mbit/s over $(fcalc "$T_DEAD - $p_a") s," \
    "standby $(fcalc "$s_rate / 1e6") Mbit/s over 8 s (rule: 1 Mbit/s per host)"
  for r in "$p_rate" "$s_rate"; do
    if fcmp "$r >= 0.8 * $RATE && $r <= 1.25 * $RATE"; then
      pass "download at $(fcalc "$r / 1e6") Mbit/s (1 Mbit/s -20/+25 %)"
    else
      fail "download at $(fcalc "$r / 1e6") Mbit/s, expected 1 Mbit/s -20/+25 %"
    fi
  done

  # The standby's imguard never saw these connections: nothing queued, nothing decided.
  S_QUEUED=$(lab_ha_standby_queue_total)
  s_packets=$(status_of s packets)
  s_decided=$(status_of s decided_flows)
  echo "MEASURE ha-standby-queue: queued packets $S_QUEUED_BEFORE before, $S_QUEUED after the" \
    "failover; status packets=$s_packets decided_flows=$s_decided"
  [ "$S_QUEUED" -eq 0 ] && [ "$s_packets" = 0 ] && [ "$s_decided" = 0 ] &&
    pass "the standby's imguard neither queued nor decided the replicated connections" ||
    fail "the standby queued $S_QUEUED packets (status packets=$s_packets decided_flows=$s_decided)"
  grep -q "decided tcp" "$LAB_TMP/imguard-s.log" && fail "the standby logged decisions: $(grep 'decided tcp' "$LAB_TMP/imguard-s.log")"

  # `imguard flows` on the standby shows the primary's decisions (from the marks and labels
  # conntrackd replicated); the marks and labels are byte for byte the primary's.
  S_FLOWS=$(flows_lines s)
  S_CT=$(ct_lines s)
  echo "standby flows:"
  echo "$S_FLOWS"
  echo "standby ct (src sport mark label):"
  echo "$S_CT"
  [ "$S_FLOWS" = "$P_FLOWS" ] && pass "flows on the standby = flows on the primary" ||
    fail "flows differ between the primary and the standby"
  [ "$S_CT" = "$P_CT" ] && pass "ct marks and label records replicated unchanged" ||
    fail "ct marks/labels differ between the primary and the standby"
  if grep -q " none$" <<<"$S_CT"; then fail "a replicated connection has no label on the standby"; fi
  S_TIMEOUT=$(timeout_of s "$XMPP_SPORT")
  S_ESTABLISHED=$(ip netns exec "$LAB_R2" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)
  echo "MEASURE ha-timeout: xmpp connection's timeout $P_TIMEOUT s on the primary (established:" \
    "7200 s there), ${S_TIMEOUT_COMMITTED:-none} s on the standby right after the commit," \
    "${S_TIMEOUT:-none} s once traffic crossed it (established: $S_ESTABLISHED s there)"
  # conntrackd carries the timeout of the connection's last replicated event (which may be
  # TCP's 300 s "unacknowledged" cap, if data was in flight then), never the standby's own.
  if [ -n "$S_TIMEOUT_COMMITTED" ] && [ "$S_TIMEOUT_COMMITTED" -le 7200 ] &&
    [ "$S_TIMEOUT_COMMITTED" -ge 1 ]; then
    pass "the committed connection carries a timeout from the primary ($S_TIMEOUT_COMMITTED s)"
  else
    fail "the committed xmpp connection's timeout is '${S_TIMEOUT_COMMITTED:-missing}' (primary's: <= 7200 s)"
  fi
  [ -n "$S_TIMEOUT" ] && [ "$S_TIMEOUT" -gt 7200 ] &&
    pass "from the next packet on the standby's own timeouts apply ($S_TIMEOUT s)" ||
    fail "the xmpp connection's timeout on the standby after traffic: '${S_TIMEOUT:-missing}'"
  S_SETS=$(bucket_elements s)
  echo "MEASURE ha-not-replicated: throttle set elements $P_SETS on the primary before its death," \
    "$S_SETS_BEFORE on the standby before the failover, $S_SETS after (its own buckets)"
  [ "$P_SETS" -ge 1 ] && [ "$S_SETS_BEFORE" -eq 0 ] && [ "$S_SETS" -ge 1 ] &&
    pass "throttle buckets are per box: the standby starts its own" ||
    fail "throttle set elements: primary $P_SETS, standby $S_SETS_BEFORE before, $S_SETS after"

  # A reload on the standby re-decides the replicated connections from their records: same
  # policy, same verdicts, nothing re-marked.
  out=$(timeout 60 "$IMGUARD" reload --control "$(sock s)" 2>&1) || fail "reload on the standby: $out"
  line=$(grep "re-decided open connections (reload)" "$LAB_TMP/imguard-s.log" | tail -1 || true)
  echo "standby reload: $line"
  if grep -Eq "\(([3-9]|[1-9][0-9]+) recorded, 0 without a record\), 0 changed" <<<"$line"; then
    pass "the reload re-decided the replicated connections to the same verdicts"
  else
    fail "the reload on the standby: '$line'"
  fi
  [ "$(flows_lines s)" = "$P_FLOWS" ] || fail "flows changed after the reload on the standby"
  sleep 1
  [ "$(recv_after "$XMPP" "$(fcalc "$(now) - 1")")" -ge 3 ] || fail "xmpp stalled after the reload"
  [ "$(recv_after "$BT" 0)" -eq 0 ] || fail "bittorrent got replies after the reload"

  # New connections through the standby are queued and decided there.
  rc=0
  timeout 20 ip netns exec "$LAB_C" "$PY" "$TRAFFIC" talk bittorrent "$LAB_SERVER" "$PORT" \
    --rounds 2 --timeout 2 --bind "$LAB_CLIENT" >/dev/null || rc=$?
  [ "$rc" -eq 3 ] && pass "a new bittorrent connection is dropped by the standby" ||
    fail "a new bittorrent connection through the standby: rc=$rc"
  timeout 20 ip netns exec "$LAB_C" "$PY" "$TRAFFIC" talk xmpp "$LAB_SERVER" "$PORT" \
    --rounds 2 --timeout 2 --bind "$LAB_CLIENT" >/dev/null &&
    pass "a new xmpp connection passes the standby" || fail "a new xmpp connection through the standby failed"
  if [ "$(lab_ha_standby_queue_total)" -gt 0 ] && [ "$(status_of s decided_flows)" -ge 1 ] &&
    grep -q "decided tcp .* app=bittorrent .*action=drop user=alice rule=no-p2p" "$LAB_TMP/imguard-s.log"; then
    pass "the standby queues and decides new connections"
  else
    fail "the standby did not decide the new connections (queued $(lab_ha_standby_queue_total))"
  fi

  # A restart of the standby's imguard re-checks them at start, to the same verdicts. (While
  # it is stopped its rules are out, as on any restart: doc/ha.md.)
  lab_stop "${IMGUARD_PID[s]}"
  start_imguard s "$LAB_TMP/imguard-s-restart.log"
  line=$(grep "re-decided open connections (start)" "$LAB_TMP/imguard-s-restart.log" || true)
  echo "standby restart: $line"
  if grep -Eq "\(([3-9]|[1-9][0-9]+) recorded, 0 without a record\), 0 changed" <<<"$line"; then
    pass "the restart re-decided the replicated connections to the same verdicts"
  else
    fail "the restart of the standby's imguard: '$line'"
  fi
  after=$(flows_lines s)
  while read -r flow; do
    grep -qxF "$flow" <<<"$after" || fail "after the restart, flows lack: $flow"
  done <<<"$P_FLOWS"

  lab_stop "${CTD_PID[s]}"
  lab_stop "${IMGUARD_PID[s]}"
  grep "imguard: stats" "$LAB_TMP/imguard-s-restart.log" | tail -1 || true
}

# Without imguard's ruleset on the standby, the kernel keeps no label on the connections
# conntrackd commits there (no rule uses labels): the decision arrives in the mark, the
# record is lost, and failover.sh says so. imguard started afterwards enforces the mark
# but cannot re-decide the connection.
case_labels_need_ruleset() {
  start_pair no-standby-imguard
  XMPP="$LAB_TMP/xmpp.log"
  lab_bg "$LAB_C" "$PY" "$TRAFFIC" hold xmpp "$LAB_SERVER" "$PORT" --interval 0.1 --rounds 300 \
    --log "$XMPP" --bind "$LAB_CLIENT"
  lab_wait_for 15 sh -c "[ \$(grep -c ' ok reply ' '$XMPP') -ge 10 ]" ||
    { fail "the xmpp connection did not get going"; return; }
  wait_replicated 1
  local p_ct s_ct rc out
  p_ct=$(ct_lines p)
  primary_dies
  failover_standby 2>"$LAB_TMP/failover.err"
  rc=$FO_RC
  out=$(cat "$LAB_TMP/failover.err")
  echo "failover.sh primary: rc=$rc: $out"
  [ "$rc" -eq 1 ] && grep -q "imguard does not answer" <<<"$out" &&
    pass "failover.sh warns and exits 1 without imguard" || fail "failover.sh without imguard: rc=$rc"
  s_ct=$(ct_lines s)
  echo "primary ct: $p_ct"
  echo "standby ct: $s_ct"
  read -r _ _ p_mark p_label <<<"$p_ct"
  read -r _ _ s_mark s_label <<<"$s_ct"
  echo "MEASURE ha-labels-need-ruleset: mark $p_mark -> ${s_mark:-missing}, label $p_label -> ${s_label:-missing}"
  [ -n "$s_mark" ] && [ "$s_mark" = "$p_mark" ] && pass "the mark was committed" ||
    fail "the committed mark is '${s_mark:-missing}' (primary: $p_mark)"
  [ "$p_label" != none ] && [ "$s_label" = none ] &&
    pass "the label was lost: the standby had no rule using labels" ||
    fail "labels: primary $p_label, standby ${s_label:-missing}"
  lab_ha_route_via standby
  start_imguard s
  local line
  line=$(grep "re-decided open connections (start)" "$LAB_TMP/imguard-s.log" || true)
  echo "standby start: $line"
  grep -Eq "[1-9][0-9]* decided \(0 recorded, [1-9][0-9]* without a record\), 0 changed" <<<"$line" &&
    pass "the standby's imguard keeps the mark but cannot re-decide it" ||
    fail "the standby's start: '$line'"
  grep -Eq " \? \? allow \?$" <<<"$(flows_lines s)" &&
    pass "flows on the standby: the decision without its record" ||
    fail "flows on the standby: $(flows_lines s)"
  lab_stop "${CTD_PID[s]}"
  lab_stop "${IMGUARD_PID[s]}"
}

# Traffic reaching the standby before the commit (the next hops moved first): the
# standby's kernel starts a fresh, undecided entry, its imguard queues it and decides it
# from the middle of the stream (unknown: the default, not the primary's throttle); the
# commit then updates that entry with the primary's mark and label, and the primary's
# verdict holds again.
case_late_commit() {
  start_pair
  DL="$LAB_TMP/dl.log"
  lab_bg "$LAB_C" timeout 60 "$PY" "$TRAFFIC" download "$LAB_SERVER" "$PORT" --seconds 40 \
    --bind "$LAB_CLIENT_B" --log "$DL"
  wait_replicated 1
  local p_ct early_ct s_ct t_dead t_commit early_rate late_rate queued
  p_ct=$(ct_lines p)
  grep -q " guest http throttle guest-web-slow$" <<<"$(flows_lines p)" || fail "primary: download not throttled"
  primary_dies
  t_dead=$(now)
  lab_ha_route_via standby
  # The standby decides the picked-up connection once its packet budget is spent.
  lab_wait_for 15 grep -q "decided tcp" "$LAB_TMP/imguard-s.log" ||
    fail "the standby did not decide the connection it picked up"
  sleep 0.5
  # The standby's own entry: started by whichever packet came first (often the server's
  # data, so its original direction is reversed).
  local sport
  sport=$(awk '{ print $2; exit }' <<<"$p_ct")
  early_ct=$(ip netns exec "$LAB_R2" "$CT_TOOL" dump --proto tcp 2>/dev/null | grep ":$sport " || true)
  queued=$(lab_ha_standby_queue_total)
  failover_standby
  t_commit=$(now)
  [ "$FO_RC" -eq 0 ] || fail "failover.sh primary exited $FO_RC"
  s_ct=$(ct_lines s)
  echo "primary ct:              $p_ct"
  echo "standby before commit:   $early_ct"
  echo "standby after commit:    $s_ct"
  sleep 8.5
  early_rate=$(fcalc "$(bytes_between "$DL" "$t_dead" "$t_commit") * 8 / ($t_commit - $t_dead)")
  late_rate=$(fcalc "$(bytes_between "$DL" "$(fcalc "$t_commit + 2")" "$(fcalc "$t_commit + 8")") * 8 / 6")
  echo "MEASURE ha-late-commit: before the commit the standby queued $queued packets and the" \
    "download ran at $(fcalc "$early_rate / 1e6") Mbit/s; after it $(fcalc "$late_rate / 1e6") Mbit/s" \
    "(rule: 1 Mbit/s per host)"
  local decision
  decision=$(grep "decided tcp" "$LAB_TMP/imguard-s.log" | head -1 || true)
  echo "standby's own decision: $decision"
  [ "$queued" -gt 0 ] && grep -q "app=unknown .*rule=default" <<<"$decision" &&
    pass "traffic before the commit is queued and decided afresh (mid-stream: unknown, default)" ||
    fail "before the commit: $queued packets queued, decision: '$decision'"
  local p_mark
  p_mark=$(awk '{ print $3 }' <<<"$p_ct")
  [ -n "$early_ct" ] && ! grep -q "mark=$p_mark " <<<"$early_ct" &&
    pass "before the commit the standby's entry is its own (not the primary's decision)" ||
    fail "before the commit the standby's entry: '${early_ct:-none}'"
  [ "$s_ct" = "$p_ct" ] && pass "the commit updated the entry with the primary's mark and label" ||
    fail "after the commit the standby's entry differs from the primary's"
  # Only the ceiling: TCP, policed down from full speed, backs off for a while.
  fcmp "$late_rate <= 1.25 * $RATE" && pass "throttled again after the commit" ||
    fail "after the commit the download ran at $(fcalc "$late_rate / 1e6") Mbit/s"
  lab_stop "${CTD_PID[s]}"
  lab_stop "${IMGUARD_PID[s]}"
}

# A UDP flow dropped from its first packet (BitTorrent DHT queries, claimed on the first)
# never gets a conntrack entry — the kernel confirms a connection only when a packet of it
# leaves, and imguard's drop verdict ends the first — so there is nothing to replicate:
# the primary answers each later query from its flow table (queued again every time), and
# after the failover the standby's imguard queues and decides the flow itself, from the
# same queries, to the same drop.
case_udp_dropped_first() {
  start_pair
  local dht="$LAB_TMP/dht.log" sport after p_entry s_line
  lab_bg "$LAB_C" "$PY" "$TRAFFIC" dht "$LAB_SERVER" "$PORT" --interval 0.3 --rounds 100 \
    --log "$dht" --bind "$LAB_CLIENT"
  lab_wait_for 10 grep -q "decided udp .* app=bittorrent .*action=drop" "$LAB_TMP/imguard-p.log" ||
    fail "the primary did not drop the DHT flow"
  sleep 2
  sport=$(sport_of "$dht")
  p_entry=$(ip netns exec "$LAB_R" "$CT_TOOL" dump --proto udp --dport "$PORT" 2>/dev/null || true)
  # Each later datagram creates a new unconfirmed conntrack entry, so it is its connection's
  # first packet: tagged, it starts a new flow (port_reused) and is decided again.
  after=$(status_of p port_reused)
  echo "primary: conntrack entries of the flow: '${p_entry:-none}'; port_reused=$after"
  [ -z "$p_entry" ] && pass "no conntrack entry on the primary for the flow dropped at its first packet" ||
    fail "the primary has a conntrack entry for the dropped DHT flow: $p_entry"
  [ "${after:-0}" -ge 3 ] && pass "its later packets are queued again, each decided afresh ($after)" ||
    fail "port_reused=$after on the primary"
  [ "$(ctd s -e ct | grep -c "sport=$sport ")" -eq 0 ] ||
    fail "the standby's external cache holds the dropped DHT flow"
  primary_dies
  failover_standby
  lab_ha_route_via standby
  lab_wait_for 10 grep -q "decided udp .* app=bittorrent .*action=drop" "$LAB_TMP/imguard-s.log" ||
    fail "the standby did not decide the DHT flow"
  s_line=$(grep "decided udp" "$LAB_TMP/imguard-s.log" | head -1 || true)
  sleep 1
  echo "standby: $s_line"
  echo "MEASURE ha-udp-dropped-first: $(recv_after "$dht" 0) replies over the whole run;" \
    "the standby decided it itself: ${s_line#imguard: }"
  grep -q "$LAB_CLIENT:$sport -> .* action=drop user=alice rule=no-p2p" <<<"$s_line" &&
    pass "the standby's imguard decided the flow afresh, to the same drop" ||
    fail "the standby's decision: '$s_line'"
  [ "$(recv_after "$dht" 0)" -eq 0 ] && pass "no DHT reply before or after the failover" ||
    fail "the dropped DHT flow got $(recv_after "$dht" 0) replies"
  lab_stop "${CTD_PID[s]}"
  lab_stop "${IMGUARD_PID[s]}"
}

CASE=${3:-failover}
if ! declare -F "case_${CASE//-/_}" >/dev/null; then
  echo "ha.sh: unknown case '$CASE'" >&2
  exit 2
fi
lab_ha_up
ctd_render p "$LAB_SYNC_PRIMARY" "$LAB_SYNC_STANDBY"
ctd_render s "$LAB_SYNC_STANDBY" "$LAB_SYNC_PRIMARY"
write_config
"case_${CASE//-/_}"
if [ "$FAILS" -ne 0 ]; then
  for f in "$LAB_TMP"/imguard-*.log "$LAB_TMP"/conntrackd-*.log; do
    echo "--- $f" >&2
    tail -40 "$f" >&2 || true
  done
  exit 1
fi
echo "e2e/ha-$CASE: passed"
