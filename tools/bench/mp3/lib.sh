# Shared by the MP3 benchmark scripts in this directory (sourced, not run).
# Builds the tools into $WORK/bin and makes the project's test speech.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# A temporary directory removed at exit, unless WORK names one to keep
# (then the speech files are reused by the next run).
if [ -z "${WORK:-}" ]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vpim-mp3-bench.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
fi
BIN=$WORK/bin
mkdir -p "$BIN"

need() {
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$t is missing (see README.md)" >&2; exit 2; }
	done
}

# build compiles vpim-milter, mp3enc, segsnr and shineenc.
build() {
	need go cc
	(cd "$ROOT" && export CGO_ENABLED=0 && go build -o "$BIN/vpim-milter" ./cmd/vpim-milter &&
		go build -o "$BIN/mp3enc" ./tools/bench/mp3/mp3enc &&
		go build -o "$BIN/segsnr" ./tools/bench/mp3/segsnr)
	cc -O2 -Wall -o "$BIN/shineenc" "$ROOT/tools/bench/mp3/shineenc.c" -lshine -lm
}

# speech SECONDS NAME makes $WORK/NAME.raw (8 kHz mono s16le), NAME.wav
# and NAME16k.raw (16 kHz, sox rate -v, for libshine, which does not
# resample): the two espeak-ng voices of codec/internal/audiotest.Speech,
# repeated to length.
speech() {
	local secs=$1 name=$2
	[ -s "$WORK/$name.wav" ] && [ -s "$WORK/${name}16k.raw" ] && return
	need espeak-ng sox
	local text="The quick brown fox jumps over the lazy dog. Please call me back at your earliest convenience, my number is five five five, one two three four. This is a voice mail message for the accounts department. We need to reschedule Thursday's meeting to Friday at three thirty in the afternoon. Thank you, goodbye."
	espeak-ng -v en-us -s 150 -w "$WORK/a.wav" "$text"
	espeak-ng -v en-gb+f3 -s 140 -p 70 -w "$WORK/b.wav" "$text"
	sox -D "$WORK/a.wav" "$WORK/b.wav" -r 8000 -c 1 -b 16 -e signed-integer -t raw "$WORK/seg.raw" rate -v pad 0 0.3 norm -3 2>/dev/null
	local want=$((secs * 16000)) have=0
	: >"$WORK/$name.raw"
	while [ "$have" -lt "$want" ]; do
		cat "$WORK/seg.raw" >>"$WORK/$name.raw"
		have=$(stat -c %s "$WORK/$name.raw")
	done
	truncate -s "$want" "$WORK/$name.raw"
	sox -t raw -r 8000 -e signed -b 16 -c 1 "$WORK/$name.raw" "$WORK/$name.wav"
	sox -D -t raw -r 8000 -e signed -b 16 -c 1 "$WORK/$name.raw" -r 16000 -t raw "$WORK/${name}16k.raw" rate -v 2>/dev/null
}

# median prints the median of the numbers on stdin.
median() {
	sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
