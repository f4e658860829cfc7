#!/usr/bin/env bash
# harness.sh: a private, throw-away Postfix instance for vpim-milter tests (loopback only).
#
#   harness.sh install                 apt-get install postfix (debconf "No configuration"),
#                                      which also ships smtp-sink/smtp-source; idempotent
#   harness.sh up DIR                  (re)start a private Postfix + smtp-sink under DIR and print
#                                      KEY=VALUE lines on stdout (see below)
#   harness.sh down DIR                stop that Postfix and its sink (by PID), keep the files
#   harness.sh wait-empty DIR TIMEOUT  wait up to TIMEOUT seconds until the queue is empty
#   harness.sh flush DIR               ask Postfix to retry deferred mail now
#   harness.sh status DIR              print what runs (exit 1 if Postfix is not running)
#
# Layout under DIR (nothing in /etc/postfix or /var/spool/postfix is read or written, no
# system service is started):
#   conf/main.cf conf/master.cf   private config (postfix -c DIR/conf); the milter part is
#                                 main.cf.snippet and master.cf.snippet from this directory
#   queue/ data/                  private queue_directory and data_directory
#   maillog                       Postfix log (postlogd writes it, no syslog needed)
#   sink/                         one file per delivered message (smtp-sink -d)
#   sink.pid sink.log             smtp-sink; Postfix's master PID is in queue/pid/master.pid
#
# Mail flow: client -> smtpd 127.0.0.1:$PF_SMTP_PORT (milter $MILTER) -> queue -> smtp client ->
#            smtp-sink 127.0.0.1:$PF_SINK_PORT -> DIR/sink/<file per message>
# Every recipient domain (vm.example.net, ...) is accepted from 127.0.0.0/8 and relayed to the
# sink; nothing is delivered locally.
#
# Environment:
#   MILTER             milter address; empty or unset = no milter. Postfix form
#                      (inet:127.0.0.1:8895, unix:/path/sock) or Sendmail/libmilter form
#                      (inet:8895@127.0.0.1), which is converted.
#   PF_SMTP_PORT       [2525] smtpd (with the milter)
#   PF_SINK_PORT       [2526] smtp-sink
#   PF_REINJECT_PORT   [2529] smtpd without milters (master.cf.snippet's re-injection listener)
#
# Output of `up` (stdout, one per line): SMTP_PORT SINK_PORT REINJECT_PORT SINK_DIR QUEUE_DIR
# CONF_DIR LOG MILTER MASTER_PID SINK_PID. Progress and errors go to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PF_SMTP_PORT=${PF_SMTP_PORT:-2525}
PF_SINK_PORT=${PF_SINK_PORT:-2526}
PF_REINJECT_PORT=${PF_REINJECT_PORT:-2529}
SMTP_SINK=/usr/sbin/smtp-sink
# queue sub-directories that hold messages (hash_queue_names may nest them)
QUEUE_SUBDIRS="maildrop incoming active deferred hold corrupt"

log() { echo "[postfix-harness] $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

installed() { command -v postconf >/dev/null 2>&1 && [ -x "$SMTP_SINK" ] && [ -x /usr/sbin/smtp-source ]; }

cmd_install() {
  if installed; then log "postfix already installed ($(postconf -d -h mail_version))"; return 0; fi
  local t0; t0=$(now)
  # "No configuration": the package installs binaries only, no /etc/postfix/main.cf and no
  # running system instance; the harness brings its own config.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # a fresh machine may have no package lists yet
  if ! apt-cache policy postfix 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt-get update -qq; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 postfix >/dev/null
  installed || die "postfix installed but postconf/smtp-sink/smtp-source missing"
  log "postfix $(postconf -d -h mail_version) installed in $(since "$t0")s"
}

# abs DIR: absolute path without requiring it to exist
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# Postfix form of $MILTER (empty stays empty)
milter_postfix_form() {
  local m=${MILTER:-}
  case $m in
    "") echo "" ;;
    inet:*@*) local hp=${m#inet:}; echo "inet:${hp#*@}:${hp%@*}" ;; # inet:PORT@HOST
    inet:* | unix:*) echo "$m" ;;
    /*) echo "unix:$m" ;;
    *) die "MILTER=$m: want inet:HOST:PORT, inet:PORT@HOST or unix:/path" ;;
  esac
}

# postconf/postfix print fatal configuration errors only to syslog unless stderr is a tty:
# run them under script(1) so that the reason shows up in test logs.
pf() { script -qec "$(printf '%q ' "$@")" /dev/null; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pid_is PID NAME: PID is alive and its command line mentions NAME (guards against reuse)
pid_is() { pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }

# listening PORT: something listens on 127.0.0.1:PORT or *:PORT (read /proc, no probe
# connection, so smtpd does not start a milter session just for the check)
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

master_pid() { head -1 "$1/queue/pid/master.pid" 2>/dev/null | tr -d ' ' || true; }

queue_count() { # DIR
  local d n=0 q=$1/queue
  for d in $QUEUE_SUBDIRS; do
    [ -d "$q/$d" ] && n=$((n + $(find "$q/$d" -type f | wc -l)))
  done
  echo "$n"
}

# Applies main.cf.snippet: every "key = value" of the file (continuation lines joined) via
# postconf -e; only vpim_milter gets the address under test.
apply_main_snippet() { # CONF MILTER_PF
  local conf=$1 addr=$2 line key
  local -a settings=()
  while IFS= read -r line; do
    key=${line%%=*}
    key=${key// /}
    if [ "$key" = vpim_milter ]; then line="vpim_milter = $addr"; fi
    settings+=("$line")
  done < <(awk '
    /^[[:space:]]*#/ || /^[[:space:]]*$/ { next }
    /^[[:space:]]/ { l = $0; sub(/^[[:space:]]+/, "", l); cur = cur " " l; next }
    { if (cur != "") print cur; cur = $0 }
    END { if (cur != "") print cur }' "$HERE/main.cf.snippet")
  [ ${#settings[@]} -gt 0 ] || die "main.cf.snippet has no settings"
  postconf -c "$conf" -e "${settings[@]}"
}

# Installs master.cf.snippet's services, moved to the harness ports.
apply_master_snippet() { # CONF
  awk -v smtp="127.0.0.1:$PF_SMTP_PORT" -v reinject="127.0.0.1:$PF_REINJECT_PORT" '
    /^#/ || /^[[:space:]]*$/ { next }
    /^[[:space:]]/ { print; next }
    $1 == "smtp" && $2 == "inet" { $1 = smtp }
    $1 == "127.0.0.1:10026" { $1 = reinject }
    { print }' "$HERE/master.cf.snippet" >>"$1/master.cf"
}

write_config() { # DIR
  local dir=$1 conf=$1/conf
  mkdir -p "$conf" "$dir/queue" "$dir/data" "$dir/sink"
  chown postfix:postfix "$dir/data" "$dir/sink"
  # Harness-only settings; the milter settings come from main.cf.snippet below.
  cat >"$conf/main.cf" <<EOF
# generated by contrib/postfix/harness.sh for a private test instance; do not edit
compatibility_level = 3.6
myhostname = mx.harness.test
mydomain = harness.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
# nothing is local: every domain is relayed to the sink (the transport map wins over
# relayhost and over per-domain MX lookups)
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery disabled in the harness
transport_maps = static:smtp:[127.0.0.1]:$PF_SINK_PORT
relayhost = [127.0.0.1]:$PF_SINK_PORT
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
# loopback only: no DNS, no reverse lookups, no TLS
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_banner = \$myhostname ESMTP harness
biff = no
append_dot_mydomain = no
readme_directory = no
smtputf8_enable = yes
# quick retries of deferred mail
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 20s
# load tests open many connections from one address
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 100
message_size_limit = 52428800
EOF
  # master.cf: the package's defaults without chroot and without the sample pipe services
  # (they name users that do not exist), plus the snippet's services on the harness ports
  cp /usr/share/postfix/master.cf.dist "$conf/master.cf"
  postconf -c "$conf" -MX smtp/inet maildrop/unix uucp/unix ifmail/unix bsmtp/unix \
    scalemail-backend/unix mailman/unix
  apply_master_snippet "$conf"
  postconf -c "$conf" -F '*/*/chroot = n'
  apply_main_snippet "$conf" "$(milter_postfix_form)"
}

stop_dir() { # DIR
  local dir=$1 mp sp=""
  mp=$(master_pid "$dir")
  pid_is "$mp" master || mp=""
  if [ -f "$dir/sink.pid" ]; then
    sp=$(cat "$dir/sink.pid")
    pid_is "$sp" smtp-sink || sp=""
  fi
  # signal both first, then wait for both (each takes about a second to exit)
  if [ -n "$mp" ]; then postfix -c "$dir/conf" stop >/dev/null 2>&1 || kill "$mp" 2>/dev/null || true; fi
  if [ -n "$sp" ]; then kill "$sp" 2>/dev/null || true; fi
  for _ in $(seq 100); do
    pid_alive "$mp" || pid_alive "$sp" || break
    sleep 0.05
  done
  if pid_alive "$mp"; then
    log "master $mp did not stop, aborting"
    postfix -c "$dir/conf" abort >/dev/null 2>&1 || kill -9 "$mp" 2>/dev/null || true
  fi
  if pid_alive "$sp"; then kill -9 "$sp" 2>/dev/null || true; fi
  rm -f "$dir/sink.pid"
}

cmd_up() { # DIR
  local dir; dir=$(abs "$1")
  installed || cmd_install
  local t0; t0=$(now)
  stop_dir "$dir"
  for p in "$PF_SMTP_PORT" "$PF_SINK_PORT" "$PF_REINJECT_PORT"; do
    listening "$p" && die "port $p is already in use"
  done
  # a failed start must not leave a sink or a half-started Postfix behind
  trap 'stop_dir "$dir"' EXIT
  write_config "$dir"
  # smtp-sink: -u drops root, -d writes one file per transaction (strftime template + random
  # suffix), backlog 256
  "$SMTP_SINK" -u postfix -d "$dir/sink/%Y%m%d%H%M%S." "127.0.0.1:$PF_SINK_PORT" 256 \
    </dev/null >"$dir/sink.log" 2>&1 &
  echo $! >"$dir/sink.pid"
  # `postfix start` checks the config and creates missing queue directories with the right
  # owners (set-permissions would add a second of find(1) on every start)
  pf postfix -c "$dir/conf" start >"$dir/start.log" 2>&1 || {
    cat "$dir/start.log" >&2; tail -20 "$dir/maillog" >&2 || true; die "postfix start failed"
  }
  wait_listening "$PF_SMTP_PORT" 15 || { tail -20 "$dir/maillog" >&2 || true; die "smtpd not listening on $PF_SMTP_PORT"; }
  wait_listening "$PF_SINK_PORT" 5 || { cat "$dir/sink.log" >&2; die "smtp-sink not listening on $PF_SINK_PORT"; }
  trap - EXIT
  local m; m=$(milter_postfix_form)
  log "up in $(since "$t0")s: smtp=127.0.0.1:$PF_SMTP_PORT sink=127.0.0.1:$PF_SINK_PORT milter=${m:-none}"
  cat <<EOF
SMTP_PORT=$PF_SMTP_PORT
SINK_PORT=$PF_SINK_PORT
REINJECT_PORT=$PF_REINJECT_PORT
SINK_DIR=$dir/sink
QUEUE_DIR=$dir/queue
CONF_DIR=$dir/conf
LOG=$dir/maillog
MILTER=$m
MASTER_PID=$(master_pid "$dir")
SINK_PID=$(cat "$dir/sink.pid")
EOF
}

cmd_down() { # DIR
  local dir; dir=$(abs "$1")
  stop_dir "$dir"
  log "stopped $dir"
}

cmd_wait_empty() { # DIR TIMEOUT
  local dir deadline n
  dir=$(abs "$1")
  [ -d "$dir/queue" ] || die "$dir/queue does not exist"
  deadline=$(awk -v a="$(now)" -v b="$2" 'BEGIN { printf "%.3f", a + b }')
  while :; do
    n=$(queue_count "$dir")
    [ "$n" -eq 0 ] && return 0
    if awk -v a="$(now)" -v b="$deadline" 'BEGIN { exit !(a > b) }'; then
      log "queue not empty after $2s: $n message file(s)"
      for d in $QUEUE_SUBDIRS; do
        [ -d "$dir/queue/$d" ] && log "  $d: $(find "$dir/queue/$d" -type f | wc -l)"
      done
      return 1
    fi
    sleep 0.1
  done
}

cmd_flush() { # DIR
  local dir; dir=$(abs "$1")
  pid_is "$(master_pid "$dir")" master || die "postfix in $dir is not running"
  pf postqueue -c "$dir/conf" -f >&2
}

cmd_status() { # DIR
  local dir mp sp rc=0
  dir=$(abs "$1")
  mp=$(master_pid "$dir")
  if pid_is "$mp" master; then echo "postfix master running pid=$mp queue=$(queue_count "$dir")"; else echo "postfix not running"; rc=1; fi
  sp=$(cat "$dir/sink.pid" 2>/dev/null || true)
  if pid_is "$sp" smtp-sink; then echo "smtp-sink running pid=$sp files=$(find "$dir/sink" -type f | wc -l)"; else echo "smtp-sink not running"; rc=1; fi
  return $rc
}

case "${1:-}" in
  install) cmd_install ;;
  up) [ $# -eq 2 ] || usage; cmd_up "$2" ;;
  down) [ $# -eq 2 ] || usage; cmd_down "$2" ;;
  wait-empty) [ $# -eq 3 ] || usage; cmd_wait_empty "$2" "$3" ;;
  flush) [ $# -eq 2 ] || usage; cmd_flush "$2" ;;
  status) [ $# -eq 2 ] || usage; cmd_status "$2" ;;
  *) usage ;;
esac
