#!/bin/bash
# Background (non-IM/P2P) captures: HTTP, TLS, DNS (53 and 5300), SSH, and HTTP over
# a Linux-cooked (tcpdump -i any) capture.  Usage: background.sh [http|tls|dns|dns5300|ssh|httpsll|all]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/background
PY=/usr/bin/python3
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/bg.XXXXXX)

http() { # python http.server on 10.10.0.1:80, curl from 10.10.0.2
  lab_init; lab_host srv 10.10.0.1; lab_host cli 10.10.0.2
  mkdir -p "$TMP/www"; echo "<html><body>hello</body></html>" > "$TMP/www/index.html"
  head -c 3000 /dev/zero | tr '\0' 'a' > "$TMP/www/data.txt"
  lab_run srv 30 $PY -m http.server 80 --bind 10.10.0.1 --directory "$TMP/www" >/dev/null 2>&1
  lab_wait_port srv 80
  lab_capture "$OUT/http.pcap" 30
  nsx cli curl -s -o /dev/null http://10.10.0.1/
  nsx cli curl -s -o /dev/null http://10.10.0.1/data.txt
  nsx cli curl -s -o /dev/null -A "Mozilla/5.0" http://10.10.0.1/missing.png
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/http.pcap"
}

httpsll() { # same as http, captured with tcpdump -i any inside the client namespace
  lab_init; lab_host srv 10.10.0.1; lab_host cli 10.10.0.2
  mkdir -p "$TMP/www"; echo "<html><body>hello</body></html>" > "$TMP/www/index.html"
  lab_run srv 30 $PY -m http.server 8080 --bind 10.10.0.1 --directory "$TMP/www" >/dev/null 2>&1
  lab_wait_port srv 8080
  lab_capture_any cli "$OUT/http-sll.pcap" 30
  nsx cli curl -s -o /dev/null http://10.10.0.1:8080/
  nsx cli curl -s -o /dev/null http://10.10.0.1:8080/index.html
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/http-sll.pcap"
}

tls() { # openssl s_server on 443 with self-signed cert; s_client with SNI www.example.test
  lab_init; lab_host srv 10.10.0.1; lab_host cli 10.10.0.2
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=www.example.test" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
  lab_run srv 30 openssl s_server -accept 443 -cert "$TMP/cert.pem" -key "$TMP/key.pem" -quiet >/dev/null 2>&1 </dev/null
  lab_wait_port srv 443
  lab_capture "$OUT/tls.pcap" 30
  (echo "GET / HTTP/1.0"; echo; sleep 1) | nsx cli timeout 10 openssl s_client -connect 10.10.0.1:443 \
    -servername www.example.test -quiet >/dev/null 2>&1
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/tls.pcap"
}

dns_common() { # $1 port $2 out
  local port=$1 out=$2
  lab_init; lab_host srv 10.10.0.1; lab_host cli 10.10.0.2
  lab_run srv 30 dnsmasq -k -C /dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=10.10.0.1 \
    --port="$port" --pid-file= --user=nobody \
    --address=/www.example.test/10.10.9.9 --txt-record=example.test,"v=spf1 -all" \
    --mx-host=example.test,mail.example.test,10 --host-record=mail.example.test,10.10.9.10 >/dev/null 2>&1
  lab_wait_port srv "$port"
  lab_capture "$out" 30
  for q in "www.example.test A" "example.test TXT" "example.test MX" "mail.example.test A" "nothing.example.test A"; do
    nsx cli dig +tries=1 +time=2 -p "$port" @10.10.0.1 $q >/dev/null
  done
  nsx cli dig +tcp +tries=1 +time=2 -p "$port" @10.10.0.1 www.example.test A >/dev/null
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}
dns() { dns_common 53 "$OUT/dns.pcap"; }
dns5300() { dns_common 5300 "$OUT/dns-port-5300.pcap"; }

ssh() { # openssh-server on 22, key authentication, runs `true`
  lab_init; lab_host srv 10.10.0.1; lab_host cli 10.10.0.2
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/hostkey"
  ssh-keygen -q -t ed25519 -N '' -f "$TMP/userkey"
  cp "$TMP/userkey.pub" "$TMP/authorized_keys"; chmod 600 "$TMP/authorized_keys"
  cat > "$TMP/sshd_config" <<C
Port 22
ListenAddress 10.10.0.1
HostKey $TMP/hostkey
PermitRootLogin prohibit-password
AuthorizedKeysFile $TMP/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
PidFile none
C
  lab_run srv 30 /usr/sbin/sshd -D -e -f "$TMP/sshd_config" >/dev/null 2>&1
  lab_wait_port srv 22
  lab_capture "$OUT/ssh.pcap" 30
  nsx cli timeout 15 ssh -i "$TMP/userkey" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes root@10.10.0.1 true
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/ssh.pcap"
}

what=${1:-all}
if [ "$what" = all ]; then for w in http httpsll tls dns dns5300 ssh; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
