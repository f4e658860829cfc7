//go:build integration

package sendmail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// Without a milter, mail for any domain is relayed to the sink.
func TestRelayToSink(t *testing.T) {
	t.Parallel()
	in := harness.Sendmail().Up(t, "")
	in.RelayToSink(t, map[string]string{"s1": "+15551234@vm.example.net", "s2": "user@example.com"})
}

// The generated config contains the snippet with only S= replaced, and F=T turns a
// milter that is down into 451 4.3.2 for the client.
func TestSnippetAndMilterDown(t *testing.T) {
	t.Parallel()
	port := testport.Reserve(t, 1).Port(0) // held: nothing listens there
	// the Postfix form, converted by the harness
	in := harness.Sendmail().Up(t, fmt.Sprintf("inet:127.0.0.1:%d", port))
	if want := fmt.Sprintf("inet:%d@127.0.0.1", port); in.Vars["MILTER"] != want {
		t.Errorf("MILTER = %q, want %q", in.Vars["MILTER"], want)
	}
	mc, err := os.ReadFile(filepath.Join(in.Dir, "harness.mc"))
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := os.ReadFile("../../../contrib/sendmail/sendmail.mc.snippet")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(snippet), "S=inet:8895@127.0.0.1", fmt.Sprintf("S=inet:%d@127.0.0.1", port), 1)
	if !strings.Contains(string(mc), want) {
		t.Errorf("harness.mc does not contain the snippet verbatim (S= replaced)")
	}
	cf, err := os.ReadFile(in.Vars["CF"])
	if err != nil {
		t.Fatal(err)
	}
	if x := fmt.Sprintf("Xvpim-milter, S=inet:%d@127.0.0.1, F=T, T=C:10s;S:30s;R:60s;E:5m\n", port); !strings.Contains(string(cf), x) {
		t.Errorf("sendmail.cf lacks %q", x)
	}
	code, msg := harness.Send(t, in.Vars["SMTP_PORT"], "down1", "user@vm.example.net")
	if code != 451 || !strings.HasPrefix(msg, "4.3.2 ") {
		t.Errorf("milter down: %d %s, want 451 4.3.2", code, msg)
	}
}
