package telephony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExecBackendExitCodes(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "dial.sh")
	// $1 is the fixed arg (exit code to use), $2 the job directory.
	tcheck(t, os.WriteFile(script, []byte("#!/bin/sh\n[ -f \"$2/job.json\" ] || exit 99\necho \"code $1$HOME\"\nexit $1\n"), 0o755), "script")
	jobDir := filepath.Join(dir, "job")
	tcheck(t, os.Mkdir(jobDir, 0o755), "mkdir")
	tcheck(t, os.WriteFile(filepath.Join(jobDir, "job.json"), []byte("{}"), 0o644), "job.json")
	tests := []struct {
		code    string
		outcome Outcome // "" = delivered
		status  string
	}{
		{"0", "", ""},
		{"10", OutcomeBusy, "4.4.1"},
		{"11", OutcomeNoAnswer, "4.4.1"},
		{"20", OutcomePermFailure, "5.1.1"},
		{"21", OutcomePermFailure, "5.7.1"},
		{"22", OutcomePermFailure, "5.6.1"},
		{"29", OutcomePermFailure, "5.4.0"},
		{"75", OutcomeTempFailure, "4.4.0"},
		{"3", OutcomeTempFailure, "4.4.0"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			be, err := NewExecBackend(ExecOptions{Command: script, Args: []string{tc.code}})
			tcheck(t, err, "backend")
			err = be.Deliver(context.Background(), &Job{ID: "x", dir: jobDir})
			if tc.outcome == "" {
				tcheck(t, err, "deliver")
				return
			}
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("got %v", err)
			}
			tcompare(t, de.Outcome, tc.outcome, "outcome")
			tcompare(t, de.Status, tc.status, "status")
			// stdout first line, sanitised; empty environment ($HOME unset).
			tcompare(t, de.Diagnostic, "code "+tc.code, "diagnostic")
		})
	}
}

func TestExecBackendTimeout(t *testing.T) {
	script := filepath.Join(t.TempDir(), "slow.sh")
	tcheck(t, os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 10\n"), 0o755), "script")
	be, err := NewExecBackend(ExecOptions{Command: script})
	tcheck(t, err, "backend")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = be.Deliver(ctx, &Job{ID: "x", dir: t.TempDir()})
	if time.Since(start) > 3*time.Second {
		t.Fatalf("timeout took %v", time.Since(start))
	}
	var de *DeliveryError
	if !errors.As(err, &de) || de.Status != "4.4.7" || !de.Temporary() {
		t.Fatalf("got %v", err)
	}
}

// TestExecBridgeContribScript runs the whole bridge with backend = "exec"
// and the example script for operators (contrib/telephony/exec-example.sh).
func TestExecBridgeContribScript(t *testing.T) {
	script := repoPath("contrib/telephony/exec-example.sh")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("example script: %v", err)
	}
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	o := Options{SpoolDir: s.Dir(), Backend: BackendExec, Exec: ExecOptions{Command: script}, Poll: 20 * time.Millisecond}
	startSIPBridge(t, o, s)
	state, j := waitFinal(t, s, id, 20*time.Second)
	tcompare(t, state, "done", "state")
	tcompare(t, j.Attempts, 1, "attempts")
}

// TestExecBackendKillsProcessGroup: when the attempt is cut, the command
// and every process it started get SIGTERM, and SIGKILL if they ignore it
// (execKillGrace later); when the command exits on its own, what it left
// running in the background is killed too. No call outlives its attempt.
func TestExecBackendKillsProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		timeout time.Duration
		within  time.Duration
	}{
		// The child is what places the call; the shell waits for it.
		{"timeout kills the child", "sleep 30 &\necho $! > \"$1/child.pid\"\nwait\n", 200 * time.Millisecond, time.Second},
		// A command that ignores SIGTERM, and a child that ignores it too.
		{"SIGKILL after the grace", "trap '' TERM\n(trap '' TERM; sleep 30) &\necho $! > \"$1/child.pid\"\nwait\nwait\n", 200 * time.Millisecond, execKillGrace + time.Second},
		// Exit 0 at once, a call left running in the background.
		{"leftover after exit", "sleep 30 &\necho $! > \"$1/child.pid\"\nexit 0\n", time.Minute, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "call.sh")
			tcheck(t, os.WriteFile(script, []byte("#!/bin/sh\n"+tc.script), 0o755), "script")
			be, err := NewExecBackend(ExecOptions{Command: script})
			tcheck(t, err, "backend")
			job := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			_ = be.Deliver(ctx, &Job{ID: "x", dir: job})
			took := time.Since(start)
			b, err := os.ReadFile(filepath.Join(job, "child.pid"))
			tcheck(t, err, "child pid")
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			tcheck(t, err, "child pid")
			deadline := time.Now().Add(tc.within)
			for processAlive(pid) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if processAlive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("child %d still runs %v after the attempt ended (Deliver took %v)", pid, tc.within, took)
			}
			if took > tc.timeout+execKillGrace+2*time.Second {
				t.Errorf("Deliver took %v", took)
			}
		})
	}
}

// processAlive reports whether pid runs (a zombie waiting to be reaped
// has ended).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && !strings.HasPrefix(rest, "Z")
}
