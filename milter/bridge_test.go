package milter_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	gomilter "github.com/d--j/go-milter"
	"github.com/emersion/go-message/textproto"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// fakeBridge records what the milter hands to the telephony bridge and
// answers as told.
type fakeBridge struct {
	admitErr, handOffErr error

	mu      sync.Mutex
	got     *telephony.Message
	audio   string             // what Voice.Open gave, read during HandOff
	callers []telephony.Caller // who asked Admit, in order
}

func (b *fakeBridge) Admit(a *telephony.Admission, rcpt string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.callers = append(b.callers, a.Caller)
	return b.admitErr
}

func (b *fakeBridge) Stage(ctx context.Context, m *telephony.Message) (*telephony.Staged, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = m
	if m.Voice != nil {
		r, err := m.Voice.Open()
		if err != nil {
			return nil, err
		}
		a, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		b.audio = string(a)
	}
	if b.handOffErr != nil {
		return nil, b.handOffErr
	}
	return &telephony.Staged{}, nil
}

// TestBridgeHandOff runs voice-bound mail through the milter: the bridge gets the envelope with its ESMTP parameters,
// the header block and the voice part, and a recipient it took leaves MTA
// delivery; its refusals become the replies.
func TestBridgeHandOff(t *testing.T) {
	const voice = "VOICE=+3940226338@voice.example.com"
	header := [][2]string{{"From", "caller@example.org"}, {"To", voice}, {"Subject", "call me"}, {"Mime-Version", "1.0"},
		{"Content-Type", "audio/basic"}, {"Content-Transfer-Encoding", "base64"}}
	tests := []struct {
		name                 string
		admitErr, handOffErr error
		rcpts                []string
		noAudio              bool
		rcptAct, act         string // the reply at RCPT ("" continue) and at end of message
		mods                 []string
	}{
		{"handed off", nil, nil, []string{voice, "ann@example.net"}, false, "", "accept", []string{`DelRcpt "<` + voice + `>"`}},
		{"refused at RCPT", &telephony.RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial"}, nil,
			[]string{voice}, false, "reject 550 5.7.1 number not allowed for voice outdial", "", nil},
		{"policy unavailable", errors.New("broken"), nil, []string{voice}, false,
			"reject 451 4.3.0 voice outdial policy unavailable, try again later", "", nil},
		{"unplayable", nil, &telephony.RejectError{Code: 554, Enhanced: "5.6.1", Text: "audio of this message cannot be played"},
			[]string{voice}, false, "", "reject 554 5.6.1 audio of this message cannot be played", nil},
		{"spool trouble", nil, errors.New("disk full"), []string{voice}, false, "",
			"reject 451 4.3.0 temporary failure in the voice-mail filter, try again later", nil},
		{"no audio", nil, nil, []string{voice}, true, "", "accept", []string{`DelRcpt "<` + voice + `>"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBridge{admitErr: tc.admitErr, handOffErr: tc.handOffErr}
			_, _, addr := serveFilter(t, "inet:0@127.0.0.1", milter.Options{TempDir: t.TempDir(), Bridge: b}, nil)
			s := greeted(t, addr)
			if a, err := s.Mail("<caller@example.org>", "RET=HDRS ENVID=QQ314159"); err != nil || a.StopProcessing() {
				t.Fatalf("mail: %v %v", a, err)
			}
			for _, r := range tc.rcpts {
				a, err := s.Rcpt("<"+r+">", "NOTIFY=FAILURE ORCPT=rfc822;"+r)
				if err != nil {
					t.Fatal(err)
				}
				if a.StopProcessing() {
					if want := normalizeAct(tc.rcptAct); tc.rcptAct == "" || a.String() != want {
						t.Fatalf("RCPT %s: %s, want %q", r, a, tc.rcptAct)
					}
					return
				}
			}
			if tc.rcptAct != "" {
				t.Fatalf("RCPT continued, want %s", tc.rcptAct)
			}
			hdr := header
			body := "AAEC\r\n"
			if tc.noAudio {
				hdr = header[:4]
				body = "just text\r\n"
			}
			var h textproto.Header
			for i := len(hdr) - 1; i >= 0; i-- {
				h.Add(hdr[i][0], hdr[i][1])
			}
			if a, err := s.Header(h); err != nil || a.StopProcessing() {
				t.Fatalf("header: %v %v", a, err)
			}
			ms, a, err := s.BodyReadFrom(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if a.String() != normalizeAct(tc.act) {
				t.Errorf("end of message: %s, want %s", a, normalizeAct(tc.act))
			}
			var mods []string
			for _, m := range ms {
				mods = append(mods, m.String())
			}
			if got, want := strings.Join(mods, "\n"), strings.Join(tc.mods, "\n"); got != want {
				t.Errorf("modifications:\n got %s\nwant %s", got, want)
			}
			m := b.got
			if m == nil {
				t.Fatal("nothing handed off")
			}
			wantHeader := ""
			for _, f := range hdr {
				wantHeader += f[0] + ":" + f[1] + "\r\n" // as go-milter's client sends them
			}
			if got := fmt.Sprintf("%s|%s|%q|%q", m.Sender, m.SenderArgs, m.Recipients, m.Header); got !=
				fmt.Sprintf("caller@example.org|RET=HDRS ENVID=QQ314159|%q|%q", []telephony.Recipient{{Addr: voice, Args: "NOTIFY=FAILURE ORCPT=rfc822;" + voice}}, wantHeader) {
				t.Errorf("message handed off: %s", got)
			}
			switch {
			case tc.noAudio && m.Voice != nil:
				t.Errorf("voice %+v for a message without audio", m.Voice)
			case !tc.noAudio && (m.Voice == nil || m.Voice.Part != "" || m.Voice.Format != codec.Basic || b.audio != "\x00\x01\x02"):
				t.Errorf("voice %+v with audio %q, want the single part as basic, \"\\x00\\x01\\x02\"", m.Voice, b.audio)
			}
		})
	}
}

// TestBridgeCaller: the milter asks the MTA for {auth_authen} and
// {client_addr} and gives them to the gateway, which decides who may dial
// with them (issue 9 item 3): an allowed login or a trusted client is
// admitted, a forged envelope sender alone is refused with 550 5.7.1, and
// the refusal is logged at WARN with the login, the client, the rule and
// the reason.
func TestBridgeCaller(t *testing.T) {
	const voice = "VOICE=+3940226338@voice.example.com"
	g, err := telephony.NewGateway(telephony.Options{HomeCountry: "+39", OutdialAllow: []string{"+39"},
		AllowedLogins: []string{"alice"}, TrustedNetworks: []string{"192.0.2.0/24"}, AllowedSenders: []string{"alice@example.org"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuf
	f, err := milter.New(milter.Options{Listen: milter.Address{Network: "tcp4", Addr: "127.0.0.1:0"}, TempDir: t.TempDir(), Bridge: g},
		testengine.Engine{}, slog.New(slog.NewTextHandler(&log, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := milter.Listen(milter.Address{Network: "tcp4", Addr: "127.0.0.1:0"}, milter.SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Serve(ctx, ln); close(done) }()
	defer func() { cancel(); <-done }()
	for _, tc := range []struct {
		name, login, client, want string
	}{
		{"allowed login", "alice", "198.51.100.7", ""},
		{"trusted network", "", "192.0.2.25", ""},
		{"forged sender", "", "198.51.100.7", "reject 550 5.7.1 sender not authorized for voice outdial"},
		{"other login", "mallory", "198.51.100.7", "reject 550 5.7.1 sender not authorized for voice outdial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			macros := gomilter.NewMacroBag()
			macros.Set(gomilter.MacroQueueId, "4QID")
			macros.Set(gomilter.MacroClientAddr, tc.client)
			if tc.login != "" {
				macros.Set(gomilter.MacroAuthAuthen, tc.login)
			}
			c := gomilter.NewClient("tcp", ln.Addr().String(), gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
			s, err := c.Session(macros)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Conn("client.example", gomilter.FamilyInet, 25, tc.client)
			s.Helo("client.example")
			if a, err := s.Mail("<alice@example.org>", ""); err != nil || a.StopProcessing() {
				t.Fatalf("mail: %v %v", a, err)
			}
			a, err := s.Rcpt("<"+voice+">", "")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && a.StopProcessing():
				t.Fatalf("RCPT: %s, want continue", a)
			case tc.want != "" && (!a.StopProcessing() || a.String() != normalizeAct(tc.want)):
				t.Fatalf("RCPT: %s, want %s", a, normalizeAct(tc.want))
			}
		})
	}
	want := `level=WARN msg="recipient refused" queue_id=4QID from=alice@example.org rcpt="<` + voice + `>" reply="550 5.7.1 sender not authorized for voice outdial" login="" client=198.51.100.7 rule=auth number="" reason=`
	if !strings.Contains(log.String(), want) {
		t.Errorf("log lacks\n%s\nin\n%s", want, log.String())
	}
}

// TestBridgeVoiceByContent: an Asterisk WAV sent as
// application/octet-stream reaches the bridge, because the hand-off plays
// the voice part the evaluation chose, recognised by its bytes (issue 10:
// one part model).
func TestBridgeVoiceByContent(t *testing.T) {
	const voice = "VOICE=+3940226338@voice.example.com"
	var wav bytes.Buffer
	w, err := codec.NewWriter(&wav, codec.WAVULaw, 800)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 1600))
	w.Close()
	body := "--B\r\nContent-Type: text/plain\r\n\r\nYou have a message.\r\n" +
		"--B\r\nContent-Type: application/octet-stream; name=\"msg0000.wav\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"msg0000.wav\"\r\n\r\n" + base64.StdEncoding.EncodeToString(wav.Bytes()) + "\r\n--B--\r\n"
	b := &fakeBridge{}
	_, _, addr := serveFilter(t, "inet:0@127.0.0.1", milter.Options{TempDir: t.TempDir(), Bridge: b}, nil)
	s := greeted(t, addr)
	if a, err := s.Mail("<pbx@example.org>", ""); err != nil || a.StopProcessing() {
		t.Fatalf("mail: %v %v", a, err)
	}
	if a, err := s.Rcpt("<"+voice+">", ""); err != nil || a.StopProcessing() {
		t.Fatalf("rcpt: %v %v", a, err)
	}
	var h textproto.Header
	h.Add("Content-Type", "multipart/mixed; boundary=B")
	h.Add("MIME-Version", "1.0")
	h.Add("To", voice)
	h.Add("From", "pbx@example.org")
	if a, err := s.Header(h); err != nil || a.StopProcessing() {
		t.Fatalf("header: %v %v", a, err)
	}
	if _, a, err := s.BodyReadFrom(strings.NewReader(body)); err != nil || a.String() != normalizeAct("accept") {
		t.Fatalf("end of message: %v %v", a, err)
	}
	if b.got == nil || b.got.Voice == nil {
		t.Fatalf("no voice handed off: %+v", b.got)
	}
	if v := b.got.Voice; v.Part != "2" || v.Format != codec.WAVULaw || b.audio != wav.String() {
		t.Errorf("voice part %q format %q, %d bytes; want part 2, wav-ulaw, the WAV (%d bytes)", v.Part, v.Format, len(b.audio), wav.Len())
	}
}
