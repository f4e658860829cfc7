#!/bin/sh
# Start the recording baresip UAS by hand:
#   run-baresip.sh DIR [SIP_PORT] [USER] [CODECS]
# Received audio lands in DIR/dump-*-dec.wav. Stop it with kill.
set -eu
dir=$1; port=${2:-5080}; user=${3:-+3940226338}; codecs=${4:-PCMU,PCMA}
here=$(dirname "$0")
mkdir -p "$dir"
sed -e "s|@SIP_PORT@|$port|g" -e "s|@RTP_PORTS@|40000-40099|g" -e "s|@SND_PATH@|$dir|g" -e "s|@CTRL_PORT@|4444|g" \
	"$here/config" > "$dir/config"
sed -e "s|@SIP_PORT@|$port|g" -e "s|@USER@|$user|g" -e "s|@CODECS@|$codecs|g" "$here/accounts" > "$dir/accounts"
exec baresip -f "$dir"
