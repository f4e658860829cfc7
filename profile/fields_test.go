package profile

import (
	"bytes"
	"testing"
)

// TestEditParams: only the named parameters change; the rest of the value
// keeps its bytes (folding, quoting, case, RFC 2231 pieces).
func TestEditParams(t *testing.T) {
	tests := []struct {
		raw, kind string
		set       map[string]string
		del       []string
		want      string
	}{
		{" inline; voice=Voice-Message;\r\n filename=\"msg 1.726\"", "", map[string]string{"handling": "REQUIRED"}, nil,
			" inline; voice=Voice-Message;\r\n filename=\"msg 1.726\"; handling=REQUIRED"},
		{" INLINE; Voice=voice-message; Filename=MSG1.726", "", map[string]string{"filename": "msg1.au"}, nil,
			" INLINE; Voice=voice-message; filename=msg1.au"},
		{" attachment; filename*0*=UTF-8''Nachricht%20f; filename*1*=%C3%BCr.wav; size=12", "inline", map[string]string{"filename": "msg1.au"}, nil,
			" inline; filename=msg1.au; size=12"},
		{" audio/basic; name=\"a;b.au\" (comment; with semicolon)", "", map[string]string{"name": "x.au"}, nil,
			" audio/basic; name=x.au"},
		{" multipart/voice-message; boundary=\"VB\"; version=2.0", "", nil, []string{"version"},
			" multipart/voice-message; boundary=\"VB\""},
		{" inline", "", map[string]string{"filename": "Jürgen.au"}, nil, " inline; filename*=utf-8''J%C3%BCrgen.au"},
	}
	for _, tc := range tests {
		if got := editParams(tc.raw, tc.kind, tc.set, tc.del...); got != tc.want {
			t.Errorf("editParams(%q):\n got %q\nwant %q", tc.raw, got, tc.want)
		}
	}
}

// TestSpliceKeepsUntouchedBytes: when one part is rewritten, the
// preamble, the delimiter lines with their transport padding, the other
// parts and the epilogue keep their bytes.
func TestSpliceKeepsUntouchedBytes(t *testing.T) {
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	raw := corpus()["d13-ivm-preamble-epilogue"]
	// One parameter short of IVM: only that part's disposition changes.
	r := runMessage(t, e, bytes.Replace(raw, []byte("voice=Voice-Message; handling=REQUIRED;"), []byte("voice=Voice-Message;"), 1))
	if r.out == nil || !r.body {
		t.Fatalf("not rewritten: %s", r.verdict())
	}
	for _, want := range []string{
		"\r\n\r\nThis is a multi-part message in MIME format.\r\n--MB  \r\n",
		"--MB-- \r\nEpilogue: ignored by every reader.\r\n",
		"Content-Type: text/plain; charset=us-ascii\r\n\r\nYou have a new voice message.\r\n",
		"Content-Disposition: inline; voice=Voice-Message; filename=msg1.au; handling=REQUIRED\r\n",
	} {
		if !bytes.Contains(r.out, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
}
