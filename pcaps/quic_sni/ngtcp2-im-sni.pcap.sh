#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Real QUIC v1 handshakes (ngtcp2's gtlsclient -> gtlsserver, Debian 12 packages
# ngtcp2-client / ngtcp2-server) between two network namespaces, captured with tcpdump.
# Writes, in this folder:
#   ngtcp2-im-sni.pcap    SNI web.whatsapp.com :443, edge-chat.messenger.com :443,
#                         chat.google.com :8443
#   ngtcp2-web-sni.pcap   look-alikes: SNI www.example.org :443, notwhatsapp.net :8443
#   ngtcp2-im-files.pcap  chat (gateway.discord.gg) and attachment hosts of WhatsApp and
#                         Discord :443
#   ngtcp2-files-lookalike.pcap  names containing those hosts, another Meta edge host
# (`files` as the argument writes only the last two.)
# Needs root; every process runs under timeout and the namespaces are deleted on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
C=quicsni-c S=quicsni-s
cleanup() {
  for p in $(cat "$tmp"/pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  ip netns del $C 2>/dev/null || true
  ip netns del $S 2>/dev/null || true
  rm -rf "$tmp" "/etc/netns/$C"
}
trap cleanup EXIT
ip netns add $C
ip netns add $S
ip link add quicsni0 netns $C type veth peer name quicsni1 netns $S
for ns in $C $S; do
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec $ns ip link set lo up
done
ip netns exec $C ethtool -K quicsni0 tso off gso off gro off tx off >/dev/null 2>&1 || true
ip netns exec $S ethtool -K quicsni1 tso off gso off gro off tx off >/dev/null 2>&1 || true
ip netns exec $C ip addr add 10.8.0.10/24 dev quicsni0
ip netns exec $S ip addr add 10.8.0.20/24 dev quicsni1
ip netns exec $C ip link set quicsni0 up
ip netns exec $S ip link set quicsni1 up
# gtlsclient 0.12 sends the <HOST> argument as SNI ("localhost" for an address, and --sni
# alone does not change that), so the client namespace resolves the lab names through its
# own hosts file (ip netns exec bind-mounts /etc/netns/<ns>/hosts).
mkdir -p "/etc/netns/$C"
printf '10.8.0.20 %s\n' web.whatsapp.com edge-chat.messenger.com chat.google.com \
  www.example.org notwhatsapp.net gateway.discord.gg media-fra3-1.cdn.whatsapp.net \
  cdn.discordapp.com media.discordapp.net media-fra3-1.cdn.whatsapp.net.example.org \
  cdn.discordapp.com.example.net scontent-fra3-1.xx.fbcdn.net >"/etc/netns/$C/hosts"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lab -days 1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
mkdir -p "$tmp/htdocs"
echo ok >"$tmp/htdocs/index.html"
for port in 443 8443; do
  timeout 60 ip netns exec $S gtlsserver -q -d "$tmp/htdocs" 10.8.0.20 $port \
    "$tmp/key.pem" "$tmp/cert.pem" </dev/null >/dev/null 2>&1 &
  echo $! >>"$tmp/pids"
done
sleep 1
capture() {  # capture FILE, then run one client per "port sni" argument
  local out=$1; shift
  timeout 60 ip netns exec $C tcpdump -i quicsni0 -U -s 0 -w "$out" udp 2>/dev/null &
  local tpid=$!
  sleep 1
  for arg in "$@"; do
    set -- $arg
    timeout 10 ip netns exec $C gtlsclient -q --exit-on-all-streams-close \
      "$2" "$1" "https://$2/index.html" </dev/null >/dev/null 2>&1 || true
    sleep 0.3
  done
  sleep 1
  kill $tpid; wait $tpid 2>/dev/null || true
}
case ${1:-all} in all | files) ;; *) echo "usage: $0 [all|files]" >&2; exit 2 ;; esac
if [ "${1:-all}" = all ]; then
  capture "$here/ngtcp2-im-sni.pcap" \
    "443 web.whatsapp.com" "443 edge-chat.messenger.com" "8443 chat.google.com"
  capture "$here/ngtcp2-web-sni.pcap" "443 www.example.org" "8443 notwhatsapp.net"
fi
# Chat and attachment connections over QUIC (classifiers/README.md, "File transfer"), and
# look-alikes: names that merely contain an attachment host, another host of Meta's edge.
capture "$here/ngtcp2-im-files.pcap" "443 gateway.discord.gg" \
  "443 media-fra3-1.cdn.whatsapp.net" "443 cdn.discordapp.com" "443 media.discordapp.net"
capture "$here/ngtcp2-files-lookalike.pcap" "443 media-fra3-1.cdn.whatsapp.net.example.org" \
  "443 cdn.discordapp.com.example.net" "443 scontent-fra3-1.xx.fbcdn.net"
