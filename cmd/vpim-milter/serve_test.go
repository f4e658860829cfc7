package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/emersion/go-message/textproto"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpim-milter/vpim-milter/internal/promtext"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// syncBuffer is a log destination the test reads while serve writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// addrLogged waits for the JSON log record with message msg and returns its
// "addr" attribute.
func (s *syncBuffer) addrLogged(t *testing.T, msg string) string {
	t.Helper()
	addr, _ := s.record(t, msg)["addr"].(string)
	return addr
}

// scrapeMetrics GETs /metrics, checks the Content-Type, that the text
// parses and that its families come out sorted by name, and returns each
// counter or gauge sample as `name{label="value",...}` → value and the
// family names.
func scrapeMetrics(t *testing.T, addr string) (map[string]float64, []string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != promtext.ContentType {
		t.Fatalf("status %d, Content-Type %q:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	var order []string
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			order = append(order, f[2])
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("families not sorted by name: %v", order)
	}
	samples := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch mf.GetType().String() {
			case "COUNTER":
				samples[key] = m.GetCounter().GetValue()
			case "GAUGE":
				samples[key] = m.GetGauge().GetValue()
			}
		}
	}
	return samples, order
}

// milterSession opens a milter session to addr, past CONNECT and HELO;
// the caller closes it.
func milterSession(t *testing.T, addr string) *gomilter.ClientSession {
	t.Helper()
	c := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := c.Session(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (*gomilter.Action, error){
		func() (*gomilter.Action, error) { return s.Conn("client", gomilter.FamilyInet, 25, "127.0.0.1") },
		func() (*gomilter.Action, error) { return s.Helo("client") },
	} {
		if a, err := step(); err != nil || a.Type != gomilter.ActionContinue {
			t.Fatalf("milter step: %v %v", a, err)
		}
	}
	return s
}

// milterAccept sends one plain message's envelope and header to the milter
// at addr; the filter accepts it at end of header (fast path).
func milterAccept(t *testing.T, addr string) {
	t.Helper()
	s := milterSession(t, addr)
	defer s.Close()
	if a, err := s.Mail("<a@example.org>", ""); err != nil || a.Type != gomilter.ActionContinue {
		t.Fatalf("MAIL: %v %v", a, err)
	}
	if reply := rcpt(t, s, "b@example.org"); reply != "continue" {
		t.Fatalf("RCPT: %s", reply)
	}
	var h textproto.Header
	h.Add("Subject", "plain mail")
	if a, err := s.Header(h); err != nil || a.Type != gomilter.ActionAccept {
		t.Fatalf("end of header: %v %v, want accept", a, err)
	}
}

// rcpt sends RCPT TO:<addr> and returns "continue" or the reply.
func rcpt(t *testing.T, s *gomilter.ClientSession, addr string) string {
	t.Helper()
	a, err := s.Rcpt("<"+addr+">", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Type == gomilter.ActionContinue {
		return "continue"
	}
	return a.SMTPReply
}

// TestServeMetrics runs serve with metrics.listen and scrapes /metrics: the
// milter's families always, the bridge's vpim_bridge_* families when the
// worker runs (here the exec back-end with true(1), which "delivers" a job
// put in the spool beforehand), in one exposition that the Prometheus
// parser reads.
func TestServeMetrics(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	tests := []struct {
		name    string
		backend string
		bridge  bool // vpim_bridge_* families expected
	}{
		{"exec back-end: worker runs", "exec", true},
		{"spool back-end: no worker", "spool", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spoolDir := filepath.Join(t.TempDir(), "spool")
			path := writeConfig(t, fmt.Sprintf(`[milter]
listen = "inet:0@127.0.0.1"
allow_unauthenticated_listener = true
[log]
format = "json"
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = ["*"]
backend = %q
spool_dir = %q
[telephony.exec]
command = %q
[dsn]
disable = true
[metrics]
listen = "127.0.0.1:0"
`, tc.backend, spoolDir, truePath))
			cf := commonFlags{config: path}
			cfg, err := cf.load()
			if err != nil {
				t.Fatal(err)
			}
			spool, err := telephony.OpenSpool(spoolDir)
			if err != nil {
				t.Fatal(err)
			}
			meta := telephony.JobMeta{QueueID: "Q1", Sender: "a@example.org", Recipient: "VOICE=+15551234567@voice.example.com", Number: "+15551234567"}
			if _, err := spool.Enqueue(meta, bytes.NewReader(make([]byte, 160)), 80); err != nil {
				t.Fatal(err)
			}

			var logs syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			log, level := newLogger(cfg.Log, &logs)
			go func() { done <- serve(ctx, cf, cfg, log, level, nil) }()
			defer func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("serve: %v", err)
					}
				case <-time.After(15 * time.Second):
					t.Errorf("serve did not stop")
				}
			}()
			metricsAddr := logs.addrLogged(t, "metrics listening")
			milterAccept(t, logs.addrLogged(t, "vpim-milter listening"))

			// The filter counts the transaction when the session ends, the
			// worker the job when it is filed: scrape until both show.
			want := map[string]float64{`vpim_milter_transactions_total{path="fast",verdict="accept"}`: 1}
			if tc.bridge {
				want[`vpim_bridge_attempts_total{result="delivered"}`] = 1
				want[`vpim_bridge_jobs_finished_total{outcome="done"}`] = 1
				want[`vpim_bridge_spool_jobs{state="new"}`] = 0
			}
			var got map[string]float64
			var families []string
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, families = scrapeMetrics(t, metricsAddr)
				ok := true
				for k, v := range want {
					g, present := got[k]
					ok = ok && present && g == v
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("scrape never showed %v:\n%v", want, got)
				}
				time.Sleep(50 * time.Millisecond)
			}

			var milterFams, bridgeFams int
			for _, f := range families {
				switch {
				case strings.HasPrefix(f, "vpim_milter_"):
					milterFams++
				case strings.HasPrefix(f, "vpim_bridge_"):
					bridgeFams++
				case f != "go_goroutines" && f != "process_start_time_seconds":
					t.Errorf("unexpected family %s", f)
				}
			}
			wantBridge := 0
			if tc.bridge {
				wantBridge = 8
			}
			if milterFams != 4 || bridgeFams != wantBridge {
				t.Errorf("%d vpim_milter_ and %d vpim_bridge_ families, want 4 and %d: %v", milterFams, bridgeFams, wantBridge, families)
			}
			if !tc.bridge {
				if ids, err := spool.List("new"); err != nil || len(ids) != 1 {
					t.Errorf("spool back-end: new/ holds %v (%v), want the job untouched", ids, err)
				}
			}
		})
	}
}

// record waits for the first JSON log record with message msg and returns it.
func (s *syncBuffer) record(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		text := s.b.String()
		s.mu.Unlock()
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in the log:\n%s", msg, s.b.String())
	return nil
}

// rcptReply runs MAIL and one RCPT through the milter at addr and returns
// the reply to RCPT.
func rcptReply(t *testing.T, addr, from, to string) string {
	t.Helper()
	s := milterSession(t, addr)
	defer s.Close()
	if a, err := s.Mail("<"+from+">", ""); err != nil || a.Type != gomilter.ActionContinue {
		t.Fatalf("MAIL: %v %v", a, err)
	}
	return rcpt(t, s, to)
}

// TestServeReload: SIGHUP (here its channel) builds everything from the
// new file: a reload that changes outdial_deny and allowed_senders applies
// to the next RCPT, in the running daemon with a milter client. A reload
// that also changes keys needing a restart is refused as a whole and names
// them; the running policy stays.
func TestServeReload(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "spool")
	conf := func(listen, spool, senders, deny, level string) string {
		return fmt.Sprintf(`[milter]
listen = %q
allow_unauthenticated_listener = true
[log]
format = "json"
level = %q
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = [%s]
outdial_allow = ["+39"]
outdial_deny = [%s]
spool_dir = %q
`, listen, level, senders, deny, spool)
	}
	path := writeConfig(t, conf("inet:0@127.0.0.1", spoolDir, `"@example.org"`, "", "info"))
	cf := commonFlags{config: path}
	cfg, err := cf.load()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log, level := newLogger(cfg.Log, &logs)
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cf, cfg, log, level, hup) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	addr := logs.addrLogged(t, "vpim-milter listening")
	const allowed, denied = "VOICE=+3950123456@voice.example.com", "VOICE=+3940226338@voice.example.com"
	check := func(stage string, want map[[2]string]string) {
		t.Helper()
		for in, w := range want {
			if got := rcptReply(t, addr, in[0], in[1]); got != w {
				t.Errorf("%s: %s → %s: %q, want %q", stage, in[0], in[1], got, w)
			}
		}
	}
	const notSender, notNumber = "550 5.7.1 sender not authorized for voice outdial", "550 5.7.1 number not allowed for voice outdial"
	check("before", map[[2]string]string{
		{"a@example.org", denied}: "continue", {"a@example.org", allowed}: "continue", {"b@example.net", allowed}: notSender,
	})

	if err := os.WriteFile(path, []byte(conf("inet:0@127.0.0.1", spoolDir, `"@example.net"`, `"+3940"`, "debug")), 0o644); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	logs.record(t, "configuration reloaded")
	check("after reload", map[[2]string]string{
		{"a@example.org", allowed}: notSender, {"b@example.net", denied}: notNumber, {"b@example.net", allowed}: "continue",
	})
	if level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after reload, want debug", level.Level())
	}

	other := filepath.Join(t.TempDir(), "spool")
	if err := os.WriteFile(path, []byte(conf("inet:1@127.0.0.1", other, `"*"`, "", "info")), 0o644); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	rec := logs.record(t, "reload refused, keeping the running configuration: these keys need a restart")
	if got := fmt.Sprint(rec["keys"]); got != "[milter.listen telephony.spool_dir]" || rec["level"] != "ERROR" {
		t.Errorf("refusal: level %v, keys %s", rec["level"], got)
	}
	check("after a refused reload", map[[2]string]string{
		{"a@example.org", allowed}: notSender, {"b@example.net", denied}: notNumber, {"b@example.net", allowed}: "continue",
	})
	if level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after a refused reload, want debug kept", level.Level())
	}
}

// TestMetricsServerTimeouts: /metrics bounds every phase of a connection,
// so idle keep-alive connections are closed and a client that sends its
// header slowly is cut; a header that never ends is cut after
// ReadHeaderTimeout (checked on a copy with the timeouts shortened).
func TestMetricsServerTimeouts(t *testing.T) {
	srv := metricsServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("a phase without a bound: %+v", srv)
	}
	if srv.IdleTimeout > 2*time.Minute || srv.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("idle %v, header %v: too long", srv.IdleTimeout, srv.ReadHeaderTimeout)
	}
	srv.ReadHeaderTimeout, srv.IdleTimeout = 200*time.Millisecond, 200*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for _, req := range []string{"GET /metrics HTTP/1.1\r\nHost: x\r\n", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(req))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c)
		c.Close()
		if err != nil || time.Since(start) > 3*time.Second {
			t.Errorf("%q: connection not closed by the server (%v after %v)", req, err, time.Since(start))
		}
	}
}
