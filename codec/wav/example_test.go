package wav_test

import (
	"bytes"
	"fmt"

	"github.com/vpim-milter/vpim-milter/codec/wav"
)

func ExampleReadHeader() {
	var buf bytes.Buffer
	// A µ-law WAV header for 8000 samples, then the samples.
	wav.WriteHeader(&buf, wav.TagULaw, 1, 8000, 8000, 8000)
	buf.Write(make([]byte, 8000))
	h, err := wav.ReadHeader(&buf)
	fmt.Println(err, h.Tag == wav.TagULaw, h.SampleRate, h.DataSize, h.FactSamples, buf.Len())
	// Output: <nil> true 8000 8000 8000 8000
}
