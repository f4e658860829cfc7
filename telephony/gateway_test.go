package telephony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
)

func testGateway(t *testing.T, withSpool bool) (*Gateway, *Spool) {
	t.Helper()
	var s *Spool
	if withSpool {
		var err error
		s, err = OpenSpool(filepath.Join(t.TempDir(), "spool"))
		tcheck(t, err, "open spool")
	}
	g, err := NewGateway(Options{AllowedSenders: []string{"@example.org"}, OutdialAllow: []string{"+39"}, TempDir: t.TempDir()}, s)
	tcheck(t, err, "gateway")
	return g, s
}

func TestGatewayAdmit(t *testing.T) {
	g, _ := testGateway(t, false)
	tests := []struct {
		sender, rcpt string
		want         string // the reply, "" admitted
	}{
		{"caller@example.org", "VOICE=+3940226338@voice.example.com", ""},
		{"caller@example.org", "VOICE=+3940226338/T=0@voice.example.com", ""},
		{"caller@example.org", "VOICE=@voice.example.com", "553 5.1.3"},
		{"caller@example.org", "VOICE=+16135551234@voice.example.com", "550 5.7.1 number not allowed"},
		{"mallory@example.net", "VOICE=+3940226338@voice.example.com", "550 5.7.1 sender not authorized"},
		{"", "VOICE=+3940226338@voice.example.com", "550 5.7.1 sender not authorized"},
	}
	for _, tc := range tests {
		err := g.Admit(&Admission{Caller: Caller{Sender: tc.sender}}, tc.rcpt)
		var rej *RejectError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s → %s: %v, want admitted", tc.sender, tc.rcpt, err)
		case tc.want != "" && !errors.As(err, &rej):
			t.Errorf("%s → %s: %v, want a *RejectError", tc.sender, tc.rcpt, err)
		case tc.want != "" && !strings.HasPrefix(fmt.Sprintf("%d %s %s", rej.Code, rej.Enhanced, rej.Text), tc.want):
			t.Errorf("%s → %s: %d %s %s, want %s", tc.sender, tc.rcpt, rej.Code, rej.Enhanced, rej.Text, tc.want)
		}
	}
}

// ulawVoice is a voice part of µ-law bytes, labelled audio/basic.
func ulawVoice(b []byte) *Voice {
	return &Voice{Part: "2", Format: codec.Basic, Open: func() (io.Reader, error) { return bytes.NewReader(b), nil }}
}

// TestGatewayHandOff: one job per recipient, with the NOTIFY and ORCPT of
// its own RCPT, the ENVID of MAIL, Message-ID and Subject from the header
// block (unfolded), the whole header block, and the voice decoded to PCM.
func TestGatewayHandOff(t *testing.T) {
	g, s := testGateway(t, true)
	ulaw := []byte{0xff, 0x7f, 0x00, 0x80, 0x1e, 0x9e, 0x5a, 0xda}
	header := []byte("From: Caller <caller@example.org>\r\nSubject: call\r\n me  back\r\nMessage-ID:  <m1@example.org>\r\n")
	m := &Message{
		QueueID:    "4ABC",
		Sender:     "caller@example.org",
		SenderArgs: "RET=HDRS ENVID=QQ314159",
		Recipients: []Recipient{
			{Addr: "VOICE=+3940226338@voice.example.com", Args: "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;VOICE=+3940226338@voice.example.com"},
			{Addr: "VOICE=+39-02-123@voice.example.com"},
		},
		Header: header,
		Voice:  ulawVoice(ulaw),
	}
	tcheck(t, g.HandOff(context.Background(), m), "hand-off")
	ids, err := s.List(dirNew)
	tcheck(t, err, "list")
	tcompare(t, len(ids), 2, "jobs")
	var want bytes.Buffer
	rd, err := codec.NewReader(bytes.NewReader(ulaw), codec.Basic)
	tcheck(t, err, "reference decoder")
	_, err = io.Copy(&want, rd)
	tcheck(t, err, "reference decode")
	got := map[string]JobMeta{}
	for _, id := range ids {
		j, err := s.Load(dirNew, id)
		tcheck(t, err, "load")
		tcompare(t, j.Samples, int64(len(ulaw)), "samples")
		a, n, err := j.OpenAudio()
		tcheck(t, err, "open audio")
		pcm, err := io.ReadAll(a)
		a.Close()
		tcheck(t, err, "read audio")
		tcompare(t, n, int64(len(ulaw)), "audio samples")
		if !bytes.Equal(pcm, want.Bytes()) {
			t.Errorf("job %s audio %x, want %x", id, pcm, want.Bytes())
		}
		meta := j.Meta
		if !bytes.Equal(meta.Header, header) {
			t.Errorf("header block %q, want %q", meta.Header, header)
		}
		meta.Header, meta.Duration = nil, 0
		got[meta.Recipient] = meta
	}
	for _, w := range []JobMeta{
		{QueueID: "4ABC", Sender: "caller@example.org", Recipient: "VOICE=+3940226338@voice.example.com", Number: "+3940226338",
			MessageID: "<m1@example.org>", Subject: "call me back", Notify: "SUCCESS,FAILURE", EnvID: "QQ314159", ORcpt: "rfc822;VOICE=+3940226338@voice.example.com"},
		{QueueID: "4ABC", Sender: "caller@example.org", Recipient: "VOICE=+39-02-123@voice.example.com", Number: "+3902123",
			MessageID: "<m1@example.org>", Subject: "call me back", EnvID: "QQ314159"},
	} {
		if g := got[w.Recipient]; fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Errorf("job meta\n got %+v\nwant %+v", g, w)
		}
	}
}

// TestGatewayHandOffRefusals: what can never be played is refused with
// 554 5.6.1 and leaves no job; a local failure is a temporary error.
func TestGatewayHandOffRefusals(t *testing.T) {
	rcpts := []Recipient{{Addr: "VOICE=+3940226338@voice.example.com"}}
	tests := []struct {
		name  string
		voice *Voice
		args  string
		want  string // the RejectError's reply; "" a temporary error
	}{
		{"no audio part", nil, "", "554 5.6.1 message to a telephone number has no audio to play"},
		{"empty audio", ulawVoice(nil), "", "554 5.6.1 message to a telephone number has no audio to play"},
		{"not audio", &Voice{Part: "1", Open: func() (io.Reader, error) { return strings.NewReader("%PDF-1.4 not audio at all"), nil }}, "",
			"554 5.6.1 audio of this message cannot be played"},
		{"part unreadable", &Voice{Part: "1", Open: func() (io.Reader, error) { return nil, errors.New("disk on fire") }}, "", ""},
		{"spool refuses the job", ulawVoice([]byte{1, 2, 3}), "NOTIFY=\x01", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, s := testGateway(t, true)
			m := &Message{Sender: "caller@example.org", Recipients: []Recipient{{Addr: rcpts[0].Addr, Args: tc.args}}, Voice: tc.voice}
			err := g.HandOff(context.Background(), m)
			var rej *RejectError
			switch {
			case err == nil:
				t.Fatal("handed off")
			case tc.want == "" && errors.As(err, &rej):
				t.Fatalf("%v: refused, want a temporary error", err)
			case tc.want != "" && !errors.As(err, &rej):
				t.Fatalf("%v: want a refusal", err)
			case tc.want != "" && fmt.Sprintf("%d %s %s", rej.Code, rej.Enhanced, rej.Text) != tc.want:
				t.Fatalf("refusal %d %s %s, want %s", rej.Code, rej.Enhanced, rej.Text, tc.want)
			}
			for _, state := range []string{dirTmp, dirNew} {
				if ids, _ := s.List(state); len(ids) != 0 {
					t.Errorf("%s/ holds %v", state, ids)
				}
			}
		})
	}
}

// TestGatewayDryRun: without a spool (the offline commands) the voice is
// still decoded, so undecodable audio is refused as in the daemon.
func TestGatewayDryRun(t *testing.T) {
	g, _ := testGateway(t, false)
	m := &Message{Sender: "caller@example.org", Recipients: []Recipient{{Addr: "VOICE=+3940226338@voice.example.com"}}, Voice: ulawVoice([]byte{1, 2})}
	tcheck(t, g.HandOff(context.Background(), m), "dry run")
	m.Voice = nil
	var rej *RejectError
	if err := g.HandOff(context.Background(), m); !errors.As(err, &rej) || rej.Code != 554 {
		t.Fatalf("dry run without audio: %v, want 554", err)
	}
}

func TestHeaderValue(t *testing.T) {
	h := []byte("X-Subject: no\r\nsubject:\r\n  folded\r\n\tvalue \r\nSubject: second\r\n")
	tcompare(t, headerValue(h, "Subject"), "folded value", "first Subject, unfolded")
	tcompare(t, headerValue(h, "Message-ID"), "", "absent")
}

func ExampleGateway() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	spool, _ := OpenSpool(dir)
	g, _ := NewGateway(Options{AllowedSenders: []string{"@example.org"}, OutdialAllow: []string{"+39"}}, spool)

	// At RCPT: who asks, and the outdial policy, per transaction.
	a := &Admission{QueueID: "4ABC", Caller: Caller{Sender: "caller@example.org"}}
	defer a.Close()
	fmt.Println(g.Admit(a, "VOICE=+3940226338@voice.example.com"))
	fmt.Println(g.Admit(a, "VOICE=+39-40-226338@voice.example.com")) // the same number
	fmt.Println(g.Admit(a, "VOICE=+19005550100@voice.example.com"))

	// At end of message: one durable job per distinct number.
	err := g.HandOff(context.Background(), &Message{
		QueueID: "4ABC",
		Sender:  "caller@example.org",
		Recipients: []Recipient{{Addr: "VOICE=+3940226338@voice.example.com", Args: "NOTIFY=FAILURE"},
			{Addr: "VOICE=+39-40-226338@voice.example.com"}},
		Header:    []byte("Subject: call me\r\n"),
		Voice:     &Voice{Format: codec.Basic, Open: func() (io.Reader, error) { return bytes.NewReader(make([]byte, 8000)), nil }},
		Admission: a,
	})
	ids, _ := spool.List("new")
	j, _ := spool.Load("new", ids[0])
	fmt.Println(err, len(ids), j.Meta.Number, j.Meta.Notify, j.Meta.Subject, j.Samples)
	// Output:
	// <nil>
	// <nil>
	// telephony: 550 5.7.1 number not allowed for voice outdial (number +19005550100 (written "+19005550100"): premium rate (+1900, NANP 900 premium-rate NPA))
	// <nil> 1 +3940226338 FAILURE call me 8000
}

// TestGatewayStage: Stage writes the jobs where the worker never looks
// (staging/); Commit moves them all to new/, Discard removes them, and a
// spool opened again (a restart after a crash between the two) removes
// staged jobs and never queues them.
func TestGatewayStage(t *testing.T) {
	m := func() *Message {
		return &Message{QueueID: "Q1", Sender: "caller@example.org", Voice: ulawVoice([]byte{1, 2, 3, 4}),
			Recipients: []Recipient{{Addr: "VOICE=+3940226338@voice.example.com"}, {Addr: "VOICE=+3940226339@voice.example.com"}}}
	}
	count := func(s *Spool, state string) int {
		ids, err := s.List(state)
		tcheck(t, err, "list "+state)
		return len(ids)
	}
	t.Run("commit", func(t *testing.T) {
		g, s := testGateway(t, true)
		st, err := g.Stage(context.Background(), m())
		tcheck(t, err, "stage")
		tcompare(t, count(s, dirStaging), 2, "staged")
		tcompare(t, count(s, dirNew), 0, "queued before the commit")
		tcheck(t, st.Commit(), "commit")
		tcompare(t, count(s, dirStaging), 0, "staged after the commit")
		tcompare(t, count(s, dirNew), 2, "queued")
		tcheck(t, st.Discard(), "discard after commit")
		tcompare(t, count(s, dirNew), 2, "queued after a late discard")
	})
	t.Run("discard", func(t *testing.T) {
		g, s := testGateway(t, true)
		st, err := g.Stage(context.Background(), m())
		tcheck(t, err, "stage")
		tcheck(t, st.Discard(), "discard")
		tcompare(t, count(s, dirStaging), 0, "staged")
		tcompare(t, count(s, dirNew), 0, "queued")
		tcheck(t, st.Commit(), "commit after discard")
		tcompare(t, count(s, dirNew), 0, "queued after a late commit")
	})
	t.Run("crash before the decision", func(t *testing.T) {
		g, s := testGateway(t, true)
		_, err := g.Stage(context.Background(), m())
		tcheck(t, err, "stage")
		s2, err := OpenSpool(s.Dir())
		tcheck(t, err, "reopen")
		tcompare(t, count(s2, dirStaging), 0, "staged after a restart")
		tcompare(t, count(s2, dirNew), 0, "queued after a restart")
	})
	t.Run("commit fails", func(t *testing.T) {
		fs := &faultFS{err: syscall.EIO, calls: map[string]int{}}
		s, err := openSpool(filepath.Join(t.TempDir(), "spool"), fs, time.Now)
		tcheck(t, err, "spool")
		g, err := NewGateway(Options{OutdialAllow: []string{"+39"}, TempDir: t.TempDir()}, s)
		tcheck(t, err, "gateway")
		st, err := g.Stage(context.Background(), m())
		tcheck(t, err, "stage")
		fs.op, fs.nth, fs.calls = "rename", 2, map[string]int{} // the second rename of the commit fails
		if err := st.Commit(); err == nil {
			t.Fatal("commit with a failing rename succeeded")
		}
		tcompare(t, count(s, dirNew), 0, "queued after a failed commit (all or nothing)")
		tcheck(t, st.Discard(), "discard")
		tcompare(t, count(s, dirStaging), 0, "staged after discard")
	})
}

// TestGatewayBounds: audio longer than max_audio (or codec.max_duration)
// is refused with 552 5.3.4 as soon as the decoder passes the limit, a
// spool over max_spool_bytes tempfails with 452 4.3.1 so the MTA keeps the
// mail, and the end of the evaluation deadline stops the decoding within
// one buffer; none of them leaves a job or a staged job.
func TestGatewayBounds(t *testing.T) {
	rcpts := []Recipient{{Addr: "VOICE=+3940226338@voice.example.com"}}
	// An endless µ-law stream: it would decode forever.
	endless := &Voice{Format: codec.Basic, Part: "2", Open: func() (io.Reader, error) { return &countingSource{}, nil }}
	tests := []struct {
		name  string
		opts  Options
		voice *Voice
		ctx   time.Duration // 0: no deadline
		want  string
	}{
		{"max_audio", Options{MaxAudio: 2 * time.Second}, endless, 0,
			"552 5.3.4 voice message too long to play by telephone (the limit is 2s)"},
		{"codec.max_duration", Options{MaxAudio: time.Hour, CodecMaxDuration: 3 * time.Second}, endless, 0,
			"552 5.3.4 voice message too long to play by telephone (the limit is 3s)"},
		{"spool full", Options{MaxSpoolBytes: 20 << 10}, ulawVoice(make([]byte, 8000)), 0,
			"452 4.3.1 voice spool full, try again later"},
		{"deadline", Options{MaxAudio: 1000 * time.Hour}, endless, 300 * time.Millisecond, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSpool(filepath.Join(t.TempDir(), "spool"))
			tcheck(t, err, "spool")
			tc.opts.TempDir, tc.opts.OutdialAllow = t.TempDir(), []string{"+39"}
			g, err := NewGateway(tc.opts, s)
			tcheck(t, err, "gateway")
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			start := time.Now()
			_, err = g.Stage(ctx, &Message{Sender: "caller@example.org", Recipients: rcpts, Voice: tc.voice})
			took := time.Since(start)
			var rej *RejectError
			switch {
			case tc.want == "":
				if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rej) {
					t.Fatalf("%v, want the deadline (a temporary error)", err)
				}
				if took > tc.ctx+time.Second {
					t.Errorf("stopped %v after the start, the deadline was %v", took, tc.ctx)
				}
			case !errors.As(err, &rej):
				t.Fatalf("%v, want %s", err, tc.want)
			case fmt.Sprintf("%d %s %s", rej.Code, rej.Enhanced, rej.Text) != tc.want:
				t.Fatalf("refusal %d %s %s, want %s", rej.Code, rej.Enhanced, rej.Text, tc.want)
			}
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			for _, state := range []string{dirTmp, dirStaging, dirNew} {
				if ids, _ := s.List(state); len(ids) != 0 {
					t.Errorf("%s/ holds %v", state, ids)
				}
			}
		})
	}
}

// countingSource is an endless µ-law stream of silence (0xff).
type countingSource struct{}

func (c *countingSource) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}
