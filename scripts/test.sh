#!/usr/bin/env bash
# Installs dependencies, builds, checks formatting and runs the whole test suite.
# Privileged tests (network namespaces, nftables, iptables, NFQUEUE) run when root and
# skip with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 "$@"
