#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The live demo: installs dependencies, builds, builds a three-namespace lab (client ↔
# router ↔ server), runs `imguard run` on the router with a built-in demo policy (P2P
# dropped, IM and web allowed), sends real web, DNS, IM and P2P traffic through it on
# random ports, prints what passed and what was blocked, and removes everything again.
# The lab part needs root; when not root it is run through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "${1:-}" != "--lab" ]; then
  scripts/install-deps.sh
  scripts/build.sh
  if [ "$(id -u)" -ne 0 ]; then
    exec sudo "$ROOT/scripts/demo.sh" --lab
  fi
fi

IMGUARD="${IMGUARD_BIN:-$ROOT/build/engine/imguard}"
TRAFFIC="$ROOT/tests/e2e/traffic.py"
# shellcheck source=tests/e2e/lab.sh
. "$ROOT/tests/e2e/lab.sh"
lab_require_root "the live demo"
lab_up

cat >"$LAB_TMP/demo.yaml" <<'EOF'
# imguard demo policy: two users behind the router. Peer-to-peer file sharing is dropped
# for alice and everybody else, the guest's is throttled per device; IM and the rest pass.
version: 1
engine:
  backend: auto
  mode: gateway
  queue: {first: 0, count: 2, fail_open: true, bypass: true}
networks:
  local: [10.199.1.0/24, "fd99:1::/64"]
users:
  alice: {addresses: [10.199.1.2, "fd99:1::2"]}
  guest: {addresses: [10.199.1.3]}
rules:
  - name: guest-p2p-slow
    who: [guest]
    category: p2p
    action: throttle 1Mbit/s per host
  - name: no-p2p
    category: p2p
    action: drop
  - name: im-chat
    category: im
    action: allow
actions:
  default: allow
EOF

port() { echo $((20000 + RANDOM % 30000)); }
P_WEB=$(port)
P_APP=$(port)
mkdir -p "$LAB_TMP/www"
echo "hello from the server namespace" >"$LAB_TMP/www/index.html"
lab_bg "$LAB_S" "$PY" -m http.server --bind :: --directory "$LAB_TMP/www" "$P_WEB" \
  >/dev/null 2>&1
lab_bg "$LAB_S" "$PY" "$TRAFFIC" serve "$P_APP"
lab_bg "$LAB_S" "$PY" "$TRAFFIC" serve 443
HAVE_DNS=0
if command -v dnsmasq >/dev/null && command -v dig >/dev/null; then
  lab_bg "$LAB_S" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
    --pid-file="$LAB_TMP/dnsmasq.pid" --port=53 --listen-address="$LAB_SERVER" \
    --bind-interfaces --address=/chat.lab.test/10.199.2.2 --log-facility=/dev/null
  HAVE_DNS=1
fi
lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH | grep -q ':$P_APP'"
lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH | grep -q ':$P_WEB'"

echo "== starting imguard on the router: $IMGUARD run --config demo.yaml"
CONTROL="$LAB_TMP/imguard.sock"
lab_bg "$LAB_R" "$IMGUARD" run --config "$LAB_TMP/demo.yaml" --log-decisions \
  --control "$CONTROL" 2>"$LAB_TMP/imguard.log"
IMGUARD_PID=$LAB_LAST_PID
if ! lab_wait_for 10 grep -q "worker(s) running" "$LAB_TMP/imguard.log"; then
  cat "$LAB_TMP/imguard.log" >&2
  echo "demo: imguard did not start" >&2
  exit 1
fi

RESULTS=()
record() {  # record LABEL CMD... : runs CMD from the client, notes allowed/blocked
  local label=$1
  shift
  if timeout 20 ip netns exec "$LAB_C" "$@" >/dev/null 2>&1; then
    RESULTS+=("$(printf '  %-52s allowed' "$label")")
  else
    RESULTS+=("$(printf '  %-52s BLOCKED' "$label")")
  fi
}
talk() { echo "$PY" "$TRAFFIC" talk "$1" "$2" "$3" --rounds 5 --timeout 2 ${4:+--bind $4}; }

echo "== sending traffic from the client namespace through the router"
record "web   curl http://[server]:$P_WEB/ (IPv4)" \
  curl -sf --max-time 5 "http://$LAB_SERVER:$P_WEB/"
record "web   curl http://[server]:$P_WEB/ (IPv6)" \
  curl -sf --max-time 5 "http://[$LAB_SERVER6]:$P_WEB/"
if [ "$HAVE_DNS" = 1 ]; then
  record "dns   dig chat.lab.test" \
    sh -c "dig +short +time=2 +tries=1 @$LAB_SERVER chat.lab.test | grep -q 10.199.2.2"
fi
record "im    XMPP stream on port $P_APP" $(talk xmpp "$LAB_SERVER" "$P_APP")
record "im    IRC registration on port $P_APP" $(talk irc "$LAB_SERVER" "$P_APP")
record "p2p   BitTorrent handshake on port $P_APP" $(talk bittorrent "$LAB_SERVER" "$P_APP")
record "p2p   BitTorrent handshake on port 443" $(talk bittorrent "$LAB_SERVER" 443)
record "p2p   BitTorrent handshake on port $P_APP (IPv6)" $(talk bittorrent "$LAB_SERVER6" "$P_APP")
record "web   HTTP GET on port 443 (same server)" $(talk http "$LAB_SERVER" 443)
record "p2p   BitTorrent from the guest (throttled)" $(talk bittorrent "$LAB_SERVER" "$P_APP" 10.199.1.3)

echo
echo "== imguard status / flows / top, asked while it runs"
"$IMGUARD" status --control "$CONTROL" | tr ' ' '\n' | grep -E "^(version|generation|plan|decided_[a-z]+|records_written)=" | paste -sd' '
"$IMGUARD" flows --control "$CONTROL"
"$IMGUARD" top --control "$CONTROL" --by user

lab_stop "$IMGUARD_PID"
echo
echo "== imguard's decisions (first packets of each connection)"
grep "imguard: decided" "$LAB_TMP/imguard.log" | sed 's/^imguard: decided /  /'
echo
echo "== what the client saw"
printf '%s\n' "${RESULTS[@]}"
echo
echo "== imguard at exit"
grep -E "imguard: (rules|stats)" "$LAB_TMP/imguard.log" | sed 's/^imguard: /  /' |
  sed 's/ \([a-z_0-9]*=\)/\n    \1/g'
if ip netns exec "$LAB_R" nft list ruleset | grep -qi imguard; then
  echo "demo: rules were left behind" >&2
  exit 1
fi
echo
echo "demo: done; namespaces and processes are cleaned up on exit"
