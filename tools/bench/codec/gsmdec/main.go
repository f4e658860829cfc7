// Command gsmdec decodes GSM 06.10 (raw .gsm, or the data chunk of a WAV49
// file) from stdin to raw PCM16LE on stdout. It exists to time the codec/gsm
// package as a whole process against sox and toast (tools/bench/codec/gsm-resample.sh).
//
// Usage: gsmdec [-wav49] < in > out.s16
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vpim-milter/vpim-milter/codec/gsm"
)

func main() {
	wav49 := flag.Bool("wav49", false, "input is a WAV file with GSM 6.10 (tag 0x0031) data")
	flag.Parse()
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	var src io.Reader = in
	if *wav49 {
		n, err := skipToData(in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gsmdec:", err)
			os.Exit(2)
		}
		src = io.LimitReader(in, n)
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	if _, err := io.Copy(out, gsm.NewDecoder(src, *wav49)); err != nil {
		fmt.Fprintln(os.Stderr, "gsmdec:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gsmdec:", err)
		os.Exit(1)
	}
}

// skipToData consumes a minimal RIFF/WAVE header up to the data chunk and
// returns the data size. It is deliberately tiny: codec/wav is the real parser.
func skipToData(r io.Reader) (int64, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, fmt.Errorf("not a RIFF/WAVE file")
	}
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return 0, err
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		if string(ch[0:4]) == "data" {
			return size, nil
		}
		if _, err := io.CopyN(io.Discard, r, size+size&1); err != nil {
			return 0, err
		}
	}
}
