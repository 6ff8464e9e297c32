# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# The active/standby variant of the namespace lab (tests/e2e/lab.sh, which must be sourced
# first): two router namespaces between the same client and server, plus a dedicated link
# between the routers for conntrackd's state replication. Source it; then call lab_ha_up.
#
#   client 10.199.1.2-.4 (bridge c0) ──┬── rc 10.199.1.1   primary  (LAB_R)  10.199.2.1 rs ──┬── (bridge s0)
#                                       │          sync 10.199.3.1 ═ 10.199.3.2 sync          │   server 10.199.2.2
#                                       └── rc 10.199.1.254 standby (LAB_R2) 10.199.2.254 rs ─┘
#
# The client's and the server's default routes point at the primary; lab_ha_route_via
# moves both next hops (the lab's stand-in for a VRRP address move). lab_ha_cut_primary
# takes every link of the primary down, as if the box died. Names carry the caller's PID
# like lab.sh's; lab_ha_down (the EXIT trap) also deletes the standby namespace. IPv4 only.

LAB_R2="${LAB_ID}-r2"
LAB_PRIMARY_C=10.199.1.1
LAB_PRIMARY_S=10.199.2.1
LAB_STANDBY_C=10.199.1.254
LAB_STANDBY_S=10.199.2.254
LAB_SYNC_PRIMARY=10.199.3.1
LAB_SYNC_STANDBY=10.199.3.2

lab_ha_down() {
  lab_down
  ip netns del "$LAB_R2" 2>/dev/null || true
  return 0
}

# lab_ha_router NS C_ADDR S_ADDR SYNC_ADDR : one router's addresses and forwarding
lab_ha_router() {
  ip -n "$1" addr add "$2/24" dev rc
  ip -n "$1" addr add "$3/24" dev rs
  ip -n "$1" addr add "$4/24" dev sync
  ip -n "$1" link set lo up
  local dev
  for dev in rc rs sync; do
    ip -n "$1" link set "$dev" up
  done
  ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$1" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null || true
}

lab_ha_up() {
  trap lab_ha_down EXIT
  trap 'exit 130' INT TERM
  LAB_TMP=$(mktemp -d /tmp/imguard-lab.XXXXXX)
  local ns
  for ns in "$LAB_C" "$LAB_R" "$LAB_R2" "$LAB_S"; do
    ip netns add "$ns"
  done
  # One LAN per side: a bridge in the end host's namespace, one port per router.
  ip -n "$LAB_C" link add c0 type bridge
  ip -n "$LAB_S" link add s0 type bridge
  ip link add cp netns "$LAB_C" type veth peer name rc netns "$LAB_R"
  ip link add cs netns "$LAB_C" type veth peer name rc netns "$LAB_R2"
  ip link add sp netns "$LAB_S" type veth peer name rs netns "$LAB_R"
  ip link add ss netns "$LAB_S" type veth peer name rs netns "$LAB_R2"
  ip link add sync netns "$LAB_R" type veth peer name sync netns "$LAB_R2"
  local port
  for port in cp cs; do
    ip -n "$LAB_C" link set "$port" master c0 up
  done
  for port in sp ss; do
    ip -n "$LAB_S" link set "$port" master s0 up
  done
  ip -n "$LAB_C" addr add "$LAB_CLIENT/24" dev c0
  ip -n "$LAB_C" addr add "$LAB_CLIENT_B/24" dev c0
  ip -n "$LAB_C" addr add "$LAB_CLIENT_C/24" dev c0
  ip -n "$LAB_S" addr add "$LAB_SERVER/24" dev s0
  for ns in "$LAB_C" "$LAB_S"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$LAB_C" link set c0 up
  ip -n "$LAB_S" link set s0 up
  lab_ha_router "$LAB_R" "$LAB_PRIMARY_C" "$LAB_PRIMARY_S" "$LAB_SYNC_PRIMARY"
  lab_ha_router "$LAB_R2" "$LAB_STANDBY_C" "$LAB_STANDBY_S" "$LAB_SYNC_STANDBY"
  ip -n "$LAB_C" route add default via "$LAB_PRIMARY_C"
  ip -n "$LAB_S" route add default via "$LAB_PRIMARY_S"
}

# lab_ha_route_via primary|standby : the client's and the server's next hop
lab_ha_route_via() {
  if [ "$1" = standby ]; then
    ip -n "$LAB_C" route replace default via "$LAB_STANDBY_C"
    ip -n "$LAB_S" route replace default via "$LAB_STANDBY_S"
  else
    ip -n "$LAB_C" route replace default via "$LAB_PRIMARY_C"
    ip -n "$LAB_S" route replace default via "$LAB_PRIMARY_S"
  fi
}

# lab_ha_cut_primary : every link of the primary down (its LAN ports and the sync link)
lab_ha_cut_primary() {
  local dev
  for dev in rc rs sync; do
    ip -n "$LAB_R" link set "$dev" down
  done
}

# Queue counters of the standby, like lab_queue_total for the primary.
lab_ha_standby_queue_total() {
  ip netns exec "$LAB_R2" awk '{s += $8} END {print s + 0}' /proc/net/netfilter/nfnetlink_queue \
    2>/dev/null || echo 0
}
