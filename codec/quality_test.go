package codec

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

// snrDB returns the SNR and the segmental SNR of deg against ref, with
// the method of recipes/audio/snr.py: 160-sample frames, frames within
// 40 dB of the loudest, per-frame SNR clamped to [-10, 35] dB.
func snrDB(ref, deg []int16) (snr, seg float64) {
	n := min(len(ref), len(deg))
	var se, ee float64
	for i := 0; i < n; i++ {
		r, e := float64(ref[i]), float64(ref[i])-float64(deg[i])
		se += r * r
		ee += e * e
	}
	snr = 10 * math.Log10(se/math.Max(ee, 1e-9))
	const F = 160
	m := n / F
	re := make([]float64, m)
	er := make([]float64, m)
	maxE := 0.0
	for k := 0; k < m; k++ {
		for i := k * F; i < (k+1)*F; i++ {
			r, e := float64(ref[i]), float64(ref[i])-float64(deg[i])
			re[k] += r * r
			er[k] += e * e
		}
		maxE = math.Max(maxE, re[k])
	}
	sum, cnt := 0.0, 0
	for k := 0; k < m; k++ {
		if re[k] > maxE*1e-4 {
			v := 10 * math.Log10((re[k]+1e-9)/(er[k]+1e-9))
			sum += math.Min(35, math.Max(-10, v))
			cnt++
		}
	}
	if cnt > 0 {
		seg = sum / float64(cnt)
	}
	return snr, seg
}

func encodeDecode(t *testing.T, f Format, pcm []byte) []byte {
	t.Helper()
	var enc bytes.Buffer
	if _, err := Transcode(&enc, f, bytes.NewReader(pcm), PCM16); err != nil {
		t.Fatal(err)
	}
	var dec bytes.Buffer
	if _, err := Transcode(&dec, PCM16, &enc, f); err != nil {
		t.Fatal(err)
	}
	return dec.Bytes()
}

// TestSpeechQuality is acceptance point 2 of issue 4: G.726-32 round trip
// SNR >= 21.0 dB and segmental SNR >= 23.0 dB, µ-law SNR >= 37.0 dB, on
// 60 s of generated speech.
func TestSpeechQuality(t *testing.T) {
	pcm := audiotest.Speech(t, 60)
	ref := samplesOf(pcm)
	for _, tc := range []struct {
		f           Format
		snr, segsnr float64
	}{
		{ADPCM32, 21.0, 23.0},
		{Basic, 37.0, 0},
		{WAVULaw, 37.0, 0},
		{WAVALaw, 37.0, 0},
	} {
		t.Run(string(tc.f), func(t *testing.T) {
			out := samplesOf(encodeDecode(t, tc.f, pcm))
			if len(out) != len(ref) {
				t.Fatalf("%d samples back, want %d", len(out), len(ref))
			}
			snr, seg := snrDB(ref, out)
			t.Logf("%s: SNR %.2f dB, segSNR %.2f dB", tc.f, snr, seg)
			if snr < tc.snr || seg < tc.segsnr {
				t.Errorf("%s: SNR %.2f dB / segSNR %.2f dB below %.1f / %.1f", tc.f, snr, seg, tc.snr, tc.segsnr)
			}
		})
	}
}

func ExampleTranscode() {
	// 8 samples of PCM16LE silence to audio/32KADPCM: 4 octets.
	var out bytes.Buffer
	n, err := Transcode(&out, ADPCM32, bytes.NewReader(make([]byte, 16)), PCM16)
	fmt.Println(n, err, out.Len())
	// Output: 8 <nil> 4
}

func ExampleSniff() {
	fmt.Println(Sniff([]byte(".snd\x00\x00\x00\x18")))
	fmt.Println(Sniff([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x12\x00\x00\x00\x07\x00")))
	fmt.Printf("%q\n", Sniff([]byte{0xFF, 0xFF, 0xFF, 0xFF}))
	// Output:
	// au
	// wav-ulaw
	// ""
}

var _ io.Reader = (*Reader)(nil)
