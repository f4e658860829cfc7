#!/bin/bash
# bench.sh - whole-process speed and peak memory of `vpim-milter transcode`
# against the reference tools, on 10 minutes of generated 8 kHz speech
# (issue 4, acceptance point 3).
#
# usage: tools/bench/codec/transcode.sh [RUNS]        RUNS per case, default 5 (median is reported)
# needs: go, cc, libspandsp-dev, sox (+ libsox-fmt-all), espeak-ng, /usr/bin/time (package time)
#
# Prints one row per case: median wall time (including process start) and
# median CPU time (user+sys) of ours and theirs, and speed = theirs/ours
# for both (>= 1.00 means we are faster). On a busy machine trust the CPU
# column more than the wall column.
# Then the peak RSS of ours transcoding a 30-minute message, against the
# RSS of the same command on a 1-second file (the baseline).
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for t in go cc sox espeak-ng /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench.sh: $t not found" >&2; exit 2; }
done

echo "building vpim-milter and the libspandsp reference (tools/bench/codec/ref/g726ref.c)..."
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$W/vpim-milter" ./cmd/vpim-milter) # as `make build`
cc -O2 -o "$W/g726ref" "$ROOT/tools/bench/codec/ref/g726ref.c" -lspandsp
V="$W/vpim-milter"
REF="$W/g726ref"

echo "generating 10 min of speech (espeak-ng + sox)..."
TEXT="The quick brown fox jumps over the lazy dog. Please call me back at your earliest convenience, \
my number is five five five, one two three four. This is a voice mail message for the accounts department. \
We need to reschedule Thursday's meeting to Friday at three thirty in the afternoon. Thank you, goodbye."
cd "$W"
espeak-ng -v en-us -s 150 -w seg_a.wav "$TEXT"
espeak-ng -v en-gb+f3 -s 140 -p 70 -w seg_b.wav "$TEXT"
sox seg_a.wav seg_b.wav -r 22050 seg_ab.wav pad 0 0.3
sox -D seg_ab.wav -r 8000 -c 1 -b 16 -e signed-integer seg8k.wav rate -v norm -3
D=$(soxi -D seg8k.wav)
N600=$(awk -v d="$D" 'BEGIN{n=int(600/d); if (n*d<600) n++; print n}')
sox seg8k.wav s600.wav repeat $((N600 - 1)) trim 0 600
sox s600.wav -t raw s600.raw
sox seg_ab.wav -r 44100 -c 2 -b 16 s600_441st.wav rate -v repeat $((N600 - 1)) trim 0 600 norm -3
sox s600.wav -e gsm-full-rate s600_wav49.wav
sox s600.wav s600.wav s600.wav s1800.wav
sox s600.wav s1.wav trim 0 1
"$REF" enc 32000 right <s600.raw >ref.726

# one run of a shell command: prints "WALL CPU" in seconds (CPU = user +
# system time of the process tree, less sensitive to a busy machine).
# bash's time keyword reports milliseconds; /usr/bin/time only 10 ms,
# too coarse for the 30-40 ms G.711 case.
once() {
	local TIMEFORMAT='%3R %3U %3S' t
	t=$({ time sh -c "$1" >/dev/null 2>&1; } 2>&1) || return 1
	echo "$t" | tail -1 | awk '{printf "%.3f %.3f\n", $1, $2 + $3}'
}
median() { sort -n | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

printf '\n%-46s %17s %17s %15s\n' "case (600 s of 8 kHz speech, median of $RUNS)" "ours wall/cpu s" "theirs wall/cpu s" "speed wall/cpu"
row() { # row NAME OURS THEIRS   (runs alternate, so load changes hit both)
	local i ow oc tw tc r ol=() tl=()
	if ! sh -c "$2" >/dev/null 2>&1; then
		printf '%-46s %s\n' "$1" "n/a (ours failed: format not integrated?)"
		return
	fi
	for ((i = 0; i < RUNS; i++)); do
		ol+=("$(once "$2")")
		tl+=("$(once "$3")")
	done
	ow=$(printf '%s\n' "${ol[@]}" | awk '{print $1}' | median)
	oc=$(printf '%s\n' "${ol[@]}" | awk '{print $2}' | median)
	tw=$(printf '%s\n' "${tl[@]}" | awk '{print $1}' | median)
	tc=$(printf '%s\n' "${tl[@]}" | awk '{print $2}' | median)
	r=$(awk -v ow="$ow" -v oc="$oc" -v tw="$tw" -v tc="$tc" 'BEGIN{printf "%.2f / %.2f", tw/ow, (oc>0?tc/oc:0)}')
	printf '%-46s %8s/%-8s %8s/%-8s %15s\n' "$1" "$ow" "$oc" "$tw" "$tc" "$r"
}
row "G.726-32 encode vs libspandsp" \
	"$V transcode --from pcm16 --to 32kadpcm s600.raw o.726" \
	"$REF enc 32000 right <s600.raw >t.726"
row "G.726-32 decode vs libspandsp" \
	"$V transcode --from 32kadpcm --to pcm16 ref.726 o.raw" \
	"$REF dec 32000 right <ref.726 >t.raw"
row "PCM WAV -> u-law WAV vs sox -D" \
	"$V transcode --to wav-ulaw s600.wav o_u.wav" \
	"sox -D s600.wav -e mu-law -b 8 t_u.wav"
row "GSM WAV49 -> u-law WAV vs sox -D" \
	"$V transcode --to wav-ulaw s600_wav49.wav o_g.wav" \
	"sox -D s600_wav49.wav -e mu-law -b 8 t_g.wav"
row "44.1 kHz stereo -> 8 kHz u-law vs sox rate -v" \
	"$V transcode --to wav-ulaw s600_441st.wav o_r.wav" \
	"sox -D s600_441st.wav -e mu-law -b 8 t_r.wav remix - rate -v 8000"

echo
if cmp -s o.726 t.726; then
	echo "G.726-32 bitstream: identical to libspandsp ($(stat -c %s o.726) octets)"
else
	echo "G.726-32 bitstream: DIFFERS from libspandsp"
fi
# Our G.711 is ITU-T STL exact. sox rounds to 14 bits and then uses Sun's
# linear2ulaw (checked: that model reproduces sox's output exactly), so
# some codes differ by one step; both give 37.2-37.3 dB SNR on speech.
n_diff=$( (cmp -l <(tail -c +59 o_u.wav) <(tail -c +59 t_u.wav) 2>/dev/null || true) | wc -l)
echo "u-law WAV: $n_diff of $(($(stat -c %s o_u.wav) - 58)) codes differ from sox -D (sox: round + Sun g711; ours: ITU-T STL exact)"

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_stdin() { /usr/bin/time -f %M sh -c "\"\$0\" transcode --to \"\$1\" - \"\$3\" < \"\$2\"" "$V" "$1" "$2" "$3" 2>&1 >/dev/null | tail -1; }
echo
echo "peak RSS (KiB) of vpim-milter transcode, 30-minute message vs 1-second baseline"
echo "(from a file the length is known; from stdin a WAV target spools PCM to a temp file):"
for to in wav-ulaw 32kadpcm; do
	base=$(rss "$V" transcode --to $to s1.wav "$W/m1.out")
	big=$(rss "$V" transcode --to $to s1800.wav "$W/m1800.out")
	printf '  %-10s file  1 s: %6s KiB   30 min: %6s KiB   delta: %6s KiB\n' "$to" "$base" "$big" "$((big - base))"
	base=$(rss_stdin $to s1.wav "$W/m1.out")
	big=$(rss_stdin $to s1800.wav "$W/m1800.out")
	printf '  %-10s stdin 1 s: %6s KiB   30 min: %6s KiB   delta: %6s KiB\n' "$to" "$base" "$big" "$((big - base))"
done
