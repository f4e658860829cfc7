// Command gsmenc encodes raw PCM16LE 8 kHz mono from stdin to GSM 06.10 on
// stdout (raw .gsm, or bare WAV49 blocks with -wav49). It exists to compare
// codec/gsm with toast bit for bit and to time it (tools/bench/codec/gsm-resample.sh).
//
// Usage: gsmenc [-wav49] < in.s16 > out.gsm
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vpim-milter/vpim-milter/codec/gsm"
)

func main() {
	wav49 := flag.Bool("wav49", false, "write WAV49 blocks (no RIFF header)")
	flag.Parse()
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	enc := gsm.NewEncoder(out, *wav49)
	if _, err := io.Copy(enc, bufio.NewReaderSize(os.Stdin, 64<<10)); err != nil {
		fmt.Fprintln(os.Stderr, "gsmenc:", err)
		os.Exit(1)
	}
	if err := enc.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "gsmenc:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gsmenc:", err)
		os.Exit(1)
	}
}
