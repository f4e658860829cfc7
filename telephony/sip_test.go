package telephony

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/vpim-milter/vpim-milter/integration/siptest"
	"github.com/vpim-milter/vpim-milter/internal/audiotest"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// sipOpts returns bridge options for the SIP back-end against 127.0.0.1:port.
func sipOpts(t *testing.T, dir string, port int, sink *smtpSink) Options {
	o := fastOpts(sink)
	o.SpoolDir = dir
	o.Backend = BackendSIP
	listen := testport.Reserve(t, 1)
	listen.Release() // for the bridge, which binds it when it starts
	o.SIP = SIPOptions{Trunk: fmt.Sprintf("sip:127.0.0.1:%d", port), Listen: fmt.Sprintf("127.0.0.1:%d", listen.Port(0)),
		RingTimeout: 5 * time.Second}
	o.Retry = []time.Duration{300 * time.Millisecond}
	o.AttemptTimeout = 20 * time.Second
	return o
}

func startSIPBridge(t *testing.T, o Options, s *Spool) {
	t.Helper()
	startSIPBridgeLog(t, o, s, testLogger(t))
}

// startSIPBridgeLog is startSIPBridge with the bridge logging to log.
func startSIPBridgeLog(t *testing.T, o Options, s *Spool, log *slog.Logger) {
	t.Helper()
	b, err := New(o, s, log)
	tcheck(t, err, "bridge")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("bridge did not stop")
		}
	})
}

func TestSIPBusyThenAnswer(t *testing.T) {
	t.Parallel()
	needTool(t, "sipp")
	sipp := siptest.StartSipp(t, "busy-then-answer.xml", "-m", "2")
	port, rc := sipp.Port, sipp.Exit
	sink := newSMTPSink(t)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	meta := testMeta()
	meta.Notify = "SUCCESS,FAILURE"
	id, err := s.Enqueue(meta, bytes.NewReader(pcmRamp(2400)), 2400)
	tcheck(t, err, "enqueue")
	startSIPBridge(t, sipOpts(t, s.Dir(), port, sink), s)
	state, j := waitFinal(t, s, id, 30*time.Second)
	tcompare(t, state, "done", "state")
	tcompare(t, j.Attempts, 2, "attempts")
	tcompare(t, j.History[0].Outcome, OutcomeBusy, "first attempt")
	tcompare(t, j.History[0].Diagnostic, "486 Busy Here", "first diagnostic")
	tcompare(t, j.History[1].Outcome, OutcomeDelivered, "second attempt")
	m := sink.next(t, 5*time.Second)
	tcompare(t, dsnField(m.Data, "Action"), "delivered", "Action")
	select {
	case code := <-rc:
		tcompare(t, code, 0, "sipp exit code (both calls passed)")
	case <-time.After(10 * time.Second):
		t.Fatal("sipp did not finish its 2 calls")
	}
}

func TestSIPUnknownNumberDSN(t *testing.T) {
	t.Parallel()
	needTool(t, "sipp")
	port := siptest.StartSipp(t, "uas-404.xml").Port
	sink := newSMTPSink(t)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(800)), 800)
	tcheck(t, err, "enqueue")
	startSIPBridge(t, sipOpts(t, s.Dir(), port, sink), s)
	state, j := waitFinal(t, s, id, 30*time.Second)
	tcompare(t, state, "failed", "state")
	tcompare(t, j.Attempts, 1, "attempts (404 is not retried)")
	m := sink.next(t, 5*time.Second)
	tcompare(t, strings.Join(m.To, ","), "alice@example.com", "DSN to envelope sender")
	tcompare(t, m.From, "", "DSN reverse path")
	tcompare(t, dsnField(m.Data, "Status"), "5.1.1", "Status")
	tcompare(t, dsnField(m.Data, "Action"), "failed", "Action")
	tcompare(t, dsnField(m.Data, "Diagnostic-Code"), "X-SIP; 404 Not Found", "Diagnostic-Code")
	if !strings.Contains(m.Data, "Content-Type: text/rfc822-headers\r\n\r\nReturn-Path: <alice@example.com>\r\n") {
		t.Fatal("original headers not attached")
	}
}

func TestSIPNoAnswerUntilExpiry(t *testing.T) {
	t.Parallel()
	needTool(t, "sipp")
	port := siptest.StartSipp(t, "ring-no-answer.xml").Port
	sink := newSMTPSink(t)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(800)), 800)
	tcheck(t, err, "enqueue")
	o := sipOpts(t, s.Dir(), port, sink)
	o.SIP.RingTimeout = 700 * time.Millisecond
	o.Expire = 3 * time.Second
	startSIPBridge(t, o, s)
	state, j := waitFinal(t, s, id, 30*time.Second)
	tcompare(t, state, "failed", "state")
	if j.Attempts < 2 {
		t.Fatalf("no-answer was not retried: %d attempts", j.Attempts)
	}
	for i, a := range j.History {
		tcompare(t, a.Outcome, OutcomeNoAnswer, fmt.Sprintf("attempt %d", i+1))
		// it rang: sipp answered 180 (without sipp, the INVITE times out instead)
		tcompare(t, a.Diagnostic, "no answer (ring timeout)", fmt.Sprintf("attempt %d diagnostic", i+1))
	}
	tcompare(t, j.Final.Outcome, OutcomeExpired, "final")
	m := sink.next(t, 5*time.Second)
	tcompare(t, dsnField(m.Data, "Action"), "failed", "Action")
	tcompare(t, dsnField(m.Data, "Status"), "4.4.1", "Status")
	t.Logf("no answer: %d attempts before expiry", j.Attempts)
}

// TestSIPDigestAuth: a trunk that challenges the INVITE (sipp
// uas-digest-auth.xml: 401 with an MD5 qop=auth challenge, then 200 only if
// the re-INVITE's Authorization verifies). Every outcome is final after one
// attempt, and the password never reaches the log.
func TestSIPDigestAuth(t *testing.T) {
	t.Parallel()
	needTool(t, "sipp")
	const user, pass, wrong = "vpim-gw", "s3cret pass", "wr0ng-Pa55"
	tests := []struct {
		name               string
		username, password string
		sippArgs           []string
		state              string
		outcome            Outcome
		status             string
		diag               string // job and DSN (Diagnostic-Code: X-SIP; diag)
		warn               bool   // "trunk authentication failed" logged
	}{
		{"right password", user, pass, nil, "done", OutcomeDelivered, "2.0.0", "", false},
		{"wrong password, 403", user, wrong, nil, "failed", OutcomePermFailure, "5.7.1", "403 Forbidden", false},
		{"wrong password, 401 again", user, wrong, []string{"-set", "rechallenge", "1"}, "failed", OutcomePermFailure, "5.7.0",
			"401 Unauthorized (credentials rejected)", true},
		{"no credentials", "", "", nil, "failed", OutcomePermFailure, "5.7.0", "401 Unauthorized (no credentials configured)", true},
		{"unanswerable challenge", user, pass, []string{"-set", "aka", "1"}, "failed", OutcomePermFailure, "5.7.0",
			"401 Unauthorized (unsupported digest challenge)", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sipp := siptest.StartSipp(t, "uas-digest-auth.xml", append([]string{"-m", "1"}, tc.sippArgs...)...)
			port, rc := sipp.Port, sipp.Exit
			sink := newSMTPSink(t)
			s, err := OpenSpool(t.TempDir())
			tcheck(t, err, "spool")
			id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(800)), 800)
			tcheck(t, err, "enqueue")
			o := sipOpts(t, s.Dir(), port, sink)
			o.SIP.Username, o.SIP.Password = tc.username, tc.password
			var logs lockedBuffer
			startSIPBridgeLog(t, o, s, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			state, j := waitFinal(t, s, id, 30*time.Second)
			tcompare(t, state, tc.state, "state")
			tcompare(t, j.Attempts, 1, "attempts (not retried)")
			tcompare(t, j.Final.Outcome, tc.outcome, "outcome")
			tcompare(t, j.Final.Status, tc.status, "status")
			tcompare(t, j.Final.Diagnostic, tc.diag, "diagnostic")
			if tc.state == "failed" {
				m := sink.next(t, 5*time.Second)
				tcompare(t, strings.Join(m.To, ","), "alice@example.com", "DSN to envelope sender")
				tcompare(t, dsnField(m.Data, "Action"), "failed", "Action")
				tcompare(t, dsnField(m.Data, "Status"), tc.status, "Status")
				tcompare(t, dsnField(m.Data, "Diagnostic-Code"), "X-SIP; "+tc.diag, "Diagnostic-Code")
			}
			select {
			case code := <-rc:
				tcompare(t, code, 0, "sipp exit code (scenario passed)")
			case <-time.After(10 * time.Second):
				t.Fatal("sipp did not finish its call")
			}
			log := logs.String()
			tcompare(t, strings.Contains(log, `msg="sip: trunk authentication failed"`), tc.warn, "warning logged:\n"+log)
			if tc.password != "" && strings.Contains(log, tc.password) {
				t.Fatalf("password in the log:\n%s", log)
			}
		})
	}
}

// TestAnswerable: challenges sipgo can answer pass; the others fail the
// call as an authentication failure, not as a transport error.
func TestAnswerable(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		header string // "" = none
		value  string
		want   string // "" = answerable
	}{
		{"MD5 qop=auth", 401, "WWW-Authenticate", `Digest realm="r", nonce="n", qop="auth", algorithm=MD5`, ""},
		{"no algorithm, no qop", 401, "WWW-Authenticate", `Digest realm="r", nonce="n"`, ""},
		{"lower-case md5", 401, "WWW-Authenticate", `Digest realm="r", nonce="n", algorithm=md5`, ""},
		{"SHA-256 (RFC 8760)", 401, "WWW-Authenticate", `Digest realm="r", nonce="n", qop="auth,auth-int", algorithm=SHA-256`, ""},
		{"proxy SHA-512-256", 407, "Proxy-Authenticate", `Digest realm="r", nonce="n", algorithm=SHA-512-256`, ""},
		{"AKA", 401, "WWW-Authenticate", `Digest realm="r", nonce="n", algorithm=AKAv1-MD5`, `algorithm "AKAv1-MD5", qop ""`},
		{"MD5-sess", 401, "WWW-Authenticate", `Digest realm="r", nonce="n", qop="auth", algorithm=MD5-sess`, `algorithm "MD5-sess", qop "auth"`},
		{"auth-int only", 401, "WWW-Authenticate", `Digest realm="r", nonce="n", qop="auth-int"`, `algorithm "", qop "auth-int"`},
		{"Basic", 401, "WWW-Authenticate", `Basic realm="r"`, "digest: invalid challenge prefix"},
		{"401 without challenge", 401, "", "", "no WWW-Authenticate"},
		{"407 with the 401 header", 407, "WWW-Authenticate", `Digest realm="r", nonce="n"`, "no Proxy-Authenticate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sip.NewResponse(tc.code, "Auth")
			if tc.header != "" {
				r.AppendHeader(sip.NewHeader(tc.header, tc.value))
			}
			err := answerable(r)
			if tc.want == "" {
				tcheck(t, err, "answerable")
				return
			}
			if !errors.Is(err, errUnanswerableChallenge) {
				t.Fatalf("got %v, want errUnanswerableChallenge", err)
			}
			tcompare(t, err.Error(), "telephony: sip: unanswerable digest challenge: "+tc.want, "error")
		})
	}
}

// TestSIPCredentials: the back-end checks credentials when built and when
// a reload replaces them (Reconfigure, Bridge.Reload).
func TestSIPCredentials(t *testing.T) {
	const trunk = "sip:127.0.0.1:5080"
	tests := []struct {
		name, username, password string
		want                     string // "" = valid
	}{
		{"both", "vpim-gw", "s3cret pass", ""},
		{"none", "", "", ""},
		{"user only (no credentials offered)", "vpim-gw", "", ""},
		{"password only", "", "s3cret", "telephony: sip: username: required when a password is set (hint: the digest user name the trunk has for us)"},
		{"quote in user", `vp"im`, "s3cret", `telephony: sip: username: "vp\"im" contains a quote, backslash or control character`},
		{"newline in user", "vpim\r\nX: y", "s3cret", `telephony: sip: username: "vpim\r\nX: y" contains a quote, backslash or control character`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := func(err error) string {
				if err == nil {
					return ""
				}
				return err.Error()
			}
			_, err := NewSIPBackend(SIPOptions{Trunk: trunk, Username: tc.username, Password: tc.password}, nil)
			tcompare(t, got(err), tc.want, "NewSIPBackend")
			be, err := NewSIPBackend(SIPOptions{Trunk: trunk, Username: "old", Password: "old pass"}, nil)
			tcheck(t, err, "NewSIPBackend")
			tcompare(t, got(be.Reconfigure(SIPOptions{Trunk: trunk, Username: tc.username, Password: tc.password})), tc.want, "Reconfigure")
			so, _ := be.settings()
			if tc.want == "" {
				tcompare(t, so.Username+"/"+so.Password, tc.username+"/"+tc.password, "credentials replaced")
			} else {
				tcompare(t, so.Username+"/"+so.Password, "old/old pass", "credentials kept")
			}
			o := Options{SpoolDir: "/s", Backend: BackendSIP, SIP: SIPOptions{Trunk: trunk, Username: tc.username, Password: tc.password}}.WithDefaults()
			if want := strings.Replace(tc.want, "telephony: sip: username: ", "SIP.Username: ", 1); got(o.Validate()) != want {
				t.Fatalf("Validate: got %v, want %s", o.Validate(), want)
			}
		})
	}
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	b, err := New(Options{SpoolDir: s.Dir(), Backend: BackendSIP, SIP: SIPOptions{Trunk: trunk}}, s, nil)
	tcheck(t, err, "sip bridge")
	tcheck(t, b.Reload(Options{SpoolDir: s.Dir(), Backend: BackendSIP, SIP: SIPOptions{Trunk: "sip:pbx.example:5060", Username: "u", Password: "p", CallerID: "4711"}}), "reload")
	be := b.config().backend.(*SIPBackend)
	o, tr := be.settings()
	tcompare(t, o.Username+"/"+o.Password+"/"+o.CallerID+"/"+tr.Host, "u/p/4711/pbx.example", "sip bridge settings after reload")
	err = b.Reload(Options{SpoolDir: s.Dir(), Backend: BackendSIP, SIP: SIPOptions{Listen: "127.0.0.1:5999", Username: "v", Password: "q"}})
	tcompare(t, fmt.Sprint(err), "telephony: reload: SIP.Listen: cannot change without a restart", "listen change")
	o, _ = be.settings()
	tcompare(t, o.Username, "u", "settings kept after a refused reload")
}

// --- baresip end-to-end: the recording must match the message audio ---

// speech generates the project's own test message with espeak-ng + sox as
// 8 kHz mono PCM16LE.
func speech(t *testing.T, text string) []byte {
	t.Helper()
	dir := t.TempDir()
	raw := filepath.Join(dir, "a.wav")
	out := filepath.Join(dir, "msg.raw")
	if b, err := exec.Command("espeak-ng", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, b)
	}
	if b, err := exec.Command("sox", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", out).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	pcm, err := os.ReadFile(out)
	tcheck(t, err, "read speech")
	return pcm
}

// readWAVData returns the samples of a 16-bit mono WAV (any chunk layout).
func readWAVData(t *testing.T, path string) ([]int16, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	tcheck(t, err, "read wav")
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV", path)
	}
	rate, channels, bits := 0, 0, 0
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		if n > len(body) || n == 0xFFFFFFFF || (id == "data" && n == 0) {
			n = len(body) // unfinished header
		}
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if channels != 1 || bits != 16 {
				t.Fatalf("%s: %d channels, %d bits", path, channels, bits)
			}
			s := make([]int16, n/2)
			for i := range s {
				s[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return s, rate
		}
		p += 8 + n + n%2
	}
	t.Fatalf("%s: no data chunk", path)
	return nil, 0
}

func pcmSamples(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// G.711 µ-law (ITU-T G.711 §2, table 2a) for the reference signal.
func ulawEncode(s int16) byte {
	x, sign := int(s), 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, 32635) + 0x84
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	return ^byte(sign | exp<<4 | (x>>(exp+3))&0x0F)
}

func ulawDecode(u byte) int16 {
	u = ^u
	x := ((int(u&0x0F) << 3) + 0x84) << ((u >> 4) & 7)
	x -= 0x84
	if u&0x80 != 0 {
		return int16(-x)
	}
	return int16(x)
}

// G.711 A-law (ITU-T G.711 §2, table 1a).
func alawEncode(s int16) byte {
	x, sign := int(s), 0x80
	if x < 0 {
		x, sign = -x-1, 0
	}
	x = min(x, 32767)
	var out int
	if x < 256 {
		out = x >> 4
	} else {
		exp := 7
		for mask := 0x4000; x&mask == 0 && exp > 1; mask >>= 1 {
			exp--
		}
		out = exp<<4 | (x>>(exp+3))&0x0F
	}
	return byte((out | sign) ^ 0x55)
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	exp := int(a>>4) & 7
	mant := int(a & 0x0F)
	var x int
	if exp == 0 {
		x = mant<<4 + 8
	} else {
		x = (mant<<4 + 0x108) << (exp - 1)
	}
	if a&0x80 == 0 {
		return int16(-x)
	}
	return int16(x)
}

func TestG711Reference(t *testing.T) {
	// Spot values from G.711 tables: µ-law 0 → 0xFF, A-law 0 → 0xD5.
	tcompare(t, ulawEncode(0), byte(0xFF), "ulaw(0)")
	tcompare(t, alawEncode(0), byte(0xD5), "alaw(0)")
	tcompare(t, ulawDecode(0x80), int16(32124), "ulaw max")
	tcompare(t, alawDecode(0xAA), int16(32256), "alaw max")
	for _, s := range []int16{-32768, -1000, -1, 1, 77, 1000, 32767} {
		if d := ulawDecode(ulawEncode(s)); math.Abs(float64(d-s)) > math.Abs(float64(s))/16+16 {
			t.Errorf("ulaw round trip %d → %d", s, d)
		}
		if d := alawDecode(alawEncode(s)); math.Abs(float64(d-s)) > math.Abs(float64(s))/16+16 {
			t.Errorf("alaw round trip %d → %d", s, d)
		}
	}
}

func TestSIPBaresipRecording(t *testing.T) {
	t.Parallel()
	needTool(t, "baresip", "espeak-ng", "sox")
	for _, codec := range []string{"PCMU", "PCMA"} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel()
			baresipRecording(t, codec)
		})
	}
}

func baresipRecording(t *testing.T, codec string) {
	const user = "+3940226338"
	t0 := time.Now()
	callee := siptest.StartBaresip(t, user, codec)
	t.Logf("baresip ready after %v", time.Since(t0))
	pcm := speech(t, "This is a voice message for the telephony bridge test.")
	samples := int64(len(pcm) / 2)
	sink := newSMTPSink(t)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	meta := testMeta()
	meta.Number = user
	id, err := s.Enqueue(meta, bytes.NewReader(pcm), samples)
	tcheck(t, err, "enqueue")
	t.Logf("speech generated after %v", time.Since(t0))
	startSIPBridge(t, sipOpts(t, s.Dir(), callee.SIPPort, sink), s)
	state, j := waitFinal(t, s, id, 60*time.Second)
	t.Logf("job final after %v", time.Since(t0))
	tcompare(t, state, "done", "state")
	tcompare(t, j.Attempts, 1, "attempts")

	// baresip finalises the recording when the call ends (our BYE)
	rec, rate := readWAVData(t, callee.WaitRecording(t, 1, 10*time.Second))
	tcompare(t, rate, 8000, "recording rate")

	t.Logf("recording complete after %v", time.Since(t0))
	src := pcmSamples(pcm)
	ref := make([]int16, len(src))
	for i, v := range src {
		if codec == "PCMU" {
			ref[i] = ulawDecode(ulawEncode(v))
		} else {
			ref[i] = alawDecode(alawEncode(v))
		}
	}
	lag, ncc, snr := align(ref, rec)
	_, _, snrSrc := align(src, rec[lag:lag+len(src)])
	t.Logf("%s: message %.2f s, recording %.2f s, lag %d samples (%.1f ms), NCC %.5f, SNR %.1f dB (vs unquantised source %.1f dB)",
		codec, float64(len(ref))/8000, float64(len(rec))/8000, lag, float64(lag)/8, ncc, snr, snrSrc)
	if ncc < 0.99 {
		t.Errorf("correlation %.5f < 0.99", ncc)
	}
	if snr < 30 {
		t.Errorf("SNR %.1f dB < 30 dB", snr)
	}
}

// align finds the whole of ref in rec (audiotest.Locate over every lag).
func align(ref, rec []int16) (lag int, ncc, snr float64) {
	return audiotest.Locate(ref, rec, 0, len(rec))
}
