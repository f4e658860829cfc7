//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/integration/siptest"
	"github.com/vpim-milter/vpim-milter/internal/testport"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// TestKamailioDispatcher is the scale-out path of the README ("Running on several
// hosts"): the daemon's SIP back-end points at a Kamailio dispatcher
// (integration/siptest/kamailio/dispatcher.cfg, verbatim) in front of two baresip
// endpoints, and mail to VOICE= recipients enters a real Postfix.
//
//  1. Six calls, two at a time, are spread round robin: three on each endpoint, and
//     every recording is the whole message audio (correlation ≥ 0.99, SNR ≥ 30 dB).
//  2. The endpoint next in turn is killed; the next call finds it silent, and
//     Kamailio moves it on to the other endpoint (ds_next_dst, after fr_timer).
//  3. Kamailio's OPTIONS probes mark the dead endpoint inactive; the calls after
//     that go to the other endpoint at once, without a failover.
//
// Every job is delivered at its first attempt and ends in done/ with no DSN (nothing
// connects to dsn.smtp). Kamailio holds no socket but its SIP port (UDP, loopback).
func TestKamailioDispatcher(t *testing.T) {
	const number = "+3940226338"
	callees := []*siptest.Baresip{siptest.StartBaresip(t, number, "PCMU"), siptest.StartBaresip(t, number, "PCMU")}
	dst := func(b *siptest.Baresip) string { return fmt.Sprintf("sip:127.0.0.1:%d", b.SIPPort) }
	proxy := siptest.StartKamailio(t, dst(callees[0]), dst(callees[1]))

	// Where DSNs would go: a listener that only counts connections.
	dsnLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsnLn.Close() })
	var dsns atomic.Int32
	go func() {
		for {
			c, err := dsnLn.Accept()
			if err != nil {
				return
			}
			dsns.Add(1)
			c.Close()
		}
	}()

	spool := filepath.Join(t.TempDir(), "spool")
	sipListen := testport.Reserve(t, 1) // the daemon's own SIP port
	// retry: a failed attempt would wait 10 minutes, so every job must be delivered
	// at its first attempt for the test to end. rate_limit: every call goes to one
	// number, more often than the default per-number limit (3/1h) allows.
	d := startDaemon(t, sipTOML(spool, proxy.Port, sipListen.Port(0),
		"concurrency = 2\nretry = [\"10m\"]\nrate_limit = { per_sender = \"100/1h\", per_number = \"100/1h\" }", "")+
		fmt.Sprintf("[dsn]\nsmtp = %q\n", dsnLn.Addr()), sipListen)
	m := startMTA(t, harness.Postfix(), d.port)

	voice := "VOICE=" + number + "@voice.example.com"
	_, ulaw := ulawMessage(t, "", voice, 1)
	ref := pcmOf(t, ulaw, codec.Format("basic")) // what every call must play
	sent := 0
	send := func() {
		t.Helper()
		sent++
		msg, _ := ulawMessage(t, fmt.Sprintf("scale%d", sent), voice, 1)
		if code, text := m.Submit(t, "caller@example.org", []string{voice}, msg); code != 250 {
			t.Fatalf("send: %d %s\n%s", code, text, d.logString())
		}
	}
	calls := make([]int, len(callees)) // recordings checked so far, per endpoint
	// played checks that endpoint i recorded want calls in all, each the message audio.
	played := func(i, want int) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(callees[i].Dir, "dump-*-dec.wav"))
		if len(files) != want {
			t.Fatalf("endpoint %d (%s) took %d calls, want %d\n%s", i, dst(callees[i]), len(files), want, proxy.Log())
		}
		for ; calls[i] < want; calls[i]++ {
			rec := recording(t, callees[i], calls[i]+1)
			lag, ncc, snr := align(ref, rec)
			t.Logf("endpoint %d call %d: %d samples, lag %d, correlation %.5f, SNR %.1f dB", i, calls[i]+1, len(rec), lag, ncc, snr)
			if ncc < 0.99 || snr < 30 || len(rec)-lag < len(ref) {
				t.Errorf("endpoint %d call %d does not match the message: correlation %.4f (want ≥ 0.99), SNR %.1f dB (want ≥ 30), %d samples from the start of the message (want ≥ %d)",
					i, calls[i]+1, ncc, snr, len(rec)-lag, len(ref))
			}
		}
	}
	dispatched := regexp.MustCompile(`dispatch: INVITE ` + regexp.QuoteMeta(number) + ` call-id \S+ to (\S+)`)
	failovers := func() []string { return regexp.MustCompile(`failover: .*`).FindAllString(proxy.Log(), -1) }

	// 1. Round robin over both endpoints.
	start := time.Now()
	for range 6 {
		send()
	}
	waitJobsDone(t, d, spool, 6)
	played(0, 3)
	played(1, 3)
	var order []string
	for _, s := range dispatched.FindAllStringSubmatch(proxy.Log(), -1) {
		order = append(order, s[1])
	}
	if len(order) != 6 {
		t.Fatalf("kamailio dispatched %d INVITEs, want 6:\n%s", len(order), proxy.Log())
	}
	for i := 2; i < len(order); i++ {
		if order[i] != order[i-2] || order[i] == order[i-1] {
			t.Fatalf("dispatch order %v is not round robin", order)
		}
	}
	if f := failovers(); len(f) != 0 {
		t.Fatalf("failovers with both endpoints up: %v", f)
	}
	proxy.CheckSockets(t)
	t.Logf("6 calls, 3 per endpoint, in %v", time.Since(start).Round(time.Millisecond))

	// 2. The endpoint next in turn (the first one's, after an even number of calls) dies.
	dead := 0
	if order[0] == dst(callees[1]) {
		dead = 1
	}
	live := 1 - dead
	callees[dead].Kill()
	start = time.Now()
	send()
	waitJobsDone(t, d, spool, 7)
	played(live, 4)
	f := failovers()
	if len(f) != 2 || !strings.HasSuffix(f[0], dst(callees[dead])+" failed (408)") || !strings.HasSuffix(f[1], " to "+dst(callees[live])) {
		t.Fatalf("failover lines %q, want the dead endpoint's 408 and the move to the other\n%s", f, proxy.Log())
	}
	t.Logf("failover call delivered %v after the kill", time.Since(start).Round(time.Millisecond))

	// 3. The probes mark the dead endpoint inactive; calls skip it.
	proxy.WaitLog(t, "dispatcher: destination down: "+dst(callees[dead]), 15*time.Second)
	t.Logf("endpoint marked inactive %v after the kill", time.Since(start).Round(time.Millisecond))
	for n := 8; n <= 9; n++ { // one at a time: baresip names its recordings by the second
		send()
		waitJobsDone(t, d, spool, n)
		played(live, n-3)
	}
	if f := failovers(); len(f) != 2 {
		t.Errorf("failover lines after the probes marked the endpoint down: %q", f[2:])
	}
	if all := dispatched.FindAllStringSubmatch(proxy.Log(), -1); len(all) != 9 {
		t.Errorf("kamailio dispatched %d INVITEs, want 9", len(all))
	} else if all[7][1] != dst(callees[live]) || all[8][1] != dst(callees[live]) {
		t.Errorf("the last two INVITEs went to %s and %s, want both to %s", all[7][1], all[8][1], dst(callees[live]))
	}
	if n := dsns.Load(); n != 0 {
		t.Errorf("%d connections to dsn.smtp, want none", n)
	}
}

// waitJobsDone waits up to 30 s until n jobs are in the spool's done/, and fails the test
// unless each was delivered at its first attempt with no DSN sent, and failed/ is empty.
func waitJobsDone(t *testing.T, d *daemon, spool string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, _ := os.ReadDir(filepath.Join(spool, "done"))
		if failed, _ := os.ReadDir(filepath.Join(spool, "failed")); len(failed) > 0 {
			t.Fatalf("%d jobs failed\n%s", len(failed), d.logString())
		}
		if len(done) >= n {
			for _, e := range done {
				var j telephony.Job
				b, err := os.ReadFile(filepath.Join(spool, "done", e.Name(), "job.json"))
				if err == nil {
					err = json.Unmarshal(b, &j)
				}
				if err != nil {
					t.Fatal(err)
				}
				if j.Attempts != 1 || j.Final == nil || j.Final.Outcome != telephony.OutcomeDelivered || j.DSN != "not-requested" {
					t.Fatalf("job %s: %d attempts, final %+v, dsn %q; want delivered at the first attempt, no DSN\n%s", j.ID, j.Attempts, j.Final, j.DSN, d.logString())
				}
			}
			if len(done) > n {
				t.Fatalf("%d jobs done, want %d", len(done), n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs done after 30 s, want %d\n%s", len(done), n, d.logString())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
