// Command gen writes RULES.md from the profile engine's rule table
// (go generate ./profile).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/profile/internal/rulesdoc"
)

func main() {
	out := flag.String("o", "RULES.md", "output `file`")
	flag.Parse()
	doc := append(rulesdoc.Render(profile.Rules()), '\n')
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "rulesdoc:", err)
		os.Exit(1)
	}
}
