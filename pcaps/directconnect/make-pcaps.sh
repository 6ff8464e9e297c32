#!/bin/bash
# Real Direct Connect captures: the uhub ADC hub (cleartext and adcs://) or a minimal
# scripted NMDC hub (../tools/nmdc_hub.py; Debian 12 packages no NMDC hub), two ncdc
# clients in network namespaces, each sharing one file, logging in, searching for the
# other's file and downloading it (`cmp` checks the copy). ncdc is driven through tmux.
# Needs uhub, ncdc, tmux, tcpdump, openssl and python3 (only to remake the captures; the
# tests read the pcaps). Usage (root, from anywhere): make-pcaps.sh [adc|adc-tls-c2c|adcs|nmdc|nmdc-tls-c2c|lookalike|all]
#   adc          cleartext hub, cleartext client-to-client (CSUP), UDP search result (URES)
#   adc-tls-c2c  cleartext hub, the transfer over ADCS/0.10 (DCTM ... ADCS/0.10 port)
#   adcs         adcs:// hub (TLS), transfer over TLS: nothing of it is visible
#   nmdc         NMDC hub, cleartext transfer ($MyNick), UDP $SR
#   nmdc-tls-c2c NMDC hub, the transfer over TLS ("$ConnectToMe nick ip:portS|")
#   lookalike    openssl s_server/s_client with self-signed certificates on random ports,
#                no SNI and no ALPN: the same handshake shape as a DC transfer over TLS
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=$(cd "$HERE/../tools" && pwd)
PY=/usr/bin/python3
LAB=dc$$
# shellcheck source=pcaps/tools/lab.sh
. "$TOOLS/lab.sh"
TMP=$(mktemp -d /tmp/dc-lab.XXXXXX)
HUB=10.20.0.1 ALICE=10.20.0.2 BOB=10.20.0.3
ALICE_PORT=41412 BOB_PORT=52013 HUB_PORT=1511

hub_uhub() { # $1 tls: yes|no
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=hub.example.test" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
  : > "$TMP/users.conf"; : > "$TMP/plugins.conf"
  cat > "$TMP/uhub.conf" <<C
server_port=$HUB_PORT
server_bind_addr=$HUB
hub_name=lab hub
file_acl=$TMP/users.conf
file_plugins=$TMP/plugins.conf
tls_enable=$1
tls_require=$1
tls_certificate=$TMP/cert.pem
tls_private_key=$TMP/key.pem
C
  lab_run hub 90 uhub -c "$TMP/uhub.conf" -l "$TMP/uhub.log" >/dev/null
}

hub_nmdc() {
  lab_run hub 90 "$PY" "$TOOLS/nmdc_hub.py" "$HUB" "$HUB_PORT" >"$TMP/nmdc_hub.log" 2>&1
}

key() { # $1 user $2 keys [$3 seconds to wait]
  tmux -L "$LAB-$1" send-keys "$2" Enter
  sleep "${3:-0.5}"
}

# $1 hub URL scheme (adc, adcs, nmdc) $2 client-to-client TLS policy (disabled, prefer)
session() {
  local scheme=$1 c2c=$2 u ip port
  for u in alice bob; do
    mkdir -p "$TMP/$u/share"
    head -c 60000 /dev/urandom > "$TMP/$u/share/$u-file.bin"
    nsx "$u" env TERM=xterm HOME="$TMP/$u" tmux -L "$LAB-$u" new-session -d -x 200 -y 50 \
      "timeout 80 ncdc -c $TMP/$u/ncdc"
  done
  sleep 2
  for u in alice bob; do
    if [ "$u" = alice ]; then ip=$ALICE port=$ALICE_PORT; else ip=$BOB port=$BOB_PORT; fi
    key "$u" "/set nick $u"
    key "$u" "/set active true"
    key "$u" "/set active_ip $ip"
    key "$u" "/set active_port $port"
    key "$u" "/set tls_policy $c2c"
    key "$u" "/share files $TMP/$u/share" 3
    key "$u" "/open lab $scheme://$HUB:$HUB_PORT/" 3
  done
  sleep 2
  key bob "/search alice-file" 4
  tmux -L "$LAB-bob" send-keys d   # download the first search result
  local _
  for _ in $(seq 1 40); do
    cmp -s "$TMP/alice/share/alice-file.bin" "$TMP/bob/ncdc/dl/alice-file.bin" 2>/dev/null && break
    sleep 0.5
  done
  if cmp -s "$TMP/alice/share/alice-file.bin" "$TMP/bob/ncdc/dl/alice-file.bin"; then
    echo "download complete"
  else
    echo "download FAILED" >&2
    tmux -L "$LAB-bob" capture-pane -p >&2
  fi
  for u in alice bob; do
    key "$u" "/quit" 1
    tmux -L "$LAB-$u" kill-server 2>/dev/null
  done
}

capture() { # $1 case
  local out base=$TMP
  TMP=$base/$1
  mkdir -p "$TMP"
  lab_init
  lab_host hub "$HUB"; lab_host alice "$ALICE"; lab_host bob "$BOB"
  case $1 in
    adc) hub_uhub no; out=adc-uhub-cleartext ;;
    adc-tls-c2c) hub_uhub no; out=adc-uhub-tls-transfer ;;
    adcs) hub_uhub yes; out=adcs-uhub-tls-hub ;;
    nmdc) hub_nmdc; out=nmdc-cleartext ;;
    nmdc-tls-c2c) hub_nmdc; out=nmdc-tls-transfer ;;
  esac
  lab_wait_port hub "$HUB_PORT" || return 1
  lab_capture "$HERE/$out.pcap" 90
  case $1 in
    adc) session adc disabled ;;
    adc-tls-c2c) session adc prefer ;;
    adcs) session adcs prefer ;;
    nmdc) session nmdc disabled ;;
    nmdc-tls-c2c) session nmdc prefer ;;
  esac
  lab_stop_capture
  lab_cleanup
  lab_summary "$HERE/$out.pcap"
  TMP=$base
}

# One openssl s_server (self-signed certificate for $2) on $1, one s_client without SNI
# and without ALPN that sends a line and reads the answer.
selfsigned_tls() {
  local port=$1 cn=$2
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$cn" \
    -keyout "$TMP/lk.pem" -out "$TMP/lc.pem" 2>/dev/null
  lab_run srv 20 openssl s_server -accept "$port" -cert "$TMP/lc.pem" -key "$TMP/lk.pem" \
    -quiet >/dev/null 2>&1
  lab_wait_port srv "$port"
  { echo "GET file files.xml.bz2 0 -1"; sleep 1; } |
    nsx client timeout 10 openssl s_client -connect "$HUB:$port" -noservername -quiet \
      >/dev/null 2>&1
}

lookalike() {
  lab_init
  lab_host srv "$HUB"; lab_host client "$ALICE"
  lab_capture "$HERE/tls-selfsigned-lookalike.pcap" 60
  selfsigned_tls 47011 peer.example.test
  selfsigned_tls 52013 localhost
  lab_stop_capture
  lab_cleanup
  lab_summary "$HERE/tls-selfsigned-lookalike.pcap"
}

for c in "${@:-all}"; do
  case $c in
    all) for x in adc adc-tls-c2c adcs nmdc nmdc-tls-c2c; do capture "$x"; done; lookalike ;;
    lookalike) lookalike ;;
    adc|adc-tls-c2c|adcs|nmdc|nmdc-tls-c2c) capture "$c" ;;
    *) echo "unknown case $c" >&2; exit 2 ;;
  esac
done
rm -rf "$TMP"
