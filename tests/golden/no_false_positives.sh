#!/usr/bin/env bash
# Ordinary traffic and every look-alike negative capture must carry no IM or P2P label,
# under the full `imguard classify` chain (every registered classifier, nDPI included).
# Usage: no_false_positives.sh IMGUARD [DIR...]
#   without DIR: background/, the negative corpus pcaps/negative/, and every look-alike
#   named *lookalike*, *negative*, random-*, *-web-sni, socks5-* anywhere under pcaps/;
#   with DIRs: every capture under them (the negative-corpus gate passes pcaps/negative).
set -euo pipefail
imguard=$1
shift
if [ "$#" -gt 0 ]; then
  mapfile -t files < <(find "$@" -name '*.pcap' | sort -u)
  min=5
else
  mapfile -t files < <(find pcaps/background pcaps/negative -name '*.pcap'; find pcaps -name '*.pcap' \
    \( -name '*lookalike*' -o -name '*negative*' -o -name 'random-*' -o -name '*-web-sni*' \
       -o -name 'socks5-*' \) | sort -u)
  min=10
fi
[ "${#files[@]}" -ge "$min" ] || { echo "expected at least $min negative captures, found ${#files[@]}" >&2; exit 1; }
out=$("$imguard" classify --format jsonl "${files[@]}")
# The gate means nothing if nDPI is not in the chain: some ordinary flow must be its.
grep -q '"classifier":"ndpi"' <<<"$out" || { echo "no flow was classified by ndpi: is nDPI in the chain?" >&2; exit 1; }
bad=$(grep '"record":"flow"' <<<"$out" | grep -E '"category":"(im|p2p)"' || true)
if [ -n "$bad" ]; then
  echo "IM/P2P labels on ordinary or look-alike traffic:" >&2
  echo "$bad" >&2
  exit 1
fi
flows=$(grep -c '"record":"flow"' <<<"$out")
echo "ok: ${#files[@]} ordinary/look-alike captures, $flows flows, no IM or P2P label"
