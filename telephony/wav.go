package telephony

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The spool stores voice audio as a canonical 44-byte-header WAV: PCM
// (format tag 1), 1 channel, 8000 Hz, 16 bits, little endian. That is what
// Asterisk's format_wav expects for ".wav" and what diago can stream.
const (
	sampleRate   = 8000
	wavHeaderLen = 44
)

// wavHeader returns the header for samples 16-bit mono samples at 8 kHz.
func wavHeader(samples int64) ([]byte, error) {
	dataLen := samples * 2
	if samples < 0 || dataLen > 0xFFFFFFFF-36 {
		return nil, fmt.Errorf("telephony: wav: %d samples out of range", samples)
	}
	h := make([]byte, wavHeaderLen)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataLen))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // WAVE_FORMAT_PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], sampleRate)
	binary.LittleEndian.PutUint32(h[28:], sampleRate*2) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataLen))
	return h, nil
}

// errWAV reports a spool WAV that is not the canonical format.
var errWAV = errors.New("telephony: wav: not 8 kHz mono 16-bit PCM")

// readWAVHeader checks the canonical header and returns the sample count.
func readWAVHeader(r io.Reader) (int64, error) {
	h := make([]byte, wavHeaderLen)
	if _, err := io.ReadFull(r, h); err != nil {
		return 0, fmt.Errorf("telephony: wav: %w", err)
	}
	if string(h[0:4]) != "RIFF" || string(h[8:16]) != "WAVEfmt " || string(h[36:40]) != "data" ||
		binary.LittleEndian.Uint16(h[20:]) != 1 || binary.LittleEndian.Uint16(h[22:]) != 1 ||
		binary.LittleEndian.Uint32(h[24:]) != sampleRate || binary.LittleEndian.Uint16(h[34:]) != 16 {
		return 0, errWAV
	}
	return int64(binary.LittleEndian.Uint32(h[40:]) / 2), nil
}
