#!/bin/bash
# quality.sh: in-band (0-3.4 kHz) segmental SNR, best lag and gain, of
# 600 s of the project's espeak-ng speech at 8 kHz encoded to 16 kHz mono
# MP3 by this project (vpim-milter transcode --to mp3; mp3enc for the
# other bit rates, checked byte-identical at 24 kbit/s), by LAME
# (lame -m m -b N --resample 16) and by libshine (shineenc on the sox
# up-sampled input), each decoded by ffmpeg. See README.md.
#
# usage: tools/bench/mp3/quality.sh [SECONDS]   (default 600)
. "$(dirname "$0")/lib.sh"
secs=${1:-600}
need lame ffmpeg
build
speech "$secs" q
cd "$WORK"
"$BIN/vpim-milter" transcode --to mp3 q.wav ours24.mp3
"$BIN/mp3enc" -bitrate 24 q.wav check24.mp3
cmp -s ours24.mp3 check24.mp3 || { echo "mp3enc and vpim-milter transcode differ" >&2; exit 1; }
: >quality.log

printf '%-8s %-24s %-24s %-24s\n' kbit/s "ours segSNR/SNR dB" "lame segSNR/SNR dB" "shine segSNR/SNR dB"
for kbps in 16 24 32 64; do
	line=$(printf '%-8s' "$kbps")
	for enc in ours lame shine; do
		out=$enc$kbps.mp3
		case $enc in
		ours) [ "$kbps" = 24 ] || "$BIN/mp3enc" -bitrate "$kbps" q.wav "$out" ;;
		lame) lame --quiet -m m -b "$kbps" --resample 16 q.wav "$out" ;;
		shine) "$BIN/shineenc" 16000 "$kbps" q16k.raw "$out" ;;
		esac
		ffmpeg -nostdin -v error -i "$out" -f s16le -ac 1 -ar 16000 -y "$enc$kbps.raw" 2>"$enc$kbps.err"
		r=$("$BIN/segsnr" -rate 16000 q.raw "$enc$kbps.raw")
		seg=$(sed -E 's/.*segsnr=([-0-9.]+)dB.*/\1/' <<<"$r")
		snr=$(sed -E 's/.* snr=([-0-9.]+)dB.*/\1/' <<<"$r")
		lag=$(sed -E 's/^lag=([-0-9]+).*/\1/' <<<"$r")
		line+=$(printf ' %-24s' "$seg / $snr (lag $lag)")
		echo "$enc $kbps: $r ($(stat -c %s "$out") bytes, ffmpeg stderr $(wc -l <"$enc$kbps.err") lines)" >>quality.log
	done
	echo "$line"
done
echo "details:"; cat quality.log
