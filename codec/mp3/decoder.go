package mp3

import (
	"bufio"
	"fmt"
	"io"
	"math"
)

// The frame loop of the decoder: sync, header checks, the main data
// reservoir, and PCM output.

// maxFrameLen is the longest Layer III frame: 144·320000/32000 + 1 bytes
// (MPEG-1), 72·160000/8000 + 1 (MPEG-2.5).
const maxFrameLen = 1441

// maxResync bounds the bytes skipped looking for the next frame header,
// so a stream of garbage ends the decode instead of being scanned to
// the end (a real stream has a header every frame).
const maxResync = 64 << 10

// decoder decodes Layer III frames of one format from src.
type decoder struct {
	src    *bufio.Reader
	tabs   *decoderTables
	format hdr // version, rate and channels of the first frame
	resv   []byte
	mainB  []byte
	st     [2]chState
	xr     [2][576]float64
	is     [576]int32
	sub    [32][18]float64
	pcm    []byte // one frame of interleaved PCM16LE
	frames int64  // frames decoded
	// float, when not nil, collects the unrounded output (scaled to
	// ±32768, interleaved, nothing trimmed): tests compare it with other
	// decoders' float output.
	float     *[]float32
	floatBase int // index of this frame's first value in *float
}

// nextFrame finds the next frame of the stream's format and returns it;
// io.EOF at the end.
func (d *decoder) nextFrame() (hdr, []byte, error) {
	skipped := 0
	for {
		b, err := d.src.Peek(4)
		if len(b) < 4 {
			if err == nil || err == io.EOF {
				err = io.EOF
			}
			return hdr{}, nil, err
		}
		h, ok := parseHeader(b)
		if ok && d.frames > 0 && (h.v != d.format.v || h.srIndex != d.format.srIndex || h.channels != d.format.channels) {
			ok = false
		}
		if ok {
			f, err := d.src.Peek(h.size)
			if len(f) == h.size {
				return h, f, nil
			}
			if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
				return hdr{}, nil, err
			}
			// A truncated last frame: decode what is there, padded with
			// zeros, as other decoders do.
			buf := make([]byte, h.size)
			copy(buf, f)
			return h, buf, nil
		}
		if _, err := d.src.Discard(1); err != nil {
			return hdr{}, nil, err
		}
		skipped++
		if skipped > maxResync {
			return hdr{}, nil, fmt.Errorf("%w: no frame header in %d bytes", ErrFormat, maxResync)
		}
	}
}

// decodeFrame decodes frame f (header h) into d.pcm.
func (d *decoder) decodeFrame(h hdr, f []byte) {
	side := 4
	if h.crc {
		side += 2
	}
	sl := h.sideLen()
	s := parseSide(&h, f[side:side+sl])
	data := f[side+sl:]
	// Main data: main_data_begin bytes from the reservoir, then this
	// frame's slot (§2.4.3.4.3).
	ok := s.mainDataBegin <= len(d.resv)
	d.mainB = append(d.mainB[:0], d.resv[len(d.resv)-min(s.mainDataBegin, len(d.resv)):]...)
	d.mainB = append(d.mainB, data...)
	// Keep the last 511 bytes for the next frames.
	d.resv = append(d.resv, data...)
	if len(d.resv) > 511 {
		d.resv = append(d.resv[:0], d.resv[len(d.resv)-511:]...)
	}
	ngr := h.v.granules()
	nch := h.channels
	d.pcm = d.pcm[:0]
	r := bitReader{b: d.mainB}
	var sf [2]scalefactors
	for g := 0; g < ngr; g++ {
		var n [2]int
		isScale := 0
		for ch := 0; ch < nch; ch++ {
			c := &s.gr[g][ch]
			start := r.pos
			if ok {
				if h.v.lsf() {
					sf[ch] = scalefactors{}
					isRight := ch == 1 && h.mode == 1 && h.modeExt&1 != 0
					if v := readScalefactorsLSF(&r, c, isRight, &sf[ch]); isRight {
						isScale = v
					}
				} else {
					sf[ch] = d.st[ch].sf
					if g == 0 {
						sf[ch] = scalefactors{}
					}
					readScalefactorsMPEG1(&r, c, &s.scfsi[ch], g, &sf[ch])
					d.st[ch].sf = sf[ch]
				}
				n[ch] = d.tabs.huffmanDecode(&r, start+c.part23, c, &h, &d.is)
			} else {
				for i := range d.is {
					d.is[i] = 0
				}
			}
			r.pos = start + c.part23
			d.tabs.requantize(c, &sf[ch], &h, &d.is, &d.xr[ch], n[ch])
		}
		cs := [2]chSide{s.gr[g][0], s.gr[g][1]}
		stereo(&h, &cs, &sf, isScale, &d.xr, n)
		for ch := 0; ch < nch; ch++ {
			c := &s.gr[g][ch]
			if h.mode == 1 && nch == 2 && ch == 1 {
				// Joint stereo: both channels share block types in
				// practice; each uses its own side information here.
			}
			reorder(c, &h, &d.xr[ch])
			antialias(c, &d.xr[ch])
			d.tabs.hybrid(c, &d.st[ch], &d.xr[ch], &d.sub)
			d.synth(ch, nch, g)
		}
	}
	d.frames++
	if d.float != nil {
		d.floatBase = len(*d.float)
	}
}

// synth runs the synthesis filter bank for one granule of channel ch and
// writes the samples into d.pcm, interleaved.
func (d *decoder) synth(ch, nch, g int) {
	base := g * 576 * nch * 2
	if need := base + 576*nch*2; len(d.pcm) < need {
		d.pcm = append(d.pcm, make([]byte, need-len(d.pcm))...)
	}
	var s [32]float64
	var out [32]float64
	syn := &d.st[ch].syn
	if syn.dct == nil {
		syn.dct = d.tabs.dct
	}
	for t := 0; t < 18; t++ {
		for sb := 0; sb < 32; sb++ {
			s[sb] = d.sub[sb][t]
		}
		syn.filter(&s, out[:])
		if d.float != nil {
			f := *d.float
			for j, v := range out {
				idx := (g*576+t*32+j)*nch + ch
				for len(f) <= d.floatBase+idx {
					f = append(f, 0)
				}
				f[d.floatBase+idx] = float32(v * 32768)
			}
			*d.float = f
		}
		for j, v := range out {
			x := math.Round(v * 32768)
			x = min(max(x, -32768), 32767)
			p := base + ((t*32+j)*nch+ch)*2
			u := uint16(int16(x))
			d.pcm[p], d.pcm[p+1] = byte(u), byte(u>>8)
		}
	}
}
