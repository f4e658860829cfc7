//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSipp runs a UAS scenario from integration/sip/sipp on 127.0.0.1:port
// and returns its exit code channel; the process group is killed when the
// test ends.
func startSipp(t *testing.T, scenario string, port int, args ...string) <-chan int {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	lw := &lockedWriter{w: &out}
	cmd := exec.Command("sipp", append([]string{"-sf", filepath.Join(repoRoot(t), "integration/sip/sipp", scenario),
		"-i", "127.0.0.1", "-p", fmt.Sprint(port), "-mi", "127.0.0.1", "-mp", fmt.Sprint(freeUDPTCPPort(t)),
		"-nostdin", "-timeout", "60s"}, args...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rc := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		rc <- cmd.ProcessState.ExitCode()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			lw.mu.Lock()
			t.Logf("sipp output:\n%s", tail(out.String(), 3000))
			lw.mu.Unlock()
		}
	})
	time.Sleep(300 * time.Millisecond) // let sipp bind
	return rc
}

// TestSIPPasswordRotation: the daemon calls a trunk that wants digest
// authentication (sipp uas-digest-auth.xml). With a wrong password in
// telephony.sip.password_file the call fails for good (403, 5.7.1); after
// the file is fixed, SIGHUP hands the new password to the running worker
// and the next call is answered. The password never reaches the log.
func TestSIPPasswordRotation(t *testing.T) {
	need(t, "sipp")
	const wrong, right = "wr0ng-Pa55", "s3cret pass"
	sipPort := freeUDPTCPPort(t)
	rc := startSipp(t, "uas-digest-auth.xml", sipPort, "-m", "2")
	dir := t.TempDir()
	pw := filepath.Join(dir, "sip-password")
	if err := os.WriteFile(pw, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, 0, fmt.Sprintf(`
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = ["*"]
outdial_allow = ["+39"]
backend = "sip"
spool_dir = %q
retry = ["1s"]
[telephony.sip]
trunk = "sip:127.0.0.1:%d"
listen = "127.0.0.1:%d"
codecs = ["PCMU"]
username = "vpim-gw"
password_file = %q
[dsn]
disable = true
`, filepath.Join(dir, "spool"), sipPort, freeUDPTCPPort(t), pw))
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
	case code := <-rc:
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
