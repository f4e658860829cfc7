package mp3

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

// TestDecoderVsMpg123 decodes LAME files of every sample rate (MPEG-1,
// MPEG-2 and MPEG-2.5), mono, stereo and joint (mid/side) stereo, CBR and
// VBR, with transients that make LAME switch to short blocks, and compares
// the result with mpg123's 32-bit float decode: the same number of
// samples (both honour the LAME tag) and the same signal up to our 16-bit
// rounding, which bounds the error at half a step plus float noise.
func TestDecoderVsMpg123(t *testing.T) {
	audiotest.Tools(t, "lame", "mpg123", "sox", "espeak-ng")
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	audiotest.Run(t, "espeak-ng", "-v", "en-us", "-s", "150", "-w", speech,
		"Please call me back at your earliest convenience, my number is five five five.")
	// Speech plus castanet-like clicks every 0.4 s (short blocks).
	clicks := filepath.Join(dir, "clicks.wav")
	audiotest.Run(t, "sox", "-n", "-r", "22050", "-c", "1", clicks, "synth", "0.004", "whitenoise", "pad", "0", "0.396", "repeat", "9", "gain", "-6")
	tests := []struct {
		rate int
		args []string
	}{
		{8000, []string{"-m", "m", "-b", "24"}},
		{11025, []string{"-m", "j", "-b", "32"}},
		{12000, []string{"-m", "s", "-b", "48"}},
		{16000, []string{"-m", "m", "-b", "24"}},
		{22050, []string{"-m", "j", "-b", "64"}},
		{24000, []string{"-m", "j", "-V", "4"}},
		{32000, []string{"-m", "s", "-b", "96"}},
		{44100, []string{"-m", "j", "-b", "128"}},
		{48000, []string{"-m", "j", "-V", "2"}},
		{44100, []string{"-m", "m", "-b", "64"}},
	}
	var short, mixedMS int // granules with short blocks, frames with mid/side
	defer func() {
		t.Logf("%d short-block granules, %d mid/side frames decoded", short, mixedMS)
		if !t.Failed() && (short == 0 || mixedMS == 0) {
			t.Errorf("the files exercised no short blocks (%d) or no mid/side stereo (%d)", short, mixedMS)
		}
	}()
	for _, tc := range tests {
		name := strconv.Itoa(tc.rate) + "-" + tc.args[1] + tc.args[3]
		t.Run(name, func(t *testing.T) {
			ch := "2"
			if tc.args[1] == "m" {
				ch = "1"
			}
			src := filepath.Join(dir, name+".wav")
			mix := filepath.Join(dir, name+"-mix.wav")
			audiotest.Run(t, "sox", "-m", "-v", "1", speech, "-v", "1", clicks, "-r", strconv.Itoa(tc.rate), mix, "rate", "-v")
			if ch == "2" {
				audiotest.Run(t, "sox", mix, "-c", "2", src, "remix", "1", "1", "delay", "0", "0.003", "norm", "-3")
			} else {
				audiotest.Run(t, "sox", mix, "-c", "1", src, "norm", "-3")
			}
			file := filepath.Join(dir, name+".mp3")
			audiotest.Run(t, "lame", append(append([]string{"--quiet"}, tc.args...), src, file)...)
			ref, err := exec.Command("mpg123", "-q", "-e", "f32", "-s", file).Output()
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off+4 < len(b); {
				h, ok := parseHeader(b[off:])
				if !ok || off+h.size > len(b) {
					off++
					continue
				}
				side := 4
				if h.crc {
					side += 2
				}
				fs := parseSide(&h, b[off+side:off+side+h.sideLen()])
				for g := 0; g < h.v.granules(); g++ {
					for c := 0; c < h.channels; c++ {
						if fs.gr[g][c].winSwitch && fs.gr[g][c].blockType == 2 {
							short++
						}
					}
				}
				if h.mode == 1 && h.modeExt&2 != 0 {
					mixedMS++
				}
				off += h.size
			}
			r, rate, nch, err := NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			rd := r.(*reader)
			var float []float32
			rd.d.float = &float
			skip := int(rd.skip) * nch
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if rate != tc.rate || strconv.Itoa(nch) != ch {
				t.Fatalf("%d Hz %d channels", rate, nch)
			}
			n := len(got) / 2
			if n != len(ref)/4 {
				// LAME writes no Info frame when it does not fit (16 kHz,
				// 24 kbit/s): mpg123 then keeps the decoder delay, which
				// this Reader removes.
				if len(ref)/4-n != DecoderDelay*nch {
					t.Fatalf("%d samples, mpg123 %d", n, len(ref)/4)
				}
				ref = ref[4*DecoderDelay*nch:]
			}
			var sig, noise, maxd, fnoise, fmax float64
			for i := 0; i < n; i++ {
				a := float64(math.Float32frombits(binary.LittleEndian.Uint32(ref[4*i:]))) * 32768
				d := float64(int16(binary.LittleEndian.Uint16(got[2*i:]))) - min(max(a, -32768), 32767)
				fd := float64(float[skip+i]) - a
				sig += a * a
				noise += d * d
				fnoise += fd * fd
				maxd = max(maxd, math.Abs(d))
				fmax = max(fmax, math.Abs(fd))
			}
			snr := 10 * math.Log10(sig/max(noise, 1e-9))
			fsnr := 10 * math.Log10(sig/max(fnoise, 1e-9))
			t.Logf("%s: %d samples; float: max |diff| %.4f, SNR %.1f dB; 16-bit output: max |diff| %.3f, SNR %.1f dB (against mpg123 -e f32)", name, n, fmax, fsnr, maxd, snr)
			if fmax > 0.05 || fsnr < 100 || maxd > 0.55 {
				t.Errorf("float max |diff| %.4f (want <= 0.05), SNR %.1f dB (want >= 100); 16-bit max |diff| %.3f (want <= 0.55)", fmax, fsnr, maxd)
			}
		})
	}
}
