// Command mp3enc encodes 8 kHz audio to MP3 the way "vpim-milter
// transcode --to mp3" does (decode with codec.NewReader, up-sample with
// resample.NewUpWriter, encode with codec/mp3 with the 3.8 kHz voice-band
// lowpass), at any bit rate, for the MP3 benchmarks. quality.sh checks
// that at 24 kbit/s its output is byte-identical to the transcode
// command's.
//
// Usage:
//
//	mp3enc [-bitrate 24] [-rate 16000] IN OUT.mp3
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/codec/mp3"
	"github.com/vpim-milter/vpim-milter/codec/resample"
)

func main() {
	bitrate := flag.Int("bitrate", 24, "kbit/s")
	rate := flag.Int("rate", 16000, "MP3 sample rate in Hz")
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *bitrate, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "mp3enc:", err)
		os.Exit(1)
	}
}

func run(in, out string, bitrate, rate int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := codec.NewReader(f, "")
	if err != nil {
		return err
	}
	n := r.Samples()
	if n < 0 {
		return fmt.Errorf("%s: length not known up front", in)
	}
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(o, 64<<10)
	enc, err := mp3.NewWriter(bw, n*int64(rate)/codec.Rate, mp3.Options{SampleRate: rate, Bitrate: bitrate, Lowpass: 3800})
	if err != nil {
		return err
	}
	up, err := resample.NewUpWriter(enc, rate)
	if err != nil {
		return err
	}
	if _, err := io.Copy(up, io.LimitReader(r, 2*n)); err != nil {
		return err
	}
	if err := up.Close(); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return o.Close()
}
