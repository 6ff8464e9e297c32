#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Negative corpus from real software (pcaps/negative/): random-looking or chatty traffic
# that is neither IM nor P2P.  Usage: negative.sh [wireguard|openvpn-udp|openvpn-tcp|dtls|
# quic|ntp|snmp|syslog|mqtt|http-bulk|rsync|all]
# Each case builds its own lab (lab.sh), runs every daemon under timeout, and removes the
# namespaces on exit.  Payload files come from /dev/urandom (small: the pcaps stay tens of KB).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/negative
PY=/usr/bin/python3
LAB=${LAB:-ign$$}
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/neg.XXXXXX)
trap 'lab_cleanup; rm -rf "$TMP"' EXIT

two_hosts() { lab_init; lab_host srv 10.10.0.1; lab_host cli 10.10.0.2; }

# Traffic inside a tunnel: two HTTP GETs of a 6 KB file from the far end.
inner_traffic() { # $1 server tunnel address
  nsx cli curl -s -o /dev/null --max-time 5 "http://$1:8000/inner.bin"
  sleep 0.5
  nsx cli curl -s -o /dev/null --max-time 5 "http://$1:8000/inner.bin"
}
inner_server() { # $1 server tunnel address
  head -c 6000 /dev/urandom > "$TMP/inner.bin"
  lab_run srv 40 $PY -m http.server 8000 --bind "$1" --directory "$TMP" >/dev/null 2>&1
}

wireguard() { # wireguard-go (userspace, the kernel here has no wireguard type) on UDP 41821
  two_hosts
  (umask 077
   wg genkey > "$TMP/s.key"; wg pubkey < "$TMP/s.key" > "$TMP/s.pub"
   wg genkey > "$TMP/c.key"; wg pubkey < "$TMP/c.key" > "$TMP/c.pub")
  # One UAPI socket per name under /var/run/wireguard (shared by all namespaces): two names.
  for h in srv cli; do nsx "$h" env WG_PROCESS_FOREGROUND=1 timeout 40 wireguard-go "wg$h" >/dev/null 2>&1 & LAB_PIDS+=($!); done
  for h in srv cli; do
    for _ in $(seq 1 50); do nsx "$h" ip link show "wg$h" >/dev/null 2>&1 && break; sleep 0.2; done
  done
  nsx srv wg set wgsrv listen-port 41821 private-key "$TMP/s.key" peer "$(cat "$TMP/c.pub")" allowed-ips 10.99.0.2/32
  nsx cli wg set wgcli listen-port 50871 private-key "$TMP/c.key" peer "$(cat "$TMP/s.pub")" allowed-ips 10.99.0.1/32 endpoint 10.10.0.1:41821
  nsx srv ip addr add 10.99.0.1/24 dev wgsrv; nsx srv ip link set wgsrv up
  nsx cli ip addr add 10.99.0.2/24 dev wgcli; nsx cli ip link set wgcli up
  inner_server 10.99.0.1; lab_wait_port srv 8000
  lab_capture "$OUT/wireguard.pcap" 30 udp
  inner_traffic 10.99.0.1
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/wireguard.pcap"
}

openvpn_case() { # $1 udp|tcp: point-to-point TLS mode, self-signed CA, server port 41194 / 41443
  local proto=$1 port out
  [ "$proto" = udp ] && port=41194 || port=41443
  out="$OUT/openvpn-$proto.pcap"
  two_hosts
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=lab-ca \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
  for n in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$n" \
      -keyout "$TMP/$n.key" -out "$TMP/$n.csr" 2>/dev/null
    openssl x509 -req -in "$TMP/$n.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
      -days 2 -out "$TMP/$n.pem" 2>/dev/null
  done
  local common=(--dev tun0 --ca "$TMP/ca.pem" --dh none --verb 1 --data-ciphers AES-128-GCM)
  local sproto=$proto cproto=$proto
  [ "$proto" = tcp ] && { sproto=tcp-server; cproto=tcp-client; }
  lab_run srv 40 openvpn "${common[@]}" --tls-server --cert "$TMP/server.pem" --key "$TMP/server.key" \
    --proto "$sproto" --local 10.10.0.1 --lport $port --ifconfig 10.99.0.1 10.99.0.2 >"$TMP/ovs.log" 2>&1
  sleep 1
  lab_capture "$out" 30 host 10.10.0.1 and port $port
  lab_run cli 40 openvpn "${common[@]}" --tls-client --cert "$TMP/client.pem" --key "$TMP/client.key" \
    --proto "$cproto" --remote 10.10.0.1 $port --nobind --ifconfig 10.99.0.2 10.99.0.1 \
    --verify-x509-name server name >"$TMP/ovc.log" 2>&1
  for _ in $(seq 1 40); do nsx cli ip link show tun0 2>/dev/null | grep -q UP && break; sleep 0.25; done
  sleep 2
  inner_server 10.99.0.1; lab_wait_port srv 8000
  inner_traffic 10.99.0.1
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

dtls() { # openssl s_server -dtls on UDP 44433, five lines each way
  two_hosts
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=dtls.lab \
    -keyout "$TMP/k.pem" -out "$TMP/c.pem" 2>/dev/null
  (for i in 1 2 3 4 5; do echo "server line $i"; sleep 0.3; done; sleep 2) |
    lab_run srv 20 openssl s_server -dtls -accept 44433 -cert "$TMP/c.pem" -key "$TMP/k.pem" -quiet >/dev/null 2>&1
  sleep 1
  lab_capture "$OUT/dtls.pcap" 20 udp
  (for i in 1 2 3 4 5; do echo "client line $i"; sleep 0.3; done; sleep 1) |
    nsx cli timeout 8 openssl s_client -dtls -connect 10.10.0.1:44433 -quiet >/dev/null 2>&1
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/dtls.pcap"
}

media() { # $1 rtp|srtp: ffmpeg sends 2 s of 20 ms audio frames each way (G.711 / Opus)
  local kind=$1 out="$OUT/$1-media.pcap" key scheme
  two_hosts
  # SRTP: AES_CM_128_HMAC_SHA1_80 with a fixed 30-byte master key/salt (base64).
  key=$(printf 'imguard-lab-srtp-master-key-30' | base64)
  [ "$kind" = srtp ] && scheme=srtp || scheme=rtp
  local opts=()
  [ "$kind" = srtp ] && opts=(-srtp_out_suite AES_CM_128_HMAC_SHA1_80 -srtp_out_params "$key")
  # Each sender's socket (localrtpport) is the other's destination, as in a call.
  lab_capture "$out" 20 udp
  nsx cli timeout 10 ffmpeg -nostdin -loglevel error -re -f lavfi -i "sine=frequency=440:duration=2" \
    -ar 8000 -ac 1 -c:a pcm_mulaw -payload_type 0 -ssrc 305419896 "${opts[@]}" -f rtp \
    "$scheme://10.10.0.1:40000?localrtpport=50000" >/dev/null 2>&1 &
  local a=$!
  nsx srv timeout 10 ffmpeg -nostdin -loglevel error -re -f lavfi -i "sine=frequency=660:duration=2" \
    -ar 48000 -ac 1 -c:a libopus -b:a 24k -frame_duration 20 -payload_type 111 -ssrc 596069104 \
    "${opts[@]}" -f rtp "$scheme://10.10.0.2:50000?localrtpport=40000" >/dev/null 2>&1
  wait $a
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

quic() { # ngtcp2 gtlsserver on UDP 48443 (random port), the client fetches a 20 KB file
  two_hosts
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lab -days 1 -keyout "$TMP/k.pem" -out "$TMP/c.pem" 2>/dev/null
  mkdir -p "$TMP/htdocs"; head -c 20000 /dev/urandom > "$TMP/htdocs/blob.bin"
  lab_run srv 30 gtlsserver -q -d "$TMP/htdocs" 10.10.0.1 48443 "$TMP/k.pem" "$TMP/c.pem" >/dev/null 2>&1 </dev/null
  sleep 1
  lab_capture "$OUT/quic-random-port.pcap" 30 udp
  nsx cli timeout 10 gtlsclient -q --exit-on-all-streams-close 10.10.0.1 48443 https://10.10.0.1:48443/blob.bin \
    </dev/null >/dev/null 2>&1
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/quic-random-port.pcap"
}

ntp() { # chronyd server (local stratum 8, never touches the clock) and chronyd -Q client
  two_hosts
  printf 'local stratum 8\nallow 10.10.0.0/16\nbindaddress 10.10.0.1\ncmdport 0\npidfile %s/s.pid\ndriftfile %s/s.drift\n' \
    "$TMP" "$TMP" > "$TMP/s.conf"
  lab_run srv 30 chronyd -d -x -u root -f "$TMP/s.conf" >/dev/null 2>&1
  sleep 1
  lab_capture "$OUT/ntp.pcap" 30 udp
  printf 'server 10.10.0.1 iburst minpoll 0 maxpoll 0\ncmdport 0\npidfile %s/c.pid\n' "$TMP" > "$TMP/c.conf"
  nsx cli timeout 15 chronyd -Q -u root -t 12 -f "$TMP/c.conf" >/dev/null 2>&1
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/ntp.pcap"
}

snmp() { # snmpd: v2c on 161, v3 authPriv (SHA/AES) on the random port 31161
  two_hosts
  mkdir -p "$TMP/snmp"
  cat > "$TMP/snmpd.conf" <<C
agentAddress udp:10.10.0.1:161,udp:10.10.0.1:31161
rocommunity public 10.10.0.0/16
createUser labuser SHA "lab-auth-pass" AES "lab-priv-pass"
rouser labuser priv
sysLocation lab
sysContact admin@lab.test
sysDescr lab agent
sysName lab-agent
C
  SNMP_PERSISTENT_DIR="$TMP/snmp" lab_run srv 30 snmpd -f -Lo -C -c "$TMP/snmpd.conf" -p "$TMP/snmpd.pid" \
    --persistentDir="$TMP/snmp" >/dev/null 2>&1
  lab_wait_port srv 31161
  lab_capture "$OUT/snmp-v2c-v3.pcap" 30 udp
  nsx cli snmpget -v2c -c public -t 2 -r 0 10.10.0.1 1.3.6.1.2.1.1.1.0 1.3.6.1.2.1.1.3.0 >/dev/null
  nsx cli snmpwalk -v2c -c public -t 2 -r 0 10.10.0.1 1.3.6.1.2.1.1 >/dev/null
  nsx cli env SNMP_PERSISTENT_DIR="$TMP/snmpc" snmpwalk -v3 -l authPriv -u labuser -a SHA -A lab-auth-pass \
    -x AES -X lab-priv-pass -t 2 -r 0 10.10.0.1:31161 1.3.6.1.2.1.1 >/dev/null
  nsx cli env SNMP_PERSISTENT_DIR="$TMP/snmpc" snmpget -v3 -l authPriv -u labuser -a SHA -A lab-auth-pass \
    -x AES -X lab-priv-pass -t 2 -r 0 10.10.0.1:31161 1.3.6.1.2.1.1.5.0 >/dev/null
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/snmp-v2c-v3.pcap"
}

syslog() { # logger (util-linux) to socat receivers: UDP 514, TCP 601 (RFC 6587), UDP 5140
  two_hosts
  lab_run srv 30 socat -u UDP-RECV:514,bind=10.10.0.1 OPEN:/dev/null >/dev/null 2>&1
  lab_run srv 30 socat -u UDP-RECV:5140,bind=10.10.0.1 OPEN:/dev/null >/dev/null 2>&1
  lab_run srv 30 socat -u TCP-LISTEN:601,bind=10.10.0.1,fork OPEN:/dev/null >/dev/null 2>&1
  lab_wait_port srv 601
  lab_capture "$OUT/syslog.pcap" 30
  for i in 1 2 3; do
    nsx cli logger -n 10.10.0.1 -P 514 -d -t labapp "udp message $i from the lab"
    nsx cli logger -n 10.10.0.1 -P 5140 -d --rfc3164 -t labapp "udp 5140 message $i"
  done
  nsx cli logger -n 10.10.0.1 -P 601 -T -t labapp "tcp message one" 
  nsx cli logger -n 10.10.0.1 -P 601 -T --octet-count -t labapp "tcp message two, octet counted"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/syslog.pcap"
}

mqtt() { # mosquitto on 1883 and 28883; mosquitto_sub receives three messages from mosquitto_pub
  two_hosts
  printf 'listener 1883 10.10.0.1\nlistener 28883 10.10.0.1\nallow_anonymous true\npersistence false\n' > "$TMP/m.conf"
  lab_run srv 30 mosquitto -c "$TMP/m.conf" >/dev/null 2>&1
  lab_wait_port srv 28883
  lab_capture "$OUT/mqtt.pcap" 30
  for port in 1883 28883; do
    nsx cli timeout 8 mosquitto_sub -h 10.10.0.1 -p $port -t lab/sensor -C 3 -q 1 >/dev/null &
    local sub=$!
    sleep 0.5
    for v in 21.5 21.7 21.6; do nsx cli mosquitto_pub -h 10.10.0.1 -p $port -t lab/sensor -q 1 -m "{\"t\":$v}"; done
    wait $sub
  done
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/mqtt.pcap"
}

http_bulk() { # python http.server on TCP 38080, curl fetches a 48 KB random file
  two_hosts
  mkdir -p "$TMP/www"; head -c 48000 /dev/urandom > "$TMP/www/bulk.bin"
  lab_run srv 30 $PY -m http.server 38080 --bind 10.10.0.1 --directory "$TMP/www" >/dev/null 2>&1
  lab_wait_port srv 38080
  lab_capture "$OUT/http-bulk-random-port.pcap" 30
  nsx cli curl -s -o /dev/null http://10.10.0.1:38080/bulk.bin
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/http-bulk-random-port.pcap"
}

rsync_case() { # rsync daemon on TCP 18730, the client pulls a 40 KB random file
  two_hosts
  mkdir -p "$TMP/share" "$TMP/dst"; head -c 40000 /dev/urandom > "$TMP/share/data.bin"
  printf 'use chroot = no\nuid = root\ngid = root\npid file = %s/rsyncd.pid\n[lab]\npath = %s/share\nread only = yes\n' \
    "$TMP" "$TMP" > "$TMP/rsyncd.conf"
  lab_run srv 30 rsync --daemon --no-detach --config="$TMP/rsyncd.conf" --address=10.10.0.1 --port=18730 >/dev/null 2>&1
  lab_wait_port srv 18730
  lab_capture "$OUT/rsync-random-port.pcap" 30
  nsx cli rsync -a rsync://10.10.0.1:18730/lab/ "$TMP/dst/"
  cmp "$TMP/share/data.bin" "$TMP/dst/data.bin"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/rsync-random-port.pcap"
}

case "${1:-all}" in
  wireguard) wireguard ;;
  openvpn-udp) openvpn_case udp ;;
  openvpn-tcp) openvpn_case tcp ;;
  dtls) dtls ;;
  rtp) media rtp ;;
  srtp) media srtp ;;
  quic) quic ;;
  ntp) ntp ;;
  snmp) snmp ;;
  syslog) syslog ;;
  mqtt) mqtt ;;
  http-bulk) http_bulk ;;
  rsync) rsync_case ;;
  all) for c in wireguard "openvpn_case udp" "openvpn_case tcp" dtls "media rtp" "media srtp" quic ntp snmp syslog mqtt http_bulk rsync_case; do
         $c
       done ;;
  *) echo "usage: $0 [wireguard|openvpn-udp|openvpn-tcp|dtls|rtp|srtp|quic|ntp|snmp|syslog|mqtt|http-bulk|rsync|all]" >&2; exit 2 ;;
esac
