package telephony

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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
