package telephony

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// fakeClock is the time of a spool and a bridge under test; only the test
// moves it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// delayT0 is when the test jobs are enqueued (fake time).
var delayT0 = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

// delayOpts: an attempt every hour, expiry after 8h: attempt n runs at
// T0+(n-1)h and attempt 8's busy becomes final (the next would be at the
// expiry). DelayAfter stays zero, the default 4h: attempt 5 is the first
// at or after it.
func delayOpts(smtpAddr string) Options {
	return Options{Retry: []time.Duration{time.Hour}, Expire: 8 * time.Hour, AttemptTimeout: 5 * time.Second,
		DSN: DSNOptions{SMTPAddr: smtpAddr, Timeout: 5 * time.Second}}
}

// openDelayBridge opens the spool in dir and a bridge on it, both on clock,
// as a (re)started daemon does.
func openDelayBridge(t *testing.T, dir string, clock *fakeClock, opts Options, be Backend, log *slog.Logger) (*Spool, *Bridge) {
	t.Helper()
	s, err := openSpool(dir, osFS{}, clock.now)
	tcheck(t, err, "spool")
	b, err := NewWithBackend(opts, s, be, log)
	tcheck(t, err, "bridge")
	b.now = clock.now
	return s, b
}

// step runs the job's next attempt as Run does: the clock moves to the
// job's next attempt time, the job is claimed from new/ and processed. It
// returns the state directory the job is in afterwards.
func step(t *testing.T, s *Spool, b *Bridge, clock *fakeClock, id string) string {
	t.Helper()
	j, err := s.Load(dirNew, id)
	tcheck(t, err, "load from new/")
	if j.NextAttempt.After(clock.now()) {
		clock.set(j.NextAttempt)
	}
	jobs, _, _, err := s.due(clock.now())
	tcheck(t, err, "due")
	tcompare(t, len(jobs), 1, "due jobs")
	tcheck(t, s.claim(jobs[0]), "claim")
	b.process(context.Background(), jobs[0])
	for _, st := range []string{dirNew, dirDone, dirFailed} {
		if _, err := os.Stat(filepath.Join(s.Dir(), st, id)); err == nil {
			return st
		}
	}
	t.Fatalf("job %s not in new/, done/ or failed/ after the attempt", id)
	return ""
}

// drain returns the DSNs the sink has received so far (sendDSN returns only
// after the sink has queued the message).
func drain(sink *smtpSink) []smtpMsg {
	var out []smtpMsg
	for {
		select {
		case m := <-sink.Msgs:
			out = append(out, m)
		default:
			return out
		}
	}
}

// TestDelayDSN runs jobs attempt by attempt on a fake clock until they are
// final and lists every DSN as "attempt:action/status".
func TestDelayDSN(t *testing.T) {
	t.Parallel()
	busy := SIPStatusError(486, "Busy Here")
	unavailable := SIPStatusError(503, "Service Unavailable")
	tests := []struct {
		name       string
		notify     string
		sender     string
		errs       []error // per attempt; the last repeats
		delayAfter time.Duration
		expire     time.Duration // 0: 8h
		disable    bool
		state      string
		attempts   int
		dsns       string // "attempt:action/status ..."
		delayDSN   string // Job.DelayDSN at the end
	}{
		{"no NOTIFY: delay warning then failure", "", "alice@example.com", []error{busy}, 0, 0, false,
			"failed", 8, "5:delayed/4.4.1 8:failed/4.4.1", "sent"},
		{"NOTIFY=DELAY only", "DELAY", "alice@example.com", []error{busy}, 0, 0, false,
			"failed", 8, "5:delayed/4.4.1", "sent"},
		{"NOTIFY=FAILURE,DELAY", "FAILURE,DELAY", "alice@example.com", []error{busy}, 0, 0, false,
			"failed", 8, "5:delayed/4.4.1 8:failed/4.4.1", "sent"},
		{"NOTIFY=FAILURE", "FAILURE", "alice@example.com", []error{busy}, 0, 0, false,
			"failed", 8, "8:failed/4.4.1", "not-requested"},
		{"NOTIFY=SUCCESS,FAILURE", "SUCCESS,FAILURE", "alice@example.com", []error{busy}, 0, 0, false,
			"failed", 8, "8:failed/4.4.1", "not-requested"},
		{"NOTIFY=NEVER", "NEVER", "alice@example.com", []error{busy}, 0, 0, false,
			"failed", 8, "", "not-requested"},
		{"null sender", "", "", []error{busy}, 0, 0, false,
			"failed", 8, "", "null-sender"},
		{"delay_after never", "", "alice@example.com", []error{busy}, DelayNever, 0, false,
			"failed", 8, "8:failed/4.4.1", ""},
		{"dsn disabled", "", "alice@example.com", []error{busy}, 0, 0, true,
			"failed", 8, "", "disabled"},
		{"delay_after 2h30m", "", "alice@example.com", []error{busy}, 150 * time.Minute, 0, false,
			"failed", 8, "4:delayed/4.4.1 8:failed/4.4.1", "sent"},
		{"status of the last temporary failure", "", "alice@example.com", []error{busy, busy, busy, busy, unavailable, busy}, 0, 0, false,
			"failed", 8, "5:delayed/4.4.0 8:failed/4.4.1", "sent"},
		{"no answer", "", "alice@example.com", []error{SIPStatusError(480, "Temporarily Unavailable")}, 0, 0, false,
			"failed", 8, "5:delayed/4.4.1 8:failed/4.4.1", "sent"},
		{"delivered before delay_after", "", "alice@example.com", []error{busy, busy, nil}, 0, 0, false,
			"done", 3, "", ""},
		{"delivered after the warning", "SUCCESS,DELAY", "alice@example.com", []error{busy, busy, busy, busy, busy, busy, nil}, 0, 0, false,
			"done", 7, "5:delayed/4.4.1 7:delivered/2.0.0", "sent"},
		{"permanent failure before delay_after", "", "alice@example.com", []error{busy, SIPStatusError(404, "Not Found")}, 0, 0, false,
			"failed", 2, "2:failed/5.1.1", ""},
		{"expired before delay_after", "", "alice@example.com", []error{busy}, 0, 4 * time.Hour, false,
			"failed", 4, "4:failed/4.4.1", ""},
		{"expiry at the attempt after delay_after", "", "alice@example.com", []error{busy}, 0, 5 * time.Hour, false,
			"failed", 5, "5:failed/4.4.1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := newSMTPSink(t)
			clock := &fakeClock{t: delayT0}
			opts := delayOpts(sink.Addr)
			opts.DSN.DelayAfter, opts.DSN.Disable = tc.delayAfter, tc.disable
			if tc.expire != 0 {
				opts.Expire = tc.expire
			}
			be := &scripted{errs: tc.errs}
			s, b := openDelayBridge(t, t.TempDir(), clock, opts, be, testLogger(t))
			meta := testMeta()
			meta.Notify, meta.Sender = tc.notify, tc.sender
			id, err := s.Enqueue(meta, bytes.NewReader(pcmRamp(80)), 80)
			tcheck(t, err, "enqueue")
			var dsns []string
			state := dirNew
			for n := 1; state == dirNew; n++ {
				if n > 20 {
					t.Fatal("job not final after 20 attempts")
				}
				state = step(t, s, b, clock, id)
				for _, m := range drain(sink) {
					tcompare(t, m.From, "", "DSN reverse path")
					tcompare(t, strings.Join(m.To, ","), tc.sender, "DSN recipient")
					dsns = append(dsns, itoa(n)+":"+dsnField(m.Data, "Action")+"/"+dsnField(m.Data, "Status"))
				}
			}
			tcompare(t, state, tc.state, "state")
			tcompare(t, be.count(), tc.attempts, "attempts")
			tcompare(t, strings.Join(dsns, " "), tc.dsns, "DSNs")
			j, err := s.Load(state, id)
			tcheck(t, err, "load final job")
			tcompare(t, j.DelayDSN, tc.delayDSN, "delay_dsn in job.json")
		})
	}
}

// TestDelayDSNOnceAcrossRestarts: the MTA is down when the warning falls
// due (logged, the job goes on); after a restart it is sent with the next
// temporary failure; job.json then says "sent", and after another restart
// no second warning goes out, only the final DSN.
func TestDelayDSNOnceAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := &fakeClock{t: delayT0}
	be := &scripted{errs: []error{SIPStatusError(486, "Busy Here")}}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// Daemon 1: the local MTA refuses connections.
	down := "127.0.0.1:" + itoa(testport.Reserve(t, 1).Port(0)) // held: connections are refused
	s, b := openDelayBridge(t, dir, clock, delayOpts(down), be, log)
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	for n := 1; n <= 5; n++ {
		tcompare(t, step(t, s, b, clock, id), dirNew, "state after attempt "+itoa(n))
	}
	j, err := s.Load(dirNew, id)
	tcheck(t, err, "load")
	tcompare(t, strings.HasPrefix(j.DelayDSN, "failed: telephony: dsn: "), true, "delay_dsn after refused submission: "+j.DelayDSN)
	tcompare(t, j.NextAttempt, delayT0.Add(5*time.Hour), "next attempt unaffected")
	if !strings.Contains(logs.String(), `level=WARN msg="delay dsn; tried again after the next attempt"`) {
		t.Fatalf("refused submission not logged:\n%s", logs.String())
	}

	// Daemon 2: the MTA is back; attempt 6 sends the warning.
	sink := newSMTPSink(t)
	s, b = openDelayBridge(t, dir, clock, delayOpts(sink.Addr), be, testLogger(t))
	tcompare(t, step(t, s, b, clock, id), dirNew, "state after attempt 6")
	msgs := drain(sink)
	tcompare(t, len(msgs), 1, "DSNs at attempt 6")
	m := msgs[0]
	tcompare(t, m.From, "", "reverse path")
	tcompare(t, strings.Join(m.To, ","), "alice@example.com", "recipient")
	raw := []byte(m.Data)
	rcpt := checkDSNStructure(t, raw, Attempt{Status: "4.4.1"})
	tcompare(t, rcpt, "Final-Recipient: rfc822; VOICE=+16137637582@voice.example.com\n"+
		"Action: delayed\n"+
		"Status: 4.4.1\n"+
		"Diagnostic-Code: X-SIP; 486 Busy Here\n"+
		"Last-Attempt-Date: Mon, 23 Nov 2026 20:00:00 +0000\n"+
		"Will-Retry-Until: Mon, 23 Nov 2026 23:00:00 +0000", "per-recipient fields")
	tcompare(t, dsnField(m.Data, "Subject"), "Delayed voice message (still trying)", "Subject")
	tcompare(t, dsnField(m.Data, "Message-ID"), "<"+id+".delay.dsn@localhost>", "Message-ID")
	j, err = s.Load(dirNew, id)
	tcheck(t, err, "load")
	tcompare(t, j.DelayDSN, "sent", "delay_dsn")
	tcompare(t, j.Attempts, 6, "attempts")

	// Daemon 3: the flag comes from job.json; attempts 7 and 8 send only
	// the final DSN.
	s, b = openDelayBridge(t, dir, clock, delayOpts(sink.Addr), be, testLogger(t))
	tcompare(t, step(t, s, b, clock, id), dirNew, "state after attempt 7")
	tcompare(t, len(drain(sink)), 0, "DSNs at attempt 7")
	tcompare(t, step(t, s, b, clock, id), dirFailed, "state after attempt 8")
	msgs = drain(sink)
	tcompare(t, len(msgs), 1, "DSNs at attempt 8")
	tcompare(t, dsnField(msgs[0].Data, "Action"), "failed", "final Action")
	if strings.Contains(msgs[0].Data, "Will-Retry-Until") {
		t.Fatal("Will-Retry-Until in a failed DSN (RFC 3464 §2.3.9)")
	}
	j, err = s.Load(dirFailed, id)
	tcheck(t, err, "load")
	tcompare(t, j.DelayDSN, "sent", "delay_dsn kept")
	tcompare(t, j.DSN, "sent", "final dsn")
}

// TestBridgeDelayDSNRun: the same through Run on the real clock: a job
// busy until it expires gets exactly one delayed DSN, then the failed one.
func TestBridgeDelayDSNRun(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	be := &scripted{errs: []error{SIPStatusError(486, "Busy Here")}}
	opts := fastOpts(sink)
	opts.Expire = 1500 * time.Millisecond
	opts.DSN.DelayAfter = 200 * time.Millisecond
	startBridge(t, opts, s, be)
	_, j := waitFinal(t, s, id, 10*time.Second)
	first := sink.next(t, 5*time.Second)
	second := sink.next(t, 5*time.Second)
	sink.none(t, 200*time.Millisecond)
	tcompare(t, dsnField(first.Data, "Action")+" "+dsnField(second.Data, "Action"), "delayed failed", "DSN actions in order")
	tcompare(t, dsnField(first.Data, "Will-Retry-Until"), j.Expires.Local().Format(time.RFC1123Z), "Will-Retry-Until")
	tcompare(t, j.DelayDSN, "sent", "delay_dsn")
	if be.count() < 3 {
		t.Fatalf("only %d attempts", be.count())
	}
}
