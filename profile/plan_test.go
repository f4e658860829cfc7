package profile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestAUName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "msg3.au"},
		{"voice.wav", "voice.au"},
		{"msg0000.WAV", "msg0000.au"},
		{"greeting", "greeting.au"},
		{`"spoken.wav"`, "spoken.au"}, // Mobeon's quoted quotes (DIGEST §2.11)
		{`C:\vm\msg.wav`, "msg.au"},
		{"/var/spool/vm/msg.726", "msg.au"},
		{".wav", "msg3.au"},
		{"a\x01b.wav", "msg3.au"},
		{"x.au", "x.au"},
	}
	for _, tc := range tests {
		if got := auName(tc.in, 3); got != tc.want {
			t.Errorf("auName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCriticality(t *testing.T) {
	tests := []struct {
		params             map[string]string
		critical, optional bool
	}{
		{nil, false, false},
		{map[string]string{"handling": "REQUIRED"}, true, false},
		{map[string]string{"handling": "required"}, true, false},
		{map[string]string{"handling": "OPTIONAL"}, false, true},
		{map[string]string{"handling": "x-later"}, true, false}, // RFC 3459 3: unknown = REQUIRED
		{map[string]string{"criticality": "CRITICAL"}, true, false},
		{map[string]string{"criticality": "ignore"}, false, true},
	}
	for _, tc := range tests {
		p := &Part{DispositionParams: tc.params}
		if c, o := critical(p), optional(p); c != tc.critical || o != tc.optional {
			t.Errorf("%v: critical %v optional %v, want %v %v", tc.params, c, o, tc.critical, tc.optional)
		}
	}
}

// cancelCodec cancels the evaluation's context while it transcodes.
type cancelCodec struct {
	fakeCodec
	cancel context.CancelFunc
}

func (c cancelCodec) Transcode(dst io.Writer, to string, src io.Reader, from string) (int64, error) {
	c.cancel()
	return c.fakeCodec.Transcode(dst, to, src, from)
}

// failingBody fails every read after the first rewind that follows the
// parse, that is while the engine test-transcodes a part.
type failingBody struct {
	*bytes.Reader
	seeks int
}

var errDisk = errors.New("disk on fire")

func (f *failingBody) Seek(off int64, whence int) (int64, error) {
	f.seeks++
	return f.Reader.Seek(off, whence)
}

func (f *failingBody) Read(b []byte) (int, error) {
	if f.seeks > 1 {
		return 0, errDisk
	}
	return f.Reader.Read(b)
}

// TestTrialTranscode checks that the trial transcoding before the verdict
// (VPIM v2 target, RFC 3801 4.5.3) tells the codec's refusal (550 5.6.1)
// from a failure to read the body or the end of the evaluation's context
// (an error: the milter tempfails, nothing is refused for good).
func TestTrialTranscode(t *testing.T) {
	src := corpus()["asterisk-to-vpim2"]
	rcpt := "3135551234@vm2.example.net"

	e, _ := New(testOptions())
	rep, err := e.Evaluate(context.Background(), inputFrom(t, src, rcpt))
	if err != nil || rep.Plan.Verdict() != VerdictModify {
		t.Fatalf("baseline: %v %v", err, rep.Plan.Decision)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := testOptions()
	o.Codec = cancelCodec{cancel: cancel}
	e, _ = New(o)
	if _, err := e.Evaluate(ctx, inputFrom(t, src, rcpt)); !errors.Is(err, context.Canceled) {
		t.Errorf("context ended during the trial: err %v, want context.Canceled", err)
	}

	e, _ = New(testOptions())
	in := inputFrom(t, src, rcpt)
	raw, _ := io.ReadAll(in.Body)
	in.Body = &failingBody{Reader: bytes.NewReader(raw)}
	if _, err := e.Evaluate(context.Background(), in); !errors.Is(err, errDisk) {
		t.Errorf("body read error during the trial: err %v, want %v", err, errDisk)
	}

	rep, err = e.Evaluate(context.Background(), inputFrom(t, corpus()["vpim2-codec-rejects"], rcpt))
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Plan.Decision.Reply; rep.Plan.Verdict() != VerdictReject || r.Code != 550 || r.Enhanced != "5.6.1" ||
		!slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Rule == "V2-PROP" && f.Spec == "RFC 3801 4.5.3" }) {
		t.Errorf("codec refusal: %s %s %+v", rep.Plan.Verdict(), r, rep.Findings)
	}
}

// TestV1ContentDuration (redteam R15): VPIM v1 does not use Content-Duration,
// but one a part carries says how long it plays (RFC 3803 2): a wrong or
// malformed one is corrected under P-AUDIO-DUR for the VPIM v1 destination,
// a right one (within a second) passes byte-identical, and a part without
// one gets none.
func TestV1ContentDuration(t *testing.T) {
	v1 := func(dur string) []byte {
		h := "Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64"
		if dur != "" {
			h += "\r\nContent-Duration: " + dur
		}
		return msg(`From: 2175552345@vm1.example.com
To: 2145551234@v1.example.net
Date: Mon, 23 Nov 2026 10:20:20 -0600
Message-ID: <1234@vm1.example.com>
MIME-Version: 1.0 (Voice 1.0)
Content-Type: multipart/voice-message; boundary="B1"`, multipart("B1", part(h, b64(adpcmRaw(3)))))
	}
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	const arrange = "arrange part 0 as multipart/voice-message [spoken name: empty, spoken subject: empty, voice message: part 1]"
	for _, tc := range []struct {
		name, dur string
		set       string // the corrected Content-Duration, "" when none
		finding   string // the P-AUDIO-DUR finding, "" when none
	}{
		{"wrong", "40", "3", "1: Content-Duration 40 but the audio lasts 3 s"},
		{"too short", "1", "3", "1: Content-Duration 1 but the audio lasts 3 s"},
		{"malformed", "three", "3", `1: Content-Duration "three" is not 1*10DIGIT`},
		{"right", "3", "", ""},
		{"within a second", "4", "", ""},
		{"none", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := e.Evaluate(context.Background(), inputFrom(t, v1(tc.dur), "2145551234@v1.example.net"))
			if err != nil {
				t.Fatal(err)
			}
			finding := ""
			for _, f := range rep.Findings {
				if f.Rule == rulePAudioDur {
					finding += f.Part + ": " + f.Message
				}
			}
			want := []string{arrange}
			if tc.set != "" {
				want = append(want, "set part 1 Content-Duration: "+tc.set)
			}
			set := slices.IndexFunc(rep.Plan.Actions, func(a Action) bool { return a.Name == "Content-Duration" })
			if rep.Plan.Verdict() != VerdictModify || !slices.Equal(actionStrings(rep), want) || finding != tc.finding ||
				set >= 0 && rep.Plan.Actions[set].Rule != rulePAudioDur {
				t.Errorf("%s %q, finding %q\nwant modify %q (under %s), finding %q", rep.Plan.Verdict(), actionStrings(rep), finding,
					want, rulePAudioDur, tc.finding)
			}
		})
	}
}
