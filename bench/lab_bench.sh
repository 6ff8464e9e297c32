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
