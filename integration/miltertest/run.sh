#!/usr/bin/env bash
# run.sh [SCRIPT.lua...]: run the miltertest scripts of this directory (default: all of
# negotiate.lua macros.lua actions.lua) against a running milter and report each result.
#
#   MILTER_PORT=8895 integration/miltertest/run.sh           # inet:8895@127.0.0.1
#   MILTER_SOCK=unix:/run/vpim-milter/milter.sock integration/miltertest/run.sh actions.lua
#
# actions.lua and the last transaction of macros.lua need a filter that runs the test engine
# (milter/testengine: X-Test-Action); negotiate.lua and the rest of macros.lua pass against
# vpim-milter's own engine too. Needs miltertest (apt-get install -y miltertest).
# Exit status: 0 all passed, 1 a script failed, 2 usage or miltertest missing.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v miltertest >/dev/null || { echo "miltertest not installed (apt-get install -y miltertest)" >&2; exit 2; }
if [ -z "${MILTER_PORT:-}" ] && [ -z "${MILTER_SOCK:-}" ]; then
  echo "set MILTER_PORT or MILTER_SOCK" >&2
  exit 2
fi
[ $# -gt 0 ] || set -- negotiate.lua macros.lua actions.lua
rc=0
for s in "$@"; do
  case $s in /*) path=$s ;; *) path=$HERE/$s ;; esac
  if miltertest -s "$path"; then
    echo "PASS $s"
  else
    echo "FAIL $s"
    rc=1
  fi
done
exit $rc
