#!/usr/bin/env bash
# bench.sh [N]: end-to-end throughput of Postfix with and without vpim-milter.
#
# Pushes N messages (default 2000) with smtp-source through a private Postfix
# (integration/mta/postfix/harness.sh) in three modes, alternating them for BENCH_ROUNDS
# rounds so that a machine that slows down during the run hurts every mode alike:
#   none   no milter
#   tcp    vpim-milter pass-through on inet:PORT@127.0.0.1
#   unix   vpim-milter pass-through on a unix socket
# Every run gets a fresh Postfix instance and (tcp/unix) a freshly started vpim-milter on a
# config written to the run directory (built-in defaults + listen + default_target =
# "passthrough"). A run is timed from the first SMTP connection until the sink holds all N
# messages. The table shows msgs/s per run, the median per mode, the median's ratio to
# "none" against the targets tcp >= 0.90 and unix >= 0.95 (the verdict), the median of the
# per-round ratios ("paired", less sensitive to a machine whose speed drifts between rounds),
# and the CPU time vpim-milter
# used per message (user + system, median), which unlike the ratios does not depend on what
# else the machine is doing.
#
# Environment (defaults):
#   VPIM_MILTER [/tmp/vpim-milter]   binary; built from this checkout if missing
#   BENCH_ROUNDS [3]  BENCH_SESSIONS [10] parallel SMTP sessions  BENCH_SIZE [2048] bytes
#   BENCH_MODES ["none tcp unix"]  BENCH_TIMEOUT [300] s per run
#   BENCH_DIR [mktemp -d]  kept afterwards only when BENCH_KEEP=1
#   BENCH_ENFORCE [0]  1: exit 3 when a ratio misses its target
#   MILTER_LOG_LEVEL [built-in default]  [log] level of the milter under test
#   PF_SMTP_PORT [2625] PF_SINK_PORT [2626] PF_REINJECT_PORT [2629] BENCH_MILTER_PORT [8995]
# Exit status: 0 ok, 1 a run failed (not all messages delivered), 3 target missed (enforced).
# Loopback only; every process started here is stopped by PID, also on Ctrl-C.
set -euo pipefail

# the private Postfix (harness.sh) and the milter start/stop helpers of the integration tests
MTA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../integration/mta" && pwd)
N=${1:-2000}
ROUNDS=${BENCH_ROUNDS:-3}
SESSIONS=${BENCH_SESSIONS:-10}
SIZE=${BENCH_SIZE:-2048}
MODES=${BENCH_MODES:-none tcp unix}
TIMEOUT=${BENCH_TIMEOUT:-300}
ENFORCE=${BENCH_ENFORCE:-0}
VPIM_MILTER=${VPIM_MILTER:-/tmp/vpim-milter}
MPORT=${BENCH_MILTER_PORT:-8995}
export PF_SMTP_PORT=${PF_SMTP_PORT:-2625} PF_SINK_PORT=${PF_SINK_PORT:-2626} PF_REINJECT_PORT=${PF_REINJECT_PORT:-2629}
# shellcheck source=../../../integration/mta/milterctl.sh
. "$MTA/milterctl.sh"

BASE=${BENCH_DIR:-$(mktemp -d /tmp/vpim-bench.XXXXXX)}
mkdir -p "$BASE"
chmod 755 "$BASE" # postfix (smtpd, smtp-sink) must reach the unix socket and the sink dir
PFDIR=""

cleanup() {
  milter_stop TERM
  [ -n "$PFDIR" ] && "$MTA/postfix/harness.sh" down "$PFDIR" >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-0}" != 1 ] && [ -z "${BENCH_DIR:-}" ]; then rm -rf "$BASE"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$MTA/postfix/harness.sh" install
ensure_binary
command -v smtp-source >/dev/null || { echo "smtp-source missing" >&2; exit 1; }

# run MODE ROUND: one timed run; sets RESULT="MODE ROUND SECONDS MSGS_PER_S DELIVERED"
# (no command substitution: the EXIT trap must see MILTER_PID and PFDIR)
run() {
  local mode=$1 round=$2 dir=$BASE/$1-$2 milter="" t0 t1 n=0
  mkdir -p "$dir"
  chmod 755 "$dir"
  case $mode in
    none) ;;
    tcp) milter_start "$dir" "inet:$MPORT@127.0.0.1"; milter="inet:127.0.0.1:$MPORT" ;;
    unix) milter_start "$dir" "unix:$dir/milter.sock"; milter="unix:$dir/milter.sock" ;;
    *) echo "unknown mode $mode" >&2; return 1 ;;
  esac
  PFDIR=$dir/pf
  MILTER=$milter "$MTA/postfix/harness.sh" up "$PFDIR" >"$dir/harness.env" 2>"$dir/harness.log" ||
    { cat "$dir/harness.log" >&2; return 1; }
  t0=$(now)
  # one message per connection (smtp-source's default), like independent clients
  smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" -f bench@example.org -t user@vm.example.net \
    -M client.bench.test "127.0.0.1:$PF_SMTP_PORT" >"$dir/smtp-source.log" 2>&1 || true
  local deadline; deadline=$(awk -v a="$t0" -v b="$TIMEOUT" 'BEGIN { printf "%.3f", a + b }')
  while :; do
    n=$(count_files "$PFDIR/sink")
    [ "$n" -ge "$N" ] && break
    awk -v a="$(now)" -v b="$deadline" 'BEGIN { exit !(a > b) }' && break
    sleep 0.05
  done
  t1=$(now)
  if [ "$n" -lt "$N" ]; then
    # smtp-source gives up on the first refused session: show why
    echo "  $mode round $round: only $n of $N delivered; smtp-source: $(tail -1 "$dir/smtp-source.log")" >&2
    echo "  milter-reject lines in $PFDIR/maillog: $(grep -c milter-reject "$PFDIR/maillog" || true)" >&2
    grep -E 'warning: milter' "$PFDIR/maillog" | head -3 | sed 's/^/    /' >&2 || true
  fi
  "$MTA/postfix/harness.sh" wait-empty "$PFDIR" 30 || true
  # CPU the milter used for the whole run (user + system), in ms per message
  local cpu="-"
  if [ -n "$MILTER_PID" ] && [ -r "/proc/$MILTER_PID/stat" ]; then
    cpu=$(awk -v tck="$(getconf CLK_TCK)" -v n="$N" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) * 1000 / tck / n }' \
      "/proc/$MILTER_PID/stat")
  fi
  "$MTA/postfix/harness.sh" down "$PFDIR" >/dev/null 2>&1 || true
  PFDIR=""
  milter_stop TERM
  local secs; secs=$(elapsed "$t0" "$t1")
  RESULT="$mode $round $secs $(rate "$N" "$secs") $n $cpu"
}

echo "bench: N=$N sessions=$SESSIONS size=${SIZE}B rounds=$ROUNDS modes='$MODES' milter=$VPIM_MILTER dir=$BASE" >&2
echo "bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (ratios are only meaningful on an idle machine)" >&2
RESULTS=$BASE/results.txt
: >"$RESULTS"
failed=0
for ((r = 1; r <= ROUNDS; r++)); do
  for m in $MODES; do
    run "$m" "$r"
    line=$RESULT
    echo "$line" >>"$RESULTS"
    read -r _ _ secs mps n cpu <<<"$line"
    printf '  round %d %-4s %7.2f s %8.1f msgs/s delivered %d/%d  milter cpu %s ms/msg  load %s\n' \
      "$r" "$m" "$secs" "$mps" "$n" "$N" "$cpu" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    [ "$n" -ge "$N" ] || failed=1
  done
done

# table: median per mode and ratio to "none"
awk -v n="$N" -v tcp_target=0.90 -v unix_target=0.95 '
  function median(arr, k,    i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return (k % 2) ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
  }
  { k = ++cnt[$1]; v[$1, k] = $4; c[$1, k] = $6; byround[$1, $2] = $4; if ($2 > rounds) rounds = $2; runs[$1] = runs[$1] sprintf(" %7.1f", $4); if (!($1 in seen)) { seen[$1] = 1; order[++m] = $1 } }
  END {
    printf "\n%-6s %-28s %10s %8s %8s %9s %14s\n", "mode", "msgs/s per run", "median", "ratio", "paired", "target", "milter ms/msg"
    for (i = 1; i <= m; i++) {
      mode = order[i]; delete a; delete b
      for (k = 1; k <= cnt[mode]; k++) { a[k] = v[mode, k]; b[k] = c[mode, k] }
      med[mode] = median(a, cnt[mode])
      cpu[mode] = (c[mode, 1] == "-") ? "-" : sprintf("%.2f", median(b, cnt[mode]))
    }
    for (i = 1; i <= m; i++) {
      mode = order[i]; ratio = "-"; target = "-"; paired = "-"
      if ("none" in med && med["none"] > 0) ratio = sprintf("%.3f", med[mode] / med["none"])
      # paired: median over rounds of (this mode / none of the same round); robust against
      # a machine whose speed drifts between rounds
      np = 0; delete pr
      for (r = 1; r <= rounds; r++) if (((mode, r) in byround) && (("none", r) in byround) && byround["none", r] > 0) pr[++np] = byround[mode, r] / byround["none", r]
      if (np > 0) paired = sprintf("%.3f", median(pr, np))
      if (mode == "tcp") target = ">= " tcp_target
      if (mode == "unix") target = ">= " unix_target
      verdict = ""
      if (target != "-" && ratio != "-") verdict = (ratio + 0 >= substr(target, 4) + 0) ? "  ok" : "  MISSED"
      printf "%-6s %-28s %10.1f %8s %8s %9s %14s%s\n", mode, runs[mode], med[mode], ratio, paired, target, cpu[mode], verdict
      if (verdict == "  MISSED") missed = 1
    }
    exit missed ? 3 : 0
  }' "$RESULTS" && verdict=0 || verdict=$?

if [ "$failed" = 1 ]; then
  echo "bench: FAILED: a run did not deliver all $N messages within ${TIMEOUT}s (logs in $BASE)" >&2
  BENCH_KEEP=1
  exit 1
fi
if [ "$verdict" = 3 ] && [ "$ENFORCE" = 1 ]; then exit 3; fi
exit 0
