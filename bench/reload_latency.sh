#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Reload latency with many open connections: the time from `imguard reload` (or SIGHUP)
# until the last open connection whose decision changed carries its new ct mark.
#
#   sudo bench/reload_latency.sh [BUILD_DIR] [CONNECTIONS]     (default build, 10000)
#
# The namespace lab (tests/e2e/lab.sh) routes CONNECTIONS UDP DNS queries from the client
# through imguard on the router (each one a connection decided `allow` on its first
# packet, with its label record written), then the policy is reloaded so that DNS is
# dropped for the client's user: every one of those connections must be re-marked. The
# same is repeated with SIGHUP. Prints the reload command's wall time, the daemon's own
# re-decision figures, and checks with `conntrack -L` that every connection is re-marked.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:-$HERE/../build}")
COUNT=${2:-10000}
IMGUARD=$BUILD/engine/imguard
# shellcheck source=tests/e2e/lab.sh
. "$HERE/../tests/e2e/lab.sh"
lab_require_root "bench/reload_latency"
command -v conntrack >/dev/null || { echo "SKIP: needs conntrack (apt-get install conntrack)" >&2; exit 77; }
lab_up
ip netns exec "$LAB_R" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 \
  net.netfilter.nf_conntrack_udp_timeout_stream=600
SOCK=$LAB_TMP/imguard.sock
# A DNS server, so each query is answered and decided on its first exchange.
lab_bg "$LAB_S" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
  --pid-file="$LAB_TMP/dnsmasq.pid" --port=53 --listen-address="$LAB_SERVER" \
  --bind-interfaces --address=/lab.test/10.199.2.2 --log-facility=/dev/null --dns-forward-max=10000
lab_wait_for 5 sh -c "ip netns exec $LAB_S ss -lunH 'sport = :53' | grep -q ."
policy() {  # policy ACTION_FOR_DNS
  cat <<YAML
version: 1
engine: {queue: {first: 0, count: 2, maxlen: 16384}}
networks: {local: [10.199.1.0/24]}
users:
  client: {addresses: [10.199.1.2]}
rules:
  - name: client-dns
    who: [client]
    app: dns
    action: $1
actions: {default: allow}
YAML
}
policy allow >"$LAB_TMP/p.yaml"
lab_bg "$LAB_R" "$IMGUARD" run --config "$LAB_TMP/p.yaml" --control "$SOCK" 2>"$LAB_TMP/imguard.log"
PID=$LAB_LAST_PID
lab_wait_for 10 grep -q "worker(s) running" "$LAB_TMP/imguard.log" || { cat "$LAB_TMP/imguard.log"; exit 1; }

echo "sending $COUNT DNS queries (one connection each) through imguard..."
ip netns exec "$LAB_C" "$PY" - "$LAB_SERVER" "$COUNT" <<'PYEOF'
import select, socket, struct, sys, time
host, count = sys.argv[1], int(sys.argv[2])
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x01a\x03lab\x04test\x00" + struct.pack(">HH", 1, 1)
answered = 0
for start in range(0, count, 200):
    socks = []
    for j in range(min(200, count - start)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", 20000 + start + j))  # one source port each: COUNT distinct connections
        s.setblocking(False)
        s.sendto(query, (host, 53))
        socks.append(s)
    # Each connection is decided when its answer crosses imguard; resend to the silent
    # ones (same socket, same connection) a few times.
    for attempt in range(5):
        deadline = time.time() + 0.5
        waiting = list(socks)
        while waiting and time.time() < deadline:
            ready, _, _ = select.select(waiting, [], [], 0.05)
            for s in ready:
                try:
                    s.recv(512)
                    answered += 1
                except OSError:
                    pass
                waiting.remove(s)
                socks.remove(s)
        for s in socks:
            s.sendto(query, (host, 53))
    for s in socks:
        s.close()
print(f"{answered} of {count} queries answered")
PYEOF
marked() {  # marked VALUE: connections to port 53 whose ct mark window equals VALUE
  ip netns exec "$LAB_R" conntrack -L -p udp --dport 53 -o extended 2>/dev/null |
    "$PY" -c '
import re, sys
want = int(sys.argv[1])
print(sum(1 for l in sys.stdin for m in re.findall(r"mark=(\d+)", l) if int(m) & 0xff0000 == want))' "$1"
}
ALLOW=$((0x010000)); DROP=$((0x030000))
lab_wait_for 20 sh -c "[ \$(ip netns exec $LAB_R conntrack -C) -ge $COUNT ]" || true
for _ in $(seq 1 50); do
  "$IMGUARD" status --control "$SOCK" | grep -qE "records_written=([0-9]+)" && \
    [ "$("$IMGUARD" status --control "$SOCK" | sed -n 's/.*records_written=\([0-9]*\).*/\1/p')" -ge "$COUNT" ] && break
  sleep 0.2
done
DECIDED=$(marked $ALLOW)
echo "decided allow: $DECIDED open connections; $("$IMGUARD" status --control "$SOCK" | grep -o 'records_written=[0-9]*')"

measure() {  # measure HOW ACTION VALUE
  policy "$2" >"$LAB_TMP/p.yaml"
  local t0 t1
  t0=$(date +%s%N)
  if [ "$1" = reload ]; then
    "$IMGUARD" reload --control "$SOCK" >/dev/null
  else
    local before
    before=$(grep -c "re-decided open connections (reload)" "$LAB_TMP/imguard.log" || true)
    kill -HUP "$PID"
    lab_wait_for 30 sh -c "[ \$(grep -c 're-decided open connections (reload)' $LAB_TMP/imguard.log) -gt $before ]"
  fi
  t1=$(date +%s%N)
  local now
  now=$(marked "$3")
  printf '%-7s -> %-5s  wall %6.1f ms   re-marked %s/%s   daemon: %s\n' "$1" "$2" \
    "$(echo "($t1 - $t0) / 1000000" | bc -l)" "$now" "$DECIDED" \
    "$(grep 're-decided open connections (reload)' "$LAB_TMP/imguard.log" | tail -1 | sed 's/.*: //')"
}
measure reload drop $DROP
measure reload allow $ALLOW
measure sighup drop $DROP
measure sighup allow $ALLOW
lab_stop "$PID"
[ -n "${KEEP_LOG:-}" ] && cp "$LAB_TMP/imguard.log" "$KEEP_LOG"
