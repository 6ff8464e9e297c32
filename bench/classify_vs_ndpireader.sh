#!/usr/bin/env bash
# Offline throughput of `imguard classify` against Debian's ndpiReader (nDPI 4.2) on the
# same capture, measured in one invocation with runs interleaved (A B A B ...) so that
# machine noise hits both alike. Prints packets/s, Mbit/s (IP bytes) and the ratio.
#
#   bench/classify_vs_ndpireader.sh [--runs N] [--replicas N] [PCAP...]
# Without PCAPs it uses every bundled capture under pcaps/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5 replicas=30
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
imguard=build/engine/imguard
[ -x "$imguard" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
command -v ndpiReader >/dev/null || { echo "ndpiReader missing: apt-get install libndpi-bin" >&2; exit 1; }
if [ $# -eq 0 ]; then mapfile -t inputs < <(find pcaps -name '*.pcap' | sort); else inputs=("$@"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
big=$work/bench.pcap
read -r pk ipb < <(/usr/bin/python3 bench/make_bench_pcap.py --replicas "$replicas" --out "$big" "${inputs[@]}" \
  | sed -E 's/packets=([0-9]+) ip_bytes=([0-9]+)/\1 \2/')
echo "input: ${#inputs[@]} captures x $replicas replicas = $pk packets, $ipb IP bytes"

now() { date +%s%N; }
a_times=() b_times=()
for ((i = 0; i <= runs; i++)); do   # run 0 is a warm-up
  t=$(now); "$imguard" classify --format jsonl "$big" >/dev/null; ta=$(( $(now) - t ))
  t=$(now); ndpiReader -q -i "$big" >/dev/null 2>&1; tb=$(( $(now) - t ))
  if [ "$i" -gt 0 ]; then a_times+=("$ta"); b_times+=("$tb"); fi
done
/usr/bin/python3 - "$pk" "$ipb" "${a_times[*]}" "${b_times[*]}" <<'PY'
import statistics, sys
pk, ipb = int(sys.argv[1]), int(sys.argv[2])
a = [int(x) / 1e9 for x in sys.argv[3].split()]
b = [int(x) / 1e9 for x in sys.argv[4].split()]
ratios = [y / x for x, y in zip(a, b)]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{'':18} {'median s':>9} {'kpkt/s':>9} {'Mbit/s':>9}")
print(f"{'imguard classify':18} {ma:9.3f} {pk / ma / 1e3:9.1f} {ipb * 8 / ma / 1e6:9.1f}")
print(f"{'ndpiReader':18} {mb:9.3f} {pk / mb / 1e3:9.1f} {ipb * 8 / mb / 1e6:9.1f}")
print(f"throughput ratio imguard/ndpiReader: median {statistics.median(ratios):.2f} "
      f"(min {min(ratios):.2f}, max {max(ratios):.2f}, {len(ratios)} paired runs)")
PY
