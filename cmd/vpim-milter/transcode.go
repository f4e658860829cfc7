package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vpim-milter/vpim-milter/codec"
)

const transcodeUsage = `usage: vpim-milter transcode --to FMT [--from FMT] IN|- OUT|-

Formats: basic au 32kadpcm g726-16 g726-24 g726-32 g726-40 wav-ulaw wav-alaw
wav-pcm16 wav-g726 (read) gsm wav-gsm mp3 pcm16.
mp3 is written as 16 kHz mono, 24 kbit/s.
--from defaults to sniffing the content (WAV, .snd, MP3 are recognised).
`

// runTranscode implements "vpim-milter transcode". It returns the exit
// status: 0 on success, 2 on a usage or conversion error.
func runTranscode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("transcode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, transcodeUsage) }
	to := fs.String("to", "", "output format (required)")
	from := fs.String("from", "", "input format (default: sniff)")
	// Accept flags before and after the two operands.
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	if *to == "" || len(operands) != 2 {
		fmt.Fprint(stderr, transcodeUsage)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "vpim-milter: transcode: %v\n", err)
		return 2
	}
	toF, err := codec.ParseFormat(*to)
	if err != nil {
		return fail(err)
	}
	var fromF codec.Format
	if *from != "" {
		if fromF, err = codec.ParseFormat(*from); err != nil {
			return fail(err)
		}
	}

	var in io.Reader = stdin
	if operands[0] != "-" {
		f, err := os.Open(operands[0])
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		in = f
	}
	var out io.Writer = stdout
	var outFile *os.File
	if operands[1] != "-" {
		outFile, err = os.Create(operands[1])
		if err != nil {
			return fail(err)
		}
		out = outFile
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	_, err = codec.Transcode(bw, toF, in, fromF)
	if err == nil {
		err = bw.Flush()
	}
	if outFile != nil {
		if cerr := outFile.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(outFile.Name())
		}
	}
	if err != nil {
		return fail(err)
	}
	return 0
}
