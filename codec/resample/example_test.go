package resample_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/vpim-milter/vpim-milter/codec/resample"
)

// Convert one second of 44.1 kHz stereo silence to 8 kHz mono.
func ExampleNewReader() {
	in := make([]byte, 44100*2*2) // 44100 frames × 2 channels × 2 bytes
	r, err := resample.NewReader(bytes.NewReader(in), 44100, 2)
	if err != nil {
		panic(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		panic(err)
	}
	fmt.Println("samples at 8 kHz:", len(out)/2)
	// Output:
	// samples at 8 kHz: 8000
}
