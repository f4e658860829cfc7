# shellcheck shell=bash
# milterctl.sh: helpers for bench.sh and crash.sh (sourced, not run): start and stop one
# vpim-milter process by PID on a config this file writes, and small timing helpers.
#
# Needs: VPIM_MILTER (binary). Sets MILTER_PID.
# Optional: MILTER_LOG_LEVEL (debug|info|warn|error) for the milter's [log] level.

MILTER_PID=""

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "inf" }'; }

# listening PORT: a TCP listener on PORT exists (reads /proc, opens no connection)
listening() {
  local hex; hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp
}

# ensure_binary: build vpim-milter from this checkout if $VPIM_MILTER does not exist
ensure_binary() {
  [ -x "$VPIM_MILTER" ] && return 0
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  echo "building $VPIM_MILTER from $root" >&2
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$VPIM_MILTER" ./cmd/vpim-milter)
}

# write_milter_config DIR LISTEN: a config that changes only what a test run must change
# from the built-in defaults: the listen address, pass-through policy, state under DIR, and
# a unix socket the postfix group may connect to.
write_milter_config() {
  local dir=$1 listen=$2
  mkdir -p "$dir/state"
  cat >"$dir/vpim-milter.toml" <<EOF
[milter]
listen = "$listen"
socket_mode = "0660"
socket_group = "postfix"

[profile]
default_target = "passthrough"

[telephony]
spool_dir = "$dir/state/spool"
EOF
  # optional: MILTER_LOG_LEVEL=warn measures the cost of the per-transaction info log line
  if [ -n "${MILTER_LOG_LEVEL:-}" ]; then
    printf '\n[log]\nlevel = "%s"\n' "$MILTER_LOG_LEVEL" >>"$dir/vpim-milter.toml"
  fi
}

# milter_start DIR LISTEN: start vpim-milter in the background and wait until it listens.
# LISTEN is in vpim-milter's form: inet:PORT@127.0.0.1 or unix:/path.
milter_start() {
  local dir=$1 listen=$2 i
  write_milter_config "$dir" "$listen"
  STATE_DIRECTORY=$dir/state "$VPIM_MILTER" serve -c "$dir/vpim-milter.toml" \
    </dev/null >>"$dir/milter.log" 2>&1 &
  MILTER_PID=$!
  for ((i = 0; i < 200; i++)); do
    kill -0 "$MILTER_PID" 2>/dev/null || { tail -20 "$dir/milter.log" >&2; echo "vpim-milter exited during start" >&2; return 1; }
    case $listen in
      unix:*) [ -S "${listen#unix:}" ] && return 0 ;;
      inet:*@*) local p=${listen#inet:}; listening "${p%@*}" && return 0 ;;
    esac
    sleep 0.05
  done
  echo "vpim-milter did not listen on $listen within 10 s" >&2
  return 1
}

# milter_stop [SIGNAL]: stop the milter started by milter_start (TERM = graceful drain,
# KILL = crash) and reap it
milter_stop() {
  local sig=${1:-TERM} i
  [ -n "$MILTER_PID" ] || return 0
  kill -s "$sig" "$MILTER_PID" 2>/dev/null || true
  for ((i = 0; i < 700; i++)); do kill -0 "$MILTER_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$MILTER_PID" 2>/dev/null && kill -9 "$MILTER_PID" 2>/dev/null
  wait "$MILTER_PID" 2>/dev/null || true
  MILTER_PID=""
}

# count_files DIR: regular files in DIR (smtp-sink writes one per message)
count_files() { find "$1" -maxdepth 1 -type f | wc -l; }
