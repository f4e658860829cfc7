package mp3

import (
	"errors"
	"fmt"
	"io"
)

// Encoder parameters and limits.
const (
	// DefaultSampleRate is the rate 8 kHz voice is carried at: the lowest
	// MPEG-2 rate, which every decoder supports (MPEG-2.5 is not in the
	// standard).
	DefaultSampleRate = 16000
	// DefaultBitrate is the default bit rate in kbit/s.
	DefaultBitrate = 24
	// EncoderDelay is the number of samples of silence the Writer puts in
	// front of the audio, recorded in the Info frame so decoders can
	// remove it: 528 of analysis filter bank and MDCT delay (the decoder's
	// own 529 excluded) plus 95 of lead-in, so that delay plus decoder
	// delay is 1152, whole frames. libavformat cannot cut a frame at both
	// ends, so a very short stream whose start skip ended inside the frame
	// its end padding begins in would keep samples it should drop.
	EncoderDelay = 623
	// leadIn is the silence fed before the first sample.
	leadIn = EncoderDelay - 528
)

var (
	// ErrParam reports an unsupported sample rate, bit rate or lowpass.
	ErrParam = errors.New("codec: mp3: unsupported encoder parameters")
	// ErrTooManySamples is returned by Write when more samples arrive than
	// were declared to NewWriter.
	ErrTooManySamples = errors.New("codec: mp3: more samples written than declared")
)

// Options selects the stream a Writer produces. The zero value is 16 kHz
// at 24 kbit/s.
type Options struct {
	// SampleRate of the PCM given to Write and of the stream: 32000,
	// 44100 or 48000 (MPEG-1), 16000, 22050 or 24000 (MPEG-2), or the
	// MPEG-2.5 rates 8000, 11025, 12000. 0 means DefaultSampleRate.
	SampleRate int
	// Bitrate in kbit/s, constant: 16 to 64 in steps of 8 (MPEG-1 from
	// 32). 0 means DefaultBitrate.
	Bitrate int
	// Lowpass in Hz: nothing above it is coded. 0 picks a bandwidth
	// from the bit rate (about 230 Hz per kbit/s, at most the Nyquist
	// frequency); audio that came from 8 kHz telephony wants 3800 or so,
	// which leaves every bit to the voice band.
	Lowpass int
}

// Writer encodes mono PCM16LE to MPEG Layer III, constant bit rate. It
// implements io.WriteCloser; Close writes the last frames. Memory is
// fixed: one frame of PCM, the filter bank state, and the few frames the
// bit reservoir holds back.
//
// The stream starts with a Xing "Info" frame carrying a LAME-format tag
// with the encoder delay and padding, so gapless decoders (ffmpeg and so
// Chromium, mpg123, this package's Reader) return exactly the samples
// written. The frame and byte counts in that frame need the length: when
// NewWriter is given the sample count they are written up front; when it
// is not (-1) and dst is an io.WriteSeeker the Info frame is rewritten at
// Close; otherwise the Info frame has no frame count and decoders trim
// the start only, so the end carries less than a frame of extra silence.
type Writer struct {
	dst      io.Writer
	declared int64 // samples announced to NewWriter, -1 unknown
	got      int64 // samples received
	err      error
	closed   bool

	v        version
	srIndex  int
	brIndex  int
	rate     int
	bitrate  int
	lowpass  int
	ngr      int
	sideLen  int
	maxMDB   int // largest main_data_begin in bytes
	frameNum int // numerator of the frame length in bytes: spf/8·bitrate
	padAcc   int // padding accumulator (11172-3 §2.4.3.1)

	// Filter bank.
	an   *analysis
	md   *mdct
	q    *quantizer
	hist [480 + 576]float64 // analysis input: 480 old samples, one granule new
	nin  int                // new samples in hist
	sb   [2][32][18]float64 // subband samples of the previous and current granule
	cur  int                // index of the current granule in sb
	nsb  int                // subbands that reach the coded band
	xr   [576]float64
	odd  []byte // a dangling byte of a sample split across writes
	oddB [1]byte

	// Rate control.
	target  float64 // in-band SNR aimed at, dB
	gr      [2]granule
	gi      int  // granule of the frame being coded
	fLen    int  // length of the frame being coded
	fPad    bool // its padding bit
	mdb     int  // its main_data_begin
	slotLen int  // its main data slot in bytes
	used    int  // main data bits of its granules so far

	// Bit reservoir (11172-3 §2.4.3.4.3 main_data_begin): the main data
	// stream is the concatenation of the frames' slots; frames wait in
	// pend until the data filling their slots is known.
	md0      []byte // main data stream from position mdBase on
	mdBase   int64
	slotPos  int64 // start of the next frame's slot
	dataEnd  int64 // end of the last frame's main data
	pend     []pendingFrame
	frameBuf []byte // the frame being written, reused
	side     bitWriter
	main     bitWriter

	// Info frame bookkeeping.
	infoAt   int64 // offset of the Info frame in dst when dst seeks, else -1
	frames   int64 // audio frames written
	bytes    int64 // bytes written, Info frame included
	infoLen  int
	wantFrms int64 // frames to write (known length), else -1
}

type pendingFrame struct {
	head      [4 + 32]byte // header and side information
	headLen   int
	slotStart int64
	slotLen   int
}

// NewWriter returns a Writer that encodes to dst. samples is the number
// of samples that will be written, or -1 when unknown (see Writer). When
// samples is given, writing more fails with ErrTooManySamples and Close
// pads a shorter input with silence, so the Info frame never lies.
func NewWriter(dst io.Writer, samples int64, o Options) (*Writer, error) {
	if samples < -1 {
		return nil, fmt.Errorf("%w: negative sample count %d", ErrParam, samples)
	}
	if o.SampleRate == 0 {
		o.SampleRate = DefaultSampleRate
	}
	if o.Bitrate == 0 {
		o.Bitrate = DefaultBitrate
	}
	w := &Writer{dst: dst, declared: samples, rate: o.SampleRate, bitrate: o.Bitrate, infoAt: -1, wantFrms: -1}
	found := false
	for v := range sampleRates {
		for i, r := range sampleRates[v] {
			if r == o.SampleRate {
				w.v, w.srIndex, found = version(v), i, true
			}
		}
	}
	if !found || (w.v != mpeg1 && w.v != mpeg2 && w.v != mpeg25) {
		return nil, fmt.Errorf("%w: sample rate %d Hz", ErrParam, o.SampleRate)
	}
	lsf := 0
	if w.v.lsf() {
		lsf = 1
	}
	for i, b := range bitrates[lsf] {
		if b == o.Bitrate && i > 0 {
			w.brIndex = i
		}
	}
	if w.brIndex == 0 || o.Bitrate < 16 || o.Bitrate > 64 {
		return nil, fmt.Errorf("%w: %d kbit/s at %d Hz (16..64 kbit/s, MPEG-1 rates from 32)", ErrParam, o.Bitrate, o.SampleRate)
	}
	nyq := o.SampleRate / 2
	switch {
	case o.Lowpass < 0 || o.Lowpass > nyq:
		return nil, fmt.Errorf("%w: lowpass %d Hz at %d Hz", ErrParam, o.Lowpass, o.SampleRate)
	case o.Lowpass == 0:
		w.lowpass = min(nyq, 230*o.Bitrate)
	default:
		w.lowpass = o.Lowpass
	}
	w.ngr = w.v.granules()
	if w.v.lsf() {
		w.sideLen, w.maxMDB = 9, 255
	} else {
		w.sideLen, w.maxMDB = 17, 511
	}
	w.frameNum = 576 * w.ngr / 8 * o.Bitrate * 1000
	end := min(576, (w.lowpass*576+nyq-1)/nyq)
	end += end & 1
	w.nsb = min(32, (end+17)/18+1)
	d := newDCT32()
	w.an = newAnalysis(d)
	w.md = newMDCT()
	w.q = newQuantizer(&sfbLong[w.v][w.srIndex], end)
	w.target = 20
	w.odd = w.oddB[:0]
	w.nin = leadIn // hist is zero
	if samples >= 0 {
		w.wantFrms = w.framesFor(samples)
	}
	if err := w.start(); err != nil {
		return nil, err
	}
	return w, nil
}

// spf returns the samples per frame.
func (w *Writer) spf() int { return 576 * w.ngr }

// framesFor returns the audio frames needed for n samples: the last
// input sample must come out of the decoder before the stream ends. At
// least two MPEG-1 or three MPEG-2 frames are written: libavformat
// ignores the Info frame of a stream with a single audio frame.
func (w *Writer) framesFor(n int64) int64 {
	spf := int64(w.spf())
	return max((n+EncoderDelay+DecoderDelay+spf-1)/spf, 3456/spf)
}

// frameLen returns the next audio frame's length and padding bit.
func (w *Writer) frameLen() (n int, pad bool) {
	n = w.frameNum / w.rate
	w.padAcc += w.frameNum % w.rate
	if w.padAcc >= w.rate {
		w.padAcc -= w.rate
		return n + 1, true
	}
	return n, false
}

// Write takes PCM16LE samples. A sample split across calls is kept until
// its second byte arrives; a last odd byte is dropped by Close.
func (w *Writer) Write(p []byte) (n int, err error) {
	defer w.recoverPanic(&n, &err)
	if w.closed {
		return 0, errors.New("codec: mp3: write after Close")
	}
	if w.err != nil {
		return 0, w.err
	}
	total := len(p)
	if w.declared >= 0 {
		left := 2*(w.declared-w.got) - int64(len(w.odd))
		if int64(len(p)) > left {
			n, err := w.Write(p[:left])
			if err != nil {
				return n, err
			}
			return n, ErrTooManySamples
		}
	}
	if len(w.odd) == 1 && len(p) > 0 {
		w.push(float64(int16(uint16(w.odd[0])|uint16(p[0])<<8)) / 32768)
		w.odd = w.odd[:0]
		p = p[1:]
	}
	for len(p) >= 2 && w.err == nil {
		// Fill the granule directly from p.
		n := min(len(p)/2, 576-w.nin)
		dst := w.hist[480+w.nin : 480+w.nin+n]
		for i := range dst {
			dst[i] = float64(int16(uint16(p[2*i])|uint16(p[2*i+1])<<8)) / 32768
		}
		w.nin += n
		w.got += int64(n)
		p = p[2*n:]
		if w.nin == 576 {
			w.granule()
		}
	}
	if len(p) == 1 {
		w.odd = append(w.odd, p[0])
	}
	if w.err != nil {
		return 0, w.err
	}
	return total, nil
}

// recoverPanic turns a panic of the encoder (a broken invariant, which the
// tests and FuzzEncoder look for) into an error, so a bug fails one
// message instead of the milter.
func (w *Writer) recoverPanic(n *int, err *error) {
	if p := recover(); p != nil {
		w.err = fmt.Errorf("codec: mp3: internal encoder error: %v", p)
		if n != nil {
			*n = 0
		}
		*err = w.err
	}
}

// push adds one sample.
func (w *Writer) push(x float64) {
	w.hist[480+w.nin] = x
	w.nin++
	w.got++
	if w.nin == 576 {
		w.granule()
	}
}

// Close pads the input to whole frames (and to the declared length), writes
// the remaining frames and completes the Info frame. It does not close dst.
func (w *Writer) Close() (err error) {
	defer w.recoverPanic(nil, &err)
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	n := w.got
	if w.declared >= 0 {
		n = w.declared
	}
	want := w.framesFor(n)
	for w.got < n && w.err == nil {
		w.push(0)
	}
	for w.frames+int64(len(w.pend)) < want && w.err == nil {
		w.push(0)
	}
	if w.err != nil {
		return w.err
	}
	w.flushReservoir()
	if w.err != nil {
		return w.err
	}
	return w.finishInfo(n)
}

// granule runs the filter bank over the 576 new samples in hist and,
// every ngr granules, codes a frame.
func (w *Writer) granule() {
	prev, cur := &w.sb[1-w.cur], &w.sb[w.cur]
	var s [32]float64
	for t := 0; t < 18; t++ {
		w.an.filter(w.hist[32*t:32*t+512], &s)
		for sb := 0; sb < w.nsb; sb++ {
			v := s[sb]
			if sb&t&1 == 1 { // frequency inversion, Annex C.1.5.3.3
				v = -v
			}
			cur[sb][t] = v
		}
	}
	copy(w.hist[:480], w.hist[576:])
	w.nin = 0
	for sb := 0; sb < w.nsb; sb++ {
		w.md.transform(&prev[sb], &cur[sb], w.xr[18*sb:18*sb+18])
	}
	aliasReduce(w.xr[:], w.nsb)
	w.cur = 1 - w.cur
	if w.gi == 0 {
		w.startFrame()
	}
	w.encodeGranule()
	w.gi++
	if w.gi == w.ngr {
		w.endFrame()
		w.gi = 0
	}
}
