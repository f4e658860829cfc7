package profile

import (
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestB64Scan checks the two-bytes-a-lookup scan against the byte
// classes on every length and every single bad byte position.
func TestB64Scan(t *testing.T) {
	one := func(b []byte) byte {
		var acc byte
		for _, c := range b {
			switch b64class[c] {
			case 0:
				acc |= 2
			case 2:
				acc |= b64Pad
			case 3:
				acc |= 1
			}
		}
		return acc
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	for n := 0; n < 40; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got := b64scan(b64pair(), b); got&^b64Pad != 0 {
			t.Fatalf("%q: %d", b, got)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{0, ' ', '\t', '!', '\xff', '-', '\r'} {
				bad := append([]byte(nil), b...)
				bad[i] = c
				if got, want := b64scan(b64pair(), bad), one(bad); got != want {
					t.Fatalf("%q: %d, want %d", bad, got, want)
				}
			}
		}
	}
}

// bomb generates a message body of parts whose headers are mostly
// filler lines, part after part, a line at a time, never holding it in
// memory; every MiB it samples the heap, so peak is the most the parser
// held while reading.
type bomb struct {
	linesPerPart int
	size, off    int64
	line         int // lines of the current part written, -1 before its first
	pending      []byte
	peak         uint64
	next         int64
}

func (b *bomb) nextLine() []byte {
	switch {
	case b.off >= b.size && b.line < 0:
		return nil
	case b.line < 0:
		b.line = 0
		return []byte("--B\r\nContent-Type: text/plain\r\n")
	case b.line < b.linesPerPart && b.off < b.size:
		b.line++
		return []byte("X-F: y\r\n")
	}
	b.line = -1
	if b.off >= b.size {
		return []byte("\r\nz\r\n--B--\r\n")
	}
	return []byte("\r\nz\r\n")
}

func (b *bomb) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(b.pending) == 0 {
			b.pending = b.nextLine()
			if b.pending == nil {
				break
			}
		}
		k := copy(p[n:], b.pending)
		b.pending = b.pending[k:]
		n += k
		b.off += int64(k)
	}
	if b.off >= b.next {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.peak = max(b.peak, ms.HeapAlloc)
		b.next = b.off + 1<<20
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TestPartHeaderBomb: a 63 MB message of 3.7 M part header lines (issue 9
// item 10 measured 3.29 GB RSS for it) is parsed in bounded memory and
// not interpreted (P-LIMIT), whether the lines fill one part header or are
// spread over many parts under the per-part caps.
func TestPartHeaderBomb(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines int
	}{{"one huge part header", 4_000_000}, {"many parts under the caps", 900}} {
		t.Run(tc.name, func(t *testing.T) {
			b := &bomb{linesPerPart: tc.lines, size: 63 << 20}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := Parse([]Field{{"Content-Type", " multipart/mixed; boundary=B"}}, b, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.HeaderLimit == "" || !m.Limited() {
				t.Errorf("header limit not hit: %+v", m)
			}
			if m.BodySize < 63<<20 {
				t.Errorf("read %d bytes, want the whole body", m.BodySize)
			}
			grew := int64(b.peak) - int64(before.HeapAlloc)
			t.Logf("%d MB body, peak heap %d KB above the start (part header limit at part %s)", m.BodySize>>20, grew>>10, m.HeaderLimit)
			if grew > 16<<20 {
				t.Errorf("peak heap grew by %d MB, want under 16 MB", grew>>20)
			}
		})
	}
}

// TestPartHeaderCaps: a part header over the line or byte cap makes the
// message pass unchanged with P-LIMIT (never partially rewritten); at the
// cap it is interpreted.
func TestPartHeaderCaps(t *testing.T) {
	e, err := New(Options{Codec: realCodec(), Limits: Limits{MaxPartHeaderLines: 50, MaxPartHeaderBytes: 2048}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(lines int, long int) []byte {
		h := "Content-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline; voice=Voice-Message\r\n"
		for range lines - 3 {
			h += "X-Filler: y\r\n"
		}
		if long > 0 {
			h += "X-Long: " + strings.Repeat("x", long) + "\r\n"
		}
		return msg(v2Header("caps", "rcpt@mail.example.org"), multipart("VB", part(strings.TrimSuffix(h, "\r\n"), b64(adpcmRaw(1)))))
	}
	for _, tc := range []struct {
		name    string
		raw     []byte
		limited bool
	}{
		{"50 lines", mk(50, 0), false},
		{"51 lines", mk(51, 0), true},
		{"over 2048 bytes", mk(10, 2100), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputFrom(t, tc.raw, "rcpt@mail.example.org")
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			limited := slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Rule == rulePLimit })
			if limited != tc.limited {
				t.Fatalf("P-LIMIT %v, want %v: %v", limited, tc.limited, rep.Findings)
			}
			if tc.limited && (rep.Plan.Verdict() != VerdictAccept || len(rep.Plan.Actions) != 0 || rep.Profile != "none") {
				t.Errorf("limited message: %s %s %v, want accept unchanged", rep.Profile, rep.Plan.Verdict(), rep.Plan.Actions)
			}
			if !tc.limited && rep.Plan.Verdict() != VerdictModify {
				t.Errorf("verdict %s, want modify (converted for IVM)", rep.Plan.Verdict())
			}
		})
	}
}

// TestBase64Padding: "=" pads only the end (RFC 2045 6.8); anywhere else
// the data is invalid (the decoder would refuse it while the rewrite
// writes the body, found by FuzzEvaluate).
func TestBase64Padding(t *testing.T) {
	for _, tc := range []struct {
		body string
		bad  bool
	}{
		{"QUJD\r\nREVG\r\n", false},
		{"QUI=\r\n", false},
		{"QQ==\r\n", false},
		{"QQ=\r\n=\r\n", false},
		{"QQ==\r\nQUJD\r\n", true},
		{"QU=D\r\n", true},
		{"QQ===\r\n", true},
		{"QUJD\r\nQ=\r\n=A==\r\n", true},
	} {
		m, err := Parse([]Field{{"Content-Type", " audio/basic"}, {"Content-Transfer-Encoding", " base64"}}, strings.NewReader(tc.body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Root.BadBase64 != tc.bad {
			t.Errorf("%q: bad %v, want %v", tc.body, m.Root.BadBase64, tc.bad)
		}
	}
}
