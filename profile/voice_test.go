package profile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
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

// TestAudioTooLong: audio longer than the limits is refused with 552
// 5.3.4 (RFC 3463 3.4, message too big for system; P-AUDIO-LONG), not as
// media the destination cannot render: for the telephony bridge when it
// plays longer than telephony.max_audio or the codec's max_duration
// (whichever is shorter, as the hand-off counts; redteam R11), for a VPIM
// destination, or a critical part, when it must be converted and is longer
// than the codec's max_duration (redteam R15). An IVM destination gets it
// unchanged.
func TestAudioTooLong(t *testing.T) {
	const (
		bridge = "VOICE=+15145551234@voice.example.com"
		phone  = "552 5.3.4 voice message too long to play by telephone (the limit is %s)"
		vpim   = "552 5.3.4 voice message too long to convert for the destination (the limit is %s)"
		tooBig = "the message is refused (message too big for system)"
	)
	wav := corpus()["d14-fritzbox-alaw"] // 3 s of A-law WAV (24000 samples)
	// IVM voice mail whose voice part, 3 s of A-law WAV, is critical.
	critical := msg(fmt.Sprintf(hdrIVM, "long"), multipart("MB", textPart,
		wavPart("audio/wav", "inline; voice=Voice-Message; handling=REQUIRED; filename=msg.wav", wavBytes(6, 3))))
	long := func(limit string) string {
		return fmt.Sprintf("2: the voice part plays 3 s, longer than the telephony bridge takes (%s): refused for the telephony bridge", limit)
	}
	for _, tc := range []struct {
		name     string
		msg      []byte
		codecMax time.Duration // codec.Options.MaxDuration; 0: its default (1h)
		bridge   time.Duration // Options.BridgeMaxAudio
		rcpt     string
		reply    string // of the refusal, "" when none
		actions  []string
		finding  string // the P-AUDIO-LONG finding (part: message), "" when none
	}{
		{"bridge over max_audio", wav, 0, 2 * time.Second, bridge, fmt.Sprintf(phone, "2s"), nil, long("2s")},
		{"bridge at max_audio", wav, 0, 3 * time.Second, bridge, "", []string{"hand to bridge " + bridge}, ""},
		{"bridge over the codec's limit", wav, time.Second, 0, bridge, fmt.Sprintf(phone, "1s"), nil, long("1s")},
		{"the shorter limit counts", wav, time.Second, time.Hour, bridge, fmt.Sprintf(phone, "1s"), nil, long("1s")},
		{"vpim2 over the codec's limit", wav, time.Second, 0, "3135551234@vm2.example.net", fmt.Sprintf(vpim, "1s"), nil,
			"2: the codec cannot convert wav-alaw (codec: audio longer than the limit: 3 s, the codec's limit is 1s): " +
				"audio/x-wav is too long to convert for the vpim2 destination, " + tooBig},
		{"vpim1 over the codec's limit", wav, time.Second, 0, "2145551234@v1.example.net", fmt.Sprintf(vpim, "1s"), nil,
			"2: the codec cannot convert wav-alaw (codec: audio longer than the limit: 3 s, the codec's limit is 1s): " +
				"audio/x-wav is too long to convert for the vpim1 destination, " + tooBig},
		{"critical part over the codec's limit", critical, 2 * time.Second, 0, "anna@mail.example.org", fmt.Sprintf(vpim, "2s"), nil,
			"2: the codec cannot convert wav-alaw (codec: audio longer than the limit: 3 s, the codec's limit is 2s): " +
				"audio/wav is too long to convert for the ivm destination, " + tooBig},
		{"ivm over the codec's limit", wav, time.Second, 0, "anna@mail.example.org", "", nil, ""},
		{"vpim2 within the limits", wav, 3 * time.Second, time.Second, "3135551234@vm2.example.net", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := codec.NewTranscoder(codec.Options{MaxDuration: tc.codecMax})
			if err != nil {
				t.Fatal(err)
			}
			o := testOptions()
			o.Codec, o.BridgeMaxAudio = c, tc.bridge
			e, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := e.Evaluate(context.Background(), inputFrom(t, tc.msg, tc.rcpt))
			if err != nil {
				t.Fatal(err)
			}
			reply, d := "", rep.Plan.Decision
			if d.Verdict == VerdictReject {
				reply = d.Reply.String()
				if d.Rule != rulePAudioLong || d.Condition != CondTooLong {
					t.Errorf("decision rule %s condition %s, want %s %s", d.Rule, d.Condition, rulePAudioLong, CondTooLong)
				}
				tc.actions = []string{"reject " + tc.reply}
			}
			finding := ""
			for _, f := range rep.Findings {
				if f.Rule == rulePAudioLong {
					finding += f.Part + ": " + f.Message
				}
			}
			if reply != tc.reply || finding != tc.finding || tc.actions != nil && !slices.Equal(actionStrings(rep), tc.actions) ||
				reply != "" && len(rep.Bridge) != 0 {
				t.Errorf("reply %q, actions %q, bridge %q, finding %q\nwant reply %q, actions %q, no bridge recipient when refused, finding %q",
					reply, actionStrings(rep), rep.Bridge, finding, tc.reply, tc.actions, tc.finding)
			}
		})
	}
}
