package codec

import (
	"encoding/binary"

	"github.com/vpim-milter/vpim-milter/codec/au"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// SniffLen is the number of leading bytes Sniff needs at most.
const SniffLen = 64

// Sniff returns the format of audio that starts with head, or "" when the
// bytes carry no recognisable signature. It looks at no more than SniffLen
// bytes: a RIFF/WAVE header (and the fmt chunk's format tag when it lies
// within them), the Sun ".snd" magic, an ID3v2 tag or an MPEG audio layer
// III frame header. Raw formats (basic, G.726, GSM, PCM) have no
// signature and give "".
func Sniff(head []byte) Format {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	switch {
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		return sniffWAV(head)
	case len(head) >= 4 && string(head[0:4]) == au.Magic:
		return AU
	case len(head) >= 10 && string(head[0:3]) == "ID3" && head[3] < 0xFF && head[4] < 0xFF:
		return MP3
	case isMP3Frame(head):
		return MP3
	}
	return ""
}

// sniffWAV walks the chunks inside head looking for fmt.
func sniffWAV(head []byte) Format {
	for p := 12; p+8 <= len(head); {
		id := string(head[p : p+4])
		size := int(binary.LittleEndian.Uint32(head[p+4:]))
		if id == "fmt " {
			if p+10 > len(head) {
				break
			}
			tag := binary.LittleEndian.Uint16(head[p+8:])
			if tag == wav.TagExtensible && p+8+26 <= len(head) {
				tag = binary.LittleEndian.Uint16(head[p+8+24:])
			}
			switch tag {
			case wav.TagPCM, wav.TagFloat, wav.TagExtensible:
				return WAVPCM16
			case wav.TagULaw:
				return WAVULaw
			case wav.TagALaw:
				return WAVALaw
			case wav.TagGSM610:
				return WAVGSM
			case wav.TagG726, wav.TagG726ADPCM:
				return WAVG726
			}
			return "" // a WAVE we cannot decode
		}
		if size < 0 || size > len(head) {
			break
		}
		p += 8 + size + size&1
	}
	// fmt chunk not within head: still a WAVE; the reader handles any
	// supported tag, so report the generic PCM name.
	return WAVPCM16
}

// mpegBitrateOK and friends check an MPEG-1/2/2.5 layer III header
// (ISO/IEC 11172-3 §2.4.2.3).
func isMP3Frame(h []byte) bool {
	if len(h) < 4 || h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
		return false
	}
	version := (h[1] >> 3) & 3 // 1 is reserved
	layer := (h[1] >> 1) & 3   // 1 is layer III
	bitrate := h[2] >> 4
	srate := (h[2] >> 2) & 3
	emphasis := h[3] & 3
	if version == 1 || layer != 1 || bitrate == 0 || bitrate == 15 || srate == 3 || emphasis == 2 {
		return false
	}
	// When a second header fits in head, demand it too.
	n := mp3FrameLen(version, bitrate, srate, (h[2]>>1)&1)
	if n > 0 && n+4 <= len(h) {
		g := h[n:]
		return g[0] == 0xFF && g[1]&0xFE == h[1]&0xFE && (g[2]>>2)&3 == srate
	}
	return true
}

// Layer III bitrates in kbit/s (ISO/IEC 11172-3 Table 3-B.2 and
// ISO/IEC 13818-3); immutable.
var (
	mp3Rates1  = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
	mp3Rates2  = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}
	mp3Freq    = [3]int{44100, 48000, 32000}
	mp3Divisor = [4]int{4, 0, 2, 1} // by version bits: 2.5, reserved, 2, 1
)

func mp3FrameLen(version, bitrate, srate, pad byte) int {
	fs := mp3Freq[srate] / mp3Divisor[version]
	if version == 3 {
		return 144000*mp3Rates1[bitrate]/fs + int(pad)
	}
	return 72000*mp3Rates2[bitrate]/fs + int(pad)
}
