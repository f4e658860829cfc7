//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/siptest"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// TestSIPPasswordRotation: the daemon calls a trunk that wants digest
// authentication (sipp uas-digest-auth.xml). With a wrong password in
// telephony.sip.password_file the call fails for good (403, 5.7.1); after
// the file is fixed, SIGHUP hands the new password to the running worker
// and the next call is answered. The password never reaches the log.
func TestSIPPasswordRotation(t *testing.T) {
	const wrong, right = "wr0ng-Pa55", "s3cret pass"
	trunk := siptest.StartSipp(t, "uas-digest-auth.xml", "-m", "2")
	sipListen := testport.Reserve(t, 1) // the daemon's own SIP port
	dir := t.TempDir()
	pw := filepath.Join(dir, "sip-password")
	if err := os.WriteFile(pw, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, sipTOML(filepath.Join(dir, "spool"), trunk.Port, sipListen.Port(0), `retry = ["1s"]`,
		fmt.Sprintf("username = \"vpim-gw\"\npassword_file = %q", pw))+"[dsn]\ndisable = true\n", sipListen)
	waitLog := func(s string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(d.logString(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("log lacks %q:\n%s", s, d.logString())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	voice := "VOICE=+3940226338@voice.example.com"
	send := func(id string) {
		t.Helper()
		if got := milterVerdict(t, d.port, voice, vpim2Message(t, id, voice, "", 1)); strings.Contains(got, "reject") || strings.Contains(got, "tempfail") {
			t.Fatalf("voice message %s: %s\n%s", id, got, d.logString())
		}
	}

	send("rot1")
	waitLog(`n=1 outcome=perm-failure status=5.7.1 diag="403 Forbidden"`)
	if err := os.WriteFile(pw, []byte(right+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(`msg="telephony.sip credentials applied" username=vpim-gw`)
	send("rot2")
	waitLog(`n=1 outcome=delivered status=2.0.0`)
	select {
	case code := <-trunk.Exit:
		if code != 0 {
			t.Fatalf("sipp exit code %d, want 0 (both calls as scripted)", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sipp did not finish its 2 calls")
	}
	if log := d.logString(); strings.Contains(log, wrong) || strings.Contains(log, right) {
		t.Fatalf("a password is in the log:\n%s", log)
	}
}
