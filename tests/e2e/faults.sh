#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fault cases of `imguard run` on the namespace lab (tests/e2e/lab.sh): the kernel queue
# overflowing while the daemon is frozen, the wall clock stepped back an hour, many
# distinct flows against a small flow table, dropping root after start-up. (kill -9,
# restart, flushed rules: e2e.sh.)
#
#   faults.sh IMGUARD CASE     CASE is one of the functions named case_* below.
#
# Needs root; exits 77 (ctest: skipped) with a message otherwise. Every wait is bounded,
# every imguard uses its own control socket in the lab's temporary directory.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lab.sh
. "$HERE/lab.sh"
lab_case_args "$@"
IMGUARD_PID=""
LOG=""
PREFIX=()  # command put before imguard (e.g. faketime's environment)
EXTRA=()   # more arguments of `imguard run`

# config FILE FAIL_OPEN [extra engine lines...]
config() {
  local file=$1 fail_open=$2
  shift 2
  {
    printf 'version: 1\nengine:\n  backend: auto\n  mode: gateway\n'
    printf '  queue: {first: 0, count: 1, maxlen: %s, fail_open: %s, bypass: true}\n' \
      "${MAXLEN:-2048}" "$fail_open"
    printf '  budget: {tcp_packets: 24, udp_packets: 8}\n'
    local line
    for line in "$@"; do printf '  %s\n' "$line"; done
    printf 'actions:\n  default: allow\n  categories: {p2p: drop}\n'
  } >"$file"
}

start() {
  LOG="$LAB_TMP/imguard.log"
  lab_start_imguard "$LAB_R" "$LOG" 15 \
    "${PREFIX[@]}" "$IMGUARD" run --config "$1" --control "$LAB_TMP/x.sock" "${EXTRA[@]}"
}

stop() {
  lab_stop "$IMGUARD_PID"
  STATS=$(grep "imguard: stats" "$LOG" | tail -1 || true)
}

# status_of KEY : one counter of the running daemon (`imguard status`)
status_of() {
  { timeout 10 "$IMGUARD" status --control "$LAB_TMP/x.sock" || true; } | tr ' ' '\n' |
    sed -n "s/^$1=//p" | head -1
}
# status_ge KEY MIN : waits (up to 6 s) until the daemon's counter KEY reaches MIN
status_ge() {
  local deadline=$((SECONDS + 6)) v
  while :; do
    v=$(status_of "$1")
    [ "${v:-0}" -ge "$2" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

stat_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$STATS"; }

# talk KIND [ROUNDS] : 0 passed, 3 blocked
talk() {
  timeout 20 ip netns exec "$LAB_C" "$PY" "$TRAFFIC" talk "$1" "$LAB_SERVER" "$PORT" \
    --rounds "${2:-3}" --timeout 2
}
expect() {  # expect pass|blocked KIND [ROUNDS]
  local rc=0
  talk "$2" "${3:-3}" || rc=$?
  case "$1:$rc" in
    pass:0 | blocked:3) pass "$2 ${1}" ;;
    *) fail "$2 should be $1 (rc=$rc)" ;;
  esac
}

start_server() {
  lab_bg "$LAB_S" "$PY" "$TRAFFIC" serve "$PORT"
  lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH 'sport = :$PORT' | grep -q LISTEN"
}

# udp_flows COUNT [FIRST_PORT] : one datagram to each of COUNT destination ports of the
# server, from the client (every datagram a new connection for conntrack and imguard).
udp_flows() {
  ip netns exec "$LAB_C" "$PY" - "$LAB_SERVER" "$1" "${2:-1024}" <<'EOF'
import socket, sys
host, count, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    s.sendto(b"imguard-lab-flow %d" % i, (host, first + i % (65536 - first)))
EOF
}

# cpu_ticks PID : user + system clock ticks the process (all its threads) has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# The kernel queue overflows while the daemon is frozen (SIGSTOP), twice within a minute:
# fail-closed drops the overflow and the daemon counts it from the kernel's counters
# (status kernel_queue_dropped, imguard_queue_drops_total), logs it once (at most one line
# a minute), sleeps again once thawed, and decides new connections as before.
case_queue_overflow() {
  overflow_case false
}

# The same with fail-open: the kernel accepts what does not fit, so connections made while
# the daemon is frozen pass (unclassified: the price of fail-open); nothing is dropped.
case_queue_overflow_open() {
  overflow_case true
}

overflow_case() {
  local open=$1
  start_server
  MAXLEN=16 config "$LAB_TMP/c.yaml" "$open" "metrics: {textfile: $LAB_TMP/m.prom}"
  start "$LAB_TMP/c.yaml"
  expect pass http
  expect blocked bittorrent
  local episode dropped=0 now
  for episode in 1 2; do
    kill -STOP "$IMGUARD_PID"
    udp_flows 400 $((1024 + episode * 1000))  # 400 new flows against 16 queue slots
    if [ "$open" = true ]; then
      # Everything beyond the 16 slots is accepted by the kernel itself.
      expect pass http 1
      expect pass bittorrent 1
    else
      expect blocked http 1
    fi
    kill -CONT "$IMGUARD_PID"
    # The counters are read from the kernel every 5 s.
    if [ "$open" = false ]; then
      lab_wait_for 12 sh -c "[ \"\$(timeout 5 '$IMGUARD' status --control '$LAB_TMP/x.sock' |
        tr ' ' '\n' | sed -n 's/^kernel_queue_dropped=//p')\" -gt $dropped ]" ||
        fail "episode $episode: kernel_queue_dropped did not grow past $dropped"
      now=$(status_of kernel_queue_dropped)
      echo "episode $episode: kernel_queue_dropped $dropped -> $now"
      dropped=$now
    else
      sleep 6
    fi
    kill -0 "$IMGUARD_PID" 2>/dev/null || fail "imguard died after the overflow"
  done
  local lines
  lines=$(grep -c "the kernel dropped" "$LOG" || true)
  echo "overflow log lines: $lines"
  if [ "$open" = false ]; then
    [ "$lines" -eq 1 ] || fail "two overflows within a minute must log exactly 1 line, got $lines"
    # The metrics file is rewritten every 5 s.
    local metric=""
    lab_wait_for 8 sh -c "grep -q '^imguard_queue_drops_total{reason=\"queue_dropped\"} $dropped\$' '$LAB_TMP/m.prom'" &&
      metric=$dropped
    grep '^imguard_queue_drops_total' "$LAB_TMP/m.prom" || true
    [ -n "$metric" ] || fail "imguard_queue_drops_total{reason=\"queue_dropped\"} is not $dropped"
  else
    [ "$lines" -eq 0 ] || fail "fail-open overflow is not a kernel drop, yet $lines line(s) logged"
  fi
  # Thawed and idle: no busy loop (a spinning thread would burn ~300 ticks in 3 s).
  local t0 t1
  t0=$(cpu_ticks "$IMGUARD_PID")
  sleep 3
  t1=$(cpu_ticks "$IMGUARD_PID")
  echo "cpu over 3 s idle after the overflow: $((t1 - t0)) ticks ($(getconf CLK_TCK)/s)"
  [ $((t1 - t0)) -le 15 ] || fail "imguard busy after recovery: $((t1 - t0)) ticks in 3 s"
  expect pass http
  expect pass xmpp
  expect blocked bittorrent
  stop
  echo "$STATS"
  if [ "$open" = false ]; then
    [ "$(stat_of kernel_queue_dropped)" -gt 0 ] || fail "no kernel_queue_dropped in: $STATS"
  else
    [ "$(stat_of kernel_queue_dropped)" -eq 0 ] || fail "fail-open dropped packets: $STATS"
  fi
}

FAKETIME_LIB=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
  /usr/lib/*/faketime/libfaketimeMT.so.1; do
  [ -e "$f" ] && FAKETIME_LIB=$f && break
done

# Idle expiry (CLOCK_MONOTONIC) keeps working when the wall clock is stepped back an hour
# under the running daemon (libfaketime: CLOCK_REALTIME faked from a file the test rewrites,
# CLOCK_MONOTONIC left alone). Wall-clock consumers move with the step, as intended: the
# schedule window around "now" closes (schedule_changes), event timestamps go back 1 h.
case_clock_step() {
  if [ -z "$FAKETIME_LIB" ]; then
    echo "SKIP: e2e/clock-step needs libfaketime (Debian package faketime; scripts/install-deps.sh)" >&2
    exit 77
  fi
  local spec="$LAB_TMP/faketime" events="$LAB_TMP/events.json"
  echo "+0" >"$spec"
  PREFIX=(env "LD_PRELOAD=$FAKETIME_LIB" "FAKETIME_TIMESTAMP_FILE=$spec"
    FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_CACHE_DURATION=1)
  start_server
  config "$LAB_TMP/c.yaml" true "flows: {udp_idle_seconds: 3, tcp_idle_seconds: 3}" \
    "events: {file: $events}"
  # A daily window from 30 minutes ago to 30 minutes ahead (UTC): open now, closed an hour ago.
  local from to
  from=$(date -u -d '-30 min' +%H:%M)
  to=$(date -u -d '+30 min' +%H:%M)
  printf 'schedules:\n  around-now: {time: "%s-%s", timezone: UTC}\n' "$from" "$to" >>"$LAB_TMP/c.yaml"
  printf 'rules:\n  - {name: im-around-now, category: im, when: around-now, action: allow}\n' \
    >>"$LAB_TMP/c.yaml"
  start "$LAB_TMP/c.yaml"
  local changes0
  changes0=$(status_of schedule_changes)
  expect pass http
  expect blocked bittorrent
  udp_flows 50 2000
  sleep 4          # 3 s idle; the next packets make the table expire the idle flows
  udp_flows 5 3000
  status_ge ended_idle 50 || true
  local idle1
  idle1=$(status_of ended_idle)
  echo "before the step: ended_idle=$idle1"
  [ "${idle1:-0}" -ge 50 ] || fail "flows did not expire before the step (ended_idle=$idle1)"

  echo "-1h" >"$spec"  # the wall clock jumps back one hour
  local stepped
  stepped=$(date +%s)
  sleep 2              # libfaketime re-reads the file at most once a second
  expect pass http
  expect blocked bittorrent
  udp_flows 50 4000
  sleep 4
  udp_flows 5 5000
  status_ge ended_idle $((idle1 + 50)) || true
  local idle2
  idle2=$(status_of ended_idle)
  echo "after the step back: ended_idle=$idle2"
  [ "${idle2:-0}" -ge $((idle1 + 50)) ] ||
    fail "flows stopped expiring after the clock step (ended_idle $idle1 -> $idle2)"
  # The step did reach the daemon: its newest flow events carry times an hour back.
  local last_ts last_s
  last_ts=$(tail -1 "$events" | grep -o '"timestamp":"[^"]*"' | cut -d'"' -f4 || true)
  last_s=$(date -d "$last_ts" +%s 2>/dev/null || echo 0)
  echo "last flow event at $last_ts: $((last_s - stepped)) s from the real clock"
  if [ $((stepped - last_s)) -lt 3000 ] || [ $((stepped - last_s)) -gt 4200 ]; then
    fail "event times did not move with the wall clock (libfaketime not in effect?)"
  fi
  # Schedules follow the wall clock: the window around the real "now" closed.
  status_ge schedule_changes $((changes0 + 1)) || true
  local changes
  changes=$(status_of schedule_changes)
  echo "schedule_changes: $changes0 -> $changes"
  [ "${changes:-0}" -gt "$changes0" ] || fail "the schedule did not follow the wall-clock step"
  kill -0 "$IMGUARD_PID" 2>/dev/null || fail "imguard died"
  stop
  echo "$STATS"
}

# proc_field PID FIELD : one line of /proc/PID/status, value only
proc_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# `--user`: started as root, the daemon installs its rules and then becomes an
# unprivileged user keeping only CAP_NET_ADMIN (every thread); reload, re-install after a
# flush and the clean stop still work through its nft/iptables children.
case_drop_user() {
  local user=nobody uid
  uid=$(id -u "$user" 2>/dev/null) || {
    echo "SKIP: e2e/drop-user needs the user '$user'" >&2
    exit 77
  }
  chmod 755 "$LAB_TMP"  # the dropped daemon must read its config again on reload
  start_server
  config "$LAB_TMP/c.yaml" true
  chmod 644 "$LAB_TMP/c.yaml"
  EXTRA=(--user "$user")
  start "$LAB_TMP/c.yaml"
  lab_wait_for 5 grep -q "running as user $user" "$LOG" || fail "no 'running as user' line"
  local want=0000000000001000 # CAP_NET_ADMIN (12) alone
  local t f v
  for t in /proc/"$IMGUARD_PID"/task/*; do
    for f in CapEff CapPrm CapBnd CapAmb; do
      v=$(proc_field "$IMGUARD_PID/task/${t##*/}" "$f")
      [ "$v" = "$want" ] || fail "thread ${t##*/}: $f=$v, expected $want"
    done
    v=$(proc_field "$IMGUARD_PID/task/${t##*/}" Uid)
    [ "$(echo $v)" = "$uid $uid $uid $uid" ] || fail "thread ${t##*/}: Uid=$v, expected $uid"
  done
  echo "status: Uid=$(echo $(proc_field "$IMGUARD_PID" Uid)) Gid=$(echo $(proc_field "$IMGUARD_PID" Gid))" \
    "Groups=$(proc_field "$IMGUARD_PID" Groups) CapEff=$(proc_field "$IMGUARD_PID" CapEff)" \
    "CapBnd=$(proc_field "$IMGUARD_PID" CapBnd) CapAmb=$(proc_field "$IMGUARD_PID" CapAmb)" \
    "NoNewPrivs=$(proc_field "$IMGUARD_PID" NoNewPrivs) threads=$(ls /proc/"$IMGUARD_PID"/task | wc -l)"
  [ "$(proc_field "$IMGUARD_PID" NoNewPrivs)" = 1 ] || fail "NoNewPrivs is not set"
  expect pass http
  expect blocked bittorrent
  # Reload (reads the file again, re-installs the ruleset as a child with ambient caps).
  sed -i 's/categories: {p2p: drop}/categories: {p2p: allow}/' "$LAB_TMP/c.yaml"
  if timeout 30 "$IMGUARD" reload --control "$LAB_TMP/x.sock"; then pass "reload"; else fail "reload failed"; fi
  expect pass bittorrent
  # A flushed table comes back (nft run by the unprivileged daemon).
  ip netns exec "$LAB_R" nft delete table inet imguard 2>/dev/null ||
    ip netns exec "$LAB_R" iptables -t mangle -F IMGUARD-QUEUE
  if lab_wait_for 10 grep -q "re-installed" "$LOG"; then pass "re-installed"; else fail "not re-installed"; fi
  expect pass http
  stop
  grep -q "rules removed" "$LOG" || fail "no 'rules removed' after the stop"
  if ip netns exec "$LAB_R" nft list ruleset | grep -qi imguard ||
    ip netns exec "$LAB_R" iptables-save | grep -qi imguard; then
    fail "rules left after the stop"
  fi
  echo "$STATS"
  [ "$(stat_of reloads)" -ge 1 ] || fail "reload not counted: $STATS"
  [ "$(stat_of rules_reinstalled)" -ge 1 ] || fail "re-install not counted: $STATS"
}

# A user that does not exist: a clear error before anything is installed.
case_drop_user_unknown() {
  config "$LAB_TMP/c.yaml" true
  local rc=0
  ip netns exec "$LAB_R" "$IMGUARD" run --config "$LAB_TMP/c.yaml" --control "$LAB_TMP/x.sock" \
    --user imguard-no-such-user 2>"$LAB_TMP/err" || rc=$?
  cat "$LAB_TMP/err"
  [ "$rc" -eq 1 ] || fail "exit status $rc, expected 1"
  grep -q "no such user" "$LAB_TMP/err" || fail "no clear error"
  if ip netns exec "$LAB_R" nft list ruleset | grep -qi imguard; then fail "rules installed"; fi
  LOG="$LAB_TMP/err"
}

# udp_many COUNT : COUNT datagrams from the client, each a distinct flow (60,000
# destination ports per source socket, as many sockets as needed)
udp_many() {
  ip netns exec "$LAB_C" "$PY" - "$LAB_SERVER" "$1" <<'EOF'
import socket, sys
host, count = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(count):
    if i % 60000 == 0:
        socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    socks[-1].sendto(b"imguard-lab-many", (host, 1024 + i % 60000))
EOF
}

# The router's conntrack table full: this namespace's count reaches the (global, here
# read-only) net.netfilter.nf_conntrack_max, so no sysctl is changed. The kernel evicts
# unreplied entries (early_drop) or drops; the daemon counts it, logs it once and keeps
# deciding; mark/label updates for evicted connections are counted, never fatal.
case_conntrack_full() {
  local max
  max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
  if [ "$max" -gt 300000 ]; then
    echo "SKIP: e2e/conntrack-full: nf_conntrack_max is $max; filling it would take too long" >&2
    exit 77
  fi
  start_server
  config "$LAB_TMP/c.yaml" true "metrics: {textfile: $LAB_TMP/m.prom}"
  start "$LAB_TMP/c.yaml"
  udp_many $((max + 20000))
  local count
  count=$(ip netns exec "$LAB_R" cat /proc/sys/net/netfilter/nf_conntrack_count)
  echo "router conntrack entries: $count of $max"
  [ "$count" -ge $((max - 100)) ] || fail "the table did not fill ($count of $max)"
  status_ge conntrack_early_drop 1 || status_ge conntrack_drop 1 || true
  local early drop
  early=$(status_of conntrack_early_drop)
  drop=$(status_of conntrack_drop)
  echo "status: conntrack_early_drop=$early conntrack_drop=$drop insert_failed=$(status_of conntrack_insert_failed)"
  [ $((early + drop)) -gt 0 ] || fail "a full conntrack table was not counted"
  kill -0 "$IMGUARD_PID" 2>/dev/null || fail "imguard died with the table full"
  expect pass http
  expect blocked bittorrent
  udp_many 5000  # a second burst within the minute: counted, not logged again
  sleep 6
  grep '^imguard_conntrack_drops_total' "$LAB_TMP/m.prom" || fail "no imguard_conntrack_drops_total"
  local lines
  lines=$(grep -c "conntrack table full" "$LOG" || true)
  echo "log lines: $lines"
  [ "$lines" -eq 1 ] || fail "expected 1 'conntrack table full' line, got $lines"
  stop
  echo "$STATS"
  [ -n "$STATS" ] || fail "no clean stop"
}

# The live daemon against many distinct flows: 200,000 UDP flows through a 65,536-flow
# table. Peak RSS (VmHWM) grows by at most capacity x 4 KiB (the per-flow bound the
# offline check robustness/flood uses) over the RSS after start-up.
case_many_flows() {
  local cap=65536 n=${MANY_FLOWS:-200000} per_flow=4096
  start_server
  MAXLEN=65536 config "$LAB_TMP/c.yaml" true \
    "flows: {capacity: $cap, reassembly_bytes: 1048576}"
  start "$LAB_TMP/c.yaml"
  local base
  base=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$IMGUARD_PID/status")
  udp_many "$n"
  sleep 3
  local seen peak
  seen=$(status_of packets)
  peak=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$IMGUARD_PID/status")
  local growth=$((peak - base)) bound=$((cap * per_flow / 1024))
  echo "flows sent $n, packets decided by imguard $seen, capacity $cap"
  echo "RSS after start ${base} kB, peak ${peak} kB: +${growth} kB;" \
    "bound capacity x $per_flow B = ${bound} kB; $((growth * 1024 / cap)) B per table slot"
  # Fail-open lets a part of the burst pass the queue; enough must reach the table to
  # overflow it twice.
  [ "${seen:-0}" -ge $((2 * cap)) ] || fail "only $seen of $n flows reached imguard"
  [ "$growth" -le "$bound" ] || fail "peak RSS grew ${growth} kB > ${bound} kB"
  expect pass http
  stop
  echo "$STATS"
}

lab_main imguard.log
