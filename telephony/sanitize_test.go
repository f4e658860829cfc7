package telephony

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeCallFileValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello world", "Hello world"},
		{"line1\r\nChannel: Local/666@evil", "line1 Channel: Local/666@evil"},
		{"price; free", "price free"},
		{"a #comment", "a comment"},
		{"${SHELL(rm -rf /)}", "SHELL(rm -rf /)"},
		{"$[1+1] {x}", "1+1 x"},
		{"back\\slash, comma", "backslash comma"},
		{"  many   \t blanks  ", "many blanks"},
		{"José Müller", "Jos Mller"},
		{"\x00\x1b[31mred", "31mred"},
		{"Bob <bob@example.com>", "Bob <bob@example.com>"},
		{strings.Repeat("x", 500), strings.Repeat("x", 200)},
	}
	for _, tc := range tests {
		tcompare(t, sanitizeCallFileValue(tc.in), tc.want, tc.in)
	}
}

// FuzzSanitizeCallFileValue checks the invariants the call file relies on.
func FuzzSanitizeCallFileValue(f *testing.F) {
	f.Add("Subject: hi;#{}\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := sanitizeCallFileValue(s)
		if strings.ContainsAny(out, "\r\n;#{}$[]\\,\x00\t") {
			t.Fatalf("unsafe output %q", out)
		}
		if len(out) > 200 || !utf8.ValidString(out) {
			t.Fatalf("bad output %q", out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] < 0x20 || out[i] > 0x7e {
				t.Fatalf("non-printable in %q", out)
			}
		}
		if strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") || strings.Contains(out, "  ") {
			t.Fatalf("blanks not collapsed: %q", out)
		}
		if sanitizeCallFileValue(out) != out {
			t.Fatalf("not idempotent: %q", out)
		}
	})
}
