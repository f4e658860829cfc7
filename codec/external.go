package codec

import (
	"bufio"
	"io"

	"github.com/vpim-milter/vpim-milter/codec/gsm"
	"github.com/vpim-milter/vpim-milter/codec/mp3"
	"github.com/vpim-milter/vpim-milter/codec/resample"
)

// This file is the only place that calls the sibling packages gsm,
// resample and mp3, so the rest of the package does not depend on their
// shape.

// inBuf is the read size towards the input for the GSM decoder, which
// reads one 33- or 65-byte frame per call: one system call per 64 KiB
// instead of one per frame.
const inBuf = 64 << 10

func gsmDecoder(r io.Reader, wav49 bool) (io.Reader, error) {
	return gsm.NewDecoder(bufio.NewReaderSize(r, inBuf), wav49), nil
}

func gsmEncoder(w io.Writer, wav49 bool) (io.WriteCloser, error) {
	return gsm.NewEncoder(w, wav49), nil
}

// resampler converts interleaved PCM16LE at rate with channels to 8 kHz mono.
func resampler(r io.Reader, rate, channels int) (io.Reader, error) {
	return resample.NewReader(r, rate, channels)
}

func mp3Decoder(r io.Reader) (pcm io.Reader, rate, channels int, err error) {
	return mp3.NewReader(r)
}
