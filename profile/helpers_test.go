package profile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// fakeCodec is a deterministic stand-in for the codec package: it
// measures the input and writes silence of the right length.
type fakeCodec struct{}

func (fakeCodec) Sniff(head []byte) string { return string(codec.Sniff(head)) }

func (fakeCodec) Transcode(dst io.Writer, to string, src io.Reader, from string) (int64, error) {
	head := make([]byte, 64)
	n, err := io.ReadFull(src, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, err
	}
	head = head[:n]
	rest, err := io.Copy(io.Discard, src)
	if err != nil {
		return 0, err
	}
	total := int64(n) + rest
	var samples int64
	switch {
	case from == "basic":
		samples = total
	case from == "32kadpcm":
		samples = total * 2
	case strings.HasPrefix(from, "wav"):
		r := bytes.NewReader(head)
		h, err := wav.ReadHeader(r)
		if err != nil || h.ByteRate == 0 {
			return 0, fmt.Errorf("fake: bad wav")
		}
		off := int64(len(head) - r.Len())
		data := min(total-off, h.DataSize)
		samples = data * 8000 / int64(h.ByteRate)
	default:
		return 0, fmt.Errorf("fake: cannot decode %s", from)
	}
	var out int64
	switch to {
	case "basic":
		out = samples
	case "32kadpcm":
		out = (samples + 1) / 2
	case "au":
		dst.Write([]byte(".snd\x00\x00\x00\x18\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x1f\x40\x00\x00\x00\x01"))
		out = samples
	default:
		return 0, fmt.Errorf("fake: cannot encode %s", to)
	}
	fill := bytes.Repeat([]byte{0xFF}, 4096)
	for out > 0 {
		k := min(out, int64(len(fill)))
		dst.Write(fill[:k])
		out -= k
	}
	return samples, nil
}

// wavBytes builds a WAV file of secs seconds with format tag tag.
func wavBytes(tag uint16, secs float64) []byte {
	bits, bps, block := uint16(8), uint32(8000), uint16(1)
	switch tag {
	case 1:
		bits, bps, block = 16, 16000, 2
	case 0x31:
		bits, bps, block = 0, 1625, 65
	}
	n := int(float64(bps) * secs)
	if tag == 0x31 {
		n = n / 65 * 65
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+16+8+n))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, tag)
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, uint32(8000))
	binary.Write(&b, binary.LittleEndian, bps)
	binary.Write(&b, binary.LittleEndian, block)
	binary.Write(&b, binary.LittleEndian, bits)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(n))
	for i := 0; i < n; i++ {
		b.WriteByte(byte(i*37) ^ 0x55)
	}
	return b.Bytes()
}

// inputFrom builds an Input from a whole message and envelope recipients.
func inputFrom(t testing.TB, msg []byte, rcpts ...string) *Input {
	t.Helper()
	in, err := ReadInput(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rcpts {
		in.Envelope.Rcpts = append(in.Envelope.Rcpts, Rcpt{Addr: r})
	}
	return in
}

// testOptions is the policy of the golden tests.
func testOptions() Options {
	return Options{
		Targets: map[string]Target{
			"vm2.example.net":  TargetVPIM2,
			"v1.example.net":   TargetVPIM1,
			"pass.example.net": TargetPassthrough,
			"vm3.example.net":  TargetVPIM2, // not privacy-capable
			"desk.example.net": TargetDesktop,
		},
		PrivacyCapable: []string{"vm2.example.net"},
		VoiceDomains:   []string{"vm.example.com"},
		GatewayDomains: []string{"voice.example.com"},
		Hostname:       "gw.example.com",
		Codec:          realCodec(),
	}
}

// realCodec is the project's codec with its default limits.
func realCodec() *codec.Transcoder {
	c, err := codec.NewTranscoder(codec.Options{})
	if err != nil {
		panic(err)
	}
	return c
}

// formatReport renders a report as golden text.
func formatReport(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile: %s\ntarget: %s\nverdict: %s\nreply: %s\n", rep.Profile, rep.Target, rep.Plan.Verdict(), rep.Plan.Decision.Reply.String())
	if d := rep.Plan.Decision; d.Condition != "" {
		fmt.Fprintf(&b, "decision: %s (%s) %s\n", d.Condition, d.Rule, d.Reason)
	}
	b.WriteString("findings:\n")
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "  %s %s [%s] (%s) %s\n", f.Rule, f.Level, f.Part, f.Spec, f.Message)
	}
	b.WriteString("actions:\n")
	for _, a := range actionStrings(rep) {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	if len(rep.Bridge) > 0 {
		fmt.Fprintf(&b, "bridge: %s\n", strings.Join(rep.Bridge, ", "))
		if v := rep.Voice; v != nil {
			fmt.Fprintf(&b, "voice: part %s %s (%s)\n", orZero(v.Path), v.MediaType, v.Format())
		}
	}
	return b.String()
}

// actionStrings renders the plan's actions as the report prints them.
func actionStrings(rep *Report) []string {
	var out []string
	for _, a := range rep.Plan.Actions {
		out = append(out, a.String())
	}
	return out
}

func orZero(path string) string {
	if path == "" {
		return "0"
	}
	return path
}
