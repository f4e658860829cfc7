package mp3

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The Info frame: a Layer III frame without audio (all side information
// zero, so a decoder that does not know it plays 1 frame of silence) that
// carries a Xing header ("Info" for constant bit rate) and a LAME-format
// tag with the encoder delay and padding. This is the de-facto gapless
// format: ffmpeg (libavformat mp3dec), mpg123 and this package's Reader
// skip the delay plus the decoder's 529 samples and cut the padding. The
// tag is identified by its first four bytes, "LAME", which those decoders
// require before they honour the delay fields; the rest of the 9-byte
// version string names this encoder.

// Xing flags.
const (
	xingFrames = 1
	xingBytes  = 2
)

// lameTagLen is the LAME tag after the Xing fields, CRC included.
const lameTagLen = 36

// encoderName fills the tag's 9-byte encoder version string.
const encoderName = "LAMEvpim1"

// infoLayout returns the bitrate index for the Info frame (the stream's
// own when the tag fits, else the smallest that holds it) and its length.
func (w *Writer) infoLayout() (brIndex, n int) {
	need := 4 + w.sideLen + 4 + 4 + 4 + 4 + lameTagLen
	lsf := 0
	if w.v.lsf() {
		lsf = 1
	}
	for i := w.brIndex; i < 15; i++ {
		n = 576 * w.ngr / 8 * bitrates[lsf][i] * 1000 / w.rate
		if n >= need {
			return i, n
		}
	}
	panic("mp3: no bit rate holds the Info frame")
}

// start writes the Info frame: final when the length is known, a
// placeholder to rewrite at Close when dst can seek, else without counts.
func (w *Writer) start() error {
	if w.declared < 0 {
		if s, ok := w.dst.(io.WriteSeeker); ok {
			if off, err := s.Seek(0, io.SeekCurrent); err == nil {
				w.infoAt = off
			}
		}
	}
	var f []byte
	if w.declared >= 0 {
		f = w.infoFrame(w.declared, w.wantFrms)
	} else {
		f = w.infoFrame(-1, -1)
	}
	w.infoLen = len(f)
	return w.out(f)
}

// finishInfo rewrites the Info frame of a seekable dst with the counts
// known now that all n samples are coded.
func (w *Writer) finishInfo(n int64) error {
	if w.declared >= 0 {
		if w.frames != w.wantFrms {
			return fmt.Errorf("codec: mp3: wrote %d frames, the Info frame says %d", w.frames, w.wantFrms)
		}
		return nil
	}
	if w.infoAt < 0 {
		return nil
	}
	s := w.dst.(io.WriteSeeker)
	end, err := s.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = s.Seek(w.infoAt, io.SeekStart)
	}
	if err == nil {
		_, err = s.Write(w.infoFrame(n, w.frames))
	}
	if err == nil {
		_, err = s.Seek(end, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("codec: mp3: rewriting the Info frame: %w", err)
	}
	return nil
}

// streamBytes returns the length of the whole stream with frames audio
// frames: the Info frame plus frames whose padding follows the
// accumulator from zero.
func (w *Writer) streamBytes(frames int64) int64 {
	num, rate := int64(w.frameNum), int64(w.rate)
	_, info := w.infoLayout()
	return int64(info) + frames*(num/rate) + frames*(num%rate)/rate
}

// infoFrame builds the Info frame for n samples in frames audio frames
// (both -1 when unknown).
func (w *Writer) infoFrame(n, frames int64) []byte {
	br, size := w.infoLayout()
	f := make([]byte, size)
	h := w.header(br, false)
	copy(f, h[:])
	p := 4 + w.sideLen
	copy(f[p:], "Info")
	flags := uint32(0)
	if frames >= 0 {
		flags = xingFrames | xingBytes
	}
	binary.BigEndian.PutUint32(f[p+4:], flags)
	p += 8
	total := int64(0)
	if frames >= 0 {
		total = w.streamBytes(frames)
		binary.BigEndian.PutUint32(f[p:], uint32(frames))
		binary.BigEndian.PutUint32(f[p+4:], uint32(total))
		p += 8
	}
	tag := f[p : p+lameTagLen]
	copy(tag, encoderName)
	tag[9] = 0x01                           // tag revision 0, CBR
	tag[10] = byte(min(w.lowpass/100, 255)) // lowpass in 100 Hz
	// 11..18: peak and ReplayGain unknown; 19: flags and ATH type.
	tag[20] = byte(min(w.bitrate, 255))
	pad := 0
	if frames >= 0 {
		pad = int(frames*int64(w.spf()) - EncoderDelay - n)
	}
	tag[21] = byte(EncoderDelay >> 4)
	tag[22] = byte(EncoderDelay&0xF<<4 | pad>>8&0xF)
	tag[23] = byte(pad)
	// 24 misc, 25 MP3 gain, 26..27 preset and surround: zero.
	binary.BigEndian.PutUint32(tag[28:], uint32(total)) // music length
	// 32..33: music CRC, not computed (zero).
	binary.BigEndian.PutUint16(tag[34:], crc16(f[:p+34]))
	return f
}

// crc16 is CRC-16/ARC (polynomial 0x8005 reflected, initial value 0), the
// LAME tag's checksum.
func crc16(b []byte) uint16 {
	var c uint16
	for _, v := range b {
		c ^= uint16(v)
		for i := 0; i < 8; i++ {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}
