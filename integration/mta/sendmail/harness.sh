#!/usr/bin/env bash
# harness.sh: a private, throw-away Sendmail 8.17 instance for vpim-milter tests (loopback only).
#
#   harness.sh install                 unpack sendmail-bin/-base/-cf into $SM_ROOT (apt-get
#                                      download + dpkg-deb -x) and install its libraries, m4
#                                      and postfix (for smtp-sink only); idempotent
#   harness.sh up DIR                  (re)start Sendmail + smtp-sink under DIR and print
#                                      KEY=VALUE lines on stdout (see below)
#   harness.sh down DIR                stop them (by PID), keep the files
#   harness.sh wait-empty DIR TIMEOUT  wait up to TIMEOUT seconds until the queue is empty
#   harness.sh flush DIR               run the queue once now
#   harness.sh status DIR              print what runs (exit 1 if Sendmail is not running)
#
# Why unpacked: Debian's sendmail-bin and postfix conflict (both provide
# mail-transport-agent), so installing sendmail-bin would remove Postfix. The unpacked tree
# runs as is: no maintainer scripts, no smmta users, /etc/mail is not used.
#
# Layout under DIR:
#   harness.mc sendmail.cf     config: this file's base + sendmail.mc.snippet (only S= replaced)
#   mqueue/                    queue (mode 700: Sendmail's safe-file checks)
#   sink/                      one file per delivered message (smtp-sink -d)
#   hosts service.switch       private name resolution (see below)
#   sendmail.pid sink.pid      PIDs; syslog.log + syslogd.pid when SM_SYSLOG=1
#
# Mail flow: client -> 127.0.0.1:$SM_SMTP_PORT (milter $MILTER) -> queue -> SMART_HOST
#            smtp-sink 127.0.0.1:$SM_SINK_PORT -> DIR/sink/<file per message>
# Every recipient domain is relayed from 127.0.0.1 to the sink.
#
# Environment:
#   MILTER        milter address; empty or unset = no milter. Sendmail form
#                 (inet:8895@127.0.0.1, unix:/path) or Postfix form (inet:127.0.0.1:8895),
#                 which is converted. A unix socket must not sit below a group/world
#                 writable directory such as /tmp (Sendmail refuses it as unsafe).
#   SM_SMTP_PORT  [2527]  SM_SINK_PORT [2528]  SM_ROOT [/opt/sendmail-x]
#   SM_SYSLOG     [0]  1: Sendmail logs only to syslog; if /dev/log does not exist, start
#                 `busybox syslogd` writing DIR/syslog.log (its /dev/log is removed on down)
#
# Output of `up` (stdout): SMTP_PORT SINK_PORT SINK_DIR QUEUE_DIR CF LOG MILTER SENDMAIL_PID
# SINK_PID. LOG is DIR/syslog.log (written only with SM_SYSLOG=1).
#
# Hostname: Sendmail qualifies its own host name before it reads sendmail.cf; with a
# dot-less hostname and no DNS it sleeps 60 s on every start. The harness runs Sendmail in a
# private mount namespace (unshare -m) where DIR/hosts is bind-mounted over /etc/hosts and
# maps 127.0.0.1 to an FQDN: start takes well under a second. Without unshare the 60 s stay.
#
# What is not Sendmail-specific (smtp-sink, up/down/wait-empty/status, PID and port checks)
# is in ../mta-harness.sh, shared with ../postfix/harness.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# the documented configuration, included verbatim: the tested one is the one users install
SNIPPET=$(cd "$HERE/../../../contrib/sendmail" && pwd)/sendmail.mc.snippet
# shellcheck source=SCRIPTDIR/../mta-harness.sh
. "$HERE/../mta-harness.sh"
SM_SMTP_PORT=${SM_SMTP_PORT:-2527}
SM_SINK_PORT=${SM_SINK_PORT:-2528}
SM_ROOT=${SM_ROOT:-/opt/sendmail-x}
SM_SYSLOG=${SM_SYSLOG:-0}
SENDMAIL=$SM_ROOT/usr/libexec/sendmail/sendmail
CFDIR=$SM_ROOT/usr/share/sendmail/cf
FQDN=mx-sm.harness.test
HARNESS_NAME=sendmail
HARNESS_SMTP_PORT=$SM_SMTP_PORT
HARNESS_SINK_PORT=$SM_SINK_PORT
HARNESS_PORTS="$SM_SMTP_PORT $SM_SINK_PORT"
HARNESS_QUEUE=mqueue

# runtime libraries of sendmail-bin (apt-cache show sendmail-bin: Depends), m4 for the cf
LIBS="libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 libwrap0 m4"

installed() {
  [ -x "$SENDMAIL" ] && [ -f "$CFDIR/m4/cf.m4" ] && command -v m4 >/dev/null 2>&1 && [ -x "$SMTP_SINK" ] &&
    ! ldd "$SENDMAIL" 2>/dev/null | grep -q 'not found'
}

cmd_install() {
  if installed; then
    log "sendmail already unpacked in $SM_ROOT"
    return 0
  fi
  local t0 tmp version; t0=$(now)
  if ! apt-cache policy sendmail-bin 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt-get update -qq; fi
  local pkgs="" p
  for p in $LIBS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs="$pkgs $p"
  done
  if ! [ -x "$SMTP_SINK" ]; then
    # smtp-sink ships with postfix; "No configuration" leaves it unconfigured and stopped
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    pkgs="$pkgs postfix"
  fi
  if [ -n "$pkgs" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 $pkgs >/dev/null
  fi
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq sendmail-bin sendmail-base sendmail-cf >/dev/null 2>&1) ||
    { rm -rf "$tmp"; die "apt-get download sendmail-bin sendmail-base sendmail-cf failed"; }
  mkdir -p "$SM_ROOT"
  for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$SM_ROOT"; done
  version=$(dpkg-deb -f "$tmp"/sendmail-bin_*.deb Version)
  rm -rf "$tmp"
  installed || die "unpacked sendmail is not usable (missing library?): $(ldd "$SENDMAIL" | grep 'not found' || true)"
  log "sendmail $version unpacked into $SM_ROOT in $(since "$t0")s"
}

# Sendmail (libmilter) form of $MILTER
milter_form() {
  local m=${MILTER:-}
  case $m in
    "") echo "" ;;
    inet:*@* | inet6:*@* | unix:* | local:*) echo "$m" ;;
    inet:*:*) local hp=${m#inet:}; echo "inet:${hp##*:}@${hp%:*}" ;; # inet:HOST:PORT
    /*) echo "unix:$m" ;;
    *) die "MILTER=$m: want inet:PORT@HOST, inet:HOST:PORT or unix:/path" ;;
  esac
}

sendmail_pid() { head -1 "$1/sendmail.pid" 2>/dev/null || true; }

queue_count() { find "$1/mqueue" -type f \( -name 'qf*' -o -name 'df*' -o -name 'tf*' -o -name 'xf*' \) 2>/dev/null | wc -l; }

# in_ns DIR CMD...: run CMD in a private mount namespace whose /etc/hosts gives this machine
# an FQDN (see the header); falls back to running it directly
in_ns() {
  local dir=$1; shift
  if unshare -m true 2>/dev/null; then
    unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$dir/hosts" "$@"
  else
    log "unshare -m not permitted: expect a 60 s hostname-qualification stall"
    "$@"
  fi
}

write_config() { # DIR
  local dir=$1 milter
  milter=$(milter_form)
  mkdir -p "$dir/mqueue" "$dir/sink"
  chmod 700 "$dir/mqueue"
  chown postfix "$dir/sink" # smtp-sink drops privileges to postfix
  printf 'hosts\tfiles\naliases\tfiles\n' >"$dir/service.switch"
  printf '127.0.0.1\t%s %s localhost\n::1\tlocalhost ip6-localhost\n' "$FQDN" "$(hostname)" >"$dir/hosts"
  : >"$dir/helpfile"
  : >"$dir/sendmail.st"
  {
    cat <<EOF
divert(-1)
# generated by integration/mta/sendmail/harness.sh for a private test instance; do not edit
divert(0)dnl
VERSIONID(\`vpim-milter harness')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$FQDN')dnl
define(\`confSERVICE_SWITCH_FILE', \`$dir/service.switch')dnl
define(\`confHOSTS_FILE', \`/etc/hosts')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`QUEUE_DIR', \`$dir/mqueue')dnl
define(\`STATUS_FILE', \`$dir/sendmail.st')dnl
define(\`HELP_FILE', \`$dir/helpfile')dnl
define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
define(\`confDEAD_LETTER_DROP', \`$dir/dead.letter')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confDEF_USER_ID', \`daemon:daemon')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confMAX_DAEMON_CHILDREN', \`64')dnl
define(\`confREFUSE_LA', \`999')dnl
define(\`confQUEUE_LA', \`999')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Port=$SM_SMTP_PORT, Addr=127.0.0.1')dnl
EOF
    if [ -n "$milter" ]; then
      echo "dnl ---- contrib/sendmail/sendmail.mc.snippet (S= set by the harness) ----"
      # only the S= address changes; every other line is the documented snippet
      sed "s|S=inet:8895@127\\.0\\.0\\.1|S=$milter|" "$SNIPPET"
      echo "dnl ---- end of snippet ----"
    fi
    echo "MAILER(\`local')dnl"
    echo "MAILER(\`smtp')dnl"
  } >"$dir/harness.mc"
  if [ -n "$milter" ] && ! grep -q "S=$milter," "$dir/harness.mc"; then
    die "sendmail.mc.snippet no longer contains S=inet:8895@127.0.0.1: update the harness"
  fi
  m4 -D_CF_DIR_="$CFDIR/" "$CFDIR/m4/cf.m4" "$dir/harness.mc" >"$dir/sendmail.cf"
}

stop_dir() { # DIR
  local dir=$1 p s l
  p=$(sendmail_pid "$dir")
  pid_is "$p" sendmail || p=""
  s=$(sink_pid "$dir")
  [ -n "$p" ] && kill "$p" 2>/dev/null || true
  [ -n "$s" ] && kill "$s" 2>/dev/null || true
  wait_gone "$p" "$s"
  pid_alive "$p" && kill -9 "$p" 2>/dev/null || true
  pid_alive "$s" && kill -9 "$s" 2>/dev/null || true
  rm -f "$dir/sendmail.pid" "$dir/sink.pid"
  if [ -f "$dir/syslogd.pid" ]; then
    l=$(cat "$dir/syslogd.pid")
    if pid_is "$l" syslogd; then
      kill "$l" 2>/dev/null || true
      for _ in $(seq 40); do pid_alive "$l" || break; sleep 0.05; done
      rm -f /dev/log # created by that syslogd (we only start one when /dev/log was absent)
    fi
    rm -f "$dir/syslogd.pid"
  fi
}

start_syslog() { # DIR
  local dir=$1
  [ "$SM_SYSLOG" = 1 ] || return 0
  if [ -S /dev/log ]; then
    log "SM_SYSLOG=1: /dev/log exists, Sendmail logs go to the running syslog daemon"
    return 0
  fi
  command -v busybox >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox >/dev/null
  # stdout/stderr detached: a background child holding a caller's pipe would hang it
  busybox syslogd -n -O "$dir/syslog.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/syslogd.pid"
  for _ in $(seq 40); do [ -S /dev/log ] && return 0; sleep 0.05; done
  log "busybox syslogd did not create /dev/log"
}

# start_mta DIR: start Sendmail on the sendmail.cf write_config made and wait for it
start_mta() {
  local dir=$1
  start_syslog "$dir"
  # -bd: daemon (forks, writes confPID_FILE); -q1m: queue runner every minute
  in_ns "$dir" "$SENDMAIL" -C"$dir/sendmail.cf" -bd -q1m </dev/null >"$dir/start.log" 2>&1 ||
    { cat "$dir/start.log" >&2; die "sendmail -bd failed"; }
  wait_listening "$SM_SMTP_PORT" 70 || { cat "$dir/start.log" >&2; die "sendmail not listening on $SM_SMTP_PORT"; }
  for _ in $(seq 40); do [ -s "$dir/sendmail.pid" ] && break; sleep 0.05; done
}

up_vars() { # DIR MILTER
  local dir=$1
  cat <<EOF
SMTP_PORT=$SM_SMTP_PORT
SINK_PORT=$SM_SINK_PORT
SINK_DIR=$dir/sink
QUEUE_DIR=$dir/mqueue
CF=$dir/sendmail.cf
LOG=$dir/syslog.log
MILTER=$2
SENDMAIL_PID=$(sendmail_pid "$dir")
SINK_PID=$(cat "$dir/sink.pid")
EOF
}

queue_not_empty() { # DIR N TIMEOUT
  log "queue not empty after $3s: $2 queue file(s)"
}

cmd_flush() {
  local dir; dir=$(abs "$1")
  [ -f "$dir/sendmail.cf" ] || die "$dir has no sendmail.cf"
  in_ns "$dir" "$SENDMAIL" -C"$dir/sendmail.cf" -q </dev/null >&2
}

mta_status() { # DIR
  local p; p=$(sendmail_pid "$1")
  if pid_is "$p" sendmail; then echo "sendmail running pid=$p queue=$(queue_count "$1")"; else echo "sendmail not running"; return 1; fi
}

harness_main "$@"
