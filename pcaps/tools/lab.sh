#!/bin/bash
# Helper functions for building an isolated capture lab out of network
# namespaces joined by a bridge ("switch") namespace.  Source this file.
#
#   lab_init [ipv6]          create the switch namespace with bridge br0 (hub mode)
#   lab_host NAME V4 [V6]    create namespace $LAB-NAME, veth to br0, address V4/16 (and V6/64)
#   lab_run NAME SECS CMD..  run CMD in namespace NAME under `timeout SECS`, in background; PID recorded
#   lab_capture FILE SECS [FILTER..]  tcpdump on br0 (sees every frame crossing the switch)
#   lab_capture_any NAME FILE SECS [FILTER..]  tcpdump -i any inside host NAME (Linux cooked)
#   lab_stop_capture         stop tcpdump(s) cleanly (SIGINT) and wait
#   lab_cleanup              kill recorded PIDs, delete namespaces (installed as EXIT trap)
#   lab_tls_lookalike ...    an ordinary TLS service and clients, captured (see below)
#
# No default routes are ever configured; nothing is attached to the root namespace.

LAB=${LAB:-ig}
LAB_NS=()
LAB_PIDS=()
LAB_CAP_PIDS=()
LAB_V6=0

ns() { echo "$LAB-$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

_lab_mkns() {
  local n=$1
  ip netns add "$n"
  LAB_NS+=("$n")
  ip -n "$n" link set lo up
  if [ "$LAB_V6" = 1 ]; then
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
      net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0 \
      net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.accept_dad=0
  else
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  fi
}

_lab_nooffload() { ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; }

lab_init() {
  [ "${1:-}" = ipv6 ] && LAB_V6=1
  trap lab_cleanup EXIT
  trap 'exit 1' INT TERM
  _lab_mkns "$(ns sw)"
  ip netns exec "$(ns sw)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$(ns sw)" link add br0 type bridge ageing_time 0 stp_state 0 mcast_snooping 0
  ip -n "$(ns sw)" link set br0 up
  _lab_nooffload "$(ns sw)" br0
}

lab_host() {
  local name=$1 v4=$2 v6=${3:-}
  local n; n=$(ns "$name")
  _lab_mkns "$n"
  ip link add "p-$name" netns "$(ns sw)" type veth peer name eth0 netns "$n"
  _lab_nooffload "$(ns sw)" "p-$name"
  _lab_nooffload "$n" eth0
  ip -n "$(ns sw)" link set "p-$name" master br0 up
  ip -n "$n" addr add "$v4/16" dev eth0
  [ -n "$v6" ] && [ "$LAB_V6" = 1 ] && ip -n "$n" addr add "$v6/64" dev eth0 nodad
  ip -n "$n" link set eth0 up
}

lab_run() {
  local name=$1 secs=$2; shift 2
  ip netns exec "$(ns "$name")" timeout "$secs" "$@" &
  LAB_PIDS+=($!)
  echo $!
}

lab_capture() {
  local file=$1 secs=$2; shift 2
  mkdir -p "$(dirname "$file")"
  rm -f "$file"
  ip netns exec "$(ns sw)" timeout -s INT "$secs" tcpdump -i br0 -s 0 -U -n -w "$file" "$@" 2>/dev/null &
  LAB_CAP_PIDS+=($!)
  sleep 1
}

lab_capture_any() {
  local name=$1 file=$2 secs=$3; shift 3
  mkdir -p "$(dirname "$file")"
  rm -f "$file"
  ip netns exec "$(ns "$name")" timeout -s INT "$secs" tcpdump -i any -s 0 -U -n -w "$file" "$@" 2>/dev/null &
  LAB_CAP_PIDS+=($!)
  sleep 1
}

lab_stop_capture() {
  sleep 1
  local p
  for p in "${LAB_CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${LAB_CAP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  LAB_CAP_PIDS=()
}

lab_kill() { local p; for p in "$@"; do kill "$p" 2>/dev/null; done; }

lab_cleanup() {
  local p n
  for p in "${LAB_CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${LAB_PIDS[@]}" "${LAB_CAP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in "${LAB_NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  LAB_NS=(); LAB_PIDS=(); LAB_CAP_PIDS=()
}

# wait until TCP/UDP port is listening inside namespace NAME (bounded)
lab_wait_port() {
  local name=$1 port=$2 i
  for i in $(seq 1 50); do
    nsx "$name" ss -lntu 2>/dev/null | grep -q "[:.]$port " && return 0
    sleep 0.2
  done
  echo "port $port not listening in $name" >&2; return 1
}

# one-line summary: packets and bytes
lab_summary() {
  local reader=(tshark -r "$1"); command -v tshark >/dev/null || reader=(tcpdump -nr "$1")
  echo "$1: $("${reader[@]}" 2>/dev/null | wc -l) packets, $(stat -c %s "$1") bytes"
}

# A look-alike TLS service: `openssl s_server` (self-signed certificate for CN, ALPN h2 and
# http/1.1) in namespace SRV on ADDR:PORT, then one `openssl s_client` from namespace CLIENT
# per ALPN id given, each sending one HTTP request line; SNI is sent when not empty.
# lab_tls_lookalike OUT SRV ADDR PORT CN CLIENT SNI ALPN...  (after lab_init / lab_host)
lab_tls_lookalike() {
  local out=$1 srv=$2 addr=$3 port=$4 cn=$5 client=$6 sni=$7; shift 7
  local dir alpn sni_arg=()
  dir=$(mktemp -d /tmp/lab-tls.XXXXXX)
  [ -n "$sni" ] && sni_arg=(-servername "$sni")
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$cn" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  lab_run "$srv" 30 openssl s_server -accept "$port" -cert "$dir/cert.pem" -key "$dir/key.pem" \
    -alpn h2,http/1.1 -quiet >/dev/null 2>&1
  lab_wait_port "$srv" "$port"
  lab_capture "$out" 30
  for alpn in "$@"; do
    { printf 'GET / HTTP/1.1\r\nHost: %s\r\n\r\n' "${sni:-$cn}"; sleep 1; } |
      nsx "$client" timeout 10 openssl s_client -connect "$addr:$port" "${sni_arg[@]}" \
        -alpn "$alpn" -quiet >/dev/null 2>&1
  done
  lab_stop_capture
  rm -rf "$dir"
}
