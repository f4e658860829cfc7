package telephony

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of the crash helper (this test binary re-executed).
const (
	envCrashSpool = "TELEPHONY_CRASH_SPOOL"
	envCrashCalls = "TELEPHONY_CRASH_CALLS"
	envEnqSpool   = "TELEPHONY_ENQUEUE_SPOOL"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashSpool); dir != "" {
		os.Exit(crashHelper(dir, os.Getenv(envCrashCalls)))
	}
	if dir := os.Getenv(envEnqSpool); dir != "" {
		os.Exit(enqueueHelper(dir))
	}
	os.Exit(m.Run())
}

// crashHelper runs a bridge whose back-end logs every call (fsynced) and
// takes 40 ms; numbers ending in 0 or 5 get a 404. It runs until killed.
func crashHelper(dir, calls string) int {
	s, err := OpenSpool(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	be := BackendFunc(func(ctx context.Context, j *Job) error {
		f, err := os.OpenFile(calls, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, j.ID)
		f.Sync()
		f.Close()
		select {
		case <-time.After(40 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		if strings.HasSuffix(j.Meta.Number, "0") || strings.HasSuffix(j.Meta.Number, "5") {
			return SIPStatusError(404, "Not Found")
		}
		return nil
	})
	b, err := NewWithBackend(Options{Concurrency: 8, Poll: 10 * time.Millisecond, DSN: DSNOptions{Disable: true}}, s, be,
		slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := b.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func countFinal(t *testing.T, s *Spool) int {
	d, _ := s.List("done")
	f, _ := s.List("failed")
	return len(d) + len(f)
}

// TestCrashKill9 kills a worker process with SIGKILL while 100 jobs are
// queued or active, restarts it, and checks that every job ends exactly
// once in done/ or failed/ and that only jobs active at the kill were
// called twice (at-least-once).
func TestCrashKill9(t *testing.T) {
	t.Parallel()
	const jobs = 100
	dir := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls.log")
	s, err := OpenSpool(dir)
	tcheck(t, err, "spool")
	want := map[string]string{}
	for i := 0; i < jobs; i++ {
		m := testMeta()
		m.Number = fmt.Sprintf("+1613555%04d", i)
		id, err := s.Enqueue(m, bytes.NewReader(pcmRamp(80)), 80)
		tcheck(t, err, "enqueue")
		want[id] = "done"
		if i%5 == 0 {
			want[id] = "failed"
		}
	}
	start := func() (*exec.Cmd, chan struct{}) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashSpool+"="+dir, envCrashCalls+"="+calls)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		tcheck(t, cmd.Start(), "start helper")
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		})
		return cmd, exited
	}
	cmd, exited := start()
	deadline := time.Now().Add(30 * time.Second)
	for countFinal(t, s) < 30 {
		if time.Now().After(deadline) {
			t.Fatal("helper made no progress")
		}
		time.Sleep(time.Millisecond)
	}
	tcheck(t, syscall.Kill(cmd.Process.Pid, syscall.SIGKILL), "kill -9")
	<-exited
	activeAtKill, _ := s.List("active")
	queuedAtKill, _ := s.List("new")
	finalAtKill := countFinal(t, s)
	t.Logf("at kill -9: %d final, %d active, %d queued", finalAtKill, len(activeAtKill), len(queuedAtKill))
	if len(activeAtKill) == 0 {
		t.Log("no job was active at the kill (timing); the duplicate bound is trivially met")
	}

	_, exited2 := start()
	deadline = time.Now().Add(60 * time.Second)
	for countFinal(t, s) < jobs {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d jobs final after restart", countFinal(t, s), jobs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = exited2

	// Exactly once in done/ or failed/, nothing left anywhere else.
	seen := map[string]string{}
	for _, st := range []string{"done", "failed"} {
		ids, _ := s.List(st)
		for _, id := range ids {
			if prev, dup := seen[id]; dup {
				t.Fatalf("job %s in %s and %s", id, prev, st)
			}
			seen[id] = st
			j, err := s.Load(st, id)
			tcheck(t, err, "load")
			if (st == "done") != (j.Final != nil && j.Final.Outcome == OutcomeDelivered) {
				t.Fatalf("job %s in %s with final %+v", id, st, j.Final)
			}
		}
	}
	tcompare(t, len(seen), jobs, "final jobs")
	for id, st := range want {
		tcompare(t, seen[id], st, "state of "+id)
	}
	for _, st := range []string{"new", "active", "tmp"} {
		ids, _ := s.List(st)
		tcompare(t, len(ids), 0, st+" left")
	}

	// Calls: every job at least once; repeats only for jobs active at the kill.
	b, err := os.ReadFile(calls)
	tcheck(t, err, "calls log")
	n := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		n[l]++
	}
	active := map[string]bool{}
	for _, id := range activeAtKill {
		active[id] = true
	}
	repeated := 0
	for id := range want {
		switch c := n[id]; {
		case c == 0:
			t.Fatalf("job %s never called", id)
		case c > 2:
			t.Fatalf("job %s called %d times", id, c)
		case c == 2:
			repeated++
			if !active[id] {
				t.Fatalf("job %s called twice but was not active at the kill", id)
			}
		}
	}
	t.Logf("after restart: %d jobs done, %d failed; %d calls repeated (of %d active at the kill); %d calls in total",
		jobs-20, 20, repeated, len(activeAtKill), len(strings.Fields(string(b))))
}

// enqueueHelper enqueues 5 s messages from 4 goroutines until killed.
func enqueueHelper(dir string) int {
	s, err := OpenSpool(dir)
	if err != nil {
		return 2
	}
	pcm := pcmRamp(40000)
	errc := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for {
				if _, err := s.Enqueue(testMeta(), bytes.NewReader(pcm), 40000); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	fmt.Fprintln(os.Stderr, <-errc)
	return 1
}

// TestCrashDuringEnqueue kills -9 a process in the middle of enqueueing:
// every job visible in new/ is complete (metadata parses, audio has all
// samples); partial writes exist only in tmp/, which is not a queue.
func TestCrashDuringEnqueue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	tcheck(t, err, "spool")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envEnqSpool+"="+dir)
	tcheck(t, cmd.Start(), "start helper")
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGKILL); <-exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, _ := s.List("new")
		if len(ids) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("helper made no progress")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tcheck(t, syscall.Kill(cmd.Process.Pid, syscall.SIGKILL), "kill -9")
	<-exited
	ids, err := s.List("new")
	tcheck(t, err, "list")
	tmp, _ := s.List("tmp")
	for _, id := range ids {
		j, err := s.Load("new", id)
		tcheck(t, err, "job "+id)
		f, n, err := j.OpenAudio()
		tcheck(t, err, "audio "+id)
		data, err := io.ReadAll(f)
		f.Close()
		tcheck(t, err, "read audio")
		tcompare(t, n, int64(40000), "samples in header")
		tcompare(t, len(data), 80000, "audio bytes of "+id)
	}
	t.Logf("kill -9 during enqueue: %d complete jobs in new/, %d partial in tmp/ (ignored, removed after 1 h)", len(ids), len(tmp))
}
