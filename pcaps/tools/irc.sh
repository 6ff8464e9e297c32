#!/bin/bash
# IRC captures with ngircd and two scripted clients (tools/irc_client.py).
# Usage: irc.sh [std|random|ipv6|dcc|all]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/irc
PY=/usr/bin/python3
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/irc.XXXXXX)

ngircd_conf() { # $1 listen addresses $2 port
  cat > "$TMP/ngircd.conf" <<C
[Global]
Name = irc.example.test
Info = imguard test server
Listen = $1
Ports = $2
PidFile = $TMP/ngircd.pid
MotdPhrase = "imguard capture lab"
[Options]
DNS = no
Ident = no
PAM = no
[Channel]
Name = #imguard
Topic = test channel
C
}

session() { # $1 out $2 port $3 server-addr [dcc] ; v6 if LAB_V6
  local out=$1 port=$2 srv=$3 dcc=${4:-}
  lab_host srv 10.10.0.1 fd00:10:10::1; lab_host alice 10.10.0.2 fd00:10:10::2; lab_host bob 10.10.0.3 fd00:10:10::3
  ngircd_conf "$srv" "$port"
  lab_run srv 60 /usr/sbin/ngircd -n -f "$TMP/ngircd.conf" >"$TMP/ngircd.log" 2>&1
  lab_wait_port srv "$port"
  if [ "$LAB_V6" = 1 ]; then
    # keep NDP to the solicited-node address; drop router solicitations / MLD reports
    lab_capture "$out" 60 'not ip6 multicast or ip6 dst net ff02::1:ff00:0/104'
  else
    lab_capture "$out" 60
  fi
  local extra_a=() extra_b=()
  if [ -n "$dcc" ]; then
    head -c 20000 /usr/share/common-licenses/GPL-3 > "$TMP/notes.txt"
    extra_a=(--dcc "$TMP/notes.txt" --dcc-ip 10.10.0.2 --dcc-port 40123); extra_b=(--dcc x)
  fi
  nsx bob timeout 45 $PY "$HERE/irc_client.py" "$srv" "$port" bob "${extra_b[@]}" &
  local bp=$!; sleep 0.5
  nsx alice timeout 45 $PY "$HERE/irc_client.py" "$srv" "$port" alice "${extra_a[@]}"
  wait $bp
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

std()    { lab_init; session "$OUT/ngircd-6667.pcap" 6667 10.10.0.1; }
random() { lab_init; session "$OUT/ngircd-random-port.pcap" 16999 10.10.0.1; }
ipv6()   { lab_init ipv6; session "$OUT/ngircd-ipv6.pcap" 6667 fd00:10:10::1; }
dcc()    { lab_init; session "$OUT/dcc-send.pcap" 6667 10.10.0.1 dcc; }

what=${1:-all}
if [ "$what" = all ]; then for w in std random ipv6 dcc; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
