package profile

import (
	"bytes"
	"io"
	"strings"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/codec/au"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// AudioCodec is the audio back-end the engine uses; nil means: never
// transcode (audio passes unchanged, a finding records it).
// *codec.Transcoder implements it.
type AudioCodec interface {
	// Sniff returns the codec format name ("wav-ulaw", "wav-pcm16",
	// "wav-gsm", "au", "mp3", ...) of the data starting with head, or ""
	// if it carries no signature the codec knows.
	Sniff(head []byte) string
	// Transcode converts src in format from to format to ("basic", "au",
	// "wav-ulaw", "32kadpcm") and returns the number of 8 kHz samples written.
	Transcode(dst io.Writer, to string, src io.Reader, from string) (samples int64, err error)
}

// audioInfo is what the bytes and the label of a leaf part say about its
// audio. The bytes are read by the codec's sniffer and its WAV and .au
// header parsers, the one place that knows these formats.
type audioInfo struct {
	// format is the codec format of the data: the sniffed one for
	// containers and MP3, the label's for headerless audio (audio/basic,
	// audio/32KADPCM, GSM); "" when the part is not audio.
	format string
	// sniffed names what the bytes are: a codec format, or a format the
	// codec does not decode, audio ("ogg", "amr", "wav" with an unknown
	// tag) or not ("pdf", "png", ...); "" for bytes without a signature.
	sniffed  string
	rate     int // sample rate when the bytes tell it, else 0
	channels int // channel count when the bytes tell it, else 0
	// bytesPerSec and dataOff time a container's data (0 when unknown).
	bytesPerSec, dataOff, dataLen int64
}

// audio reports whether the part's bytes or label make it audio.
func (a audioInfo) audio() bool { return a.format != "" }

// telephone reports telephone-band audio: a telephony codec (G.711, G.726,
// GSM 06.10) or mono audio at 16 kHz or less. Voice mail is recorded so
// (DIGEST §6: 8 kHz mono WAV, GSM, MP3 at 8 kHz); music is 44.1 kHz stereo.
func (a audioInfo) telephone() bool {
	switch a.format {
	case "basic", "32kadpcm", "gsm", "wav-ulaw", "wav-alaw", "wav-gsm", "wav-g726":
		return a.channels <= 1 && a.rate <= 16000
	}
	return a.channels == 1 && a.rate > 0 && a.rate <= 16000
}

// otherMagic recognises formats the codec has no decoder for, so that a
// lying label and undecodable audio can be named (RFC 3533 Ogg, RFC 4867
// AMR, and common attachments).
func otherMagic(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("OggS")):
		return "ogg"
	case bytes.HasPrefix(b, []byte("#!AMR")):
		return "amr"
	case bytes.HasPrefix(b, []byte("%PDF")):
		return "pdf"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "gif"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "zip"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return "wav" // a WAVE whose format tag the codec does not decode
	}
	return ""
}

// labelFormat maps a media type (lower case) to the codec format it
// declares for headerless payloads. "" when the label does not fix one.
func labelFormat(mediaType string) string {
	switch mediaType {
	case "audio/basic":
		return "basic"
	case "audio/32kadpcm", "audio/adpcm", "audio/g726-32", "audio/g721":
		return "32kadpcm" // RFC 3802; v1-draft Audio/ADPCM is G.721 = G.726-32
	case "audio/x-gsm", "audio/gsm":
		return "gsm"
	case "audio/mpeg", "audio/mp3", "audio/x-mp3", "audio/mpeg3":
		return "mp3"
	}
	return ""
}

// containerLabel reports whether a media type names a self-describing
// container whose bytes carry a magic number.
func containerLabel(mediaType string) bool {
	switch mediaType {
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		return true
	}
	return false
}

// inspectAudio decides a leaf part's audio format from its bytes and its
// label together: the bytes win when they carry a signature; a headerless
// label is trusted otherwise (an MP3 label without a frame sync lies).
func inspectAudio(p *Part) audioInfo {
	var a audioInfo
	if !p.IsLeaf() {
		return a
	}
	head := p.Head
	if f := codec.Sniff(head); f != "" {
		a.format = string(f)
		a.sniffed = a.format
		switch {
		case f == codec.AU:
			if h, err := au.ReadHeader(bytes.NewReader(head)); err == nil {
				a.rate, a.channels = h.SampleRate, h.Channels
				if w := auBytes(h.Encoding); w > 0 {
					a.bytesPerSec = int64(h.SampleRate * h.Channels * w)
					a.dataOff = int64(h.DataOffset)
					a.dataLen = -1
				}
			}
		case f == codec.MP3:
			a.rate, a.channels = mp3Params(head)
		default: // WAV
			r := bytes.NewReader(head)
			if h, err := wav.ReadHeader(r); err == nil {
				a.rate, a.channels = h.SampleRate, h.Channels
				a.bytesPerSec = int64(h.ByteRate)
				a.dataLen = h.DataSize
				a.dataOff = int64(len(head)) - int64(r.Len())
			}
		}
		return a
	}
	a.sniffed = otherMagic(head)
	switch a.sniffed {
	case "ogg", "amr", "wav":
		a.format = a.sniffed // audio the codec does not decode
		return a
	case "":
	default:
		return a
	}
	if l := labelFormat(p.Type); l != "" && l != "mp3" {
		a.format = l
		a.rate, a.channels = 8000, 1
		switch l {
		case "basic":
			a.bytesPerSec = 8000
		case "32kadpcm":
			a.bytesPerSec = 4000
		case "gsm":
			a.bytesPerSec = 1650
		}
	}
	return a
}

// auBytes is the size of one sample of an .au encoding (codec/au).
func auBytes(enc uint32) int {
	switch enc {
	case au.EncULaw, au.EncALaw, au.EncPCM8:
		return 1
	case au.EncPCM16:
		return 2
	}
	return 0
}

// mp3Params reads sample rate and channel count from the first MPEG audio
// frame header in head (ISO/IEC 11172-3 2.4.1.3, 13818-3, and MPEG 2.5),
// after an ID3v2 tag that fits in head. The codec's sniffer has already
// recognised the stream; this only reads two of its fields.
func mp3Params(b []byte) (rate, channels int) {
	if len(b) >= 10 && string(b[:3]) == "ID3" {
		n := int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9])
		if 10+n+4 > len(b) {
			return 0, 0
		}
		b = b[10+n:]
	}
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return 0, 0
	}
	base := [3]int{44100, 48000, 32000}
	idx := (b[2] >> 2) & 3
	if idx == 3 {
		return 0, 0
	}
	rate = base[idx]
	switch (b[1] >> 3) & 3 {
	case 2: // MPEG-2
		rate /= 2
	case 0: // MPEG 2.5
		rate /= 4
	}
	channels = 2
	if b[3]>>6 == 3 {
		channels = 1
	}
	return rate, channels
}

// seconds is the play time of the part's audio rounded to the nearest
// second, at least 1 for non-empty audio (RFC 3803 3, DIGEST §2.4); ok is
// false when the format's timing is unknown.
func (a audioInfo) seconds(p *Part) (int64, bool) {
	n, ok := a.samples(p)
	return roundSeconds(n), ok
}

// samples is the play time of the part's audio in 8 kHz samples, as the
// format's timing gives it (the decoders of the codec and the telephony
// bridge count the same); ok is false when the timing is unknown.
func (a audioInfo) samples(p *Part) (int64, bool) {
	if a.bytesPerSec <= 0 || p.damaged() || p.Truncated {
		return 0, false
	}
	avail := p.Data - a.dataOff
	if a.dataLen >= 0 && a.dataLen < avail && a.dataOff > 0 {
		avail = a.dataLen
	}
	if avail <= 0 {
		return 0, true
	}
	if a.format == "gsm" {
		return avail / 33 * 160, true
	}
	return avail * 8000 / a.bytesPerSec, true
}

// roundSeconds converts 8 kHz samples to whole seconds, rounding to
// nearest, at least 1 for non-empty audio (RFC 3803 3).
func roundSeconds(samples int64) int64 {
	if samples <= 0 {
		return 0
	}
	return max((samples+4000)/8000, 1)
}

// formatExt is the conventional file extension of a codec format.
func formatExt(f string) string {
	switch {
	case f == "basic", f == "au":
		return "au"
	case f == "32kadpcm":
		return "726"
	case strings.HasPrefix(f, "wav"):
		return "wav"
	case f == "mp3", f == "gsm", f == "ogg":
		return f
	}
	return ""
}
