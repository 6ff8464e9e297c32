# SPDX-License-Identifier: GPL-3.0-or-later
# Network-namespace lab shared by the end-to-end tests, the live demo and the benchmark.
# Source it; then call lab_up. Three namespaces joined by two veth pairs:
#
#   client 10.199.1.2/24 fd99:1::2  <->  router 10.199.1.1 / 10.199.2.1 (forwarding)
#                                        fd99:1::1 / fd99:2::1  <->  server 10.199.2.2 fd99:2::2
#
# The client namespace also holds 10.199.1.3, 10.199.1.4 (secondary) and fd99:1::3,
# fd99:1::4 (deprecated, so never picked as a source by themselves): extra devices for
# tests that bind to them (traffic.py --bind); unbound sockets still use .2 / ::2.
#
# Names carry the caller's PID, so parallel runs do not collide; lab_down (installed as
# an EXIT trap by lab_up) kills every process started through lab_bg by PID and deletes
# the namespaces. Only addresses inside these namespaces are used.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ID="igt-$$"
LAB_C="${LAB_ID}-c"
LAB_R="${LAB_ID}-r"
LAB_S="${LAB_ID}-s"
LAB_CLIENT=10.199.1.2
LAB_SERVER=10.199.2.2
LAB_CLIENT6=fd99:1::2
LAB_CLIENT_B=10.199.1.3
LAB_CLIENT_C=10.199.1.4
LAB_CLIENT6_B=fd99:1::3
LAB_CLIENT6_C=fd99:1::4
LAB_SERVER6=fd99:2::2
LAB_PIDS=()
LAB_TMP=""
PY=/usr/bin/python3

lab_require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: $1 needs root (network namespaces, NFQUEUE, firewall rules); run as root" >&2
    exit 77
  fi
  for tool in ip iptables nft "$PY" timeout; do
    if ! command -v "$tool" >/dev/null; then
      echo "SKIP: $1 needs '$tool' (scripts/install-deps.sh installs it)" >&2
      exit 77
    fi
  done
}

lab_down() {
  local pid
  for pid in "${LAB_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${LAB_PIDS[@]}"; do
    timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  done
  LAB_PIDS=()
  ip netns del "$LAB_C" 2>/dev/null || true
  ip netns del "$LAB_R" 2>/dev/null || true
  ip netns del "$LAB_S" 2>/dev/null || true
  [ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
  return 0
}

lab_up() {
  trap lab_down EXIT
  trap 'exit 130' INT TERM
  LAB_TMP=$(mktemp -d /tmp/imguard-lab.XXXXXX)
  ip netns add "$LAB_C"
  ip netns add "$LAB_R"
  ip netns add "$LAB_S"
  ip link add c0 netns "$LAB_C" type veth peer name rc netns "$LAB_R"
  ip link add s0 netns "$LAB_S" type veth peer name rs netns "$LAB_R"
  ip -n "$LAB_C" addr add "$LAB_CLIENT/24" dev c0
  ip -n "$LAB_C" addr add "$LAB_CLIENT6/64" dev c0 nodad
  ip -n "$LAB_C" addr add "$LAB_CLIENT_B/24" dev c0
  ip -n "$LAB_C" addr add "$LAB_CLIENT_C/24" dev c0
  ip -n "$LAB_C" addr add "$LAB_CLIENT6_B/64" dev c0 nodad preferred_lft 0
  ip -n "$LAB_C" addr add "$LAB_CLIENT6_C/64" dev c0 nodad preferred_lft 0
  ip -n "$LAB_S" addr add "$LAB_SERVER/24" dev s0
  ip -n "$LAB_S" addr add "$LAB_SERVER6/64" dev s0 nodad
  ip -n "$LAB_R" addr add 10.199.1.1/24 dev rc
  ip -n "$LAB_R" addr add fd99:1::1/64 dev rc nodad
  ip -n "$LAB_R" addr add 10.199.2.1/24 dev rs
  ip -n "$LAB_R" addr add fd99:2::1/64 dev rs nodad
  local ns
  for ns in "$LAB_C" "$LAB_R" "$LAB_S"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$LAB_C" link set c0 up
  ip -n "$LAB_S" link set s0 up
  ip -n "$LAB_R" link set rc up
  ip -n "$LAB_R" link set rs up
  ip -n "$LAB_C" route add default via 10.199.1.1
  ip -n "$LAB_C" -6 route add default via fd99:1::1
  ip -n "$LAB_S" route add default via 10.199.2.1
  ip -n "$LAB_S" -6 route add default via fd99:2::1
  ip netns exec "$LAB_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  # Conntrack on in the router even before imguard: the baseline a stateful firewall has.
  ip netns exec "$LAB_R" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null || true
}

# lab_bg NS CMD... : runs CMD in namespace NS in the background, remembering its PID.
lab_bg() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@" &
  LAB_PIDS+=("$!")
  LAB_LAST_PID=$!
}

# lab_start_imguard NS LOG WAIT_S CMD... : runs CMD (an `imguard run ...`) in NS like lab_bg,
# its stderr appended to LOG, and waits up to WAIT_S s for its workers. IMGUARD_PID is its
# PID; when it does not start, prints LOG and exits 1.
# shellcheck disable=SC2034  # IMGUARD_PID: read by the case scripts
lab_start_imguard() {
  local ns=$1 log=$2 wait=$3
  shift 3
  lab_bg "$ns" "$@" 2>>"$log"
  IMGUARD_PID=$LAB_LAST_PID
  if ! lab_wait_for "$wait" grep -q "worker(s) running" "$log"; then
    cat "$log" >&2
    echo "FAIL: imguard did not start" >&2
    exit 1
  fi
}

# lab_stop PID : SIGTERM and wait (bounded) for one process started by lab_bg.
lab_stop() {
  kill -TERM "$1" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# lab_wait_for TIMEOUT_S CMD... : retries CMD until it succeeds or the time is up.
lab_wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# Queue counters of the router: "<queue> <packets ever queued (id sequence)>" per line.
lab_queue_ids() {
  ip netns exec "$LAB_R" awk '{print $1, $8}' /proc/net/netfilter/nfnetlink_queue 2>/dev/null
}
lab_queue_total() {
  lab_queue_ids | awk '{s += $2} END {print s + 0}'
}

# Case scripts (e2e.sh, policy_e2e.sh, faults.sh) run as `SCRIPT IMGUARD CASE`, CASE naming
# one of their functions case_* (with dashes for underscores). After sourcing this file
# they call lab_case_args "$@" first and lab_main LOG_GLOB last.

# lab_case_args IMGUARD CASE : sets IMGUARD (absolute path), CASE, TRAFFIC, PORT, FAILS.
# shellcheck disable=SC2034  # read by the case scripts
lab_case_args() {
  IMGUARD=$(realpath "$1")
  CASE=$2
  TRAFFIC="$LAB_DIR/traffic.py"
  PORT=$((20000 + RANDOM % 20000))  # any port: classification must not depend on it
  FAILS=0
}

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}
pass() { echo "ok: $*"; }

# lab_main LOG_GLOB : skips (exit 77) without root, refuses an unknown CASE (exit 2),
# brings the lab up and runs the case. After any fail: prints the imguard logs (LOG_GLOB
# in the lab's directory) and exits 1; else prints the pass line.
lab_main() {
  lab_require_root "e2e/$CASE"
  local fn="case_${CASE//-/_}"
  if ! declare -F "$fn" >/dev/null; then
    echo "$(basename "$0"): unknown case '$CASE'" >&2
    exit 2
  fi
  lab_up
  "$fn"
  if [ "$FAILS" -ne 0 ]; then
    local f
    # shellcheck disable=SC2086  # LOG_GLOB is a pattern
    for f in "$LAB_TMP"/$1; do
      echo "--- $f" >&2
      cat "$f" >&2 || true
    done
    exit 1
  fi
  echo "e2e/$CASE: passed"
}
