package telephony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// parseCallFile is a port of pbx_spool.c's line rules: a "#" at the start or
// after a blank starts a comment, ";" starts one unless written "\;", lines
// over 1024 bytes are skipped, "Key: value" with case-insensitive keys.
func parseCallFile(t *testing.T, data []byte) [][2]string {
	t.Helper()
	var kv [][2]string
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) > 1024 {
			continue
		}
		var b strings.Builder
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
				break
			}
			if c == ';' {
				if i > 0 && line[i-1] == '\\' {
					s := b.String()
					b.Reset()
					b.WriteString(s[:len(s)-1])
					b.WriteByte(';')
					continue
				}
				break
			}
			b.WriteByte(c)
		}
		l := strings.TrimSpace(b.String())
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("call file line without colon: %q", l)
		}
		kv = append(kv, [2]string{strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)})
	}
	return kv
}

func TestRenderCallFileGolden(t *testing.T) {
	tests := []struct {
		name string
		opts AsteriskOptions
		meta func(*JobMeta)
	}{
		{"playback", AsteriskOptions{}, func(*JobMeta) {}},
		{"context", AsteriskOptions{Context: "vpim-outdial", Channel: "SIP/trunk/{number}", WaitTime: 20 * time.Second}, func(*JobMeta) {}},
		{"hostile", AsteriskOptions{}, func(m *JobMeta) {
			m.Subject = "Hi\r\nChannel: Local/900@evil\r\nApplication: System\nData: rm -rf /; # {x} ${SHELL(id)}"
			m.Sender = "\"Eve; #1\" <eve@example.com>\nSet: X=1"
			m.MessageID = "<a;b#c{d}@x>"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := testJob(Attempt{})
			j.Final = nil
			tc.meta(&j.Meta)
			o := Options{Asterisk: tc.opts}.WithDefaults().Asterisk
			got, err := renderCallFile(o, j, "/var/spool/vpim/active/"+j.ID+"/audio", 10*time.Minute)
			tcheck(t, err, "render")
			golden(t, "callfile/"+tc.name+".call", got)
			kv := parseCallFile(t, got)
			keys := map[string]int{}
			for _, p := range kv {
				keys[p[0]]++
				if strings.ContainsAny(p[1], "{}$[];#\\\r") {
					t.Errorf("unsafe value %q for %s", p[1], p[0])
				}
			}
			// Exactly the keys we write: no injected Channel/Application/Data.
			tcompare(t, keys["channel"], 1, "channel lines")
			tcompare(t, keys["set"], 6, "set lines")
			if !strings.Contains(string(got), "\nSet: TIMEOUT(absolute)=600\n") {
				t.Errorf("no absolute timeout of 600 s:\n%s", got)
			}
			tcompare(t, keys["application"]+keys["context"], 1, "application or context")
			tcompare(t, len(kv), strings.Count(string(got), "\n"), "every line parsed as written")
			if keys["data"] > 1 || keys["archive"] != 1 {
				t.Fatalf("unexpected keys %v", keys)
			}
		})
	}
}

func TestRenderCallFileBadNumber(t *testing.T) {
	j := testJob(Attempt{})
	j.Meta.Number = "+1613;x"
	_, err := renderCallFile(Options{}.WithDefaults().Asterisk, j, "/a", 0)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Status != "5.1.3" || de.Temporary() {
		t.Fatalf("got %v", err)
	}
}

// TestPublishCallFileAtomic: a reader polling the outgoing directory (as
// pbx_spool does) never sees a partial call file.
func TestPublishCallFileAtomic(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	tmp, out := filepath.Join(base, "tmp"), filepath.Join(base, "outgoing")
	tcheck(t, os.Mkdir(tmp, 0o755), "mkdir")
	tcheck(t, os.Mkdir(out, 0o755), "mkdir")
	// A large file (many Set lines) makes torn reads likely if the write were not atomic.
	var body bytes.Buffer
	body.WriteString("Channel: PJSIP/+16137637582@trunk\n")
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&body, "Set: VPIM_PAD%04d=%s\n", i, strings.Repeat("x", 100))
	}
	body.WriteString("Archive: yes\n")
	want := body.Bytes()
	const files = 60
	var stop atomic.Bool
	var seen, torn atomic.Int64
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ents, _ := os.ReadDir(out)
				for _, e := range ents {
					b, err := os.ReadFile(filepath.Join(out, e.Name()))
					if err != nil {
						continue // removed meanwhile
					}
					seen.Add(1)
					if !bytes.Equal(b, want) {
						torn.Add(1)
					}
					os.Remove(filepath.Join(out, e.Name()))
				}
			}
		}()
	}
	for i := 0; i < files; i++ {
		tcheck(t, publishCallFile(tmp, out, fmt.Sprintf("vpim-%03d.call", i), want, time.Time{}), "publish")
	}
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	tcompare(t, torn.Load(), int64(0), "partial reads")
	if seen.Load() == 0 {
		t.Fatal("reader saw nothing")
	}
	t.Logf("reader saw %d complete call files, 0 partial", seen.Load())
	ents, _ := os.ReadDir(tmp)
	tcompare(t, len(ents), 0, "tmp left empty")
}

func TestPublishCallFileSchedule(t *testing.T) {
	base := t.TempDir()
	when := time.Now().Add(time.Hour).Truncate(time.Second)
	tcheck(t, publishCallFile(base, base, "x.call", []byte("Channel: x\n"), when), "publish")
	fi, err := os.Stat(filepath.Join(base, "x.call"))
	tcheck(t, err, "stat")
	tcompare(t, fi.ModTime().Equal(when), true, "mtime in the future")
}

// fakeAsterisk moves call files from outgoing to outgoing_done and appends
// a Status line, like pbx_spool with Archive: yes.
func fakeAsterisk(t *testing.T, o AsteriskOptions, status func(call []byte) string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			ents, _ := os.ReadDir(o.OutgoingDir)
			for _, e := range ents {
				p := filepath.Join(o.OutgoingDir, e.Name())
				b, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				os.Remove(p)
				b = append(b, "Status: "+status(b)+"\n"...)
				os.WriteFile(filepath.Join(o.DoneDir, e.Name()), b, 0o644)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// TestAsteriskDeliverDeadline: Deliver waits no longer than the attempt's
// context (attempt_timeout), not the 10 minutes of ResultTimeout: at the
// deadline the call file Asterisk has not taken is withdrawn, and the call
// file bounds the call inside Asterisk to the time the attempt had left.
func TestAsteriskDeliverDeadline(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	o := Options{Asterisk: AsteriskOptions{OutgoingDir: filepath.Join(base, "outgoing")}}.WithDefaults().Asterisk
	tcheck(t, os.MkdirAll(o.OutgoingDir, 0o755), "mkdir")
	be, err := NewAsteriskBackend(o)
	tcheck(t, err, "backend")
	be.poll = 10 * time.Millisecond
	j := testJob(Attempt{})
	j.dir = filepath.Join(base, "spool", "active", j.ID)
	found := make(chan []byte, 1)
	go func() { // the call file as Asterisk would find it
		for {
			if b, err := os.ReadFile(filepath.Join(o.OutgoingDir, callFileName(j))); err == nil {
				found <- b
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err = be.Deliver(ctx, j)
	if took := time.Since(start); took > 4*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Deliver: %v after %v, want the deadline after 3s", err, took)
	}
	if _, err := os.Stat(filepath.Join(o.OutgoingDir, callFileName(j))); !os.IsNotExist(err) {
		t.Errorf("call file still in outgoing/: %v", err)
	}
	callFile := <-found
	if !bytes.Contains(callFile, []byte("\nSet: TIMEOUT(absolute)=3\n")) {
		t.Errorf("call file does not bound the call to the 3 s left:\n%s", callFile)
	}
}

func TestAsteriskDeliver(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	o := AsteriskOptions{OutgoingDir: filepath.Join(base, "outgoing"), ResultTimeout: 5 * time.Second}
	o = Options{Asterisk: o}.WithDefaults().Asterisk
	for _, d := range []string{o.OutgoingDir, o.DoneDir} {
		tcheck(t, os.MkdirAll(d, 0o755), "mkdir")
	}
	be, err := NewAsteriskBackend(o)
	tcheck(t, err, "backend")
	be.poll = 10 * time.Millisecond
	var mu sync.Mutex
	statuses := map[string]string{"+16137637582": "Completed", "+16137637583": "Expired", "+16137637584": "Failed"}
	fakeAsterisk(t, o, func(b []byte) string {
		mu.Lock()
		defer mu.Unlock()
		for n, st := range statuses {
			if bytes.Contains(b, []byte("PJSIP/"+n+"@trunk")) {
				return st
			}
		}
		return "Failed"
	})
	tests := []struct {
		number  string
		outcome Outcome // "" = delivered
	}{
		{"+16137637582", ""},
		{"+16137637583", OutcomeNoAnswer},
		{"+16137637584", OutcomeTempFailure},
	}
	for _, tc := range tests {
		j := testJob(Attempt{})
		j.Meta.Number = tc.number
		j.dir = filepath.Join(base, "spool", "active", j.ID)
		err := be.Deliver(context.Background(), j)
		if tc.outcome == "" {
			tcheck(t, err, tc.number)
			continue
		}
		var de *DeliveryError
		if !errors.As(err, &de) || de.Outcome != tc.outcome || !de.Temporary() {
			t.Fatalf("%s: got %v", tc.number, err)
		}
	}
	ents, _ := os.ReadDir(o.DoneDir)
	tcompare(t, len(ents), 0, "archives consumed")
}

// TestAsteriskBridge runs the whole bridge with backend = "asterisk" against
// the fake pbx_spool: a Failed call is retried, then Completed.
func TestAsteriskBridge(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	ao := Options{Asterisk: AsteriskOptions{OutgoingDir: filepath.Join(base, "outgoing")}}.WithDefaults().Asterisk
	for _, d := range []string{ao.OutgoingDir, ao.DoneDir} {
		tcheck(t, os.MkdirAll(d, 0o755), "mkdir")
	}
	var n atomic.Int32
	fakeAsterisk(t, ao, func([]byte) string {
		if n.Add(1) == 1 {
			return "Failed"
		}
		return "Completed"
	})
	s, err := OpenSpool(filepath.Join(base, "spool"))
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	o := Options{SpoolDir: s.Dir(), Backend: BackendAsterisk, Asterisk: ao, Poll: 20 * time.Millisecond,
		Retry: []time.Duration{50 * time.Millisecond}}
	startSIPBridge(t, o, s)
	state, j := waitFinal(t, s, id, 20*time.Second)
	tcompare(t, state, "done", "state")
	tcompare(t, j.Attempts, 2, "attempts")
	tcompare(t, j.History[0].Diagnostic, "asterisk: Failed", "first attempt")
}
