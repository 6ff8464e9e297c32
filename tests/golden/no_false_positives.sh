#!/usr/bin/env bash
# Ordinary traffic and every look-alike negative capture must carry no IM or P2P label.
# Negatives are named *lookalike*, *negative*, random-*, *-web-sni, socks5-*; background/ is
# all ordinary traffic.
set -euo pipefail
imguard=$1
mapfile -t files < <(find pcaps/background -name '*.pcap'; find pcaps -name '*.pcap' \
  \( -name '*lookalike*' -o -name '*negative*' -o -name 'random-*' -o -name '*-web-sni*' \
     -o -name 'socks5-*' \) | sort -u)
[ "${#files[@]}" -ge 10 ] || { echo "expected at least 10 negative captures, found ${#files[@]}" >&2; exit 1; }
bad=$("$imguard" classify --format jsonl "${files[@]}" | grep '"record":"flow"' |
      grep -E '"category":"(im|p2p)"' || true)
if [ -n "$bad" ]; then
  echo "IM/P2P labels on ordinary or look-alike traffic:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "ok: ${#files[@]} ordinary/look-alike captures, no IM or P2P label"
