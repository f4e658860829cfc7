#!/bin/bash
# bench.sh - whole-process speed of codec/gsm and codec/resample against the
# reference tools, on 10 minutes of the project's own speech (espeak-ng + sox).
#
#   resample: 44.1 kHz stereo s16 -> 8 kHz mono s16     ours vs sox "remix - rate -v 8000"
#   gsm dec : WAV49 (10 min) -> s16                      ours vs sox (libgsm)
#   gsm dec : raw .gsm -> s16                            ours vs toast -d (libgsm)
#   gsm enc : s16 -> raw .gsm                            ours vs toast (libgsm)
#
# Both sides read and write raw files on local disk; sox gets the same raw
# input via -t raw. Each command runs RUNS times (default 7); the table shows
# the median wall time and the minimum user+sys CPU time (the robust figure on
# a shared, loaded machine), and ratio = theirs/ours (>= 1.0: we are faster).
#
# Needs: go, sox, libgsm-tools (toast), espeak-ng, /usr/bin/time (package time).
# Usage: tools/bench/codec/gsm-resample.sh [workdir]     (default /tmp/gsm-resample-bench)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
W=${1:-/tmp/gsm-resample-bench}
RUNS=${RUNS:-7}
mkdir -p "$W"
for t in sox toast espeak-ng /usr/bin/time go; do
	command -v "$t" >/dev/null || { echo "bench.sh: $t not installed" >&2; exit 2; }
done
cd "$ROOT"
go build -o "$W/gsmdec" ./tools/bench/codec/gsmdec
go build -o "$W/gsmenc" ./tools/bench/codec/gsmenc
go build -o "$W/resample8k" ./tools/bench/codec/resample8k
cd "$W"
if [ ! -s s600_441st.raw ]; then
	TEXT="The quick brown fox jumps over the lazy dog. Please call me back at your earliest convenience, \
my number is five five five, one two three four. This is a voice mail message for the accounts department."
	espeak-ng -v en-us -s 150 -w seg_a.wav "$TEXT"
	espeak-ng -v en-gb+f3 -s 140 -p 70 -w seg_b.wav "$TEXT"
	sox seg_a.wav seg_b.wav -r 22050 seg_ab.wav pad 0 0.3
	D=$(soxi -D seg_ab.wav)
	N=$(awk -v d="$D" 'BEGIN{n=int(600/d); if (n*d<600) n++; print n}')
	sox seg_ab.wav -r 44100 -c 2 -b 16 -t raw s600_441st.raw rate -v repeat $((N-1)) trim 0 600 norm -3
	sox seg_ab.wav -r 8000 -c 1 -b 16 -e signed-integer -t raw s600_8k.raw rate -v repeat $((N-1)) trim 0 600 norm -3
	sox -t raw -r 8000 -c 1 -b 16 -e signed-integer s600_8k.raw -t wav -e gsm-full-rate s600_wav49.wav
	sox -t raw -r 8000 -c 1 -b 16 -e signed-integer s600_8k.raw -t gsm s600.gsm
fi

# measure NAME CMD...: runs CMD (a shell string) RUNS times, prints "wall cpu" medians.
measure() {
	local walls=() cpus=() i out
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -o time.out -f "%e %U %S" bash -c "$1" >/dev/null 2>&1
		out=$(tail -1 time.out)
		walls+=("$(awk '{print $1}' <<<"$out")")
		cpus+=("$(awk '{printf "%.2f", $2+$3}' <<<"$out")")
	done
	echo "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p") $(printf '%s\n' "${cpus[@]}" | sort -n | head -1)"
}

row() { # label ours-cmd theirs-cmd
	local o t
	o=$(measure "$2")
	t=$(measure "$3")
	awk -v l="$1" -v o="$o" -v t="$t" 'BEGIN{split(o,a," "); split(t,b," ");
		rw = (a[1] > 0) ? b[1]/a[1] : 0; rc = (a[2] > 0) ? b[2]/a[2] : 0;
		printf "%-34s %8.2f %8.2f %8.2f %8.2f %7.2f %7.2f\n", l, a[1], b[1], a[2], b[2], rw, rc}'
}

echo "10 min of speech, $RUNS runs (wall: median, CPU: min), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %8s %8s %7s %7s\n' "task" "ours s" "ref s" "oursCPU" "refCPU" "wall x" "cpu x"
row "resample 44.1k st -> 8k (sox -v)" \
	"./resample8k -rate 44100 -channels 2 < s600_441st.raw > out_rs.s16" \
	"sox -D -t raw -r 44100 -c 2 -e signed -b 16 s600_441st.raw -t raw out_rs_sox.s16 remix - rate -v 8000"
row "gsm WAV49 decode (sox)" \
	"./gsmdec -wav49 < s600_wav49.wav > out_49.s16" \
	"sox s600_wav49.wav -t raw out_49_sox.s16"
row "gsm raw decode (toast -d)" \
	"./gsmdec < s600.gsm > out_gsm.s16" \
	"toast -d -c -l s600.gsm > out_gsm_toast.s16"
row "gsm raw encode (toast)" \
	"./gsmenc < s600_8k.raw > out.gsm" \
	"cp s600_8k.raw in.s16 && toast -c -l in.s16 > out_toast.gsm"
cmp -s out_49.s16 out_49_sox.s16 && echo "WAV49 decode: identical to sox" || echo "WAV49 decode: DIFFERS from sox"
cmp -s out_gsm.s16 out_gsm_toast.s16 && echo "raw decode: identical to toast" || echo "raw decode: DIFFERS from toast"
cmp -s out.gsm out_toast.gsm && echo "raw encode: identical to toast" || echo "raw encode: DIFFERS from toast"
