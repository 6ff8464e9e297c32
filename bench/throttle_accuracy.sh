#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# How accurately do the two kernel throttle mechanisms hold TCP to a target rate?
#
#   A. policing: nftables dynamic set keyed on `ct direction . ct mark & 0x00ff0000`,
#      `update @b { ... limit rate over R bytes/second burst B bytes } drop` (B = R and R/4);
#   B. shaping:  HTB on both router egress veths, class 1:10 rate R ceil R, selected by
#      nft `meta priority set 1:10` (no cls_fw), default class 1:20 unlimited.
#
# Both act only on connections whose ct mark was set on their first packet by the same
# rule the product uses (`ct mark set 0x00010000` for tcp dport 5201, forward chain at
# priority filter - 1, when ct mark is 0). Traffic: iperf3 through a router namespace,
# download (server -> client, iperf3 -R) and upload, 1 and 4 TCP flows, 1 and 8 Mbit/s,
# plus an unthrottled baseline and an unmarked-under-HTB check. Rate = iperf3 receiver
# side (end.sum_received.bits_per_second), retransmits = sender side
# (end.sum_sent.retransmits). Prints one table and a recommendation computed from it.
#
#   bench/throttle_accuracy.sh          (root; exits 77 otherwise)
# Environment: THROTTLE_SECONDS (per run, default 8), THROTTLE_CC (congestion control of
# the sending socket, set per socket with iperf3 -C; default cubic, the usual endpoint
# default; a netns may not switch its default to a non-"allowed" algorithm), THROTTLE_OFFLOAD=1 keeps veth TSO/GSO/GRO on (default
# off: the router then sees wire-sized packets, not 64 KiB GSO aggregates).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (network namespaces, nftables, tc)" >&2
  exit 77
fi

PY=/usr/bin/python3
DUR=${THROTTLE_SECONDS:-8}
CC=${THROTTLE_CC:-cubic}
OFFLOAD=${THROTTLE_OFFLOAD:-0}
TOL=0.15                       # accepted |measured/target - 1|
RATES_MBIT=(1 8)
MARK=0x00010000

for tool in ip nft tc timeout "$PY"; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool" >&2; exit 77; }
done
if ! command -v iperf3 >/dev/null; then
  echo "iperf3 missing, installing it" >&2
  apt-get install -y iperf3 >/dev/null || { echo "SKIP: iperf3 not installable" >&2; exit 77; }
fi

ID="tacc$$"
NC="${ID}-c" NR="${ID}-r" NS="${ID}-s"
CLIENT=10.197.1.2 SERVER=10.197.2.2
PIDS=()
TMP=$(mktemp -d /tmp/throttle_accuracy.XXXXXX)
RESULTS="$TMP/results.tsv"
NOTES="$TMP/notes.txt"
: >"$RESULTS"
: >"$NOTES"

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  done
  ip netns del "$NC" 2>/dev/null || true
  ip netns del "$NR" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "$*" | tee -a "$NOTES" >&2; }
rns() { ip netns exec "$NR" "$@"; }

wait_for() {  # wait_for SECONDS CMD... : poll every 0.1 s, fail after SECONDS
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "timeout waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

# ---------------------------------------------------------------- lab
ip netns add "$NC"
ip netns add "$NR"
ip netns add "$NS"
ip link add c0 netns "$NC" type veth peer name rc netns "$NR"
ip link add s0 netns "$NS" type veth peer name rs netns "$NR"
ip -n "$NC" addr add "$CLIENT/24" dev c0
ip -n "$NR" addr add 10.197.1.1/24 dev rc
ip -n "$NR" addr add 10.197.2.1/24 dev rs
ip -n "$NS" addr add "$SERVER/24" dev s0
for ns in "$NC" "$NR" "$NS"; do ip -n "$ns" link set lo up; done
ip -n "$NC" link set c0 up
ip -n "$NS" link set s0 up
ip -n "$NR" link set rc up
ip -n "$NR" link set rs up
ip -n "$NC" route add default via 10.197.1.1
ip -n "$NS" route add default via 10.197.2.1
rns sysctl -qw net.ipv4.ip_forward=1
if [ "$OFFLOAD" != 1 ] && command -v ethtool >/dev/null; then
  for pair in "$NC:c0" "$NR:rc" "$NR:rs" "$NS:s0"; do
    ip netns exec "${pair%%:*}" ethtool -K "${pair#*:}" tso off gso off gro off >/dev/null 2>&1 || true
  done
fi
# Reachability: a connect to a closed port of the server must be refused (RST), not time out.
wait_for 5 ip netns exec "$NC" "$PY" -c "
import socket, sys
s = socket.socket(); s.settimeout(0.5)
try: s.connect(('$SERVER', 9))
except ConnectionRefusedError: sys.exit(0)
except OSError: sys.exit(1)
"

ip netns exec "$NS" iperf3 -s -J -p 5201 >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$NS" iperf3 -s -J -p 5202 >/dev/null 2>&1 &
PIDS+=($!)
wait_for 10 sh -c "ip netns exec $NS ss -ltnH | grep -q ':5201 '"
wait_for 10 sh -c "ip netns exec $NS ss -ltnH | grep -q ':5202 '"

# ---------------------------------------------------------------- ruleset and qdiscs
# nft_ruleset EXTRA_RULE : the product's mark rule plus one mechanism rule (or none).
nft_ruleset() {
  rns nft delete table inet tacc 2>/dev/null || true
  rns nft -f - <<EOF
table inet tacc {
  set b { type ct_dir . mark; flags dynamic,timeout; timeout 60s; size 4096; }
  chain forward {
    type filter hook forward priority filter - 1; policy accept;
    ct mark 0 tcp dport 5201 ct mark set $MARK
    $1
  }
}
EOF
}

police_rule() {  # police_rule RATE_BYTES BURST_BYTES
  echo "ct mark & 0x00ff0000 != 0 update @b { ct direction . ct mark & 0x00ff0000 limit rate over $1 bytes/second burst $2 bytes } drop"
}

LEAF=""          # leaf qdisc kind that the kernel accepted (decided on first use)
htb_up() {  # htb_up RATE_BITS
  local dev rate=$1 plim err kind
  # leaf queue of ~200 ms at the target rate (min 10 packets), a realistic router buffer
  plim=$(( rate / 8 / 5 / 1514 )); [ "$plim" -ge 10 ] || plim=10
  for dev in rc rs; do
    rns tc qdisc del dev "$dev" root 2>/dev/null || true
    rns tc qdisc add dev "$dev" root handle 1: htb default 20
    rns tc class add dev "$dev" parent 1: classid 1:10 htb rate "${rate}bit" ceil "${rate}bit"
    rns tc class add dev "$dev" parent 1: classid 1:20 htb rate 10gbit ceil 10gbit quantum 60000
    if [ -z "$LEAF" ]; then
      for kind in fq_codel sfq pfifo; do
        if err=$(rns tc qdisc add dev "$dev" parent 1:10 handle 10: $kind 2>&1); then
          LEAF=$kind
          rns tc qdisc del dev "$dev" parent 1:10 handle 10:
          break
        fi
        note "kernel refused: tc qdisc add dev $dev parent 1:10 handle 10: $kind -> $err"
      done
      [ -n "$LEAF" ] || { echo "no leaf qdisc accepted" >&2; exit 1; }
      note "HTB leaf qdisc: $LEAF"
    fi
    if [ "$LEAF" = pfifo ]; then
      rns tc qdisc add dev "$dev" parent 1:10 handle 10: pfifo limit "$plim"
    else
      rns tc qdisc add dev "$dev" parent 1:10 handle 10: "$LEAF"
    fi
  done
}
htb_down() {
  rns tc qdisc del dev rc root 2>/dev/null || true
  rns tc qdisc del dev rs root 2>/dev/null || true
}
class_bytes() {  # class_bytes DEV CLASSID -> bytes sent by that HTB class
  rns tc -s class show dev "$1" classid "$2" | awk '/Sent/ {print $2; exit}'
}

# ---------------------------------------------------------------- one measurement
# measure MECH BURST RATE_MBIT FLOWS DIR PORT  (RATE_MBIT "-" = no target)
measure() {
  local mech=$1 burst=$2 rate=$3 flows=$4 dir=$5 port=$6 json rev=()
  json="$TMP/run.json"
  [ "$dir" = down ] && rev=(-R)
  rns nft flush set inet tacc b 2>/dev/null || true   # fresh buckets for each run
  if ! timeout $((DUR + 30)) ip netns exec "$NC" iperf3 -c "$SERVER" -p "$port" -t "$DUR" \
      -P "$flows" "${rev[@]}" -C "$CC" -J --get-server-output --connect-timeout 3000 >"$json" 2>"$TMP/run.err"; then
    note "iperf3 failed for $mech $burst $rate $flows $dir: $(head -c 300 "$TMP/run.err")"
  fi
  "$PY" - "$json" "$mech" "$burst" "$rate" "$flows" "$dir" >>"$RESULTS" <<'EOF'
import json, sys
path, mech, burst, rate, flows, direction = sys.argv[1:]
steady = float("nan")
try:
    d = json.load(open(path))
    bps = d["end"]["sum_received"]["bits_per_second"]
    rtx = d["end"]["sum_sent"].get("retransmits", "")
    err = d.get("error", "")
    # Receiver-side intervals: the client's own for a download (-R), the server's
    # (--get-server-output) for an upload. "steady" = rate after the first 2 s.
    ivs = d["intervals"] if direction == "down" else d.get("server_output_json", {}).get("intervals", [])
    late = [iv["sum"] for iv in ivs if iv["sum"]["start"] >= 2.0 - 1e-3 and not iv["sum"].get("omitted")]
    span = sum(s["seconds"] for s in late)
    if span > 0:
        steady = sum(s["bytes"] for s in late) * 8 / span
except Exception as e:  # noqa: BLE001 - record the failure as a row
    bps, rtx, err = float("nan"), "", repr(e)
print("\t".join([mech, burst, rate, flows, direction, repr(float(bps)), str(rtx), repr(steady), err]))
EOF
  tail -n1 "$RESULTS" | awk -F'\t' '{printf "  %-12s %-4s %2s Mbit/s P%s %-4s -> %9.3f Mbit/s (steady %9.3f) rtx %s %s\n", $1, $2, $3, $4, $5, $6/1e6, $8/1e6, $7, $9}' >&2
}

matrix() {  # matrix MECH BURST RATE_MBIT
  local flows dir
  for flows in 1 4; do
    for dir in down up; do
      measure "$1" "$2" "$3" "$flows" "$dir" 5201
    done
  done
}

START=$SECONDS
echo "lab $ID: $DUR s per run, congestion control $CC, offloads $([ "$OFFLOAD" = 1 ] && echo on || echo off)" >&2

# Baseline: the mark rule only, no throttle.
nft_ruleset ""
matrix baseline - -

# A. policing, burst = R (1 s) and burst = R/4.
for r in "${RATES_MBIT[@]}"; do
  bytes=$(( r * 1000000 / 8 ))
  for b in R R/4; do
    if [ "$b" = R ]; then burst=$bytes; else burst=$(( bytes / 4 )); fi
    if ! err=$(nft_ruleset "$(police_rule "$bytes" "$burst")" 2>&1); then
      note "kernel refused the policing ruleset: $err"; exit 1
    fi
    matrix police "$b" "$r"
  done
done

# B. shaping with HTB, class chosen by skb->priority.
nft_ruleset "ct mark & 0x00ff0000 == $MARK meta priority set 1:10" || {
  note "kernel refused meta priority set"; exit 1; }
for r in "${RATES_MBIT[@]}"; do
  htb_up $(( r * 1000000 ))
  before=$(class_bytes rc 1:10)
  matrix htb - "$r"
  after=$(class_bytes rc 1:10)
  [ "$after" -gt "$before" ] || note "WARNING: HTB class 1:10 on rc saw no bytes at $r Mbit/s"
  if [ "$r" = "${RATES_MBIT[0]}" ]; then
    # Unmarked traffic (port 5202, never marked) under the same HTB must not be shaped.
    before=$(class_bytes rc 1:10)
    measure htb-unmarked - "$r" 1 down 5202
    after=$(class_bytes rc 1:10)
    note "unmarked check: class 1:10 on rc grew by $((after - before)) bytes during the unmarked run"
  fi
done
htb_down

ELAPSED=$((SECONDS - START))

# ---------------------------------------------------------------- report
"$PY" - "$RESULTS" "$TOL" "$ELAPSED" "$NOTES" <<'EOF'
import math, sys
path, tol, elapsed, notes = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = []
for line in open(path):
    mech, burst, rate, flows, direction, bps, rtx, steady, err = (line.rstrip("\n").split("\t") + [""])[:9]
    rows.append(dict(mech=mech, burst=burst, rate=rate, flows=int(flows), dir=direction,
                     bps=float(bps), rtx=rtx, steady=float(steady), err=err))
hdr = (f"{'mechanism':<13}{'burst':<6}{'flows':>5} {'dir':<5}{'target':>8}{'measured':>10}{'ratio':>8}"
       f"{'retrans':>9}{'steady':>9}")
print()
print("Mbit/s = 10^6 bit/s; measured = iperf3 receiver end.sum_received over the whole run; ratio = measured/target;")
print("retrans = sender end.sum_sent.retransmits; steady = receiver rate after the first 2 s, as a ratio to the target")
print(hdr)
print("-" * len(hdr))
for r in rows:
    tgt = "-" if r["rate"] == "-" else f"{float(r['rate']):.3f}"
    meas = r["bps"] / 1e6
    if r["mech"] == "htb-unmarked":
        ratio = f"{meas / float(r['rate']):.0f}x"   # vs the HTB class rate: should be >> 1
    elif r["rate"] == "-":
        ratio = "-"
    else:
        ratio = f"{meas / float(r['rate']):.3f}"
    st = "-" if r["rate"] == "-" or r["mech"] == "htb-unmarked" or math.isnan(r["steady"]) \
        else f"{r['steady'] / 1e6 / float(r['rate']):.3f}"
    print(f"{r['mech']:<13}{r['burst']:<6}{r['flows']:>5} {r['dir']:<5}{tgt:>8}{meas:>10.3f}{ratio:>8}{r['rtx'] or '-':>9}{st:>9}"
          + (f"  ERROR {r['err']}" if r["err"] else ""))
print()

# Recommendation, computed from the rows above.
base = [r["bps"] / 1e6 for r in rows if r["mech"] == "baseline" and not math.isnan(r["bps"])]
groups = {}
for r in rows:
    if r["mech"] in ("police", "htb"):
        name = "HTB shaping" if r["mech"] == "htb" else f"nft policing (burst {r['burst']})"
        groups.setdefault(name, []).append(r)
summary = []
for name, rs in groups.items():
    devs = [abs(r["bps"] / 1e6 / float(r["rate"]) - 1) if not math.isnan(r["bps"]) else math.inf for r in rs]
    rtx = sum(int(r["rtx"]) for r in rs if r["rtx"].lstrip("-").isdigit())
    lo = min(r["bps"] / 1e6 / float(r["rate"]) for r in rs)
    hi = max(r["bps"] / 1e6 / float(r["rate"]) for r in rs)
    st = [r["steady"] / 1e6 / float(r["rate"]) for r in rs if not math.isnan(r["steady"])]
    summary.append((name, max(devs), sum(d <= tol for d in devs), len(rs), lo, hi, rtx,
                    (min(st), max(st)) if st else None))
summary.sort(key=lambda s: (s[2] != s[3], s[1], s[6]))
unm = [r for r in rows if r["mech"] == "htb-unmarked"]
parts = []
if base:
    parts.append(f"The unthrottled baseline reached {min(base):.0f}-{max(base):.0f} Mbit/s, "
                 f"so the lab is not the bottleneck at the {'/'.join(sorted({r['rate'] for r in rows if r['rate'] != '-'}))} Mbit/s targets.")
for name, worst, ok, n, lo, hi, rtx, st in summary:
    parts.append(f"{name}: {ok}/{n} runs within ±{tol:.0%} (ratio {lo:.2f}-{hi:.2f}, worst deviation "
                 f"{worst:.0%}, {rtx} retransmits in total"
                 + (f"; after the first 2 s {st[0]:.2f}-{st[1]:.2f}" if st else "") + ").")
passing = [s for s in summary if s[2] == s[3]]
if passing:
    best = passing[0]
    others = ", ".join(s[0] for s in passing[1:])
    parts.append(f"Recommendation: {best[0]} stays within ±{tol:.0%} of the target in every case"
                 + (f" (also passing: {others}; {best[0]} has the smaller worst deviation/retransmits)" if others else "")
                 + "; use it for imguard's throttle action.")
else:
    best = summary[0]
    parts.append(f"Recommendation: no mechanism stays within ±{tol:.0%} in every case; the closest is "
                 f"{best[0]} (worst deviation {best[1]:.0%}).")
if unm:
    u = unm[0]
    parts.append(f"Unmarked traffic under the {u['rate']} Mbit/s HTB class ran at {u['bps'] / 1e6:.0f} Mbit/s "
                 f"({'not shaped' if u['bps'] / 1e6 > 5 * float(u['rate']) else 'SHAPED - check classification'}).")
print("Recommendation")
print(" ".join(parts))
print()
for line in open(notes):
    print("note:", line.rstrip())
print(f"note: measurement time {elapsed} s")
EOF
