package codec

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec/g726"
	"github.com/vpim-milter/vpim-milter/codec/wav"

	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

// TestResampleAndDownmix decodes a 44.1 kHz stereo WAV (through
// codec/resample) and checks length and level of the 8 kHz mono output.
func TestResampleAndDownmix(t *testing.T) {
	const n = 44100
	data := make([]byte, 0, 4*n)
	for i := 0; i < n; i++ {
		v := int16(10000 * math.Sin(2*math.Pi*1000*float64(i)/44100))
		data = binary.LittleEndian.AppendUint16(data, uint16(v))
		data = binary.LittleEndian.AppendUint16(data, uint16(v))
	}
	in := makeWAV(wav.TagPCM, 2, 44100, 16, 4, data)
	var out bytes.Buffer
	got, err := Transcode(&out, PCM16, bytes.NewReader(in), "")
	if err != nil {
		t.Fatal(err)
	}
	if got < 7990 || got > 8010 {
		t.Fatalf("%d samples at 8 kHz from 1 s of 44.1 kHz", got)
	}
	s := samplesOf(out.Bytes())
	var e float64
	for _, v := range s[800 : len(s)-800] {
		e += float64(v) * float64(v)
	}
	rms := math.Sqrt(e / float64(len(s)-1600))
	if want := 10000 / math.Sqrt2; math.Abs(rms-want) > 0.05*want {
		t.Fatalf("RMS %.0f, want %.0f ±5%%", rms, want)
	}
}

// TestMP3Input decodes an MP3 made by sox (libsox-fmt-mp3) with sniffing.
func TestMP3Input(t *testing.T) {
	sox := audiotest.Tool(t, "sox", "sox")
	dir := t.TempDir()
	mp3 := filepath.Join(dir, "x.mp3")
	cmd := exec.Command(sox, "-n", "-r", "16000", "-c", "1", mp3, "synth", "2", "sine", "440")
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sox cannot write MP3 (apt-get install libsox-fmt-mp3): %v %s", err, out)
		}
		t.Skipf("sox cannot write MP3: %v", err)
	}
	f, err := os.Open(mp3)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f, "")
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != MP3 || r.InputRate() != 16000 {
		t.Fatalf("format %s rate %d", r.Format(), r.InputRate())
	}
	// 2 s at 8 kHz; MP3 frame padding may add up to one frame.
	if n := len(pcm) / 2; n < 16000-100 || n > 16000+1200 {
		t.Fatalf("%d samples from a 2 s MP3", n)
	}
}

// TestAUG721NibbleOrder writes a Sun .au with G.721 (encoding 23) from our
// RFC 3551-packed G.726-32 codes and lets sox (Sun's G.721 decoder, not
// ITU-exact) decode it: the result must match ours closely, which it
// cannot with the wrong nibble order (about 0.3 dB).
func TestAUG721NibbleOrder(t *testing.T) {
	sox := audiotest.Tool(t, "sox", "sox")
	pcm := tone(8000)
	var codes bytes.Buffer
	if _, err := Transcode(&codes, G726_32, bytes.NewReader(pcm), PCM16); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	file.Write([]byte(".snd\x00\x00\x00\x18"))
	file.Write(binary.BigEndian.AppendUint32(nil, uint32(codes.Len())))
	file.Write([]byte{0, 0, 0, 23, 0, 0, 0x1F, 0x40, 0, 0, 0, 1})
	file.Write(codes.Bytes())
	path := filepath.Join(t.TempDir(), "g721.au")
	os.WriteFile(path, file.Bytes(), 0o644)

	r, err := NewReader(bytes.NewReader(file.Bytes()), "")
	if err != nil {
		t.Fatal(err)
	}
	ours, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := exec.Command(sox, path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-").Output()
	if err != nil {
		t.Skipf("sox cannot read G.721 .au here: %v", err)
	}
	snr, _ := snrDB(samplesOf(ours), samplesOf(theirs))
	if len(ours) != len(theirs) || snr < 30 {
		t.Fatalf("ours %d bytes, sox %d; SNR between them %.1f dB", len(ours), len(theirs), snr)
	}
	t.Logf("sox vs ours on G.721 .au: SNR %.1f dB", snr)
}

// TestWAVG726 reads G.726 in WAV (tag 0x0045, ffmpeg's AAL2 order) at
// every bit depth.
func TestWAVG726(t *testing.T) {
	pcm := tone(800)
	for _, f := range []Format{G726_16, G726_24, G726_32, G726_40} {
		var aal2 bytes.Buffer
		e, _ := g726.NewEncoder(&aal2, f.g726Rate(), g726.PackAAL2)
		e.Write(pcm)
		e.Close()
		bits := f.g726Rate().Bits()
		in := makeWAV(wav.TagG726, 1, 8000, bits, 1, aal2.Bytes())
		r, err := NewReader(bytes.NewReader(in), "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := g726.NewDecoder(bytes.NewReader(aal2.Bytes()), f.g726Rate(), g726.PackAAL2)
		want, _ := io.ReadAll(d)
		if r.Format() != WAVG726 || !bytes.Equal(got, want) || len(got) != 1600 {
			t.Fatalf("%s: format %s, %d bytes, equal %v", f, r.Format(), len(got), bytes.Equal(got, want))
		}
	}
}
