# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the live benchmarks (bench/run.sh, bench/conn_rate.sh); sourced after
# tests/e2e/lab.sh and lab_up. Uses IMGUARD (the binary) and LAB_TMP.

# The baseline every run shares: a stateful firewall (conntrack on, established accepted).
bench_conntrack_baseline() {
  ip netns exec "$LAB_R" nft -f - <<'NFT'
table inet bench_ct {
  chain forward { type filter hook forward priority 10; policy accept;
    ct state established,related counter accept
  }
}
NFT
}

# The daemon runs at the priority the shipped unit gives it (systemd/imguard.service, Nice=):
# on shared cores the workers' wake-up latency is what every queued packet pays.
BENCH_NICE=$(sed -n 's/^Nice=\(-\{0,1\}[0-9]*\)$/\1/p' "$ROOT/systemd/imguard.service")

# bench_start_imguard CONFIG [NICE] : imguard on the router (at NICE, default BENCH_NICE),
# its own control socket; waits until its workers run. Sets IMGUARD_PID.
IMGUARD_PID=""
bench_start_imguard() {
  : >"$LAB_TMP/imguard.log"
  lab_bg "$LAB_R" nice -n "${2:-${BENCH_NICE:-0}}" "$IMGUARD" run --config "$1" \
    --control "$LAB_TMP/x.sock" 2>"$LAB_TMP/imguard.log"
  IMGUARD_PID=$LAB_LAST_PID
  lab_wait_for 10 grep -q "worker(s) running" "$LAB_TMP/imguard.log" ||
    { cat "$LAB_TMP/imguard.log" >&2; exit 1; }
}

# bench_stop_imguard : stops it and prints its stats line.
bench_stop_imguard() {
  lab_stop "$IMGUARD_PID"
  grep "imguard: stats" "$LAB_TMP/imguard.log" | tail -1 || true
}

# bench_start_floor CONFIG [NICE] : the cheapest verdict engine in front of imguard's own
# ruleset for CONFIG (`imguard rules`: the same queueing, saving and enforcement rules):
# bench/nfq_accept_loop on the first queue, accepting every packet with the "decided:
# allow" mark, so each connection is decided on its first queued packet with no parsing,
# classification, flow table, conntrack events or label writes. Sets IMGUARD_PID (the
# loop). Needs FLOOR_LOOP (the loop's binary).
bench_start_floor() {
  local rules="$LAB_TMP/floor.rules"
  "$IMGUARD" rules --config "$1" >"$rules"
  # `imguard rules` prints one section per tool, each headed "# ---- TOOL (`CMD`)".
  awk '/^# ---- nft /{f=1; next} /^# ---- /{f=0} f && !/^#/' "$rules" |
    ip netns exec "$LAB_R" nft -f -
  awk '/^# ---- iptables /{f=1; next} /^# ---- /{f=0} f && !/^#/' "$rules" |
    ip netns exec "$LAB_R" iptables-restore --noflush
  awk '/^# ---- ip6tables /{f=1; next} /^# ---- /{f=0} f && !/^#/' "$rules" |
    ip netns exec "$LAB_R" ip6tables-restore --noflush
  local queue allow
  queue=$(sed -n 's/.*first: \([0-9]*\).*/\1/p' "$1")
  allow=$(sed -n 's/.*mark window \(0x[0-9a-f]*\).*/\1/p' "$rules" | head -1)
  # The window's lowest bit: "decided", action allow (policy/marks.h).
  allow=$(printf '0x%x' $((allow & -allow)))
  : >"$LAB_TMP/floor.log"
  lab_bg "$LAB_R" nice -n "${2:-${BENCH_NICE:-0}}" "$FLOOR_LOOP" "${queue:-0}" --mark "$allow" \
    >"$LAB_TMP/floor.out" 2>"$LAB_TMP/floor.log"
  IMGUARD_PID=$LAB_LAST_PID
  lab_wait_for 10 grep -q "bound" "$LAB_TMP/floor.log" ||
    { cat "$LAB_TMP/floor.log" >&2; exit 1; }
}

# bench_stop_floor : stops the loop, removes the ruleset, prints "packets=N".
bench_stop_floor() {
  lab_stop "$IMGUARD_PID"
  ip netns exec "$LAB_R" nft delete table inet imguard 2>/dev/null || true
  local t
  for t in iptables ip6tables; do
    ip netns exec "$LAB_R" "$t" -t mangle -F
    ip netns exec "$LAB_R" "$t" -t mangle -X
  done
  cat "$LAB_TMP/floor.out"
}
