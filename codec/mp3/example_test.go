package mp3_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/vpim-milter/vpim-milter/codec/mp3"
)

// Decode a LAME-encoded MP3: the encoder delay and padding recorded in its
// LAME tag are removed, so the 0.5 s source comes back as exactly 8000
// samples.
func ExampleNewReader() {
	f, err := os.Open("testdata/tone16k.mp3")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	pcm, rate, channels, err := mp3.NewReader(f)
	if err != nil {
		panic(err)
	}
	b, err := io.ReadAll(pcm)
	if err != nil {
		panic(err)
	}
	fmt.Println(rate, "Hz,", channels, "channel,", len(b)/2/channels, "samples")
	// Output:
	// 16000 Hz, 1 channel, 8000 samples
}

// Encode one second of a 440 Hz tone at 16 kHz to MP3 and decode it
// again: the Info frame makes the decoder return exactly the samples
// written.
func ExampleNewWriter() {
	pcm := make([]byte, 2*16000)
	for i := 0; i < 16000; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/16000))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	var buf bytes.Buffer
	w, err := mp3.NewWriter(&buf, 16000, mp3.Options{SampleRate: 16000, Bitrate: 24})
	if err != nil {
		panic(err)
	}
	if _, err := w.Write(pcm); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	r, rate, channels, err := mp3.NewReader(&buf)
	if err != nil {
		panic(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		panic(err)
	}
	fmt.Println(rate, "Hz,", channels, "channel,", len(out)/2, "samples")
	// Output:
	// 16000 Hz, 1 channel, 16000 samples
}
