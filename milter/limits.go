package milter

import (
	"sync/atomic"
	"time"
)

// memBudget bounds the bytes all sessions hold in memory at once
// (Options.BodyMemoryTotal): message bodies before they spill to their
// temporary files, and milter packets over 64 KiB while they are read.
// The zero value with a limit function is ready; a nil *memBudget admits
// everything.
type memBudget struct {
	used  atomic.Int64
	limit func() int64 // read at each reservation: a reload applies at once
}

// reserve takes n bytes if they fit under the limit.
func (b *memBudget) reserve(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	max := b.limit()
	for {
		u := b.used.Load()
		if u+n > max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// release gives back n bytes.
func (b *memBudget) release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// Used returns the bytes held now.
func (b *memBudget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// refusalLogEvery spaces the log lines about connections refused over
// MaxSessions: a flood of them is one line per interval, with the count.
const refusalLogEvery = 10 * time.Second

// admitConn counts a new MTA connection, or refuses it (false) when
// MaxSessions are open.
func (f *Filter) admitConn() bool {
	max := int64(f.options().MaxSessions)
	for {
		n := f.conns.Load()
		if n >= max {
			f.refusedConns.Add(1)
			f.logRefusals(max)
			return false
		}
		if f.conns.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// connDone takes a closed connection out of the count.
func (f *Filter) connDone() { f.conns.Add(-1) }

// logRefusals logs, at most every refusalLogEvery, how many connections
// were refused since the last line.
func (f *Filter) logRefusals(max int64) {
	now := time.Now().UnixNano()
	last := f.refusalLogged.Load()
	if now-last < int64(refusalLogEvery) || !f.refusalLogged.CompareAndSwap(last, now) {
		return
	}
	f.log.Warn("MTA connections refused: max_sessions are open", "max_sessions", max, "refused", f.refusedConns.Swap(0))
}

// Conns returns the number of open MTA connections (negotiated or not).
func (f *Filter) Conns() int { return int(f.conns.Load()) }

// BodyMemory returns the bytes of message bodies and large packets the
// sessions hold in memory now.
func (f *Filter) BodyMemory() int64 { return f.mem.Used() }
