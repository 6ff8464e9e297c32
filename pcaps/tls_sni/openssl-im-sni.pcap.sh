#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Real TLS handshakes (openssl s_client -> openssl s_server) between two network
# namespaces, captured with tcpdump. Writes, in this folder:
#   openssl-im-sni.pcap   SNI web.whatsapp.com :443, SNI chat.signal.org :8443,
#                         ALPN xmpp-client (XEP-0368 direct TLS) :5223, SNI irc.libera.chat :6697
#   openssl-web-sni.pcap  look-alikes: SNI www.example.org :443, notwhatsapp.net :8443
#   openssl-im-files.pcap chat and attachment hosts of WhatsApp, Signal, Slack, Discord :443
#   openssl-files-lookalike.pcap  names containing those hosts, other hosts of their CDNs
# and ../im_address/telegram-cidr.pcap (TLS to 149.154.167.50, inside Telegram's published
# range, and to 149.154.159.1 just outside it). `files` as the argument writes only the two
# files captures. Needs root; everything runs under timeout and
# the namespaces are deleted on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
C=imsni-c S=imsni-s
cleanup() {
  for p in $(cat "$tmp"/pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  ip netns del $C 2>/dev/null || true
  ip netns del $S 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add $C
ip netns add $S
ip link add imsni0 netns $C type veth peer name imsni1 netns $S
for ns in $C $S; do
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec $ns ip link set lo up
done
ip netns exec $C ethtool -K imsni0 tso off gso off gro off tx off >/dev/null 2>&1 || true
ip netns exec $S ethtool -K imsni1 tso off gso off gro off tx off >/dev/null 2>&1 || true
ip netns exec $C ip addr add 10.7.0.10/24 dev imsni0
ip netns exec $S ip addr add 10.7.0.20/24 dev imsni1
ip netns exec $S ip addr add 149.154.167.50/32 dev imsni1
ip netns exec $S ip addr add 149.154.159.1/32 dev imsni1
ip netns exec $C ip link set imsni0 up
ip netns exec $S ip link set imsni1 up
ip netns exec $C ip route add 149.154.0.0/16 dev imsni0
ip netns exec $S ip route add 10.7.0.0/24 dev imsni1 2>/dev/null || true
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lab -days 1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
for port in 443 8443 5223 6697; do
  timeout 60 ip netns exec $S openssl s_server -quiet -accept $port -cert "$tmp/cert.pem" \
    -key "$tmp/key.pem" -alpn xmpp-client,h2 </dev/null >/dev/null 2>&1 &
  echo $! >>"$tmp/pids"
done
sleep 1
capture() {  # capture FILE, then run the client commands given as further arguments
  local out=$1; shift
  timeout 60 ip netns exec $C tcpdump -i imsni0 -U -s 0 -w "$out" tcp 2>/dev/null &
  local tpid=$!
  sleep 1
  for cmd in "$@"; do
    eval "timeout 10 ip netns exec $C openssl s_client -quiet $cmd </dev/null >/dev/null 2>&1 || true"
    sleep 0.3
  done
  sleep 1
  kill $tpid; wait $tpid 2>/dev/null || true
}
case ${1:-all} in all | files) ;; *) echo "usage: $0 [all|files]" >&2; exit 2 ;; esac
if [ "${1:-all}" = all ]; then
  capture "$here/openssl-im-sni.pcap" \
    "-connect 10.7.0.20:443 -servername web.whatsapp.com" \
    "-connect 10.7.0.20:8443 -servername chat.signal.org" \
    "-connect 10.7.0.20:5223 -servername jabber.example -alpn xmpp-client" \
    "-connect 10.7.0.20:6697 -servername irc.libera.chat"
  capture "$here/openssl-web-sni.pcap" \
    "-connect 10.7.0.20:443 -servername www.example.org -alpn h2" \
    "-connect 10.7.0.20:8443 -servername notwhatsapp.net"
  mkdir -p "$here/../im_address"
  capture "$here/../im_address/telegram-cidr.pcap" \
    "-connect 149.154.167.50:443 -servername example.org" \
    "-connect 149.154.159.1:443 -servername example.org"
fi
# Chat and attachment connections of the apps offices use (classifiers/README.md, "File
# transfer"): chat hosts first, then the media/attachment hosts, all on :443.
capture "$here/openssl-im-files.pcap" \
  "-connect 10.7.0.20:443 -servername web.whatsapp.com" \
  "-connect 10.7.0.20:443 -servername chat.signal.org" \
  "-connect 10.7.0.20:443 -servername wss-primary.slack.com" \
  "-connect 10.7.0.20:443 -servername gateway.discord.gg" \
  "-connect 10.7.0.20:443 -servername mmg.whatsapp.net" \
  "-connect 10.7.0.20:443 -servername media-fra3-1.cdn.whatsapp.net" \
  "-connect 10.7.0.20:443 -servername cdn.signal.org" \
  "-connect 10.7.0.20:443 -servername cdn2.signal.org" \
  "-connect 10.7.0.20:443 -servername files.slack.com" \
  "-connect 10.7.0.20:443 -servername cdn.discordapp.com" \
  "-connect 10.7.0.20:443 -servername media.discordapp.net"
# Look-alikes: names that merely contain an attachment host, and other hosts of the CDN
# providers these apps use (Meta's edge, CloudFront, Cloudflare).
capture "$here/openssl-files-lookalike.pcap" \
  "-connect 10.7.0.20:443 -servername mmg.whatsapp.net.example.org" \
  "-connect 10.7.0.20:443 -servername cdn.discordapp.com.example.net" \
  "-connect 10.7.0.20:443 -servername files.slack.com.example.net" \
  "-connect 10.7.0.20:443 -servername cdn.signal.org.example.com" \
  "-connect 10.7.0.20:443 -servername scontent-fra3-1.xx.fbcdn.net" \
  "-connect 10.7.0.20:443 -servername d1x9z7ab3cdef.cloudfront.net" \
  "-connect 10.7.0.20:443 -servername cdnjs.cloudflare.com"
