#!/usr/bin/env bash
# test-deps.sh: install what the test suite needs on Debian 12 (root).
# Idempotent: an installed package is skipped by apt, and each MTA harness
# checks its own install. Go modules come pinned from go.mod/go.sum.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pkgs=(
  miltertest            # OpenDKIM's libmilter-based test client (Lua)
  opendkim opendkim-tools # DKIM verifier and signer around vpim-milter (TestDKIMChain); opendkim-genkey;
                          # tools/bench/mta runs OpenDKIM (verify) as a throughput anchor
  libmilter-dev         # tools/bench/mta: the C no-op reference filter is built against it
  linux-perf strace     # profiling the milter against libmilter (tools/bench/mta/README.md)
  sox libsox-fmt-all    # audio reference and speech processing
  espeak-ng             # the project's own test speech
  libspandsp-dev        # G.726 reference (bit-exact comparison)
  libgsm-tools          # toast: GSM 06.10 reference
  ffmpeg lame mpg123    # MP3 test material and reference decoders
  chromium              # headless: what a web mail client's engine plays (internal/chromium)
  baresip               # SIP user agent that answers and records
  sip-tester            # sipp: scripted SIP responses (486, 404, ...)
  kamailio              # SIP proxy: the dispatcher in front of several callees
  dovecot-core          # SASL (SMTP AUTH) for the private Postfix: telephony.allowed_logins tests
  iproute2 procps psmisc busybox-syslogd util-linux bsdutils time m4 make gcc
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash integration/mta/postfix/harness.sh install
bash integration/mta/sendmail/harness.sh install
go mod download

# staticcheck for `make check`, pinned: 2026.2.2 (module v0.8.2) builds with Go 1.26.
staticcheck_version=v0.8.2
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -qF "(${staticcheck_version#v})"; then
  echo "test-deps: installing staticcheck $staticcheck_version" >&2
  go install "honnef.co/go/tools/cmd/staticcheck@${staticcheck_version}"
fi

echo "test-deps: ready" >&2
