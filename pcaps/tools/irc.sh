#!/bin/bash
# IRC captures with ngircd (InspIRCd for `inspircd`) and two scripted clients
# (tools/irc_client.py).
# Usage: irc.sh [std|random|ipv6|dcc|tls|inspircd|dccchat|bitlbee|znc|all]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/irc
PY=/usr/bin/python3
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/irc.XXXXXX)

ngircd_conf() { # $1 listen addresses $2 port [$3 TLS port]
  local tls=${3:-}
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
  if [ -n "$tls" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=irc.example.test" \
      -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
    cat >> "$TMP/ngircd.conf" <<C
[SSL]
CertFile = $TMP/cert.pem
KeyFile = $TMP/key.pem
Ports = $tls
C
  fi
}

inspircd_conf() { # $1 listen address $2 port
  echo "imguard capture lab" > "$TMP/motd"
  cat > "$TMP/inspircd.conf" <<C
<server name="irc.example.test" description="imguard test server" network="ImguardLab">
<admin name="Lab Admin" nick="admin" email="admin@example.test">
<bind address="$1" port="$2" type="clients">
<connect name="main" allow="*" timeout="60" pingfreq="120" hardsendq="1M" softsendq="8192"
  recvq="8K" threshold="100" commandrate="1000" fakelag="off" localmax="100" globalmax="100"
  maxchans="20" limit="500" resolvehostnames="no" useident="no">
<pid file="$TMP/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$TMP/inspircd.log">
<options prefixquit="Quit: " allowhalfop="no" hostintopic="yes">
<security hidesplits="no" hideulines="no" maxtargets="20">
<performance netbuffersize="10240" somaxconn="128" softlimit="1024" clonesonconnect="no"
  timeskipwarn="2s" quietbursts="yes">
<dns timeout="1">
<files motd="$TMP/motd">
C
}

session() { # $1 out $2 port $3 server-addr [dcc|tls] ; v6 if LAB_V6; IRCD=inspircd
  local out=$1 port=$2 srv=$3 dcc=${4:-}
  local tlsport= tlsarg=()
  if [ "$dcc" = tls ]; then tlsport=$port; port=6667; dcc=; tlsarg=(--tls irc.example.test); fi
  lab_host srv 10.10.0.1 fd00:10:10::1; lab_host alice 10.10.0.2 fd00:10:10::2; lab_host bob 10.10.0.3 fd00:10:10::3
  if [ "${IRCD:-ngircd}" = inspircd ]; then
    inspircd_conf "$srv" "$port"
    lab_run srv 60 /usr/sbin/inspircd --runasroot --nofork --config="$TMP/inspircd.conf" >/dev/null 2>&1
  else
    ngircd_conf "$srv" "$port" "$tlsport"
    lab_run srv 60 /usr/sbin/ngircd -n -f "$TMP/ngircd.conf" >"$TMP/ngircd.log" 2>&1
  fi
  lab_wait_port srv "$port"
  [ -n "$tlsport" ] && { lab_wait_port srv "$tlsport"; port=$tlsport; }
  if [ "$LAB_V6" = 1 ]; then
    # keep NDP to the solicited-node address; drop router solicitations / MLD reports
    lab_capture "$out" 60 'not ip6 multicast or ip6 dst net ff02::1:ff00:0/104'
  else
    lab_capture "$out" 60
  fi
  local extra_a=() extra_b=()
  if [ "$dcc" = chat ]; then
    extra_a=(--dcc-chat --dcc-ip 10.10.0.2 --dcc-port 40124); extra_b=(--dcc-chat)
  elif [ -n "$dcc" ]; then
    head -c 20000 /usr/share/common-licenses/GPL-3 > "$TMP/notes.txt"
    extra_a=(--dcc "$TMP/notes.txt" --dcc-ip 10.10.0.2 --dcc-port 40123); extra_b=(--dcc x)
  fi
  nsx bob timeout 45 $PY "$HERE/irc_client.py" "$srv" "$port" bob "${extra_b[@]}" "${tlsarg[@]}" &
  local bp=$!; sleep 0.5
  nsx alice timeout 45 $PY "$HERE/irc_client.py" "$srv" "$port" alice "${extra_a[@]}" "${tlsarg[@]}"
  wait $bp
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

std()    { lab_init; session "$OUT/ngircd-6667.pcap" 6667 10.10.0.1; }
random() { lab_init; session "$OUT/ngircd-random-port.pcap" 16999 10.10.0.1; }
ipv6()   { lab_init ipv6; session "$OUT/ngircd-ipv6.pcap" 6667 fd00:10:10::1; }
dcc()    { lab_init; session "$OUT/dcc-send.pcap" 6667 10.10.0.1 dcc; }
tls()    { lab_init; session "$OUT/ngircd-tls-6697.pcap" 6697 10.10.0.1 tls; }
dccchat() { lab_init; IRCD=inspircd session "$OUT/inspircd-dcc-chat.pcap" 6667 10.10.0.1 chat; }
# BitlBee, the IRC gateway to other IM networks: one client in its control channel.
bitlbee() {
  local out="$OUT/bitlbee-gateway.pcap"
  lab_init; lab_host srv 10.10.0.1; lab_host alice 10.10.0.2
  mkdir -p "$TMP/bitlbee"
  printf '[settings]\nRunMode = ForkDaemon\nAuthMode = Open\nHostName = im.example.test\n' > "$TMP/bitlbee.conf"
  lab_run srv 60 /usr/sbin/bitlbee -F -n -i 10.10.0.1 -p 16668 -c "$TMP/bitlbee.conf" \
    -d "$TMP/bitlbee" >/dev/null 2>&1
  lab_wait_port srv 16668
  lab_capture "$out" 60
  nsx alice timeout 45 $PY "$HERE/irc_client.py" 10.10.0.1 16668 solo
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}
# ZNC: alice reaches InspIRCd through the bouncer (10.10.0.4), bob directly.
znc() {
  local out="$OUT/znc-bouncer.pcap"
  lab_init; lab_host srv 10.10.0.1; lab_host alice 10.10.0.2; lab_host bob 10.10.0.3
  lab_host bnc 10.10.0.4
  inspircd_conf 10.10.0.1 6667
  lab_run srv 90 /usr/sbin/inspircd --runasroot --nofork --config="$TMP/inspircd.conf" >/dev/null 2>&1
  lab_wait_port srv 6667
  mkdir -p "$TMP/znc/configs"
  cat > "$TMP/znc/configs/znc.conf" <<C
Version = 1.8.2
<Listener l>
  Port = 16669
  IPv4 = true
  IPv6 = false
  SSL = false
</Listener>
<User alice>
  Nick = alice
  AltNick = alice_
  Ident = alice
  RealName = Alice Example
  <Pass password>
    Method = plain
    Hash = secret-alice
  </Pass>
  <Network lab>
    Server = 10.10.0.1 6667
  </Network>
</User>
C
  lab_capture "$out" 90
  # As root ZNC waits 30 s before it starts; then it connects upstream at once.
  lab_run bnc 85 znc --foreground --allow-root --datadir "$TMP/znc" >/dev/null 2>&1
  lab_wait_port bnc 16669 2>/dev/null || sleep 32; lab_wait_port bnc 16669; sleep 3
  nsx bob timeout 45 $PY "$HERE/irc_client.py" 10.10.0.1 6667 bob &
  local bp=$!; sleep 0.5
  nsx alice timeout 45 $PY "$HERE/irc_client.py" 10.10.0.4 16669 alice --pass alice/lab:secret-alice
  wait $bp
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}
inspircd() { lab_init; IRCD=inspircd session "$OUT/inspircd-random-port.pcap" 17000 10.10.0.1 dcc; }

what=${1:-all}
if [ "$what" = all ]; then for w in std random ipv6 dcc tls inspircd dccchat bitlbee znc; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
