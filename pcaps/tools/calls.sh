#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Look-alike captures for the IM call classifiers (pcaps/stun/), from real software in
# network namespaces: generic STUN and TURN that no IM app sent.
# Usage: calls.sh [coturn|baresip|all]
#   coturn:  coturn's turnserver (long-term credentials, UDP 3478) on 10.10.0.1;
#            turnutils_stunclient binding requests, then turnutils_uclient allocations
#            (two clients relayed to each other, -y) with 3 messages each.
#   baresip: two baresip 1.0 user agents calling each other directly (SIP over UDP, no
#            registrar), media as WebRTC sends it: ICE (host and server-reflexive
#            candidates from the coturn STUN server on 10.10.0.1), DTLS-SRTP keys, Opus
#            audio from a sine source, about 6 s of call (baresip-ice-call-lookalike.pcap); then
#            the same call with both agents' media relayed by coturn (TURN allocations
#            with long-term credentials, media in ChannelData; baresip-turn-call-lookalike.pcap).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/stun
LAB=${LAB:-igc$$}
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/calls.XXXXXX)
trap 'lab_cleanup; rm -rf "$TMP"' EXIT

calls_lab() { # lab_init installs its own EXIT trap; keep removing $TMP too
  lab_init
  trap 'lab_cleanup; rm -rf "$TMP"' EXIT
}

turn_server() { # $1 seconds: coturn on 10.10.0.1:3478, long-term credentials alice/lab-secret
  lab_run srv "$1" turnserver -n --no-cli --no-tls --no-dtls --listening-ip=10.10.0.1 \
    --relay-ip=10.10.0.1 --listening-port=3478 --min-port=49152 --max-port=49200 \
    --lt-cred-mech --user=alice:lab-secret --realm=lab.example --log-file=stdout \
    --pidfile="$TMP/turn.pid" --userdb="$TMP/turn.db" >"$TMP/turn.log" 2>&1
}

coturn() {
  calls_lab
  lab_host srv 10.10.0.1
  lab_host cli 10.10.0.2
  turn_server 30
  sleep 2
  lab_capture "$OUT/coturn-turn-lookalike.pcap" 20 udp
  nsx cli timeout 5 turnutils_stunclient -p 3478 10.10.0.1 >/dev/null 2>&1
  nsx cli timeout 10 turnutils_uclient -u alice -w lab-secret -y -n 3 -m 1 -l 100 \
    -p 3478 10.10.0.1 >"$TMP/uclient.log" 2>&1
  sleep 1
  lab_stop_capture
  lab_cleanup
  tcpdump -nr "$OUT/coturn-turn-lookalike.pcap" 2>/dev/null | wc -l
}

baresip_conf() { # $1 dir, $2 own address, $3 account line
  mkdir -p "$1"
  cat >"$1/config" <<CONF
module_path /usr/lib/baresip/modules
module menu.so
module opus.so
module g711.so
module ausine.so
module aufile.so
module stun.so
module turn.so
module ice.so
module dtls_srtp.so
module account.so
sip_listen $2:5060
audio_source ausine,440
audio_player aufile,$1/heard.wav
audio_alert aufile,$1/alert.wav
CONF
  echo "$3" >"$1/accounts"
  : >"$1/contacts"
}

baresip_call() { # $1 ice|turn
  local nat=$1 out media
  calls_lab
  lab_host srv 10.10.0.1
  lab_host alice 10.10.0.2
  lab_host bob 10.10.0.3
  turn_server 40
  # (account.so is loaded after the modules that register ice, turn and dtls_srtp.)
  if [ "$nat" = ice ]; then
    media=";regint=0;medianat=ice;mediaenc=dtls_srtp;stunserver=stun:10.10.0.1:3478;audio_codecs=opus"
  else
    media=";regint=0;medianat=turn;mediaenc=dtls_srtp;stunserver=turn:10.10.0.1:3478;stunuser=alice;stunpass=lab-secret;audio_codecs=opus"
  fi
  out="$OUT/baresip-$nat-call-lookalike.pcap"
  baresip_conf "$TMP/alice" 10.10.0.2 "<sip:alice@10.10.0.2>$media"
  baresip_conf "$TMP/bob" 10.10.0.3 "<sip:bob@10.10.0.3>$media;answermode=auto"
  sleep 1
  lab_capture "$out" 25 udp
  lab_run bob 20 baresip -f "$TMP/bob" -t 15 >"$TMP/bob.log" 2>&1
  sleep 2
  nsx alice timeout 20 baresip -f "$TMP/alice" -t 6 -e "/dial sip:bob@10.10.0.3" >"$TMP/alice.log" 2>&1
  sleep 1
  lab_stop_capture
  lab_cleanup
  grep -iE "ice|dtls|srtp|established|terminated" "$TMP/alice.log" | head -20
  # Keep the first 160 packets (call set-up, ICE checks, DTLS handshake, the first media):
  # the classifiers decide within them, and the capture stays small.
  /usr/bin/python3 -c 'import sys; from scapy.all import rdpcap, wrpcap; wrpcap(sys.argv[1], rdpcap(sys.argv[1], count=160))' \
    "$out"
}

case "${1:-all}" in
  coturn) coturn ;;
  baresip) baresip_call ice; baresip_call turn ;;
  all) coturn; baresip_call ice; baresip_call turn ;;
  *) echo "usage: $0 [coturn|baresip|all]" >&2; exit 2 ;;
esac
