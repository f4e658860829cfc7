package telephony

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a rate limit: at most Count calls per Per. A Count below zero is
// no limit (RateOff; "off" in the configuration file); the zero Rate means
// the default.
type Rate struct {
	Count int
	Per   time.Duration
}

// RateOff is no limit.
func RateOff() Rate { return Rate{Count: -1} }

// Off reports whether r is no limit.
func (r Rate) Off() bool { return r.Count < 0 }

// String renders r as ParseRate reads it: "20/1h", "3/30m", "off".
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	d := r.Per.String()
	switch {
	case r.Per > 0 && r.Per%time.Hour == 0:
		d = strconv.FormatInt(int64(r.Per/time.Hour), 10) + "h"
	case r.Per > 0 && r.Per%time.Minute == 0:
		d = strconv.FormatInt(int64(r.Per/time.Minute), 10) + "m"
	}
	return strconv.Itoa(r.Count) + "/" + d
}

// ParseRate reads "COUNT/DURATION" ("20/1h", "3/30m", "100/24h") or "off".
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "off") {
		return RateOff(), nil
	}
	c, d, ok := strings.Cut(t, "/")
	n, err := strconv.Atoi(strings.TrimSpace(c))
	if !ok || err != nil || n < 1 {
		return Rate{}, fmt.Errorf("%q is not a rate such as \"20/1h\" (calls per duration) or \"off\"", s)
	}
	per, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || per < time.Second {
		return Rate{}, fmt.Errorf("%q is not a rate such as \"20/1h\": the duration must be at least 1s", s)
	}
	return Rate{Count: n, Per: per}, nil
}

// rateKey is one counter a call is charged to, with its limit.
type rateKey struct {
	key   string // "sender:login:alice", "sender:client:192.0.2.1", "sender:from:bob@example.com", "number:+3940226338"
	rule  string // RuleRateSender or RuleRateNumber
	limit Rate
}

// senderKey is the counter of a caller (rate_limit.per_sender): the SMTP
// AUTH login when there is one (it cannot be forged), else the client
// address when the MTA names it, else the envelope sender. The envelope
// sender is whatever the client writes: a client that may dial without a
// login (trusted_networks) could start every message with another MAIL FROM
// and never reach the limit (redteam R13), so its address counts instead.
func senderKey(login, client, sender string) string {
	if l := strings.ToLower(strings.TrimSpace(login)); l != "" {
		return "sender:login:" + l
	}
	if a, ok := clientAddr(client); ok {
		return "sender:client:" + a.String()
	}
	return "sender:from:" + strings.ToLower(strings.Trim(strings.TrimSpace(sender), "<>"))
}

// rateBook counts the calls accepted per sender and per number over time
// (Options.RateLimit). A call counts once its job is in the spool (hand-off
// success); while a transaction is between RCPT and end of message its
// admitted numbers are held as pending, so concurrent transactions cannot
// overshoot a limit together.
//
// One rateBook belongs to each Spool and every Gateway built on it shares
// it, so a configuration reload keeps the counts. After a restart the
// counts are read back from the spool: every job created within the
// longest window is a call that was accepted (Spool.Enqueue), whatever
// state it is in now. Jobs pruned from done/ or failed/ (keep_done,
// keep_failed) are no longer counted, nor are calls accepted by another
// process on the same spool after this one read it.
type rateBook struct {
	mu      sync.Mutex
	now     func() time.Time
	events  map[string][]time.Time // accepted calls per key, oldest first
	pending map[string]int         // held by transactions not handed off yet
	horizon time.Duration          // how far back the spool has been read
}

func newRateBook(now func() time.Time) *rateBook {
	return &rateBook{now: now, events: map[string][]time.Time{}, pending: map[string]int{}}
}

// load reads the calls of the last horizon from the spool's jobs, once per
// longer horizon: a reload that lengthens a window reads back further.
func (b *rateBook) load(s *Spool, horizon time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if horizon <= b.horizon {
		return nil
	}
	now := b.now()
	cutoff := now.Add(-horizon)
	events := map[string][]time.Time{}
	for _, state := range []string{dirNew, dirActive, dirDone, dirFailed} {
		ids, err := s.List(state)
		if err != nil {
			return err
		}
		for _, id := range ids {
			// ids start with the creation time in hex nanoseconds (newID)
			ns, err := strconv.ParseInt(strings.SplitN(filepath.Base(id), "-", 2)[0], 16, 64)
			if err != nil || time.Unix(0, ns).Before(cutoff) {
				continue
			}
			j, err := s.loadJob(state, id)
			if err != nil {
				continue // moved meanwhile, or damaged: not a call to count
			}
			for _, k := range []string{senderKey(j.Meta.Login, j.Meta.Client, j.Meta.Sender), "number:" + j.Meta.Number} {
				events[k] = append(events[k], j.Created)
			}
		}
	}
	for _, ts := range events {
		slices.SortFunc(ts, time.Time.Compare)
	}
	// calls committed by this process since the first load are in the
	// spool too: the spool's view replaces the book's
	b.events = events
	b.horizon = horizon
	return nil
}

// reserve holds one call on each of keys when none of them is over its
// limit, and returns nil; otherwise it holds nothing and returns the key
// that refused, with the calls counted against it.
func (b *rateBook) reserve(keys []rateKey) (*rateKey, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for i := range keys {
		k := &keys[i]
		if k.limit.Off() {
			continue
		}
		n := b.pending[k.key]
		for _, t := range b.events[k.key] {
			if now.Sub(t) < k.limit.Per {
				n++
			}
		}
		if n+1 > k.limit.Count {
			return k, n
		}
	}
	for _, k := range keys {
		b.pending[k.key]++
	}
	return nil, 0
}

// release gives back held calls that were not placed.
func (b *rateBook) release(keys []rateKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		if b.pending[k.key]--; b.pending[k.key] <= 0 {
			delete(b.pending, k.key)
		}
	}
}

// commit turns held calls into accepted ones, now; events older than the
// horizon are dropped on the way.
func (b *rateBook) commit(keys []rateKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for _, k := range keys {
		if b.pending[k.key]--; b.pending[k.key] <= 0 {
			delete(b.pending, k.key)
		}
		ts := b.events[k.key]
		i := 0
		for i < len(ts) && now.Sub(ts[i]) >= b.horizon {
			i++
		}
		b.events[k.key] = append(ts[i:], now)
	}
}
