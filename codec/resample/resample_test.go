package resample

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
	"testing/iotest"
)

// tone makes frames of interleaved PCM16LE: a sine of hz on every channel.
func tone(rate, channels, frames int, hz, amp float64) []byte {
	b := make([]byte, 2*channels*frames)
	for i := 0; i < frames; i++ {
		v := int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
		for c := 0; c < channels; c++ {
			binary.LittleEndian.PutUint16(b[2*(i*channels+c):], uint16(v))
		}
	}
	return b
}

func readAll(t testing.TB, r io.Reader) []float64 {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return pcm(b)
}

// rms returns the root mean square of x[from:to].
func rms(x []float64, from, to int) float64 {
	var s float64
	for _, v := range x[from:to] {
		s += v * v
	}
	return math.Sqrt(s / float64(to-from))
}

// TestResponse checks pass band gain and stop band rejection with tones.
func TestResponse(t *testing.T) {
	tests := []struct {
		rate   int
		hz     float64
		wantDB float64 // expected gain in dB
		tolDB  float64
	}{
		{44100, 1000, 0, 0.01},
		{44100, 3400, 0, 0.01},
		{48000, 300, 0, 0.01},
		{16000, 3000, 0, 0.01},
		{11025, 2000, 0, 0.01},
		{44100, 3800, -6.02, 0.3}, // 95 % of Nyquist: the -6 dB point
		{44100, 4500, -180, 100},  // aliases to 3500 Hz: must be <= -80 dB
		{44100, 7000, -180, 100},
		{22050, 5000, -180, 100},
		{48000, 9000, -180, 100},
		{16000, 4200, -180, 100},
		{11025, 5000, -180, 100},
	}
	for _, tc := range tests {
		t.Run(itoa(tc.rate)+"/"+itoa(int(tc.hz)), func(t *testing.T) {
			const amp = 10000
			in := tone(tc.rate, 1, tc.rate, tc.hz, amp) // 1 s
			r, err := NewReader(bytes.NewReader(in), tc.rate, 1)
			if err != nil {
				t.Fatal(err)
			}
			out := readAll(t, r)
			if len(out) != 8000 {
				t.Fatalf("got %d samples, want 8000", len(out))
			}
			g := 20 * math.Log10(math.Max(rms(out, 1000, 7000), 1e-3)/(amp/math.Sqrt2))
			if math.Abs(g-tc.wantDB) > tc.tolDB {
				t.Errorf("gain %.3f dB, want %.2f ± %.2f", g, tc.wantDB, tc.tolDB)
			}
		})
	}
}

// TestLength checks the exact output length and that an 8 kHz mono input
// is passed through untouched.
func TestLength(t *testing.T) {
	tests := []struct {
		rate, channels, frames int
		want                   int
	}{
		{44100, 2, 44100, 8000},
		{44100, 1, 1, 1},
		{44100, 1, 6, 2},
		{48000, 8, 4800, 800},
		{11025, 3, 11026, 8001},
		{8000, 2, 100, 100},
		{16000, 1, 0, 0},
	}
	for _, tc := range tests {
		r, err := NewReader(bytes.NewReader(tone(tc.rate, tc.channels, tc.frames, 440, 1000)), tc.rate, tc.channels)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(readAll(t, r)); got != tc.want {
			t.Errorf("%d Hz x%d, %d frames: %d samples, want %d", tc.rate, tc.channels, tc.frames, got, tc.want)
		}
	}
	src := bytes.NewReader([]byte{1, 2, 3})
	r, err := NewReader(src, 8000, 1)
	if err != nil || r != io.Reader(src) {
		t.Errorf("8 kHz mono: got %v, %v; want the source reader", r, err)
	}
}

// TestDownmix checks that channels are averaged and that antiphase cancels.
func TestDownmix(t *testing.T) {
	frames := 100
	b := make([]byte, 4*frames)
	left, right := int16(1000), int16(-3000)
	for i := 0; i < frames; i++ {
		binary.LittleEndian.PutUint16(b[4*i:], uint16(left))
		binary.LittleEndian.PutUint16(b[4*i+2:], uint16(right))
	}
	r, err := NewReader(bytes.NewReader(b), 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range readAll(t, r) {
		if v != -1000 {
			t.Fatalf("sample %d = %v, want -1000", i, v)
		}
	}
}

func TestBadFormat(t *testing.T) {
	tests := []struct{ rate, channels int }{{7999, 1}, {48001, 1}, {0, 1}, {8000, 0}, {8000, 9}, {44100, -1}}
	for _, tc := range tests {
		if _, err := NewReader(bytes.NewReader(nil), tc.rate, tc.channels); !errors.Is(err, ErrFormat) {
			t.Errorf("NewReader(%d, %d) = %v, want ErrFormat", tc.rate, tc.channels, err)
		}
	}
}

// TestReaders runs odd-sized and failing readers through the resampler: the
// output must be identical to the one from a plain reader.
func TestReaders(t *testing.T) {
	in := tone(44100, 2, 20000, 1234, 8000)
	want := resampleBytes(t, bytes.NewReader(in))
	for name, r := range map[string]io.Reader{
		"one-byte": iotest.OneByteReader(bytes.NewReader(in)),
		"half":     iotest.HalfReader(bytes.NewReader(in)),
		"data-err": iotest.DataErrReader(bytes.NewReader(in)),
	} {
		if got := resampleBytes(t, r); !bytes.Equal(got, want) {
			t.Errorf("%s: output differs (%d vs %d bytes)", name, len(got), len(want))
		}
	}
	r, _ := NewReader(bytes.NewReader(in), 44100, 2)
	if err := iotest.TestReader(r, want); err != nil {
		t.Error(err)
	}
	boom := errors.New("boom")
	r, _ = NewReader(iotest.ErrReader(boom), 44100, 2)
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Errorf("error = %v, want wrapped boom", err)
	}
}

func resampleBytes(t *testing.T, src io.Reader) []byte {
	t.Helper()
	r, err := NewReader(src, 44100, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNoAllocs checks that Read does not allocate in the steady state.
func TestNoAllocs(t *testing.T) {
	in := tone(44100, 2, 441000, 500, 8000)
	r, _ := NewReader(bytes.NewReader(in), 44100, 2)
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per Read, want 0", allocs)
	}
}

// BenchmarkResample44k converts 10 s of 44.1 kHz stereo to 8 kHz mono.
func BenchmarkResample44k(b *testing.B) {
	in := tone(44100, 2, 441000, 1000, 8000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(in), 44100, 2)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOddRates: rates without a small L/M still give the right length and a
// clean pass band.
func TestOddRates(t *testing.T) {
	for _, rate := range []int{47999, 12345, 8001, 44099} {
		const amp = 10000
		r, err := NewReader(bytes.NewReader(tone(rate, 1, rate, 1000, amp)), rate, 1)
		if err != nil {
			t.Fatal(err)
		}
		out := readAll(t, r)
		if len(out) != 8000 {
			t.Fatalf("%d Hz: %d samples, want 8000", rate, len(out))
		}
		// Compare with the ideal 1 kHz sine at 8 kHz.
		var sig, noise float64
		for i := 1000; i < 7000; i++ {
			want := amp * math.Sin(2*math.Pi*1000*float64(i)/8000)
			sig += want * want
			noise += (out[i] - want) * (out[i] - want)
		}
		snr := 10 * math.Log10(sig/noise)
		if snr < 45 {
			t.Errorf("%d Hz: SNR %.1f dB against an ideal sine, want >= 45", rate, snr)
		}
	}
}

// TestDotGeneric: the portable and the assembly inner product agree.
func TestDotGeneric(t *testing.T) {
	for _, n := range []int{0, 8, 16, 88, 408} {
		a, b := make([]float32, n), make([]float32, n+5)
		for i := range a {
			a[i] = float32(i%13) - 6
			b[i] = float32(i%7)*0.25 - 0.5
		}
		g, d := dotGeneric(a, b), dot(a, b)
		if math.Abs(float64(g-d)) > 1e-4*math.Max(1, math.Abs(float64(g))) {
			t.Errorf("n=%d: dot %v, dotGeneric %v", n, d, g)
		}
	}
}
