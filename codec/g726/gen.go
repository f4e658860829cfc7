//go:build ignore

// gen writes zz_generated_predict.go from fmult in g726.go; go generate
// ./codec/g726/ runs it. See internal/predictgen.
package main

import (
	"fmt"
	"os"

	"github.com/vpim-milter/vpim-milter/codec/g726/internal/predictgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	src, err := os.ReadFile(predictgen.Source)
	if err != nil {
		return err
	}
	out, err := predictgen.Generate(src)
	if err != nil {
		return err
	}
	return os.WriteFile(predictgen.Output, out, 0o644)
}
