package resample

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat reports an unsupported input rate or channel count.
var ErrFormat = errors.New("codec: resample: unsupported input format")

// Supported input range.
const (
	MinRate     = 8000
	MaxRate     = 48000
	MaxChannels = 8
)

// block is the number of input frames read and filtered at once.
const block = 2048

// reader is the io.Reader returned by NewReader.
type reader struct {
	r        io.Reader
	ch       int
	inRate   int
	stages   []filter
	raw      []byte    // input bytes, block frames
	rawN     int       // bytes in raw (a partial frame is kept)
	a, b     []float32 // ping-pong sample buffers between stages
	out      []byte    // converted output
	off, n   int       // unread part of out
	inFrames int64     // input frames consumed
	outDone  int64     // output samples emitted
	eof      bool      // input exhausted, flushing
	err      error
}

// NewReader returns a reader that converts interleaved PCM16LE at inRate Hz
// (MinRate..MaxRate) with channels channels (1..MaxChannels) to 8 kHz mono
// PCM16LE. Channels are averaged. 8 kHz mono input is returned unchanged.
//
// The output holds ceil(frames·8000/inRate) samples aligned with the input:
// output sample n is the band-limited input at time n/8000 s. A trailing
// partial frame is ignored. Memory use is constant (a few hundred KiB of
// filter tables for 11025·k rates); Read does not allocate.
func NewReader(r io.Reader, inRate, channels int) (io.Reader, error) {
	if inRate < MinRate || inRate > MaxRate {
		return nil, fmt.Errorf("%w: rate %d Hz (want %d..%d)", ErrFormat, inRate, MinRate, MaxRate)
	}
	if channels < 1 || channels > MaxChannels {
		return nil, fmt.Errorf("%w: %d channels (want 1..%d)", ErrFormat, channels, MaxChannels)
	}
	if inRate == outRate && channels == 1 {
		return r, nil
	}
	rd := &reader{r: r, ch: channels, inRate: inRate}
	rate, maxIn := inRate, block
	// Halving stages while the result stays >= 11025 Hz: 0..4000 Hz is
	// kept, the band that would fold onto it is rejected.
	for rate%2 == 0 && rate/2 >= 11025 {
		s := newHalfband(rate, stopEdge, maxIn)
		rd.stages = append(rd.stages, s)
		maxIn = s.maxOut(maxIn)
		rate /= 2
	}
	if rate != outRate {
		g := gcd(rate, outRate)
		rd.stages = append(rd.stages, newStage(rate, outRate/g, rate/g, passEdge, stopEdge, maxIn))
	}
	size := block
	for _, s := range rd.stages {
		size = max(size, s.maxOut(size))
	}
	rd.raw = make([]byte, block*2*channels)
	rd.a = make([]float32, size)
	rd.b = make([]float32, size)
	rd.out = make([]byte, 2*size)
	return rd, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (rd *reader) Read(p []byte) (int, error) {
	for rd.off == rd.n {
		if rd.err != nil {
			return 0, rd.err
		}
		rd.fill()
	}
	n := copy(p, rd.out[rd.off:rd.n])
	rd.off += n
	return n, nil
}

// fill reads one block, runs it through the stages and converts the result.
func (rd *reader) fill() {
	rd.off, rd.n = 0, 0
	var in []float32
	if !rd.eof {
		n, err := io.ReadAtLeast(rd.r, rd.raw[rd.rawN:], 1)
		rd.rawN += n
		frameBytes := 2 * rd.ch
		frames := rd.rawN / frameBytes
		in = rd.a[:frames]
		rd.downmix(in, rd.raw[:frames*frameBytes])
		rest := copy(rd.raw, rd.raw[frames*frameBytes:rd.rawN])
		rd.rawN = rest
		rd.inFrames += int64(frames)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			rd.eof = true
		} else if err != nil {
			rd.err = fmt.Errorf("codec: resample: %w", err)
			return
		}
	}
	if rd.eof && len(in) == 0 {
		// Flush: feed silence until every output sample has been computed.
		in = rd.a[:block]
		clear(in)
	}
	buf, other := rd.a, rd.b
	for _, s := range rd.stages {
		n := s.push(in, other)
		in = other[:n]
		buf, other = other, buf
	}
	want := (rd.inFrames*outRate + int64(rd.inRate) - 1) / int64(rd.inRate)
	n := int64(len(in))
	if rd.outDone+n > want {
		n = max(want-rd.outDone, 0)
	}
	for i, v := range in[:n] {
		binary.LittleEndian.PutUint16(rd.out[2*i:], uint16(toInt16(v)))
	}
	rd.outDone += n
	rd.n = int(2 * n)
	if rd.eof && rd.outDone >= want {
		rd.err = io.EOF
	}
}

// downmix converts interleaved frames to mono floats by averaging channels.
func (rd *reader) downmix(dst []float32, src []byte) {
	switch rd.ch {
	case 1:
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
		}
	case 2:
		src = src[:4*len(dst)]
		for i := range dst {
			f := (*[4]byte)(src[4*i:])
			l := int32(int16(uint16(f[0]) | uint16(f[1])<<8))
			r := int32(int16(uint16(f[2]) | uint16(f[3])<<8))
			dst[i] = float32(l+r) * 0.5
		}
	default:
		k := 1 / float32(rd.ch)
		for i := range dst {
			var sum int32
			for c := 0; c < rd.ch; c++ {
				sum += int32(int16(binary.LittleEndian.Uint16(src[2*(i*rd.ch+c):])))
			}
			dst[i] = float32(sum) * k
		}
	}
}

// toInt16 rounds to nearest (half away from zero) and saturates.
func toInt16(v float32) int16 {
	if v >= 0 {
		v += 0.5
		if v >= 32767 {
			return 32767
		}
	} else {
		v -= 0.5
		if v <= -32768 {
			return -32768
		}
	}
	return int16(v)
}
