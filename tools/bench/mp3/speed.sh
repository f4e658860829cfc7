#!/bin/bash
# speed.sh: whole-process encoding time of 600 s of 8 kHz speech to 16 kHz
# mono 24 kbit/s MP3: vpim-milter transcode --to mp3 (WAV in, resampling
# included), lame -m m -b 24 --resample 16 (the same), and libshine
# (shineenc on input already up-sampled by sox: its time excludes the
# resampling). Runs are interleaved (ours, lame, shine, ours, ...); the
# medians of wall and CPU (user+sys) time are compared: speed = theirs /
# ours. See README.md.
#
# usage: tools/bench/mp3/speed.sh [RUNS] [SECONDS]   (default 9, 600)
. "$(dirname "$0")/lib.sh"
runs=${1:-9}
secs=${2:-600}
need lame /usr/bin/time
build
speech "$secs" q
cd "$WORK"
: >speed.log
for i in $(seq "$runs"); do
	for enc in ours lame shine; do
		case $enc in
		ours) cmd=("$BIN/vpim-milter" transcode --to mp3 q.wav s-ours.mp3) ;;
		lame) cmd=(lame --quiet -m m -b 24 --resample 16 q.wav s-lame.mp3) ;;
		shine) cmd=("$BIN/shineenc" 16000 24 q16k.raw s-shine.mp3) ;;
		esac
		/usr/bin/time -f "%e %U %S" -o t.txt "${cmd[@]}"
		read -r e u s <t.txt
		echo "$enc $e $(echo "$u + $s" | bc)" >>speed.log
	done
done
for enc in ours lame shine; do
	w=$(awk -v e=$enc '$1==e {print $2}' speed.log | median)
	c=$(awk -v e=$enc '$1==e {print $3}' speed.log | median)
	eval "wall_$enc=$w cpu_$enc=$c"
	printf '%-6s median wall %6.2f s  cpu %6.2f s  (%d runs)\n' "$enc" "$w" "$c" "$runs"
done
printf 'speed vs lame:  wall %.2fx  cpu %.2fx\n' "$(echo "$wall_lame / $wall_ours" | bc -l)" "$(echo "$cpu_lame / $cpu_ours" | bc -l)"
printf 'speed vs shine: wall %.2fx  cpu %.2fx\n' "$(echo "$wall_shine / $wall_ours" | bc -l)" "$(echo "$cpu_shine / $cpu_ours" | bc -l)"
