package profile

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
)

// TestVoice checks the voice part the evaluation chooses for the bridge
// and that OpenVoice gives its decoded bytes.
func TestVoice(t *testing.T) {
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mk := func(h, body string) *Input {
		in, err := ReadInput(bytes.NewReader([]byte(strings.ReplaceAll(h+"\n"+body, "\n", "\r\n"))))
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	const mvm = "MIME-Version: 1.0\nContent-Type: multipart/voice-message; version=2.0; boundary=b\n"
	tests := []struct {
		name, header, body, want, ctype, path string
		err                                   error
	}{
		{"single part", "Content-Type: audio/basic\nContent-Transfer-Encoding: base64\n", "AAEC\n", "\x00\x01\x02", "audio/basic", "", nil},
		{"voice= wins over order", mvm,
			"--b\nContent-Type: audio/32KADPCM\nContent-Disposition: inline; voice=Originator-Spoken-Name\n\nname\n" +
				"--b\nContent-Type: audio/32KADPCM\nContent-Disposition: inline; voice=Voice-Message\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n",
			"hello", "audio/32kadpcm", "2", nil},
		{"first audio without voice=", "Content-Type: multipart/mixed; boundary=b\n",
			"--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: audio/x-wav\n\nRIFF\n--b\nContent-Type: audio/basic\n\nzz\n--b--\n", "RIFF", "audio/x-wav", "2", nil},
		{"forwarded audio ignored", "Content-Type: multipart/mixed; boundary=b\n",
			"--b\nContent-Type: message/rfc822\n\nContent-Type: audio/basic\n\ninner\n--b--\n", "", "", "", ErrNoVoice},
		{"no audio", "Content-Type: text/plain\n", "just text\n", "", "", "", ErrNoVoice},
		{"missing close delimiter", mvm, "--b\nContent-Type: audio/basic\nContent-Disposition: inline; voice=Voice-Message\n\nabc", "abc", "audio/basic", "1", nil},
		{"nested", "Content-Type: multipart/mixed; boundary=a\n",
			"--a\nContent-Type: text/plain\n\nhi\n--a\nContent-Type: multipart/voice-message; boundary=b\n\n--b\nContent-Type: audio/basic\n\nxyz\n--b--\n--a--\n", "xyz", "audio/basic", "2.1", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := mk(tc.header, tc.body)
			in.Envelope.Rcpts = []Rcpt{{Addr: "VOICE=+15145551234@voice.example.com"}}
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			v := rep.Voice
			if (v == nil) != (tc.err != nil) {
				t.Fatalf("voice %+v, want error %v", v, tc.err)
			}
			if v == nil {
				if _, err := OpenVoice(in, v); err != tc.err {
					t.Errorf("OpenVoice: %v, want %v", err, tc.err)
				}
				return
			}
			if v.Path != tc.path || v.MediaType != tc.ctype {
				t.Errorf("voice %+v, want path %q type %q", v, tc.path, tc.ctype)
			}
			r, err := OpenVoice(in, v)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			if got := strings.TrimRight(string(b), "\r\n"); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVoiceFormat(t *testing.T) {
	for format, want := range map[string]string{"basic": "basic", "32kadpcm": "32kadpcm", "wav-ulaw": "wav-ulaw", "ogg": "", "": ""} {
		if got := (Voice{format: format}).Format(); got != want {
			t.Errorf("%s: format %q, want %q", format, got, want)
		}
	}
}

// TestBridgeLengthIsTheBridges: audio longer than the codec's limit is not
// refused for the bridge by the evaluation (telephony.max_audio bounds
// what the bridge plays, with its own reply); converted for IVM it cannot
// be, so that message passes unchanged.
func TestBridgeLengthIsTheBridges(t *testing.T) {
	c, err := codec.NewTranscoder(codec.Options{MaxDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions()
	o.Codec = c
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	raw := corpus()["d14-fritzbox-alaw"] // 3 s of A-law WAV
	for _, tc := range []struct {
		rcpt, verdict string
		actions       int
	}{
		{"VOICE=+15145551234@voice.example.com", "accept", 1}, // hand to bridge
		{"anna@mail.example.org", "accept", 0},                // delivered unchanged
	} {
		in := inputFrom(t, raw, tc.rcpt)
		rep, err := e.Evaluate(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if string(rep.Plan.Verdict()) != tc.verdict || len(rep.Plan.Actions) != tc.actions {
			t.Errorf("%s: %s %v, want %s with %d action(s)", tc.rcpt, rep.Plan.Verdict(), actionStrings(rep), tc.verdict, tc.actions)
		}
	}
}
