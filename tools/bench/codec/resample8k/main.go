// Command resample8k converts raw interleaved PCM16LE from stdin to 8 kHz
// mono PCM16LE on stdout with codec/resample. It exists to time the package
// as a whole process against "sox rate -v" (tools/bench/codec/gsm-resample.sh).
//
// Usage: resample8k -rate 44100 -channels 2 < in.s16 > out.s16
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/vpim-milter/vpim-milter/codec/resample"
)

func main() {
	rate := flag.Int("rate", 44100, "input sample rate in Hz")
	channels := flag.Int("channels", 2, "input channels")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "resample8k:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "resample8k:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*rate, *channels); err != nil {
		fmt.Fprintln(os.Stderr, "resample8k:", err)
		os.Exit(1)
	}
}

func run(rate, channels int) error {
	src, err := resample.NewReader(bufio.NewReaderSize(os.Stdin, 64<<10), rate, channels)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	if _, err := io.Copy(out, src); err != nil {
		return err
	}
	return out.Flush()
}
