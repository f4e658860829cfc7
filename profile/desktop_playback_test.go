package profile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/chromium"
)

// needTool returns the path of an external program, skipping the test
// without it (failing under CI=true, where tools/test-deps.sh installed it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (apt-get install %s)", name, name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// audioLeaves lists the audio leaves of m in document order, embedded
// messages included.
func audioLeaves(m *Message) []*Part {
	var out []*Part
	m.Walk(func(p *Part, _ int) bool {
		if p.IsLeaf() && (strings.HasPrefix(p.Type, "audio/") || inspectAudio(p).audio()) {
			out = append(out, p)
		}
		return true
	})
	return out
}

// partData returns the data of leaf p of a message whose body is body,
// its transfer encoding removed (as much as decodes when it is damaged).
func partData(body []byte, p *Part) ([]byte, error) {
	src, err := section(bytes.NewReader(body), p.BodyStart, p.End)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(transferDecoder(p, src))
}

// TestDesktopPlayback (issue 11 item 3): every message of testdata and the
// samples, rewritten for the desktop target (MP3, and µ-law WAV with
// desktop_audio = "wav"), has every voice part it delivers in the desktop's
// form decode in headless Chromium (Web Audio decodeAudioData at the
// stream's own rate), with ffmpeg and, for MP3, with mpg123, to the source's
// length: exactly for what the rewrite transcoded (the MP3's Info frame
// makes decoders trim to the 8 kHz source's length, doubled at 16 kHz),
// within one MP3 frame (576 samples at 16 to 24 kHz, 1152 at 32 kHz and up)
// for MP3 the target kept (its own length against the codec's 8 kHz
// decoding). Audio delivered as it came (the codec cannot convert it, or it
// is inside a returned original of a report) is counted, not decoded.
func TestDesktopPlayback(t *testing.T) {
	if testing.Short() || raceEnabled {
		// The race detector slows the MP3 encoder tenfold and finds nothing
		// here: what is tested is what other programs make of the output.
		t.Skip("starts Chromium and encodes about 80 messages (-short, -race)")
	}
	ffmpeg, mpg123 := needTool(t, "ffmpeg"), needTool(t, "mpg123")
	msgs := invariantMessages(t)
	names := make([]string, 0, len(msgs))
	for n := range msgs {
		names = append(names, n)
	}
	sort.Strings(names)
	b := chromium.Start(t)
	dir := t.TempDir()
	seen := map[[32]byte]bool{}
	var decoded, kept, asCame int
	var maxKeptDiff float64
	start := time.Now()
	for _, form := range DesktopAudioForms() {
		o := testOptions()
		o.DesktopAudio = form
		e, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			raw := msgs[name]
			rep, in, out := deliver(t, e, raw, desktopRcpt)
			if out == nil || rep.Profile == "none" {
				continue // refused, or not voice mail (passed untouched)
			}
			inBody := crlf(raw[len(raw)-int(in.BodySize):]) // as the milter gets it
			inM, err := Parse(in.Header, bytes.NewReader(inBody), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			outIn := inputFrom(t, out)
			outBody := bodyOf(out)
			outM, err := Parse(outIn.Header, bytes.NewReader(outBody), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var src []*Part
			for _, p := range audioLeaves(inM) {
				if !droppedPath(rep, p.Path) {
					src = append(src, p)
				}
			}
			got := audioLeaves(outM)
			if len(src) != len(got) {
				t.Errorf("%s (%s): %d audio parts in, %d out", name, form, len(src), len(got))
				continue
			}
			for i, op := range got {
				if src[i].Data == 0 || inM.Root.Type == "multipart/report" && src[i].Path != "1" {
					// Empty audio with nothing beside it; the returned
					// original of a report (DIGEST §5: a report passes as it
					// is, but for its spoken part).
					asCame++
					continue
				}
				a := inspectAudio(op)
				data, err := partData(outBody, op)
				inData, inErr := partData(inBody, src[i])
				same := bytes.Equal(outBody[op.BodyStart:op.End], inBody[src[i].BodyStart:src[i].End]) || err == nil && bytes.Equal(data, inData)
				n8, srcErr := sourceSamples(inData, inspectAudio(src[i]).format)
				playable := a.format == "mp3" && a.rate >= 16000 || form == DesktopAudioWAV && a.format == "wav-ulaw"
				if !playable || err != nil || inErr != nil || srcErr != nil {
					// Delivered as it came: what the codec cannot convert.
					if !same || srcErr == nil && inErr == nil {
						t.Errorf("%s (%s): part %s, %s (%s), is not in the desktop's form (delivered as it came: %v; its source decodes: %v)",
							name, form, op.Path, op.Type, orUnknown(a.format), same, srcErr == nil && inErr == nil)
					}
					asCame++
					continue
				}
				if !same && (form == DesktopAudioMP3 && (op.Type != "audio/mpeg" || a.rate != 16000) || form == DesktopAudioWAV && a.rate != 8000) {
					t.Errorf("%s (%s): transcoded part %s is %s at %d Hz", name, form, op.Path, op.Type, a.rate)
				}
				want, slack := n8*int64(a.rate)/8000, int64(0)
				if same {
					slack = 576
					if a.rate >= 32000 {
						slack = 1152
					}
				}
				key := sha256.Sum256(append(data, fmt.Sprint(want, slack)...))
				if seen[key] {
					continue
				}
				seen[key] = true
				decoded++
				if same {
					kept++
				}
				lengths := decodeEverywhere(t, b, ffmpeg, mpg123, dir, data, a)
				if lengths == nil {
					t.Errorf("%s (%s): part %s does not decode in Chromium", name, form, op.Path)
				}
				for _, dec := range []string{"chromium", "ffmpeg", "mpg123"} {
					n, ok := lengths[dec]
					if !ok {
						continue
					}
					diff := n - want
					if diff < 0 {
						diff = -diff
					}
					if same {
						maxKeptDiff = max(maxKeptDiff, float64(diff)/float64(a.rate))
					}
					if diff > slack {
						t.Errorf("%s (%s) part %s: %s decodes %d frames at %d Hz, the source is %d (±%d)", name, form, op.Path, dec, n, a.rate, want, slack)
					}
				}
			}
		}
	}
	t.Logf("%d distinct voice parts decoded in Chromium, ffmpeg (and mpg123 for MP3) in %v (%d of them MP3 kept as it came, largest difference %.1f ms); %d parts delivered as they came, not in the desktop's form",
		decoded, time.Since(start).Round(time.Millisecond), kept, 1000*maxKeptDiff, asCame)
	if decoded < 20 {
		t.Errorf("only %d voice parts decoded", decoded)
	}
}

// droppedPath reports whether the plan of rep drops the input part at path.
func droppedPath(rep *Report, path string) bool {
	for _, a := range rep.Plan.Actions {
		if a.Kind == ActionDrop && a.Part == path {
			return true
		}
	}
	return false
}

// sourceSamples decodes audio in format f (as the engine found it) with the
// project's codec and counts the 8 kHz samples.
func sourceSamples(data []byte, f string) (int64, error) {
	return realCodec().Transcode(io.Discard, "pcm16", bytes.NewReader(data), f)
}

// decodeEverywhere decodes one delivered voice part in Chromium, with
// ffmpeg and (MP3) with mpg123 and returns each one's frame count at the
// stream's rate a.rate.
func decodeEverywhere(t *testing.T, b *chromium.Browser, ffmpeg, mpg123, dir string, data []byte, a audioInfo) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := b.DecodeAudio(ctx, data, a.rate)
	if err != nil {
		t.Fatal(err)
	}
	if !d.OK || d.Channels < 1 {
		t.Logf("Chromium on %s at %d Hz: %s", a.format, a.rate, d.Error)
		return nil
	}
	out := map[string]int64{"chromium": d.Length}
	file := filepath.Join(dir, "part."+formatExt(a.format))
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// ffmpeg warns that it guesses the channel layout of any mono WAV
	// ("Guessed Channel Layout"): warnings count for MP3 only.
	level := "warning"
	if a.format != "mp3" {
		level = "error"
	}
	tools := [][]string{{ffmpeg, "-nostdin", "-hide_banner", "-loglevel", level, "-i", file, "-f", "s16le", "-ac", "1", "-"}}
	if a.format == "mp3" {
		tools = append(tools, []string{mpg123, "-q", "-m", "-s", file})
	}
	for _, args := range tools {
		cmd := exec.Command(args[0], args[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		pcm, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("%s: %v %s", filepath.Base(args[0]), err, stderr.String())
			continue
		}
		out[filepath.Base(args[0])] = int64(len(pcm) / 2)
	}
	return out
}
