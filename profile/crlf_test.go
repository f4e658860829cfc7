package profile

import (
	"bufio"
	"bytes"
	"testing"
)

func TestCRLFWriter(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"a\nb\n"}, "a\r\nb\r\n"},
		{[]string{"a\r\nb\r\n"}, "a\r\nb\r\n"},
		{[]string{"a\r", "\nb"}, "a\r\nb"},
		{[]string{"a", "\n", "\n"}, "a\r\n\r\n"},
		{[]string{"\n"}, "\r\n"},
		{[]string{"x\r\r\n"}, "x\r\r\n"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		c := &crlfWriter{w: bw}
		for _, s := range tc.in {
			c.Write([]byte(s))
		}
		bw.Flush()
		if out.String() != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, out.String(), tc.want)
		}
	}
}
