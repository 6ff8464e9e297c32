#!/usr/bin/env bash
# Installs every build, test and lab dependency of imguard from Debian's archive.
# Safe to re-run. Uses sudo when not already root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES=(
  # build
  build-essential cmake pkg-config clang-format
  libpcap-dev libndpi-dev libnetfilter-queue-dev libmnl-dev libyaml-cpp-dev catch2
  libssl-dev libcli11-dev libsystemd-dev nlohmann-json3-dev libfmt-dev
  # fuzzing (scripts/fuzz.sh): clang 14 with libFuzzer/ASan/UBSan runtimes, llvm-symbolizer
  clang libclang-rt-14-dev llvm
  # tests, lab and benchmarks
  libndpi-bin iproute2 nftables iptables conntrack conntrackd ethtool tcpdump iperf3 procps psmisc
  faketime  # e2e/clock-step: the wall clock stepped under the running daemon (libfaketime)
  uhub ncdc tmux  # e2e/dc-tls-transfer: a Direct Connect hub and two clients (ncdc driven by tmux)
  python3 python3-scapy netcat-openbsd curl dnsmasq-base bind9-dnsutils bc
  coturn baresip  # pcaps/tools/calls.sh: generic TURN/STUN and ICE call look-alikes
  linux-perf  # bench/conn_rate.sh CONN_PROFILE: where the daemon's time goes
  prometheus  # for promtool (ctest unit/metrics-promtool); also installs the server unit
  # packaging: the .deb (cpack's DEB generator uses dpkg-shlibdeps) and its test
  dpkg-dev lintian debootstrap systemd-container
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
