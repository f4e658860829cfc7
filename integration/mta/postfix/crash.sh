#!/usr/bin/env bash
# crash.sh [N]: kill -9 vpim-milter in the middle of an N-message run (default 2000) and prove
# that Postfix loses and duplicates nothing.
#
#   1. private Postfix (harness.sh) with vpim-milter (pass-through) as its milter
#   2. smtpload sends N messages, each with a unique X-Load-ID / Message-ID, over
#      CRASH_SESSIONS parallel sessions (one message per connection) and records the SMTP
#      outcome of each
#   3. after CRASH_AT accepted messages vpim-milter gets SIGKILL; CRASH_DOWN seconds later it is
#      started again on the same config; the run goes on
#   4. invariant, checked when the run is over and the queue drained:
#        every message Postfix accepted (250 after DATA) is in the sink exactly once,
#        every other message got a 4xx at SMTP (tempfail), none got a 5xx or no answer,
#        nothing that was refused reached the sink, the crash did refuse something,
#        and the Postfix queue is empty.
#
# Environment (defaults):
#   VPIM_MILTER [/tmp/vpim-milter]  CRASH_MODE [tcp] (tcp|unix)  CRASH_SESSIONS [10]
#   CRASH_AT [N/3] accepted messages before the kill  CRASH_DOWN [0.5] seconds without milter
#   CRASH_SIZE [2048]  CRASH_DIR [mktemp -d] (kept on failure or with CRASH_KEEP=1)
#   PF_SMTP_PORT [2725] PF_SINK_PORT [2726] PF_REINJECT_PORT [2729] CRASH_MILTER_PORT [8996]
# Exit status: 0 invariant holds, 1 it does not (or the run could not be set up).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
N=${1:-2000}
MODE=${CRASH_MODE:-tcp}
SESSIONS=${CRASH_SESSIONS:-10}
AT=${CRASH_AT:-$((N / 3))}
DOWN=${CRASH_DOWN:-0.5}
SIZE=${CRASH_SIZE:-2048}
VPIM_MILTER=${VPIM_MILTER:-/tmp/vpim-milter}
MPORT=${CRASH_MILTER_PORT:-8996}
export PF_SMTP_PORT=${PF_SMTP_PORT:-2725} PF_SINK_PORT=${PF_SINK_PORT:-2726} PF_REINJECT_PORT=${PF_REINJECT_PORT:-2729}
# shellcheck source=../milterctl.sh
. "$HERE/../milterctl.sh"

BASE=${CRASH_DIR:-$(mktemp -d /tmp/vpim-crash.XXXXXX)}
mkdir -p "$BASE"
chmod 755 "$BASE"
PFDIR=$BASE/pf
LOAD_PID=""
KEEP=${CRASH_KEEP:-0}

cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  milter_stop TERM
  "$HERE/harness.sh" down "$PFDIR" >/dev/null 2>&1 || true
  if [ "$KEEP" != 1 ] && [ -z "${CRASH_DIR:-}" ]; then rm -rf "$BASE"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "crash: FAIL: $*" >&2; KEEP=1; echo "crash: logs kept in $BASE" >&2; exit 1; }

"$HERE/harness.sh" install
ensure_binary
(cd "$ROOT" && go build -o "$BASE/smtpload" ./integration/mta/smtpload) || fail "cannot build smtpload"

case $MODE in
  tcp) LISTEN="inet:$MPORT@127.0.0.1" PFMILTER="inet:127.0.0.1:$MPORT" ;;
  unix) LISTEN="unix:$BASE/milter.sock" PFMILTER="unix:$BASE/milter.sock" ;;
  *) fail "CRASH_MODE=$MODE: want tcp or unix" ;;
esac
milter_start "$BASE" "$LISTEN" || fail "vpim-milter did not start"
MILTER=$PFMILTER "$HERE/harness.sh" up "$PFDIR" >"$BASE/harness.env" 2>"$BASE/harness.log" ||
  { cat "$BASE/harness.log" >&2; fail "postfix did not start"; }

IDS=$BASE/accepted.ids
: >"$IDS"
echo "crash: N=$N sessions=$SESSIONS mode=$MODE kill -9 after $AT accepted, down ${DOWN}s, dir=$BASE" >&2
t0=$(now)
"$BASE/smtpload" send -addr "127.0.0.1:$PF_SMTP_PORT" -n "$N" -s "$SESSIONS" -size "$SIZE" \
  -run "crash$$" -ids "$IDS" -timeout 60s >"$BASE/send.out" 2>"$BASE/send.err" &
LOAD_PID=$!

# wait for the crash point (or the end of the run, if N is small)
while kill -0 "$LOAD_PID" 2>/dev/null && [ "$(wc -l <"$IDS")" -lt "$AT" ]; do sleep 0.02; done
kill -0 "$LOAD_PID" 2>/dev/null || fail "the run ended before $AT messages were accepted: $(cat "$BASE/send.out")"
killed_at=$(wc -l <"$IDS")
old_pid=$MILTER_PID
tk=$(now)
milter_stop KILL
echo "crash: killed vpim-milter pid $old_pid at $killed_at accepted ($(elapsed "$t0" "$(now)") s into the run)" >&2
sleep "$DOWN"
# unix mode: the stale socket of the killed process stays; vpim-milter must cope with it
milter_start "$BASE" "$LISTEN" || fail "vpim-milter did not restart"
echo "crash: restarted vpim-milter pid $MILTER_PID at $(wc -l <"$IDS") accepted, listening again $(elapsed "$tk" "$(now)") s after the kill" >&2

send_rc=0
wait "$LOAD_PID" || send_rc=$?
LOAD_PID=""
t1=$(now)
summary=$(cat "$BASE/send.out")
echo "crash: smtp: $summary ($(elapsed "$t0" "$t1") s)" >&2

# drain: everything Postfix accepted must leave the queue for the sink
"$HERE/harness.sh" wait-empty "$PFDIR" 120 || fail "postfix queue not empty 120 s after the run"
queue_left=$(find "$PFDIR/queue"/{maildrop,incoming,active,deferred,hold,corrupt} -type f 2>/dev/null | wc -l)
tally=$("$BASE/smtpload" verify -ids "$IDS" -sink "$PFDIR/sink" 2>"$BASE/verify.err") || true
echo "crash: sink: $tally" >&2

declare -A c=()
for kv in $summary $tally; do c[${kv%%=*}]=${kv#*=}; done
printf '\n%-40s %s\n' "check" "value"
printf '%-40s %s\n' "messages sent" "${c[sent]:-?}"
printf '%-40s %s\n' "accepted by Postfix (250)" "${c[accepted]:-?}"
printf '%-40s %s\n' "refused with 4xx" "${c[tempfail]:-?}"
printf '%-40s %s\n' "refused with 5xx" "${c[reject]:-?}"
printf '%-40s %s\n' "no definite answer" "${c[error]:-?}"
printf '%-40s %s\n' "delivered to the sink" "${c[delivered]:-?}"
printf '%-40s %s\n' "accepted and delivered exactly once" "${c[once]:-?}"
printf '%-40s %s\n' "duplicated / missing / refused-but-seen" "${c[duplicated]:-?} / ${c[missing]:-?} / ${c[unexpected]:-?}"
printf '%-40s %s\n' "left in the Postfix queue" "$queue_left"

[ "$queue_left" = 0 ] || fail "$queue_left message file(s) left in the Postfix queue"
[ "$send_rc" = 0 ] || { cat "$BASE/send.err" >&2; fail "smtpload reported messages without a definite SMTP answer"; }
[ "${c[sent]}" = "$N" ] || fail "sent ${c[sent]} of $N"
[ "$((c[accepted] + c[tempfail]))" = "$N" ] || fail "accepted + 4xx != $N"
[ "${c[reject]}" = 0 ] || fail "${c[reject]} message(s) got a 5xx"
[ "${c[tempfail]}" -gt 0 ] || fail "no message was refused: the crash was not observed (raise N or CRASH_DOWN)"
[ "${c[accepted]}" -gt "$killed_at" ] || fail "nothing was accepted after the restart"
[ "${c[once]}" = "${c[accepted]}" ] && [ "${c[delivered]}" = "${c[accepted]}" ] ||
  { cat "$BASE/verify.err" >&2; fail "sink does not hold every accepted message exactly once"; }
echo "crash: PASS: ${c[accepted]} accepted = ${c[once]} delivered exactly once, ${c[tempfail]} got 4xx, queue empty"
