package codec

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// speechLike is an endless deterministic PCM16LE source of n samples
// that lives in a fixed buffer (so the test measures the codec, not the
// input).
type speechLike struct {
	left int64
	x    uint32
}

func (s *speechLike) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n+1 < len(p) && s.left > 0 {
		s.x = s.x*1664525 + 1013904223
		v := int16(s.x>>20) - 2048
		p[n], p[n+1] = byte(v), byte(uint16(v)>>8)
		n += 2
		s.left--
	}
	return n, nil
}

// TestMemoryBounded transcodes minutes of audio to µ-law WAV (the path
// that spools to a temp file) and to audio/32KADPCM, and checks that the
// total allocation stays far below the 32 MB budget of issue 4.
// The default run covers 10 minutes (1 with -short); VPIM_MEM_MINUTES=30
// gives the full 30-minute message of the acceptance criterion.
func TestMemoryBounded(t *testing.T) {
	minutes := int64(10)
	if testing.Short() || raceEnabled {
		minutes = 1
	}
	if v := os.Getenv("VPIM_MEM_MINUTES"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m <= 0 {
			t.Fatalf("bad VPIM_MEM_MINUTES %q", v)
		}
		minutes = int64(m)
	}
	samples := minutes * 60 * Rate
	for _, to := range []Format{WAVULaw, ADPCM32} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n, err := Transcode(io.Discard, to, &speechLike{left: samples}, PCM16)
		if err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if n != samples {
			t.Fatalf("%s: %d samples, want %d", to, n, samples)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d min transcoded with %d bytes allocated in total", to, minutes, alloc)
		if alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes for %d minutes; memory must not grow with duration", to, alloc, minutes)
		}
	}
}
