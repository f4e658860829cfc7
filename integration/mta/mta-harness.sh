# shellcheck shell=bash
# mta-harness.sh: the part of postfix/harness.sh and sendmail/harness.sh (beside this file) that
# does not depend on the MTA (sourced, not run): logging, PID and port checks, the smtp-sink
# every instance relays to, the up/down/wait-empty/status commands and the argument parsing.
#
# The sourcing script sets, before it calls harness_main:
#   HARNESS_NAME       "postfix" or "sendmail": log lines start with [HARNESS_NAME-harness]
#   HARNESS_SMTP_PORT  port of the MTA's SMTP listener (the one with the milter)
#   HARNESS_SINK_PORT  port of smtp-sink
#   HARNESS_PORTS      every port the instance listens on; `up` refuses ports in use
#   HARNESS_QUEUE      queue directory below DIR (`wait-empty` needs it)
# and defines:
#   installed, cmd_install       is the MTA there; install it
#   write_config DIR             the MTA's private configuration under DIR
#   start_mta DIR                start the MTA (the sink runs already) and wait for its listener
#   stop_dir DIR                 stop the MTA and the sink of DIR by PID (sink_pid, wait_gone)
#   milter_form                  $MILTER in the MTA's form
#   up_vars DIR MILTER           the KEY=VALUE lines `up` prints
#   queue_count DIR              files in the queue
#   queue_not_empty DIR N SECS   log why `wait-empty` gave up
#   mta_status DIR               one status line; return 1 when the MTA is not running
#   cmd_flush DIR                run the queue now

# the script that sourced this file: usage prints its header
HARNESS_SCRIPT=${BASH_SOURCE[1]:-$0}
SMTP_SINK=/usr/sbin/smtp-sink

log() { echo "[$HARNESS_NAME-harness] $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

usage() {
  sed -n '2,12p' "$HARNESS_SCRIPT" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# abs DIR: absolute path without requiring it to exist
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pid_is PID NAME: PID is alive and its command line mentions NAME (guards against reuse)
pid_is() { pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }

# wait_gone PID...: wait up to 5 s until none of the PIDs (empty ones ignored) is alive;
# the caller checks which one is left
wait_gone() {
  local p alive
  for _ in $(seq 100); do
    alive=""
    for p in "$@"; do pid_alive "$p" && alive=$p; done
    [ -n "$alive" ] || return 0
    sleep 0.05
  done
  return 0
}

# listening PORT: something listens on 127.0.0.1:PORT or *:PORT (read /proc, no probe
# connection, so the MTA does not start a milter session just for the check)
listening() {
  local hex; hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp
}

wait_listening() { # PORT TIMEOUT_S
  local i
  for ((i = 0; i < $2 * 20; i++)); do listening "$1" && return 0; sleep 0.05; done
  return 1
}

# sink_pid DIR: PID of DIR's smtp-sink, empty when it does not run
sink_pid() {
  local s; s=$(cat "$1/sink.pid" 2>/dev/null || true)
  if pid_is "$s" smtp-sink; then echo "$s"; fi
}

cmd_up() { # DIR
  local dir t0 m p; dir=$(abs "$1")
  # a bad MILTER address is refused before anything starts
  m=$(milter_form) || exit 1
  installed || cmd_install
  t0=$(now)
  stop_dir "$dir"
  for p in $HARNESS_PORTS; do listening "$p" && die "port $p is already in use"; done
  # a failed start must not leave a sink or a half-started MTA behind
  trap 'stop_dir "$dir"' EXIT
  mkdir -p "$dir"
  write_config "$dir"
  # smtp-sink: -u drops root, -d writes one file per transaction (strftime template + random
  # suffix), backlog 256
  "$SMTP_SINK" -u postfix -d "$dir/sink/%Y%m%d%H%M%S." "127.0.0.1:$HARNESS_SINK_PORT" 256 \
    </dev/null >"$dir/sink.log" 2>&1 &
  echo $! >"$dir/sink.pid"
  start_mta "$dir"
  wait_listening "$HARNESS_SINK_PORT" 5 || { cat "$dir/sink.log" >&2; die "smtp-sink not listening on $HARNESS_SINK_PORT"; }
  trap - EXIT
  log "up in $(since "$t0")s: smtp=127.0.0.1:$HARNESS_SMTP_PORT sink=127.0.0.1:$HARNESS_SINK_PORT milter=${m:-none}"
  up_vars "$dir" "$m"
}

cmd_down() { # DIR
  local dir; dir=$(abs "$1")
  stop_dir "$dir"
  log "stopped $dir"
}

cmd_wait_empty() { # DIR TIMEOUT
  local dir deadline n
  dir=$(abs "$1")
  [ -d "$dir/$HARNESS_QUEUE" ] || die "$dir/$HARNESS_QUEUE does not exist"
  deadline=$(awk -v a="$(now)" -v b="$2" 'BEGIN { printf "%.3f", a + b }')
  while :; do
    n=$(queue_count "$dir")
    [ "$n" -eq 0 ] && return 0
    if awk -v a="$(now)" -v b="$deadline" 'BEGIN { exit !(a > b) }'; then
      queue_not_empty "$dir" "$n" "$2"
      return 1
    fi
    sleep 0.1
  done
}

cmd_status() { # DIR
  local dir s rc=0
  dir=$(abs "$1")
  mta_status "$dir" || rc=1
  s=$(sink_pid "$dir")
  if [ -n "$s" ]; then echo "smtp-sink running pid=$s files=$(find "$dir/sink" -type f | wc -l)"; else echo "smtp-sink not running"; rc=1; fi
  return $rc
}

harness_main() { # "$@" of the script
  case "${1:-}" in
    install) cmd_install ;;
    up) [ $# -eq 2 ] || usage; cmd_up "$2" ;;
    down) [ $# -eq 2 ] || usage; cmd_down "$2" ;;
    wait-empty) [ $# -eq 3 ] || usage; cmd_wait_empty "$2" "$3" ;;
    flush) [ $# -eq 2 ] || usage; cmd_flush "$2" ;;
    status) [ $# -eq 2 ] || usage; cmd_status "$2" ;;
    *) usage ;;
  esac
}
