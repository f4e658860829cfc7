package g711_test

import (
	"bytes"
	"fmt"

	"github.com/vpim-milter/vpim-milter/codec/g711"
)

func ExampleNewEncoder() {
	var out bytes.Buffer
	e := g711.NewEncoder(&out, g711.ULaw)
	e.Write([]byte{0x00, 0x00, 0xe8, 0x03}) // PCM16LE samples 0 and 1000
	e.Close()
	fmt.Printf("% x\n", out.Bytes())
	fmt.Println(g711.DecodeULaw(0xce))
	// Output:
	// ff ce
	// 988
}
