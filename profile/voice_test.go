package profile

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestVoiceAudio(t *testing.T) {
	mk := func(h, body string) *Input {
		in, err := ReadInput(bytes.NewReader([]byte(strings.ReplaceAll(h+"\n"+body, "\n", "\r\n"))))
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	const mvm = "MIME-Version: 1.0\nContent-Type: multipart/voice-message; version=2.0; boundary=b\n"
	tests := []struct {
		name, header, body, want, ctype string
		err                             error
	}{
		{"single part", "Content-Type: audio/basic\nContent-Transfer-Encoding: base64\n", "AAEC\n", "\x00\x01\x02", "audio/basic", nil},
		{"voice= wins over order", mvm,
			"--b\nContent-Type: audio/32KADPCM\nContent-Disposition: inline; voice=Originator-Spoken-Name\n\nname\n" +
				"--b\nContent-Type: audio/32KADPCM\nContent-Disposition: inline; voice=Voice-Message\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n",
			"hello", "audio/32kadpcm", nil},
		{"first audio without voice=", "Content-Type: multipart/mixed; boundary=b\n",
			"--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: audio/x-wav\n\nRIFF\n--b\nContent-Type: audio/basic\n\nzz\n--b--\n", "RIFF", "audio/x-wav", nil},
		{"forwarded audio ignored", "Content-Type: multipart/mixed; boundary=b\n",
			"--b\nContent-Type: message/rfc822\n\nContent-Type: audio/basic\n\ninner\n--b--\n", "", "", ErrNoVoice},
		{"no audio", "Content-Type: text/plain\n", "just text\n", "", "", ErrNoVoice},
		{"missing close delimiter", mvm, "--b\nContent-Type: audio/basic\nContent-Disposition: inline; voice=Voice-Message\n\nabc", "abc", "audio/basic", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ct, err := VoiceAudio(mk(tc.header, tc.body), Limits{})
			if err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			b, _ := io.ReadAll(r)
			if got := strings.TrimRight(string(b), "\r\n"); got != tc.want || ct != tc.ctype {
				t.Errorf("got %q %q, want %q %q", got, ct, tc.want, tc.ctype)
			}
		})
	}
}
