#!/usr/bin/env bash
# The main job on built-in defaults: installs dependencies, builds, and classifies the
# bundled captures, printing every flow and a per-application summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mapfile -t pcaps < <(find pcaps -name '*.pcap' -o -name '*.pcapng' | sort)
build/engine/imguard classify --format text "${pcaps[@]}"
