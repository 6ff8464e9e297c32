#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Live benchmarks of imguard on the namespace router (tests/e2e/lab.sh), each against its
# baseline measured in the same run, printing the ratios:
#
#   1. bulk TCP (iperf3, 1 stream): router with conntrack and no imguard rules vs imguard
#      allow-all vs imguard drop-P2P (connections are decided, marked and leave the queue);
#   2. small UDP packets/s with every packet queued: imguard vs a bare accept-all NFQUEUE
#      loop (bench/nfq_accept_loop), both on one queue, fail-closed (a full queue drops,
#      so only answered packets are counted), load from bench/udp_flood;
#   3. new-connection latency (connect → first reply byte) p50/p99 without and with imguard.
#
#   bench/run.sh [BUILD_DIR]     (root; BUILD_DIR defaults to ./build, built if missing)
# Environment: BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=$(realpath -m "${1:-build}")
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-300}
if [ ! -x "$BUILD/engine/imguard" ] || [ ! -x "$BUILD/bench/udp_flood" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target imguard nfq_accept_loop udp_flood >/dev/null
fi
IMGUARD="$BUILD/engine/imguard"
LOOP="$BUILD/bench/nfq_accept_loop"
FLOOD="$BUILD/bench/udp_flood"
# shellcheck source=tests/e2e/lab.sh
. "$ROOT/tests/e2e/lab.sh"
lab_require_root "bench/run.sh"
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing (scripts/install-deps.sh)" >&2; exit 1; }
lab_up

rns() { ip netns exec "$LAB_R" "$@"; }
lab_bg "$LAB_S" iperf3 -s -p 5201 >/dev/null 2>&1
lab_bg "$LAB_S" "$PY" "$ROOT/tests/e2e/traffic.py" serve 8080
lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH | grep -q ':5201'"
lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH | grep -q ':8080'"

# shellcheck source=bench/lab_bench.sh
. "$ROOT/bench/lab_bench.sh"
bench_conntrack_baseline

config() {  # config FILE P2P_ACTION QUEUE_COUNT FAIL_OPEN
  cat >"$1" <<EOF
version: 1
engine:
  queue: {first: 0, count: $3, maxlen: 4096, fail_open: $4, bypass: true}
  budget: {tcp_packets: 24, udp_packets: 8}
actions:
  default: allow
  categories: {p2p: $2}
EOF
}
config "$LAB_TMP/allow.yaml" allow 2 true
config "$LAB_TMP/dropp2p.yaml" drop 2 true
config "$LAB_TMP/pps.yaml" allow 1 false

start_imguard() { bench_start_imguard "$1"; }
stop_imguard() { bench_stop_imguard | sed 's/^/    /' | cut -c1-200; }

tcp_gbps() {
  timeout $((SECS + 20)) ip netns exec "$LAB_C" iperf3 -c "$LAB_SERVER" -p 5201 -t "$SECS" -J |
    "$PY" -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
latency() {
  timeout 120 ip netns exec "$LAB_C" "$PY" "$ROOT/bench/conn_latency.py" "$LAB_SERVER" 8080 "$CONNS"
}
ratio() { "$PY" -c "print('%.2f' % ($1/$2 if $2 else 0))"; }

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

ROUNDS=${BENCH_ROUNDS:-5}
echo "== 1. bulk TCP through the router (iperf3, ${SECS}s, 1 stream; $ROUNDS rounds, each paired with its own baseline)"
T1=() T2=() T3=() R2=() R3=()
for ((round = 1; round <= ROUNDS; round++)); do
  T1+=("$(tcp_gbps)")
  start_imguard "$LAB_TMP/allow.yaml"
  T2+=("$(tcp_gbps)")
  stop_imguard >/dev/null
  start_imguard "$LAB_TMP/dropp2p.yaml"
  T3+=("$(tcp_gbps)")
  stop_imguard >/dev/null
  R2+=("$(ratio "${T2[-1]}" "${T1[-1]}")")
  R3+=("$(ratio "${T3[-1]}" "${T1[-1]}")")
  echo "  round $round: conntrack ${T1[-1]}, allow-all ${T2[-1]} (${R2[-1]}x), drop-P2P ${T3[-1]} (${R3[-1]}x) Gbit/s"
done
T_CT=$(median "${T1[@]}")
T_ALLOW=$(median "${T2[@]}")
T_DROP=$(median "${T3[@]}")
echo "  conntrack, no imguard:      $T_CT Gbit/s"
echo "  imguard allow-all:          $T_ALLOW Gbit/s"
echo "  imguard drop-P2P:           $T_DROP Gbit/s"

echo "== 2. small UDP (64-byte payload, one flow), every packet queued, one queue, ${SECS}s"
# Delivered packets are counted after the queue (forward hook, late priority); the
# server drops them silently (no ICMP back through the router).
ip netns exec "$LAB_S" nft -f - <<'EOF2'
table inet bench_sink {
  chain input { type filter hook input priority 0; udp dport 9 drop; }
}
EOF2
rns nft -f - <<'EOF2'
table inet bench_count {
  chain forward { type filter hook forward priority 100; udp dport 9 counter; }
}
EOF2
delivered() { rns nft list table inet bench_count | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
udp_kpps() {
  local before after
  before=$(delivered)
  timeout $((SECS + 10)) ip netns exec "$LAB_C" "$FLOOD" "$LAB_SERVER" 9 "$SECS" >/dev/null
  after=$(delivered)
  "$PY" -c "print('%.0f' % (($after - $before) / $SECS / 1e3))"
}
U_RAW=$(udp_kpps)
echo "  no queue (sender ceiling):  $U_RAW kpps"
bare() {  # bare ARGS... : the accept-all loop on queue 5, every UDP packet queued
  lab_bg "$LAB_R" "$LOOP" 5 "$@" >/dev/null 2>&1
  local pid=$LAB_LAST_PID
  sleep 0.5
  rns iptables -t mangle -I FORWARD -p udp -j NFQUEUE --queue-num 5
  udp_kpps
  rns iptables -t mangle -D FORWARD -p udp -j NFQUEUE --queue-num 5
  lab_stop "$pid" >/dev/null
}
U_BARE=$(bare)
echo "  bare accept-all loop:       $U_BARE kpps"
U_BARE_B=$(bare --batch 32)
echo "  bare loop, batch verdicts:  $U_BARE_B kpps"
# imguard: clear imguard's ct-mark window on every UDP packet before the queue rule, so a
# decided flow is queued again: every packet crosses userspace (the in-flight path).
rns nft -f - <<'EOF2'
table inet bench_requeue {
  chain forward { type filter hook forward priority -160; policy accept;
    meta l4proto udp ct mark set ct mark and 0xff00ffff
  }
}
EOF2
start_imguard "$LAB_TMP/pps.yaml"
U_IMG=$(udp_kpps)
stop_imguard
rns nft delete table inet bench_requeue
echo "  imguard (all queued):       $U_IMG kpps"

echo "== 3. new-connection latency, $CONNS connections (connect → first reply byte)"
L_CT=$(latency)
echo "  conntrack, no imguard:      $L_CT"
start_imguard "$LAB_TMP/allow.yaml"
L_IMG=$(latency)
echo "  imguard allow-all:          $L_IMG"
stop_imguard

p50() { sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$1"; }
p99() { sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$1"; }
echo
echo "== ratios"
echo "  bulk TCP imguard allow-all / conntrack:   $(median "${R2[@]}")  (median of paired rounds; target >= 0.95)"
echo "  bulk TCP imguard drop-P2P / conntrack:    $(median "${R3[@]}")  (median of paired rounds; target >= 0.95)"
echo "  all-queued pps imguard / bare loop:       $(ratio "$U_IMG" "$U_BARE")  (target >= 0.70)"
echo "  all-queued pps imguard / bare batched:    $(ratio "$U_IMG" "$U_BARE_B")"
echo "  new-connection latency added:             p50 +$(($(p50 "$L_IMG") - $(p50 "$L_CT"))) us," \
  "p99 +$(($(p99 "$L_IMG") - $(p99 "$L_CT"))) us"
