package gsm_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/vpim-milter/vpim-milter/codec/gsm"
)

// Encode one second of a 400 Hz square wave to WAV49 blocks and decode it.
func Example() {
	pcm := make([]byte, 2*8000)
	for i := 0; i < 8000; i++ {
		v := int16(4000)
		if i%20 < 10 {
			v = -4000
		}
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	var coded bytes.Buffer
	enc := gsm.NewEncoder(&coded, true)
	if _, err := enc.Write(pcm); err != nil {
		panic(err)
	}
	if err := enc.Close(); err != nil { // pads the last block with silence
		panic(err)
	}
	fmt.Println("coded bytes:", coded.Len())

	dec, err := io.ReadAll(gsm.NewDecoder(&coded, true))
	if err != nil {
		panic(err)
	}
	fmt.Println("decoded samples:", len(dec)/2)
	// Output:
	// coded bytes: 1625
	// decoded samples: 8000
}
