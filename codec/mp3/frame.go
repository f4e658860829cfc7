package mp3

import (
	"fmt"
	"math"
)

// Frame assembly and the bit reservoir (11172-3 §2.4.1.2-2.4.1.7,
// §2.4.3.4.3, Annex C.1.5.4.1).

// startFrame fixes the length, main_data_begin and bit budget of the
// next frame.
func (w *Writer) startFrame() {
	w.fLen, w.fPad = w.frameLen()
	w.slotLen = w.fLen - 4 - w.sideLen
	w.mdb = int(min(w.slotPos-w.dataEnd, int64(w.maxMDB)))
	w.used = 0
	w.main.buf = w.main.buf[:0]
	w.main.nacc = 0
}

// encodeGranule quantises and codes w.xr as granule w.gi of the frame.
func (w *Writer) encodeGranule() {
	slotBits := 8 * w.slotLen
	avail := 8*w.mdb + (w.gi+1)*slotBits/w.ngr - w.used
	avail = min(avail, 4095)
	gr := &w.gr[w.gi]
	q := w.q
	for i := q.end; i < 576; i++ {
		w.xr[i] = 0
	}
	energy := q.load(w.xr[:])
	w.rateControl(gr, energy, avail)
	q.write(&w.main, gr)
	w.used += gr.part23
	// Steer the quality target by the reservoir: what is left for the
	// next frames, as a fraction of what main_data_begin can reach. The
	// target rises 1 dB per granule when the reservoir is full and falls
	// when less than a fifth is left (set point and gain tuned on speech
	// with tools/bench/mp3/quality.sh: a low set point spends the
	// reservoir on the granules that need it instead of stuffing it).
	left := 8*w.mdb + (w.gi+1)*slotBits/w.ngr - w.used
	fill := min(float64(left)/float64(8*w.maxMDB), 1)
	w.target += fill - 0.2
	w.target = min(max(w.target, 0), 60)
}

// silence is the in-band energy per line below which a granule is coded
// as zeros: about -110 dB full scale, below the 16-bit floor.
const silence = 1e-11

// rateControl codes the loaded granule: all zeros when it is silent,
// else with the global_gain quantizer.search finds for the current SNR
// target within avail bits.
func (w *Writer) rateControl(gr *granule, energy float64, avail int) {
	q := w.q
	*gr = granule{globalGain: 210}
	for i := range q.ix[:q.end] {
		q.ix[i] = 0
	}
	if energy < silence*float64(q.end) || q.end == 0 {
		q.bits(gr, false)
		return
	}
	target := max(energy*math.Pow(10, -w.target/10), silence*float64(q.end))
	gr.globalGain = q.search(gr, target, avail)
	if gr.part23 > avail {
		panic(fmt.Sprintf("mp3: granule needs %d bits, %d available", gr.part23, avail))
	}
}

// endFrame writes the side information and queues the frame.
func (w *Writer) endFrame() {
	w.main.flush()
	data := w.main.buf
	start := w.slotPos - int64(w.mdb)
	for i := w.dataEnd; i < start; i++ {
		w.md0 = append(w.md0, 0)
	}
	w.md0 = append(w.md0, data...)
	w.dataEnd = start + int64(len(data))
	if w.dataEnd > w.slotPos+int64(w.slotLen) {
		panic("mp3: main data overruns its frame")
	}
	f := pendingFrame{slotStart: w.slotPos, slotLen: w.slotLen}
	f.headLen = 4 + w.sideLen
	h := w.header(w.brIndex, w.fPad)
	copy(f.head[:4], h[:])
	w.side.buf = w.side.buf[:0]
	w.side.nacc = 0
	w.writeSide()
	w.side.flush()
	if len(w.side.buf) != w.sideLen {
		panic("mp3: side information length")
	}
	copy(f.head[4:], w.side.buf)
	w.pend = append(w.pend, f)
	w.slotPos += int64(w.slotLen)
	w.emit(false)
}

// header returns the 4 header bytes (§2.4.1.3): no CRC, mono, original.
func (w *Writer) header(brIndex int, pad bool) [4]byte {
	h := [4]byte{0xFF, 0xE0 | byte(w.v)<<3 | 1<<1 | 1, byte(brIndex<<4 | w.srIndex<<2), 0xC4}
	if pad {
		h[2] |= 2
	}
	return h
}

// writeSide writes the side information of the frame (§2.4.1.7).
func (w *Writer) writeSide() {
	s := &w.side
	if w.v.lsf() {
		s.put(uint32(w.mdb), 8)
		s.put(0, 1) // private_bits
	} else {
		s.put(uint32(w.mdb), 9)
		s.put(0, 5) // private_bits
		s.put(0, 4) // scfsi
	}
	for g := 0; g < w.ngr; g++ {
		gr := &w.gr[g]
		s.put(uint32(gr.part23), 12)
		s.put(uint32(gr.bigValues), 9)
		s.put(uint32(gr.globalGain), 8)
		if w.v.lsf() {
			s.put(uint32(gr.sfCompress), 9)
		} else {
			s.put(uint32(gr.sfCompress), 4)
		}
		s.put(0, 1) // window_switching_flag: long blocks
		for _, t := range gr.tableSelect {
			s.put(uint32(t), 5)
		}
		s.put(uint32(gr.region0), 4)
		s.put(uint32(gr.region1), 3)
		if !w.v.lsf() {
			s.put(0, 1) // preflag
		}
		s.put(0, 1) // scalefac_scale
		s.put(uint32(gr.count1Table), 1)
	}
}

// emit writes the queued frames whose slots are complete (all with all).
func (w *Writer) emit(all bool) {
	if all {
		for ; w.dataEnd < w.slotPos; w.dataEnd++ {
			w.md0 = append(w.md0, 0)
		}
	}
	n := 0
	for _, f := range w.pend {
		end := f.slotStart + int64(f.slotLen)
		if end > w.dataEnd {
			break
		}
		buf := append(w.frameBuf[:0], f.head[:f.headLen]...)
		buf = append(buf, w.md0[f.slotStart-w.mdBase:end-w.mdBase]...)
		w.frameBuf = buf
		if err := w.out(buf); err != nil {
			return
		}
		w.frames++
		n++
	}
	if n > 0 {
		last := w.pend[n-1]
		cut := last.slotStart + int64(last.slotLen) - w.mdBase
		w.md0 = append(w.md0[:0], w.md0[cut:]...)
		w.mdBase += cut
		w.pend = append(w.pend[:0], w.pend[n:]...)
	}
}

// flushReservoir writes every queued frame, zero-filling unused slots.
func (w *Writer) flushReservoir() { w.emit(true) }

// out writes b to dst.
func (w *Writer) out(b []byte) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.dst.Write(b)
	w.bytes += int64(n)
	if err != nil {
		w.err = fmt.Errorf("codec: mp3: %w", err)
	}
	return w.err
}
