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
#                                 main.cf.snippet and master.cf.snippet from contrib/postfix
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
#
# What is not Postfix-specific (smtp-sink, up/down/wait-empty/status, PID and port checks)
# is in ../mta-harness.sh, shared with ../sendmail/harness.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# the documented configuration, applied verbatim: the tested one is the one users install
SNIPPETS=$(cd "$HERE/../../../contrib/postfix" && pwd)
# shellcheck source=SCRIPTDIR/../mta-harness.sh
. "$HERE/../mta-harness.sh"
PF_SMTP_PORT=${PF_SMTP_PORT:-2525}
PF_SINK_PORT=${PF_SINK_PORT:-2526}
PF_REINJECT_PORT=${PF_REINJECT_PORT:-2529}
HARNESS_NAME=postfix
HARNESS_SMTP_PORT=$PF_SMTP_PORT
HARNESS_SINK_PORT=$PF_SINK_PORT
HARNESS_PORTS="$PF_SMTP_PORT $PF_SINK_PORT $PF_REINJECT_PORT"
HARNESS_QUEUE=queue
# queue sub-directories that hold messages (hash_queue_names may nest them)
QUEUE_SUBDIRS="maildrop incoming active deferred hold corrupt"

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

# Postfix form of $MILTER (empty stays empty)
milter_form() {
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
    END { if (cur != "") print cur }' "$SNIPPETS/main.cf.snippet")
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
    { print }' "$SNIPPETS/master.cf.snippet" >>"$1/master.cf"
}

write_config() { # DIR
  local dir=$1 conf=$1/conf
  mkdir -p "$conf" "$dir/queue" "$dir/data" "$dir/sink"
  chown postfix:postfix "$dir/data" "$dir/sink"
  # Harness-only settings; the milter settings come from main.cf.snippet below.
  cat >"$conf/main.cf" <<EOF
# generated by integration/mta/postfix/harness.sh for a private test instance; do not edit
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
  apply_main_snippet "$conf" "$(milter_form)"
}

stop_dir() { # DIR
  local dir=$1 mp sp
  mp=$(master_pid "$dir")
  pid_is "$mp" master || mp=""
  sp=$(sink_pid "$dir")
  # signal both first, then wait for both (each takes about a second to exit)
  if [ -n "$mp" ]; then postfix -c "$dir/conf" stop >/dev/null 2>&1 || kill "$mp" 2>/dev/null || true; fi
  if [ -n "$sp" ]; then kill "$sp" 2>/dev/null || true; fi
  wait_gone "$mp" "$sp"
  if pid_alive "$mp"; then
    log "master $mp did not stop, aborting"
    postfix -c "$dir/conf" abort >/dev/null 2>&1 || kill -9 "$mp" 2>/dev/null || true
  fi
  if pid_alive "$sp"; then kill -9 "$sp" 2>/dev/null || true; fi
  rm -f "$dir/sink.pid"
}

# start_mta DIR: start Postfix on the config write_config made and wait for smtpd
start_mta() {
  local dir=$1
  # `postfix start` checks the config and creates missing queue directories with the right
  # owners (set-permissions would add a second of find(1) on every start)
  pf postfix -c "$dir/conf" start >"$dir/start.log" 2>&1 || {
    cat "$dir/start.log" >&2; tail -20 "$dir/maillog" >&2 || true; die "postfix start failed"
  }
  wait_listening "$PF_SMTP_PORT" 15 || { tail -20 "$dir/maillog" >&2 || true; die "smtpd not listening on $PF_SMTP_PORT"; }
}

up_vars() { # DIR MILTER
  local dir=$1
  cat <<EOF
SMTP_PORT=$PF_SMTP_PORT
SINK_PORT=$PF_SINK_PORT
REINJECT_PORT=$PF_REINJECT_PORT
SINK_DIR=$dir/sink
QUEUE_DIR=$dir/queue
CONF_DIR=$dir/conf
LOG=$dir/maillog
MILTER=$2
MASTER_PID=$(master_pid "$dir")
SINK_PID=$(cat "$dir/sink.pid")
EOF
}

queue_not_empty() { # DIR N TIMEOUT
  local d
  log "queue not empty after $3s: $2 message file(s)"
  for d in $QUEUE_SUBDIRS; do
    [ -d "$1/queue/$d" ] && log "  $d: $(find "$1/queue/$d" -type f | wc -l)"
  done
  return 0
}

cmd_flush() { # DIR
  local dir; dir=$(abs "$1")
  pid_is "$(master_pid "$dir")" master || die "postfix in $dir is not running"
  pf postqueue -c "$dir/conf" -f >&2
}

mta_status() { # DIR
  local mp; mp=$(master_pid "$1")
  if pid_is "$mp" master; then echo "postfix master running pid=$mp queue=$(queue_count "$1")"; else echo "postfix not running"; return 1; fi
}

harness_main "$@"
