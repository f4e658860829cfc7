// Package shareddata finds the project's shared test material for tests: the third-party
// sample messages, the ITU-T conformance vectors and the requirements digest, which live in
// ../shared beside the checkout (used in place, never copied into the repository). Only
// tests import it.
//
// A test that needs the material calls Path. When the material is missing the test is
// skipped with a message that says where it must be, except under CI=true, where it fails:
// CI must run every test.
package shareddata

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// EnvDir names the environment variable that overrides where the shared directory is
// (default: "shared" beside the checkout's top directory).
const EnvDir = "VPIM_SHARED"

// Path returns the absolute path of sub (slash-separated, e.g. "samples" or
// "vectors/itu-stl/g711") inside the shared directory. When it does not exist, the test is
// skipped, or fails under CI=true.
func Path(t testing.TB, sub string) string {
	t.Helper()
	dir := Dir()
	p, err := locate(dir, sub)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: ../shared, with samples, vectors and spec, must be beside the checkout)", err)
		} else {
			t.Skipf("%v: the project's shared material (samples/, vectors/, spec/) belongs in %s, beside the checkout (or set %s=DIR); CI=true makes this skip a failure", err, filepath.Clean(dir), EnvDir)
		}
		return ""
	}
	return p
}

// Dir returns the shared directory: $VPIM_SHARED, or "shared" beside the checkout.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	// this file is <checkout>/internal/shareddata/shareddata.go
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
}

// locate returns the absolute path of sub below dir, or an error naming it when it does
// not exist.
func locate(dir, sub string) (string, error) {
	p, err := filepath.Abs(filepath.Join(dir, filepath.FromSlash(sub)))
	if err != nil {
		return "", fmt.Errorf("shareddata: %w", err)
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("shareddata: %s is missing", p)
		}
		return "", fmt.Errorf("shareddata: %w", err)
	}
	return p, nil
}
