package mp3_test

import (
	"fmt"
	"io"
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
