#!/bin/bash
# memory.sh: peak resident set size (/usr/bin/time -v) of
# vpim-milter transcode --to mp3 on a 30-minute 8 kHz message, against two
# baselines: "vpim-milter version" and the same transcode of 1 s of audio.
# See README.md.
#
# usage: tools/bench/mp3/memory.sh [SECONDS]   (default 1800)
. "$(dirname "$0")/lib.sh"
secs=${1:-1800}
need /usr/bin/time
build
speech "$secs" long
speech 1 short
cd "$WORK"
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}'; }
base=$(rss "$BIN/vpim-milter" version)
small=$(rss "$BIN/vpim-milter" transcode --to mp3 short.wav m-short.mp3)
big=$(rss "$BIN/vpim-milter" transcode --to mp3 long.wav m-long.mp3)
printf 'peak RSS: version %d KiB, 1 s transcode %d KiB, %d s transcode %d KiB\n' "$base" "$small" "$secs" "$big"
printf 'above "version": %.1f MiB; above the 1 s transcode: %.1f MiB\n' "$(echo "($big - $base) / 1024" | bc -l)" "$(echo "($big - $small) / 1024" | bc -l)"
