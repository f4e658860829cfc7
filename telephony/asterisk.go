package telephony

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AsteriskBackend hands calls to Asterisk through call files (pbx_spool):
// the file is written and fsynced in TmpDir, renamed into OutgoingDir (same
// file system, so Asterisk never reads half a file), and the result is read
// from the archived copy in DoneDir ("Archive: yes" adds "Status:
// Completed|Expired|Failed"). Retries are ours (MaxRetries: 0). "Completed"
// only means answered.
type AsteriskBackend struct {
	opts AsteriskOptions
	poll time.Duration
}

// NewAsteriskBackend checks the directories and returns the back-end.
func NewAsteriskBackend(opts AsteriskOptions) (*AsteriskBackend, error) {
	o := Options{Asterisk: opts}.WithDefaults().Asterisk
	for _, d := range []string{o.OutgoingDir, o.TmpDir, o.DoneDir} {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("telephony: asterisk: %q is not absolute", d)
		}
	}
	if err := os.MkdirAll(o.TmpDir, 0o750); err != nil {
		return nil, fmt.Errorf("telephony: asterisk: %w", err)
	}
	return &AsteriskBackend{opts: o, poll: 500 * time.Millisecond}, nil
}

// callFileName is the call file's name for a job.
func callFileName(job *Job) string { return "vpim-" + job.ID + ".call" }

// renderCallFile renders the call file. Every value from mail is sanitised
// (sanitizeCallFileValue); the number is digits and "+" only. A positive
// maxCall bounds the call inside Asterisk: "Set: TIMEOUT(absolute)=N"
// (pbx_spool sets each Set: on the new channel, and a name ending in ")"
// writes the dialplan function) hangs the channel up N seconds after it
// was created, ringing included, so a call cannot outlive the attempt
// that placed it even after the call file was taken.
func renderCallFile(o AsteriskOptions, job *Job, audioBase string, maxCall time.Duration) ([]byte, error) {
	number := normalizeNumber(job.Meta.Number)
	if !isDialable(number) {
		return nil, &DeliveryError{Outcome: OutcomePermFailure, Status: "5.1.3", Diagnostic: "number not dialable"}
	}
	if sanitizeCallFileValue(audioBase) != audioBase {
		return nil, fmt.Errorf("telephony: asterisk: spool path %q not usable in a call file", audioBase)
	}
	var b bytes.Buffer
	line := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, v) }
	line("Channel", strings.ReplaceAll(o.Channel, "{number}", number))
	line("CallerID", sanitizeCallFileValue(o.CallerID))
	line("WaitTime", fmt.Sprint(int(o.WaitTime/time.Second)))
	line("MaxRetries", "0")
	line("RetryTime", "60")
	line("Archive", "yes")
	if o.Context != "" {
		line("Context", o.Context)
		line("Extension", "s")
		line("Priority", "1")
	} else {
		line("Application", "Playback")
		line("Data", audioBase)
	}
	line("Set", "VPIM_JOB="+sanitizeCallFileValue(job.ID))
	line("Set", "VPIM_FILE="+audioBase)
	line("Set", "VPIM_MSGID="+sanitizeCallFileValue(job.Meta.MessageID))
	line("Set", "VPIM_SENDER="+sanitizeCallFileValue(job.Meta.Sender))
	line("Set", "VPIM_SUBJECT="+sanitizeCallFileValue(job.Meta.Subject))
	if maxCall > 0 {
		line("Set", fmt.Sprintf("TIMEOUT(absolute)=%d", int64((maxCall+time.Second-1)/time.Second)))
	}
	return b.Bytes(), nil
}

// publishCallFile writes data to tmpDir/name, fsyncs it and renames it into
// outDir, so a polling or inotify reader sees the whole file or nothing.
func publishCallFile(tmpDir, outDir, name string, data []byte, notBefore time.Time) error {
	tmp := filepath.Join(tmpDir, name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("telephony: asterisk: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !notBefore.IsZero() {
		// pbx_spool waits until a file's mtime has come.
		err = os.Chtimes(tmp, notBefore, notBefore)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(outDir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("telephony: asterisk: publish: %w", err)
	}
	return nil
}

// Deliver publishes the call file and waits for Asterisk's verdict, at
// most ResultTimeout and never past ctx (attempt_timeout, shutdown): then
// the call file is withdrawn if Asterisk has not taken it yet, and the
// call's TIMEOUT(absolute), the time left until ctx's deadline, ends it in
// Asterisk if it has.
func (a *AsteriskBackend) Deliver(ctx context.Context, job *Job) error {
	audioBase := strings.TrimSuffix(job.AudioPath(), ".wav") // Asterisk picks the extension
	var maxCall time.Duration
	if dl, ok := ctx.Deadline(); ok {
		maxCall = max(time.Until(dl), time.Second)
	}
	data, err := renderCallFile(a.opts, job, audioBase, maxCall)
	if err != nil {
		return err
	}
	name := callFileName(job)
	done := filepath.Join(a.opts.DoneDir, name)
	_ = os.Remove(done) // a stale archive from an interrupted earlier attempt
	if err := publishCallFile(a.opts.TmpDir, a.opts.OutgoingDir, name, data, time.Time{}); err != nil {
		return err
	}
	deadline := time.NewTimer(a.opts.ResultTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(a.poll)
	defer tick.Stop()
	for {
		if status, ok := readCallFileStatus(done); ok {
			_ = os.Remove(done)
			return callFileStatusError(status)
		}
		select {
		case <-ctx.Done():
			_ = os.Remove(filepath.Join(a.opts.OutgoingDir, name))
			return ctx.Err()
		case <-deadline.C:
			_ = os.Remove(filepath.Join(a.opts.OutgoingDir, name))
			return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.7", Diagnostic: "no result from asterisk"}
		case <-tick.C:
		}
	}
}

// readCallFileStatus returns the last "Status:" value of an archived call
// file, if it exists.
func readCallFileStatus(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	status := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.EqualFold(strings.TrimSpace(k), "status") {
			status = strings.TrimSpace(v)
		}
	}
	return status, status != ""
}

// callFileStatusError maps pbx_spool's archive status.
func callFileStatusError(status string) error {
	switch strings.ToLower(status) {
	case "completed":
		return nil
	case "expired":
		return &DeliveryError{Outcome: OutcomeNoAnswer, Status: "4.4.1", Diagnostic: "asterisk: Expired"}
	default:
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.0", Diagnostic: "asterisk: " + sanitizeDiagnostic(status)}
	}
}

var errNoTrunk = errors.New("telephony: sip: no trunk")
