#!/bin/sh
# Example back-end command for backend = "exec" ([telephony.exec] command).
# vpim-milter runs it without a shell as: exec-example.sh [args...] JOBDIR
# with only PATH in the environment. JOBDIR holds job.json (metadata, see
# telephony/doc.go) and audio.wav (8 kHz mono PCM16). Never pass values from
# job.json to a shell unquoted: they come from mail.
#
# Exit codes: 0 delivered; 10 busy, 11 no answer (retried, 4.4.1);
# 20 unknown number (5.1.1), 21 refused (5.7.1), 22 media (5.6.1),
# 29 other permanent (5.4.0); 75 or anything else: temporary (4.4.0).
# The first line of stdout becomes the DSN's Diagnostic-Code.
set -eu
jobdir=${1:?job directory}
[ -f "$jobdir/job.json" ] || { echo "no job.json"; exit 75; }
[ -f "$jobdir/audio.wav" ] || { echo "no audio.wav"; exit 75; }
echo "would dial and play $jobdir/audio.wav"
exit 0
