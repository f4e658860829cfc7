package telephony

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/promtext"
)

// Metrics counts what the bridge worker does, for Prometheus: jobs claimed,
// attempts by result, jobs finished by outcome, DSNs, pruned jobs, and, read
// when scraped, the calls in progress and the jobs in each spool state. Its
// families are named vpim_bridge_*; Collect adds them to a scrape.
//
// Give it to the worker in Options.Metrics; a nil *Metrics counts nothing.
// The zero value is not usable; use NewMetrics. All methods are safe for
// concurrent use.
type Metrics struct {
	spool *Spool // read at scrape time; nil: no vpim_bridge_spool_jobs series

	claimed    atomic.Uint64
	attempts   [len(metricResults)]atomic.Uint64
	finished   [len(metricOutcomes)]atomic.Uint64
	dsnSent    [len(metricDSNActions)]atomic.Uint64
	dsnErrors  [len(metricDSNActions)]atomic.Uint64
	pruned     [2]atomic.Uint64 // done/, failed/
	inProgress atomic.Int64

	// scanEvery is the shortest time between two counts of the spool
	// directories; scrapes in between get the last counts.
	scanEvery time.Duration
	mu        sync.Mutex // guards what follows and serialises the scans
	scanned   time.Time  // zero: never
	counts    [len(metricStates)]int
	countOK   [len(metricStates)]bool
}

// spoolScanEvery bounds the cost of the spool gauges: whatever the number
// of scrapers, the four state directories are read at most once per this
// interval. A scan reads directory entries in batches without sorting or
// stat(2), so done/ with a week of jobs costs milliseconds, not memory.
const spoolScanEvery = 5 * time.Second

// metricResults are the result label values of vpim_bridge_attempts_total:
// the attempt outcomes of the worker (Outcome), in exposition order.
var metricResults = [...]Outcome{OutcomeDelivered, OutcomeBusy, OutcomeNoAnswer, OutcomeTempFailure, OutcomePermFailure, OutcomeInterrupted}

// Outcome label values of vpim_bridge_jobs_finished_total.
const (
	finishedDone    = "done"    // delivered, filed in done/
	finishedFailed  = "failed"  // permanent failure, filed in failed/
	finishedExpired = "expired" // temporary failures until Expire, filed in failed/
	finishedDamaged = "damaged" // unreadable job.json, filed in failed/ without a call
)

var metricOutcomes = [...]string{finishedDone, finishedFailed, finishedExpired, finishedDamaged}

// Action label values of the DSN families: the RFC 3464 Action of the DSN.
const (
	dsnActionFailed    = "failed"
	dsnActionDelayed   = "delayed"
	dsnActionDelivered = "delivered"
)

var metricDSNActions = [...]string{dsnActionFailed, dsnActionDelayed, dsnActionDelivered}

// metricStates are the state label values of vpim_bridge_spool_jobs.
var metricStates = [...]string{dirNew, dirActive, dirDone, dirFailed}

// NewMetrics returns zeroed metrics whose spool gauges count the jobs in
// spool (nil: no spool gauges); pass the worker's spool.
func NewMetrics(spool *Spool) *Metrics {
	return &Metrics{spool: spool, scanEvery: spoolScanEvery}
}

// jobClaimed counts a job moved from new/ to active/.
func (m *Metrics) jobClaimed() {
	if m != nil {
		m.claimed.Add(1)
	}
}

// call runs one delivery attempt, counted as in progress while it runs.
func (m *Metrics) call(deliver func() error) error {
	if m != nil {
		m.inProgress.Add(1)
		defer m.inProgress.Add(-1)
	}
	return deliver()
}

// attempt counts a finished delivery attempt by its outcome.
func (m *Metrics) attempt(o Outcome) {
	if m == nil {
		return
	}
	for i, r := range metricResults {
		if r == o {
			m.attempts[i].Add(1)
			return
		}
	}
}

// jobFinished counts a job filed in done/ or failed/, with outcome one of
// the finished* constants.
func (m *Metrics) jobFinished(outcome string) {
	if m == nil {
		return
	}
	for i, o := range metricOutcomes {
		if o == outcome {
			m.finished[i].Add(1)
			return
		}
	}
}

// dsnSubmitted counts a DSN submission with the given action, sent when
// err is nil.
func (m *Metrics) dsnSubmitted(action string, err error) {
	if m == nil {
		return
	}
	for i, a := range metricDSNActions {
		if a == action {
			if err != nil {
				m.dsnErrors[i].Add(1)
			} else {
				m.dsnSent[i].Add(1)
			}
			return
		}
	}
}

// prunedJobs counts jobs removed by Spool.Prune.
func (m *Metrics) prunedJobs(done, failed int) {
	if m != nil {
		m.pruned[0].Add(uint64(done))
		m.pruned[1].Add(uint64(failed))
	}
}

// Collect adds the vpim_bridge_* families to e (promtext.Collector). The
// spool is counted now, or at most spoolScanEvery ago; a state directory
// that cannot be read has no vpim_bridge_spool_jobs series in this scrape.
func (m *Metrics) Collect(e *promtext.Exposition) {
	e.Family("vpim_bridge_attempts_total", promtext.Counter,
		"Delivery attempts by result: delivered (answered and played), busy, no-answer and temp-failure (retried), perm-failure (final). Attempts cut short by a shutdown are not counted.")
	for i, r := range metricResults {
		e.Uint(m.attempts[i].Load(), promtext.L("result", string(r)))
	}

	e.Family("vpim_bridge_calls_in_progress", promtext.Gauge, "Delivery attempts (calls) running now.")
	e.Int(m.inProgress.Load())

	e.Family("vpim_bridge_dsn_errors_total", promtext.Counter, "DSN submissions to the MTA that failed, by action (failed, delayed, delivered); they are retried.")
	for i, a := range metricDSNActions {
		e.Uint(m.dsnErrors[i].Load(), promtext.L("action", a))
	}

	e.Family("vpim_bridge_dsns_sent_total", promtext.Counter, "DSNs submitted to the MTA, by action (failed, delayed, delivered).")
	for i, a := range metricDSNActions {
		e.Uint(m.dsnSent[i].Load(), promtext.L("action", a))
	}

	e.Family("vpim_bridge_jobs_claimed_total", promtext.Counter, "Jobs claimed from new/ for an attempt or a DSN retry; a retried job is claimed again.")
	e.Uint(m.claimed.Load())

	e.Family("vpim_bridge_jobs_finished_total", promtext.Counter,
		"Jobs filed in done/ or failed/ by outcome: done (delivered), failed (permanent failure), expired (retried until telephony.expire), damaged (unreadable job.json).")
	for i, o := range metricOutcomes {
		e.Uint(m.finished[i].Load(), promtext.L("outcome", o))
	}

	e.Family("vpim_bridge_jobs_pruned_total", promtext.Counter, "Finished jobs removed from done/ and failed/ after keep_done and keep_failed.")
	for i, s := range [...]string{dirDone, dirFailed} {
		e.Uint(m.pruned[i].Load(), promtext.L("state", s))
	}

	e.Family("vpim_bridge_spool_jobs", promtext.Gauge, "Jobs in each spool state directory (new, active, done, failed), counted at most 5 s before the scrape.")
	counts, ok := m.spoolCounts()
	for i, s := range metricStates {
		if ok[i] {
			e.Int(int64(counts[i]), promtext.L("state", s))
		}
	}
}

// spoolCounts returns the job count per metricStates entry and whether it
// could be read, scanning the spool unless it was scanned less than
// scanEvery ago.
func (m *Metrics) spoolCounts() ([len(metricStates)]int, [len(metricStates)]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spool == nil {
		return m.counts, m.countOK
	}
	if now := time.Now(); m.scanned.IsZero() || now.Sub(m.scanned) >= m.scanEvery {
		for i, s := range metricStates {
			n, err := m.spool.count(s)
			m.counts[i], m.countOK[i] = n, err == nil
		}
		m.scanned = now
	}
	return m.counts, m.countOK
}

// count returns the number of jobs in a state directory, as List would
// list them (directories not starting with "."), reading the directory in
// batches so that memory stays bounded however many jobs it holds.
func (s *Spool) count(state string) (int, error) {
	d, err := os.Open(filepath.Join(s.dir, state))
	if err != nil {
		return 0, fmt.Errorf("telephony: spool: %w", err)
	}
	defer d.Close()
	n := 0
	for {
		ents, err := d.ReadDir(512)
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("telephony: spool: count %s: %w", state, err)
		}
	}
}
