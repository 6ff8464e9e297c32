# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Verdict and arithmetic helpers of the end-to-end scripts. Source it; the caller sets
# FAILS=0 and exits non-zero at the end when it is not 0.

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}
pass() { echo "ok: $*"; }
now() { date +%s.%N; }
# fcalc EXPR : floating-point arithmetic (awk), e.g. fcalc "$a - $b"
fcalc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
# fcmp EXPR : exit 0 when the awk condition holds
fcmp() { awk "BEGIN { exit !($1) }"; }
