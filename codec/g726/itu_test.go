package g726

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// loadLow reads an STL file of 16-bit LE words and returns the low bytes.
func loadLow(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(b)/2)
	for i := range out {
		out[i] = b[2*i]
	}
	return out
}

func compare(t *testing.T, got, want []byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("length %d, want %d", len(got), len(want))
	}
	bad, first := 0, -1
	for i := range got {
		if got[i] != want[i] {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d samples differ, first at %d (got %#02x want %#02x)", bad, len(got), first, got[first], want[first])
	}
}

// TestITUReset runs all 56 comparisons of the ITU-T G.726 Appendix II
// reset test set (4 rates x 2 laws x 7): encode, same-law decode,
// cross-law decode for the normal and overload sequences, and the
// decoder-only "i" sequence.
func TestITUReset(t *testing.T) {
	dir := shareddata.Path(t, "vectors/itu-stl/g726")
	count := 0
	for _, rate := range []Rate{Rate16, Rate24, Rate32, Rate40} {
		for _, law := range []byte{'m', 'a'} {
			cross := byte('c') // µ-law ADPCM decoded to A-law
			if law == 'a' {
				cross = 'x' // A-law ADPCM decoded to µ-law
			}
			encFn := func(s *State, c byte) byte { return s.EncodeULaw(c) }
			decSame := func(s *State, c byte) byte { return s.DecodeULaw(c) }
			decOther := func(s *State, c byte) byte { return s.DecodeALaw(c) }
			if law == 'a' {
				encFn = func(s *State, c byte) byte { return s.EncodeALaw(c) }
				decSame, decOther = decOther, decSame
			}
			run := func(name, in, want string, f func(*State, byte) byte) {
				t.Run(name, func(t *testing.T) {
					src := loadLow(t, filepath.Join(dir, in))
					ref := loadLow(t, filepath.Join(dir, want))
					s, err := NewState(rate)
					if err != nil {
						t.Fatal(err)
					}
					got := make([]byte, len(src))
					for i, c := range src {
						got[i] = f(s, c)
					}
					compare(t, got, ref)
				})
				count++
			}
			for _, seq := range []struct{ pre, in string }{{"rn", "nrm"}, {"rv", "ovr"}} {
				codes := fmt.Sprintf("%s%df%c.i", seq.pre, rate, law)
				run("enc/"+codes, fmt.Sprintf("%s.%c", seq.in, law), codes, encFn)
				out := fmt.Sprintf("%s%df%c.o", seq.pre, rate, law)
				run("dec/"+out, codes, out, decSame)
				xout := fmt.Sprintf("%s%df%c.o", seq.pre, rate, cross)
				run("xdec/"+xout, codes, xout, decOther)
			}
			iout := fmt.Sprintf("ri%df%c.o", rate, law)
			run("dec/"+iout, fmt.Sprintf("i%d", rate), iout, decSame)
		}
	}
	if count != 56 {
		t.Fatalf("ran %d comparisons, want 56", count)
	}
}
