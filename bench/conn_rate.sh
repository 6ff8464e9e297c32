#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The cost of a new connection: short TCP connections (connect, 32 bytes each way, close;
# bench/conn_rate, CONN_THREADS client threads) through the namespace router
# (tests/e2e/lab.sh), in one run:
#
#   conntrack only (no imguard; the baseline, a stateful firewall)
#   imguard allow-all, 1 and 2 queues
#   imguard realistic policy (P2P dropped, IM allowed, default allow), 1 and 2 queues
#   the floor: imguard's own ruleset answered by bench/nfq_accept_loop (every connection
#     decided "allow" on its first queued packet, no engine at all): what the kernel's
#     queue round trip costs by itself, the bound any NFQUEUE engine works under
#
# Each candidate run is paired with a baseline run just before it (the machine is shared:
# other builds come and go), and the paired ratio is reported as median and best over
# CONN_ROUNDS rounds, next to the raw connections/s. Then the time from connect() to the
# first reply byte, connections one after another without load (bench/conn_rate latency),
# baseline vs each candidate: p50/p99 and the added p50/p99.
#
#   bench/conn_rate.sh [BUILD_DIR]   (root; BUILD_DIR defaults to ./build, built if missing)
# Environment: CONN_SECONDS (5), CONN_ROUNDS (3), CONN_THREADS (4), CONN_LATENCY (1000),
#   CONN_VARIANTS (default "floor:1 allow:1 allow:2 real:1 real:2"; KIND:QUEUES[:NICE], where NICE
#   overrides the daemon's nice value, by default the one the shipped systemd unit sets,
#   e.g. "allow:1 allow:1:0" compares it with an unprioritised daemon), CONN_IMGUARD
#   (another imguard binary, e.g. an older build to compare), CONN_PROFILE=DIR (perf record
#   -e cpu-clock -g of the daemon during each variant's last rate run, a report per variant).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=$(realpath -m "${1:-build}")
SECS=${CONN_SECONDS:-5}
ROUNDS=${CONN_ROUNDS:-3}
THREADS=${CONN_THREADS:-4}
LAT_COUNT=${CONN_LATENCY:-1000}
VARIANTS=${CONN_VARIANTS:-"floor:1 allow:1 allow:2 real:1 real:2"}
if [ ! -x "$BUILD/engine/imguard" ] || [ ! -x "$BUILD/bench/conn_rate" ] ||
  [ ! -x "$BUILD/bench/nfq_accept_loop" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target imguard conn_rate nfq_accept_loop >/dev/null
fi
FLOOR_LOOP="$BUILD/bench/nfq_accept_loop"
IMGUARD=${CONN_IMGUARD:-$BUILD/engine/imguard}
PROFILE=${CONN_PROFILE:-}
CONN="$BUILD/bench/conn_rate"
# shellcheck source=tests/e2e/lab.sh
. "$ROOT/tests/e2e/lab.sh"
lab_require_root "bench/conn_rate.sh"
lab_up

# The client reuses its ports quickly (the server closes first, so no TIME_WAIT here).
ip netns exec "$LAB_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
lab_bg "$LAB_S" "$CONN" serve 8081 8
lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH | grep -q ':8081'"

# shellcheck source=bench/lab_bench.sh
. "$ROOT/bench/lab_bench.sh"
bench_conntrack_baseline

config() {  # config FILE KIND QUEUES
  local p2p=allow im=allow
  [ "$2" = real ] && p2p=drop
  cat >"$1" <<EOF
version: 1
engine:
  queue: {first: 0, count: $3, maxlen: 4096, fail_open: false, bypass: true}
  budget: {tcp_packets: 24, udp_packets: 8}
actions:
  default: allow
  categories: {p2p: $p2p, im: $im}
EOF
}

# start_imguard CONFIG NICE / stop_imguard: imguard, or the floor for KIND floor.
start_imguard() {
  if [ "$kind" = floor ]; then bench_start_floor "$1" "$2"; else bench_start_imguard "$1" "$2"; fi
}
# variant KIND:QUEUES[:NICE] -> kind, queues, nice, tag (file names)
split_variant() {
  IFS=: read -r kind queues nice <<<"$1"
  nice=${nice:-$BENCH_NICE}
  tag="$kind$queues${nice:+n$nice}"
  if [ "$kind" = floor ] && [ "$queues" != 1 ]; then
    echo "bench/conn_rate.sh: the floor runs one accept loop: use floor:1, not $1" >&2
    exit 2
  fi
}
stop_imguard() { if [ "$kind" = floor ]; then bench_stop_floor; else bench_stop_imguard; fi; }

field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
rate() { ip netns exec "$LAB_C" timeout $((SECS + 30)) "$CONN" client "$LAB_SERVER" 8081 "$SECS" "$THREADS"; }
latency() { ip netns exec "$LAB_C" timeout 120 "$CONN" latency "$LAB_SERVER" 8081 "$LAT_COUNT"; }
ratio() { "$PY" -c "print('%.2f' % ($1/$2 if $2 else 0))"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }

echo "== new connections/s: $THREADS client threads, ${SECS}s per run, $ROUNDS rounds, each candidate paired with a baseline run just before it"
echo "   (2 shared cores: client, server, router and imguard all run on them; other engineers' builds load them too)"
declare -A RATIOS BASE CAND STATS_LINE
for ((round = 1; round <= ROUNDS; round++)); do
  for v in $VARIANTS; do
    split_variant "$v"
    config "$LAB_TMP/$tag.yaml" "$kind" "$queues"
    b=$(rate)
    start_imguard "$LAB_TMP/$tag.yaml" "$nice"
    perf_pid=""
    if [ -n "$PROFILE" ] && [ "$round" -eq "$ROUNDS" ]; then
      mkdir -p "$PROFILE"
      perf record -q -e cpu-clock -g -p "$IMGUARD_PID" -o "$PROFILE/$tag.data" -- sleep "$SECS" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    c=$(rate)
    [ -n "$perf_pid" ] && wait "$perf_pid" || true
    # Packets each queue took in this run (a queue's id sequence starts at bind): one
    # client/server pair, so an even split shows the per-connection steering.
    split=$(lab_queue_ids | sort -n | awk '{printf "%sq%s=%s", (NR > 1 ? " " : ""), $1, $2}')
    s=$(stop_imguard)
    br=$(field per_s "$b") cr=$(field per_s "$c")
    r=$(ratio "$cr" "$br")
    RATIOS[$v]="${RATIOS[$v]:-} $r"
    BASE[$v]="${BASE[$v]:-} $br"
    CAND[$v]="${CAND[$v]:-} $cr"
    STATS_LINE[$v]=$s
    printf '  round %d %-10s conntrack %6.0f/s  imguard %6.0f/s  ratio %s  (failed %s/%s)  queued: %s\n' \
      "$round" "$v" "$br" "$cr" "$r" "$(field failed "$b")" "$(field failed "$c")" "$split"
  done
done

echo "== time to first byte, $LAT_COUNT connections one after another (no load)"
declare -A LAT LAT_B
LAT_BASE=$(latency)
echo "  conntrack only:       $LAT_BASE"
for v in $VARIANTS; do
  split_variant "$v"
  start_imguard "$LAB_TMP/$tag.yaml" "$nice"
  LAT[$v]=$(latency)
  stop_imguard >/dev/null
  b2=$(latency)  # a baseline right after, so load changes show
  printf '  %-8s imguard: %s   (conntrack again: %s)\n' "$v" "${LAT[$v]}" "$b2"
  LAT_B[$v]=$b2
done

name() {
  split_variant "$1"
  local what="allow-all"
  [ "$kind" = real ] && what="P2P drop/IM allow"
  [ "$kind" = floor ] && what="floor (accept loop, same rules)"
  echo "$what, $queues queue(s), nice ${nice:-0}"
}
echo
echo "== summary (ratios against conntrack-only in the same invocation; goal >= 0.80, added p50 <= 100 us)"
printf '  %-40s %10s %10s %8s %8s %14s %14s\n' "imguard" "ct conn/s" "ig conn/s" "median" "best" "added p50 us" "added p99 us"
for v in $VARIANTS; do
  # shellcheck disable=SC2086
  med=$(median ${RATIOS[$v]})
  # shellcheck disable=SC2086
  bst=$(best ${RATIOS[$v]})
  # shellcheck disable=SC2086
  bmed=$(median ${BASE[$v]})
  # shellcheck disable=SC2086
  cmed=$(median ${CAND[$v]})
  lb50=$(( ($(field p50_us "$LAT_BASE") + $(field p50_us "${LAT_B[$v]}")) / 2 ))
  lb99=$(( ($(field p99_us "$LAT_BASE") + $(field p99_us "${LAT_B[$v]}")) / 2 ))
  printf '  %-40s %10.0f %10.0f %8s %8s %14d %14d\n' "$(name "$v")" "$bmed" "$cmed" "$med" "$bst" \
    $(($(field p50_us "${LAT[$v]}") - lb50)) $(($(field p99_us "${LAT[$v]}") - lb99))
done
echo
echo "== imguard stats of each variant's last run"
for v in $VARIANTS; do
  s=${STATS_LINE[$v]}
  split_variant "$v"
  if [ "$kind" = floor ]; then
    echo "  $(name "$v"): packets=$(field packets "$s") (the loop's whole output)"
    continue
  fi
  echo "  $(name "$v"): packets=$(field packets "$s") connections=$(field connections "$s") decided_flows=$(field decided_flows "$s") decided_at_end=$(field decided_at_end "$s") queued_per_conn_p50=$(field queued_per_conn_p50 "$s") queued_per_conn_max=$(field queued_per_conn_max "$s") kernel_queue_dropped=$(field kernel_queue_dropped "$s")"
done

if [ -n "$PROFILE" ]; then
  echo
  echo "== where the daemon's time goes (perf cpu-clock of each variant's last rate run; bench/perf_summary.py)"
  for v in $VARIANTS; do
    split_variant "$v"
    f="$PROFILE/$tag.data"
    [ -f "$f" ] || continue
    echo "  $(name "$v"):"
    # The floor decides every connection on its one queued packet: packets = connections.
    n=$(field connections "${STATS_LINE[$v]}")
    "$PY" "$ROOT/bench/perf_summary.py" "$f" "${n:-$(field packets "${STATS_LINE[$v]}")}" | sed 's/^/  /'
  done
fi
