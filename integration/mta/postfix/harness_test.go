//go:build integration

package postfix

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// up prints the layout; down stops master and sink by PID; status then reports both stopped.
func TestUpDown(t *testing.T) {
	t.Parallel()
	in := harness.Postfix().Up(t, "")
	want := map[string]string{
		"SINK_DIR":  filepath.Join(in.Dir, "sink"),
		"QUEUE_DIR": filepath.Join(in.Dir, "queue"),
		"CONF_DIR":  filepath.Join(in.Dir, "conf"),
		"LOG":       filepath.Join(in.Dir, "maillog"),
		"MILTER":    "",
	}
	for k, v := range want {
		if got, ok := in.Vars[k]; !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"SMTP_PORT", "SINK_PORT", "REINJECT_PORT"} {
		if in.Vars[k] == "" {
			t.Errorf("%s missing in output %v", k, in.Vars)
		}
	}
	var pids []int
	for _, k := range []string{"MASTER_PID", "SINK_PID"} {
		var p int
		if _, err := fmt.Sscan(in.Vars[k], &p); err != nil || p <= 1 {
			t.Fatalf("%s = %q", k, in.Vars[k])
		}
		if err := syscall.Kill(p, 0); err != nil {
			t.Errorf("%s %d not running after up: %v", k, p, err)
		}
		pids = append(pids, p)
	}
	if _, err := in.Run("down", in.Dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range pids {
		for syscall.Kill(p, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(p, 0) == nil {
			t.Errorf("pid %d still running after down", p)
		}
	}
	out, err := in.Run("status", in.Dir)
	if err == nil {
		t.Errorf("status after down exited 0:\n%s", out)
	}
	if want := "postfix not running\nsmtp-sink not running\n"; string(out) != want {
		t.Errorf("status = %q, want %q", out, want)
	}
}

// The private instance runs exactly the documented snippets. With the milter down,
// milter_default_action = tempfail gives the client 451 4.7.1 and nothing is queued; the
// re-injection listener of master.cf.snippet does not use milters at all.
func TestSnippetsMilterDown(t *testing.T) {
	t.Parallel()
	port := testport.Reserve(t, 1).Port(0) // held: nothing listens there
	// the Sendmail form, converted by the harness
	in := harness.Postfix().Up(t, fmt.Sprintf("inet:%d@127.0.0.1", port))
	out, err := exec.Command("postconf", "-c", in.Vars["CONF_DIR"], "-n").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok {
			got[k] = v
		}
	}
	snippet, err := os.ReadFile("../../../contrib/postfix/main.cf.snippet")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(snippet), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			t.Fatalf("main.cf.snippet line %q is not key = value", line)
		}
		if k == "vpim_milter" {
			v = fmt.Sprintf("inet:127.0.0.1:%d", port)
		}
		n++
		if got[k] != v {
			t.Errorf("main.cf %s = %q, snippet says %q", k, got[k], v)
		}
	}
	if n < 9 {
		t.Errorf("only %d settings in main.cf.snippet", n)
	}
	for _, tc := range []struct{ param, want string }{
		{"smtpd_milters", fmt.Sprintf("inet:127.0.0.1:%d", port)},
		{"non_smtpd_milters", fmt.Sprintf("inet:127.0.0.1:%d", port)},
		{"milter_default_action", "tempfail"},
		{"milter_protocol", "6"},
	} {
		out, err := exec.Command("postconf", "-c", in.Vars["CONF_DIR"], "-x", "-h", tc.param).Output()
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.TrimSpace(string(out)); g != tc.want {
			t.Errorf("effective %s = %q, want %q", tc.param, g, tc.want)
		}
	}
	svc := "127.0.0.1:" + in.Vars["REINJECT_PORT"] + "/inet/receive_override_options"
	out, err = exec.Command("postconf", "-c", in.Vars["CONF_DIR"], "-P", "-h", svc).Output()
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.TrimSpace(string(out)); !strings.Contains(g, "no_milters") {
		t.Errorf("master.cf %s = %q, want no_milters from master.cf.snippet", svc, g)
	}

	code, msg := harness.Send(t, in.Vars["SMTP_PORT"], "down1", "user@vm.example.net")
	if code != 451 || !strings.HasPrefix(msg, "4.7.1 ") {
		t.Errorf("milter down: %d %s, want 451 4.7.1", code, msg)
	}
	if code, msg := harness.Send(t, in.Vars["REINJECT_PORT"], "reinject1", "user@vm.example.net"); code != 250 {
		t.Errorf("re-injection listener: %d %s, want 250", code, msg)
	}
	in.WaitSink(t, "reinject1")
}

// Without a milter every domain is relayed to the sink, one file per message.
func TestRelayToSink(t *testing.T) {
	t.Parallel()
	in := harness.Postfix().Up(t, "")
	in.RelayToSink(t, map[string]string{"r1": "+15551234@vm.example.net", "r2": "user@legacy.example.net", "r3": "x@example.com"})
}
