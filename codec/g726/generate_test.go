package g726

import (
	"bytes"
	"os"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec/g726/internal/predictgen"
)

// TestGeneratedPredict fails when zz_generated_predict.go is not what
// go generate writes from the current fmult in g726.go.
func TestGeneratedPredict(t *testing.T) {
	src, err := os.ReadFile(predictgen.Source)
	if err != nil {
		t.Fatal(err)
	}
	want, err := predictgen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(predictgen.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		line := 0
		for line < len(gl) && line < len(wl) && bytes.Equal(gl[line], wl[line]) {
			line++
		}
		t.Fatalf("%s is stale (first difference in line %d); run go generate ./codec/g726/", predictgen.Output, line+1)
	}
}
