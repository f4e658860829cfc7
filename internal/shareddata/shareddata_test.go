package shareddata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "vectors", "itu-stl", "g711"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := locate(dir, "vectors/itu-stl/g711")
	if want := filepath.Join(dir, "vectors", "itu-stl", "g711"); err != nil || got != want {
		t.Fatalf("locate = %q, %v; want %q", got, err, want)
	}
	_, err = locate(dir, "samples")
	if want := "shareddata: " + filepath.Join(dir, "samples") + " is missing"; err == nil || err.Error() != want {
		t.Fatalf("missing: err = %v, want %q", err, want)
	}
}

// recorder is a testing.TB that records how Path ended the test instead of ending it.
type recorder struct {
	testing.TB
	ended string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.ended = "fatal: " + fmt.Sprintf(format, args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.ended = "skip: " + fmt.Sprintf(format, args...)
}

// A missing directory skips the test with a message that says where the material goes, and
// fails it under CI=true; a present one is returned as is.
func TestPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	for _, tc := range []struct {
		ci, sub, want, ended string
	}{
		{"", "samples", filepath.Join(dir, "samples"), ""},
		{"true", "samples", filepath.Join(dir, "samples"), ""},
		{"", "spec/DIGEST.md", "", "skip: shareddata: " + filepath.Join(dir, "spec", "DIGEST.md") + " is missing: the project's shared material (samples/, vectors/, spec/) belongs in " + dir + ", beside the checkout (or set VPIM_SHARED=DIR); CI=true makes this skip a failure"},
		{"true", "spec/DIGEST.md", "", "fatal: shareddata: " + filepath.Join(dir, "spec", "DIGEST.md") + " is missing (CI=true: ../shared, with samples, vectors and spec, must be beside the checkout)"},
	} {
		t.Run(tc.ci+"/"+tc.sub, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			got := Path(r, tc.sub)
			if tc.ended == "" && (got != tc.want || r.ended != "") {
				t.Errorf("Path = %q (ended %q), want %q", got, r.ended, tc.want)
			}
			if tc.ended != "" && !strings.HasPrefix(r.ended, tc.ended) {
				t.Errorf("Path ended the test with %q, want prefix %q", r.ended, tc.ended)
			}
		})
	}
}

// Without the override, the directory is "shared" beside the checkout.
func TestDirBesideCheckout(t *testing.T) {
	t.Setenv(EnvDir, "")
	wd, err := os.Getwd() // <checkout>/internal/shareddata
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(wd, "..", "..", "..", "shared")
	if got := Dir(); filepath.Clean(got) != filepath.Clean(want) {
		t.Errorf("Dir() = %q, want %q", got, want)
	}
}
