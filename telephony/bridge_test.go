package telephony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// scripted is a fake back-end returning a scripted error per call (the
// last one repeats) and counting calls.
type scripted struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *scripted) Deliver(ctx context.Context, j *Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.errs[min(s.calls-1, len(s.errs)-1)]
}

func (s *scripted) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startBridge runs a bridge until the test ends.
func startBridge(t *testing.T, opts Options, s *Spool, be Backend) {
	t.Helper()
	b, err := NewWithBackend(opts, s, be, testLogger(t))
	tcheck(t, err, "bridge")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("bridge did not stop")
		}
	})
}

// waitFinal waits until job id is in done/ or failed/ and returns state and job.
func waitFinal(t *testing.T, s *Spool, id string, d time.Duration) (string, *Job) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, st := range []string{"done", "failed"} {
			if _, err := os.Stat(filepath.Join(s.Dir(), st, id)); err == nil {
				j, err := s.Load(st, id)
				tcheck(t, err, "load")
				return st, j
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s not final after %v", id, d)
	return "", nil
}

func fastOpts(sink *smtpSink) Options {
	return Options{Retry: []time.Duration{50 * time.Millisecond}, Expire: time.Minute, Poll: 20 * time.Millisecond,
		Concurrency: 2, AttemptTimeout: 5 * time.Second, DSN: DSNOptions{SMTPAddr: sink.Addr, Timeout: 5 * time.Second}}
}

func TestBridgeOutcomes(t *testing.T) {
	t.Parallel()
	busy := SIPStatusError(486, "Busy Here")
	tests := []struct {
		name      string
		errs      []error
		notify    string
		sender    string
		expire    time.Duration
		state     string
		calls     int
		outcome   Outcome
		status    string
		dsnAction string // "" = no DSN expected
	}{
		{"busy then answer", []error{busy, nil}, "", "alice@example.com", time.Minute, "done", 2, OutcomeDelivered, "2.0.0", ""},
		{"success notify", []error{nil}, "SUCCESS", "alice@example.com", time.Minute, "done", 1, OutcomeDelivered, "2.0.0", "delivered"},
		{"unknown number final", []error{SIPStatusError(404, "Not Found")}, "", "alice@example.com", time.Minute, "failed", 1, OutcomePermFailure, "5.1.1", "failed"},
		{"forbidden final", []error{SIPStatusError(403, "Forbidden")}, "FAILURE", "alice@example.com", time.Minute, "failed", 1, OutcomePermFailure, "5.7.1", "failed"},
		{"6xx final", []error{SIPStatusError(603, "Decline")}, "", "alice@example.com", time.Minute, "failed", 1, OutcomePermFailure, "5.7.1", "failed"},
		{"5xx retried", []error{SIPStatusError(503, "Service Unavailable"), nil}, "", "alice@example.com", time.Minute, "done", 2, OutcomeDelivered, "2.0.0", ""},
		{"plain error retried", []error{errors.New("disk hiccup"), nil}, "", "alice@example.com", time.Minute, "done", 2, OutcomeDelivered, "2.0.0", ""},
		{"busy until expiry", []error{busy}, "", "alice@example.com", 400 * time.Millisecond, "failed", -1, OutcomeExpired, "4.4.1", "failed"},
		{"never notify", []error{SIPStatusError(404, "Not Found")}, "NEVER", "alice@example.com", time.Minute, "failed", 1, OutcomePermFailure, "5.1.1", ""},
		{"null sender", []error{SIPStatusError(404, "Not Found")}, "", "", time.Minute, "failed", 1, OutcomePermFailure, "5.1.1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := newSMTPSink(t)
			s, err := OpenSpool(t.TempDir())
			tcheck(t, err, "spool")
			meta := testMeta()
			meta.Notify, meta.Sender = tc.notify, tc.sender
			id, err := s.Enqueue(meta, bytes.NewReader(pcmRamp(800)), 800)
			tcheck(t, err, "enqueue")
			be := &scripted{errs: tc.errs}
			opts := fastOpts(sink)
			opts.Expire = tc.expire
			startBridge(t, opts, s, be)
			state, j := waitFinal(t, s, id, 10*time.Second)
			tcompare(t, state, tc.state, "state")
			if tc.calls >= 0 {
				tcompare(t, be.count(), tc.calls, "calls")
			} else if be.count() < 3 {
				t.Fatalf("only %d calls before expiry", be.count())
			}
			tcompare(t, j.Attempts, be.count(), "attempts recorded")
			tcompare(t, len(j.History), be.count(), "history")
			tcompare(t, j.Final.Outcome, tc.outcome, "outcome")
			tcompare(t, j.Final.Status, tc.status, "status")
			if tc.dsnAction == "" {
				sink.none(t, 200*time.Millisecond)
				return
			}
			m := sink.next(t, 5*time.Second)
			tcompare(t, m.From, "", "DSN reverse path")
			tcompare(t, strings.Join(m.To, ","), tc.sender, "DSN recipient")
			tcompare(t, dsnField(m.Data, "Action"), tc.dsnAction, "Action")
			tcompare(t, dsnField(m.Data, "Status"), tc.status, "Status")
			tcompare(t, j.DSN, "sent", "dsn state")
		})
	}
}

// TestBridgeDSNRetry: the MTA is down at first; the DSN is retried without
// calling again.
func TestBridgeDSNRetry(t *testing.T) {
	t.Parallel()
	down := testport.Reserve(t, 1) // held: a connection is refused until Release
	port := down.Port(0)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	be := &scripted{errs: []error{SIPStatusError(404, "Not Found")}}
	opts := fastOpts(&smtpSink{Addr: "127.0.0.1:" + itoa(port)})
	opts.Retry = []time.Duration{300 * time.Millisecond}
	startBridge(t, opts, s, be)
	time.Sleep(100 * time.Millisecond)
	down.Release()
	ln := listenOn(t, port)
	sink := serveSink(t, ln)
	m := sink.next(t, 5*time.Second)
	tcompare(t, dsnField(m.Data, "Status"), "5.1.1", "status")
	_, j := waitFinal(t, s, id, 5*time.Second)
	tcompare(t, be.count(), 1, "calls")
	tcompare(t, j.DSNAttempts >= 2, true, "dsn attempts")
}

// TestBridgeShutdownRequeues: at shutdown the worker lets a call in
// progress go on for DrainTimeout, then cuts it; the cut attempt counts,
// the job's history says "interrupted" (4.3.2, neither failed nor done) and
// it waits in new/ for its next attempt on the retry schedule. A call that
// ends within DrainTimeout is recorded as it ended.
func TestBridgeShutdownRequeues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callTime time.Duration // 0: until the context ends
		state    string
		outcome  Outcome
		status   string
	}{
		{"cut after the drain timeout", 0, "new", OutcomeInterrupted, "4.3.2"},
		{"ends within the drain timeout", 100 * time.Millisecond, "done", OutcomeDelivered, "2.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSpool(t.TempDir())
			tcheck(t, err, "spool")
			id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
			tcheck(t, err, "enqueue")
			var started atomic.Bool
			be := BackendFunc(func(ctx context.Context, j *Job) error {
				started.Store(true)
				if tc.callTime == 0 {
					<-ctx.Done()
					return ctx.Err()
				}
				time.Sleep(tc.callTime)
				return nil
			})
			const drain = 300 * time.Millisecond
			b, err := NewWithBackend(Options{Poll: 10 * time.Millisecond, DrainTimeout: drain, Retry: []time.Duration{time.Hour},
				DSN: DSNOptions{Disable: true}}, s, be, nil)
			tcheck(t, err, "bridge")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- b.Run(ctx) }()
			for !started.Load() {
				time.Sleep(5 * time.Millisecond)
			}
			stop := time.Now()
			cancel()
			tcheck(t, <-done, "run")
			took := time.Since(stop)
			if took > drain+time.Second || tc.callTime == 0 && took < drain {
				t.Errorf("Run returned %v after the end of its context; drain timeout %v", took, drain)
			}
			j, err := s.Load(tc.state, id)
			tcheck(t, err, "job in "+tc.state+"/")
			tcompare(t, j.Attempts, 1, "attempts")
			tcompare(t, len(j.History), 1, "history")
			tcompare(t, j.History[0].Outcome, tc.outcome, "outcome")
			tcompare(t, j.History[0].Status, tc.status, "status")
			if tc.outcome == OutcomeInterrupted {
				if j.Final != nil {
					t.Errorf("interrupted job is final: %+v", j.Final)
				}
				if d := j.NextAttempt.Sub(j.History[0].End); d != time.Hour {
					t.Errorf("next attempt %v after the cut, want the retry schedule's 1h", d)
				}
			}
		})
	}
}

func TestRunSpoolBackendIdle(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	_, err = s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	b, err := New(Options{SpoolDir: s.Dir()}, s, nil)
	tcheck(t, err, "new")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	tcheck(t, b.Run(ctx), "run")
	ids, _ := s.List("new")
	tcompare(t, len(ids), 1, "job untouched in new/")
}

// TestBridgeDamagedJob: a job whose job.json cannot be read is moved to
// failed/ without a call.
func TestBridgeDamagedJob(t *testing.T) {
	t.Parallel()
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	tcheck(t, os.WriteFile(filepath.Join(s.Dir(), "new", id, "job.json"), []byte("{trunc"), 0o640), "damage")
	be := &scripted{errs: []error{nil}}
	startBridge(t, Options{Poll: 10 * time.Millisecond}, s, be)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(s.Dir(), "failed", id)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("damaged job not moved to failed/")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tcompare(t, be.count(), 0, "calls")
}

// lockedBuffer is an io.Writer the test may read while a logger writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// waitGone waits until state/id no longer exists.
func waitGone(t *testing.T, s *Spool, state, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(s.Dir(), state, id)); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s not pruned", state, id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBridgePrunes: the worker prunes at start and then periodically; old
// finished jobs go, fresh ones stay, and a pruning error is logged without
// stopping the worker.
func TestBridgePrunes(t *testing.T) {
	t.Parallel()
	// The first rename fails: pruning done/old fails once, and is retried.
	fs := &faultFS{op: "rename", nth: 1, err: syscall.EIO, calls: map[string]int{}}
	s, err := openSpool(t.TempDir(), fs, time.Now)
	tcheck(t, err, "spool")
	now := time.Now()
	mkJob(t, s, "done", "old", now.Add(-8*24*time.Hour))
	mkJob(t, s, "done", "fresh", now.Add(-time.Hour))
	mkJob(t, s, "failed", "old", now.Add(-31*24*time.Hour))
	mkJob(t, s, "failed", "fresh", now.Add(-29*24*time.Hour))

	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	b, err := NewWithBackend(Options{Poll: 10 * time.Millisecond}, s, &scripted{errs: []error{nil}}, log)
	tcheck(t, err, "bridge")
	tcompare(t, b.pruneEvery, time.Hour, "default prune interval")
	b.pruneEvery = 30 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	waitGone(t, s, "failed", "old")
	waitGone(t, s, "done", "old")
	// A job that ages past the retention while the worker runs goes too.
	mkJob(t, s, "done", "later", time.Now().Add(-7*24*time.Hour-time.Minute))
	waitGone(t, s, "done", "later")
	cancel()
	tcheck(t, <-done, "run")

	tcompare(t, spoolListing(t, s), "tmp: \nnew: \nactive: \ndone: fresh\nfailed: fresh\n", "spool afterwards")
	var got []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "prune") {
			got = append(got, l)
		}
	}
	want := []string{
		`level=ERROR msg="prune spool" component=telephony done=0 failed=1 err="telephony: spool: prune done/old: input/output error"`,
		`level=INFO msg="pruned spool" component=telephony done=1 failed=0`,
		`level=INFO msg="pruned spool" component=telephony done=1 failed=0`,
	}
	tcompare(t, strings.Join(got, "\n"), strings.Join(want, "\n"), "log lines")
}

// TestBridgeKeepForever: with both retentions KeepForever nothing is pruned.
func TestBridgeKeepForever(t *testing.T) {
	t.Parallel()
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	mkJob(t, s, "done", "old", time.Now().Add(-365*24*time.Hour))
	mkJob(t, s, "failed", "old", time.Now().Add(-365*24*time.Hour))
	b, err := NewWithBackend(Options{Poll: 10 * time.Millisecond, KeepDone: KeepForever, KeepFailed: KeepForever}, s, &scripted{errs: []error{nil}}, nil)
	tcheck(t, err, "bridge")
	b.pruneEvery = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	tcheck(t, b.Run(ctx), "run")
	tcompare(t, spoolListing(t, s), "tmp: \nnew: \nactive: \ndone: old\nfailed: old\n", "spool afterwards")
}

// TestBridgeReload: a reload swaps the settings and the back-end's own
// section for later jobs; a change that needs a restart, or invalid
// options, leave everything as it was.
func TestBridgeReload(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	m := NewMetrics(s)
	b, err := New(Options{SpoolDir: s.Dir(), Backend: BackendExec, Exec: ExecOptions{Command: "/bin/true"}, Metrics: m}, s, nil)
	tcheck(t, err, "bridge")
	next := Options{SpoolDir: s.Dir(), Backend: BackendExec, Exec: ExecOptions{Command: "/bin/false", Args: []string{"-x"}},
		Retry: []time.Duration{time.Second}, DSN: DSNOptions{Disable: true}}
	tcheck(t, b.Reload(next), "reload")
	c := b.config()
	be, ok := c.backend.(*ExecBackend)
	if !ok || be.opts.Command != "/bin/false" || len(be.opts.Args) != 1 {
		t.Fatalf("back-end after reload: %#v", c.backend)
	}
	if len(c.opts.Retry) != 1 || !c.opts.DSN.Disable || c.opts.Metrics != m {
		t.Fatalf("options after reload: retry %v, dsn disabled %v, metrics kept %v", c.opts.Retry, c.opts.DSN.Disable, c.opts.Metrics == m)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"back-end", func(o *Options) { o.Backend = BackendSpool }, "telephony: reload: Backend: cannot change without a restart"},
		{"concurrency", func(o *Options) { o.Concurrency = 9 }, "telephony: reload: Concurrency: cannot change without a restart"},
		{"invalid", func(o *Options) { o.Exec.Command = "relative" }, `telephony: invalid options: Exec.Command: "relative" must be an absolute path (no shell, no PATH lookup)`},
	} {
		o := next
		tc.mod(&o)
		if err := b.Reload(o); fmt.Sprint(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
		if b.config() != c {
			t.Errorf("%s: configuration changed by a refused reload", tc.name)
		}
	}
}

// stateFaultFS fails the rewrite of a job's state (job.json.tmp) with
// ENOSPC while full is set, as a full disk does: the audio and the job
// directory are there, only the new state cannot be written.
type stateFaultFS struct {
	osFS
	full atomic.Bool
}

func (f *stateFaultFS) Create(p string) (writeFile, error) {
	if f.full.Load() && strings.HasSuffix(p, jobFile+".tmp") {
		return nil, &os.PathError{Op: "open", Path: p, Err: syscall.ENOSPC}
	}
	return f.osFS.Create(p)
}

// TestBridgeUnsavableStateNoRedialStorm: when a busy job's new state
// cannot be saved (ENOSPC on job.json), the real worker with the real exec
// back-end still calls it only once per retry interval: it keeps the job
// claimed and its state in memory. (Before: the job went back to new/ with
// its old state, due at once: a call every poll.) Once the disk has room
// again, the state is saved and the job waits in new/ for its next attempt.
func TestBridgeUnsavableStateNoRedialStorm(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	script := filepath.Join(dir, "busy.sh")
	tcheck(t, os.WriteFile(script, []byte("#!/bin/sh\ndate +%s.%N >> "+calls+"\necho busy\nexit 10\n"), 0o755), "script")
	fs := &stateFaultFS{}
	fs.full.Store(true)
	s, err := openSpool(filepath.Join(dir, "spool"), fs, time.Now)
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	opts := Options{Backend: BackendExec, SpoolDir: s.Dir(), Exec: ExecOptions{Command: script},
		Retry: []time.Duration{time.Second}, Expire: time.Hour, Poll: 10 * time.Millisecond, DSN: DSNOptions{Disable: true}}
	b, err := New(opts, s, nil)
	tcheck(t, err, "bridge")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	const window = 4500 * time.Millisecond
	time.Sleep(window)
	times := readCallTimes(t, calls)
	t.Logf("%d calls in %v with retry = 1s and job.json unwritable", len(times), window)
	if len(times) < 4 || len(times) > 5 {
		t.Errorf("%d calls in %v, want 4 or 5 (one per retry interval)", len(times), window)
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap < 0.95 {
			t.Errorf("call %d came %.3fs after the previous one, before the retry interval of 1s", i+1, gap)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "active", id)); err != nil {
		t.Errorf("job not kept in active/ while its state cannot be saved: %v", err)
	}
	// Room again: the next attempt saves the state and requeues the job.
	fs.full.Store(false)
	deadline := time.Now().Add(3 * time.Second)
	for {
		if j, err := s.Load("new", id); err == nil {
			tcompare(t, j.Attempts, len(readCallTimes(t, calls)), "attempts saved")
			if d := j.NextAttempt.Sub(j.History[len(j.History)-1].End); d != time.Second {
				t.Errorf("next attempt %v after the last one, want 1s", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job not requeued once its state could be saved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	tcheck(t, <-done, "run")
}

// readCallTimes reads the call log of the busy script: one Unix time per call.
func readCallTimes(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	tcheck(t, err, "call log")
	var out []float64
	for _, l := range strings.Fields(string(b)) {
		f, err := strconv.ParseFloat(l, 64)
		tcheck(t, err, "call time")
		out = append(out, f)
	}
	return out
}
