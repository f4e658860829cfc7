package profile_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/profile/internal/rulesdoc"
)

// TestRulesDoc fails when RULES.md is not what go generate ./profile
// writes from the rule table.
func TestRulesDoc(t *testing.T) {
	got, err := os.ReadFile("../RULES.md")
	if err != nil {
		t.Fatal(err)
	}
	want := append(rulesdoc.Render(profile.Rules()), '\n')
	if !bytes.Equal(got, want) {
		t.Errorf("RULES.md is stale: run go generate ./profile")
	}
}
