package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/vpim-milter/vpim-milter/codec"
)

const transcodeUsage = `usage: vpim-milter transcode --to FMT [--from FMT] [--bitrate N] IN|- OUT|-

Formats: basic au 32kadpcm g726-16 g726-24 g726-32 g726-40 wav-ulaw wav-alaw
wav-pcm16 wav-g726 (read) gsm wav-gsm mp3 pcm16.
mp3 is written as 16 kHz mono, 24 kbit/s; --bitrate N (16 24 32 40 48 56 64)
sets another constant bit rate.
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
	bitrate := fs.Int("bitrate", 0, "MP3 bit rate in kbit/s (with --to mp3)")
	// Flags may come before and after the two operands.
	operands, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
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
	if *from != "" {
		if _, err = codec.ParseFormat(*from); err != nil {
			return fail(err)
		}
	}
	toName := string(toF)
	if *bitrate != 0 {
		if toF != codec.MP3 || !slices.Contains(codec.MP3Bitrates(), *bitrate) {
			return fail(fmt.Errorf("--bitrate %d: want --to mp3 and one of %v kbit/s", *bitrate, codec.MP3Bitrates()))
		}
		toName = fmt.Sprintf("mp3-%d", *bitrate)
	}
	// The command converts what the operator hands it, however long: no
	// codec.max_duration here.
	tr, err := codec.NewTranscoder(codec.Options{MaxDuration: math.MaxInt64})
	if err != nil {
		return fail(err)
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
	_, err = tr.Transcode(bw, toName, in, *from)
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
