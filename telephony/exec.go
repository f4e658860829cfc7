package telephony

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// execKillGrace is how long the exec back-end's command group has between
// SIGTERM and SIGKILL when its attempt is cut.
const execKillGrace = 2 * time.Second

// Exit codes of the exec back-end's command (documented in doc.go).
const (
	ExitDelivered     = 0  // answered and played
	ExitBusy          = 10 // busy: 4.4.1, retried
	ExitNoAnswer      = 11 // no answer: 4.4.1, retried
	ExitUnknownNumber = 20 // number does not exist: 5.1.1, final
	ExitRefused       = 21 // call refused / not authorised: 5.7.1, final
	ExitMedia         = 22 // media not acceptable: 5.6.1, final
	ExitPermanent     = 29 // other permanent failure: 5.4.0, final
	ExitTempFail      = 75 // EX_TEMPFAIL: 4.4.0, retried
)

// ExecBackend runs a command per job: Command Args... <job dir>, without a
// shell and with an empty environment except PATH. The command reads
// job.json and audio.wav from the job directory, and may print one line of
// diagnostic on stdout (it goes, sanitised, into the DSN). Any exit code not
// listed above, a signal or a timeout counts as a temporary failure (4.4.0).
//
// The command runs in a process group of its own. When the attempt's
// context ends (attempt_timeout, shutdown) the whole group gets SIGTERM,
// then SIGKILL execKillGrace later: a call placed by a child of the
// command (a SIP client the script started) ends with it. When the command
// exits, whatever it left running in its group is killed too: no call
// outlives its attempt.
type ExecBackend struct {
	opts ExecOptions
}

// NewExecBackend checks opts and returns the back-end.
func NewExecBackend(opts ExecOptions) (*ExecBackend, error) {
	if opts.Command == "" {
		return nil, errors.New("telephony: exec: no command")
	}
	return &ExecBackend{opts: opts}, nil
}

// Deliver runs the command and maps its exit code.
func (e *ExecBackend) Deliver(ctx context.Context, job *Job) error {
	args := append(append([]string(nil), e.opts.Args...), job.Dir())
	cmd := exec.CommandContext(ctx, e.opts.Command, args...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		time.AfterFunc(execKillGrace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return syscall.Kill(-pgid, syscall.SIGTERM)
	}
	// After that the pipes are closed even if a stray process holds them.
	cmd.WaitDelay = execKillGrace + time.Second
	var out bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &out, max: 4096}
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the command left behind in its group goes now.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	line, _, _ := bufio.NewReader(&out).ReadLine()
	diag := sanitizeDiagnostic(string(line))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.7", Diagnostic: "command timed out", Err: ctx.Err()}
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.3.0", Diagnostic: "command failed to start", Err: err}
	}
	code := ee.ExitCode()
	if diag == "" {
		diag = fmt.Sprintf("exit %d", code)
	}
	de := execExitError(code)
	de.Diagnostic = diag
	return de
}

func execExitError(code int) *DeliveryError {
	switch code {
	case ExitBusy:
		return &DeliveryError{Outcome: OutcomeBusy, Status: "4.4.1"}
	case ExitNoAnswer:
		return &DeliveryError{Outcome: OutcomeNoAnswer, Status: "4.4.1"}
	case ExitUnknownNumber:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.1.1"}
	case ExitRefused:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.7.1"}
	case ExitMedia:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.6.1"}
	case ExitPermanent:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.4.0"}
	default:
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.0"}
	}
}

// limitedBuffer keeps the first max bytes and discards the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
