//go:build integration

package miltertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/testport"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
	"github.com/vpim-milter/vpim-milter/profile"
)

// serve runs engine in process on spec ("inet:0@127.0.0.1": a free port, or "unix:/path")
// and returns the TCP port.
func serve(t *testing.T, engine milter.Engine, spec string) int {
	t.Helper()
	addr, err := milter.ParseAddress(spec)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := harness.ServeMilter(t, engine, addr, milter.Options{})
	return port
}

// run runs one script with the given environment and returns its output and exit status.
func run(t *testing.T, script string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("miltertest", "-s", script)
	// fail fast instead of 40 connect tries 0.25 s apart
	cmd.Env = append(append(os.Environ(), "MILTERTEST_RETRY_SPEED_FACTOR=0"), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("miltertest %s: %v", script, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func TestScriptsPass(t *testing.T) {
	harness.Need(t, "miltertest")
	port := serve(t, testengine.Engine{}, "inet:0@127.0.0.1")
	sock := filepath.Join(t.TempDir(), "milter.sock")
	serve(t, testengine.Engine{}, "unix:"+sock)
	for _, tc := range []struct {
		script string
		env    string
		want   []string
	}{
		{"negotiate.lua", fmt.Sprintf("MILTER_PORT=%d", port), []string{
			"    actions: ADDHDRS CHGHDRS CHGBODY ADDRCPT DELRCPT requested\n",
			"    plain message: accepted unmodified at end of headers\n",
			"*** negotiate: all checks passed\n"}},
		{"macros.lua", fmt.Sprintf("MILTER_PORT=%d", port), []string{
			"    transaction 3 ({i}=4BQX2F0CCC, add-header): X-Test-Added: yes\n",
			"*** macros: all checks passed\n"}},
		{"actions.lua", fmt.Sprintf("MILTER_PORT=%d", port), []string{
			"    add-header: ok\n    change-header: ok\n    replace-body: ok\n    reject: ok\n",
			"    reject then replace-body on one connection: ok\n",
			"*** actions: all checks passed\n"}},
		{"actions.lua", "MILTER_SOCK=unix:" + sock, []string{"*** actions: all checks passed\n"}},
	} {
		t.Run(tc.script+"/"+strings.SplitN(tc.env, "=", 2)[0], func(t *testing.T) {
			out, code := run(t, tc.script, tc.env)
			if code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// ignoring reads every body but never modifies or rejects anything.
type ignoring struct{ testengine.Engine }

func (ignoring) Evaluate(context.Context, *profile.Input) (*profile.Report, error) {
	return &profile.Report{Profile: "none", Target: profile.TargetIVM}, nil
}

// The scripts can fail, and say why.
func TestScriptsFail(t *testing.T) {
	harness.Need(t, "miltertest")
	port := serve(t, ignoring{}, "inet:0@127.0.0.1")
	for _, tc := range []struct {
		script, env, want string
	}{
		{"actions.lua", fmt.Sprintf("MILTER_PORT=%d", port), "FAIL: add-header: X-Test-Added: yes not added (got \"nil\")\n"},
		{"macros.lua", fmt.Sprintf("MILTER_PORT=%d", port), "FAIL: transaction 3: X-Test-Added: yes not added (got \"nil\")\n"},
		// a held reserved port: nothing listens, the connection is refused
		{"negotiate.lua", fmt.Sprintf("MILTER_PORT=%d", testport.Reserve(t, 1).Port(0)), "FAIL: cannot connect to the milter at inet:"},
		{"negotiate.lua", "MILTER_PORT=", "FAIL: set MILTER_PORT"},
	} {
		t.Run(tc.script+"/"+tc.env, func(t *testing.T) {
			out, code := run(t, tc.script, tc.env)
			if code != 1 {
				t.Errorf("exit %d, want 1:\n%s", code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
