package profile

import (
	"encoding/binary"
	"io"
	"strings"
)

// AudioCodec is the audio back-end the engine uses; nil means: never
// transcode (audio passes unchanged, a finding records it).
type AudioCodec interface {
	// Sniff returns the codec format name ("wav-ulaw", "wav-pcm16",
	// "wav-gsm", "au", "32kadpcm", "mp3", "basic", ...) of the data starting
	// with head, or "" if it is not audio the codec knows.
	Sniff(head []byte) string
	// Transcode converts src in format from to format to ("basic", "au",
	// "wav-ulaw", "32kadpcm") and returns the number of 8 kHz samples written.
	Transcode(dst io.Writer, to string, src io.Reader, from string) (samples int64, err error)
}

// sniff recognises a format from the first bytes of a part, independently of
// any codec: RIFF/WAVE with its format tag (RFC 2361 App. A), Sun .snd,
// MP3 (ID3 or frame sync), Ogg, and a few common non-audio formats so that a
// lying audio label can be reported. "" means unknown (headerless audio such
// as audio/basic and audio/32KADPCM has no magic).
func sniff(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		if tag, bits, ok := wavFormat(b); ok {
			switch tag {
			case 1:
				if bits == 16 {
					return "wav-pcm16"
				}
				return "wav-pcm"
			case 3:
				return "wav-float"
			case 6:
				return "wav-alaw"
			case 7:
				return "wav-ulaw"
			case 0x31:
				return "wav-gsm"
			case 0x40, 0x45, 0x64:
				return "wav-g726"
			}
		}
		return "wav"
	case len(b) >= 4 && string(b[:4]) == ".snd":
		return "au"
	case len(b) >= 3 && string(b[:3]) == "ID3":
		return "mp3"
	case len(b) >= 4 && b[0] == 0xFF && b[1]&0xE0 == 0xE0 && b[1]&0x06 != 0 && b[2]&0xF0 != 0xF0 && b[2]&0x0C != 0x0C:
		return "mp3"
	case len(b) >= 4 && string(b[:4]) == "OggS":
		return "ogg"
	case len(b) >= 6 && string(b[:6]) == "#!AMR\n":
		return "amr"
	case len(b) >= 4 && string(b[:4]) == "%PDF":
		return "pdf"
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "png"
	case len(b) >= 3 && string(b[:3]) == "\xFF\xD8\xFF":
		return "jpeg"
	case len(b) >= 4 && (string(b[:4]) == "GIF8"):
		return "gif"
	case len(b) >= 4 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*"):
		return "tiff"
	case len(b) >= 4 && string(b[:4]) == "PK\x03\x04":
		return "zip"
	}
	return ""
}

// isAudioFormat reports whether a sniffed format is audio.
func isAudioFormat(f string) bool {
	switch {
	case f == "":
		return false
	case strings.HasPrefix(f, "wav"), strings.HasPrefix(f, "g726"), f == "au", f == "mp3", f == "ogg", f == "amr",
		f == "basic", f == "32kadpcm", f == "gsm", f == "pcm16":
		return true
	}
	return false
}

// wavFormat walks the RIFF chunks in b (tolerating chunk order and odd
// sizes) and returns the fmt tag and bits per sample.
func wavFormat(b []byte) (tag, bits uint16, ok bool) {
	off := 12
	for off+8 <= len(b) {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		if id == "fmt " && off+8+16 <= len(b) {
			f := b[off+8:]
			return binary.LittleEndian.Uint16(f[0:2]), binary.LittleEndian.Uint16(f[14:16]), true
		}
		if size < 0 || size > len(b) {
			return 0, 0, false
		}
		off += 8 + size + size&1
	}
	return 0, 0, false
}

// wavTiming returns the average bytes per second and the offset of the data
// chunk payload, when both are within b.
func wavTiming(b []byte) (bps int64, dataOff int64, dataLen int64, ok bool) {
	off := 12
	for off+8 <= len(b) {
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		switch id {
		case "fmt ":
			if off+8+16 <= len(b) {
				bps = int64(binary.LittleEndian.Uint32(b[off+8+8 : off+8+12]))
			}
		case "data":
			return bps, int64(off + 8), size, bps > 0
		}
		if size > int64(len(b)) {
			return 0, 0, 0, false
		}
		off += 8 + int(size) + int(size&1)
	}
	return 0, 0, 0, false
}

// labelFormat maps a media type (lower case) to the codec format it
// declares, for headerless payloads. "" when the label does not fix one.
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

// audioFormat decides a leaf part's real audio format from its bytes and
// its label together: the bytes win when they carry a magic number; a
// headerless label is trusted otherwise.
func audioFormat(p *Part, c AudioCodec) string {
	f := p.Sniffed
	if c != nil && len(p.Head) > 0 {
		if cf := c.Sniff(p.Head); cf != "" {
			return cf // the codec knows this audio
		}
	}
	if isAudioFormat(f) {
		return f
	}
	if f != "" { // recognised non-audio bytes
		return ""
	}
	if l := labelFormat(p.Type); l != "" {
		if l == "mp3" {
			return "" // MP3 always has a sync word; without it the label lies
		}
		return l
	}
	return ""
}

// durationSeconds computes the real play time of audio in format f whose
// decoded size is data and whose first bytes are head, rounded to the
// nearest second and at least 1 for non-empty audio (RFC 3803, DIGEST §2.4).
// ok is false when the format's timing is unknown.
func durationSeconds(f string, head []byte, data int64) (int64, bool) {
	var samples int64
	switch {
	case f == "basic":
		samples = data
	case f == "32kadpcm":
		samples = data * 2
	case f == "gsm":
		samples = data / 33 * 160
	case f == "au":
		if len(head) < 24 {
			return 0, false
		}
		off := int64(binary.BigEndian.Uint32(head[4:8]))
		enc := binary.BigEndian.Uint32(head[12:16])
		rate := int64(binary.BigEndian.Uint32(head[16:20]))
		ch := int64(binary.BigEndian.Uint32(head[20:24]))
		width := map[uint32]int64{1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 27: 1}[enc]
		if rate <= 0 || ch <= 0 || width == 0 || off > data {
			return 0, false
		}
		bytesPerSec := rate * ch * width
		return roundSeconds((data - off) * 8000 / bytesPerSec), true
	case strings.HasPrefix(f, "wav"):
		bps, off, n, ok := wavTiming(head)
		if !ok {
			return 0, false
		}
		avail := data - off
		if n < avail {
			avail = n
		}
		if avail < 0 {
			avail = 0
		}
		return roundSeconds(avail * 8000 / bps), true
	default:
		return 0, false
	}
	return roundSeconds(samples), true
}

// roundSeconds converts 8 kHz samples to whole seconds, rounding to
// nearest, at least 1 for non-empty audio (RFC 3803 3).
func roundSeconds(samples int64) int64 {
	if samples <= 0 {
		return 0
	}
	s := (samples + 4000) / 8000
	if s == 0 {
		s = 1
	}
	return s
}
