package milter

import (
	"cmp"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/promtext"
	"github.com/vpim-milter/vpim-milter/profile"
)

// Metrics counts the filter's transactions and exposes them in the
// Prometheus text exposition format (version 0.0.4). It is a handful of
// atomic counters written out with internal/promtext: the Prometheus client
// library would add protobuf, procfs and YAML to the binary and ~5 ms to
// the start-up of every command (measured; it made `vpim-milter transcode`
// slower than sox on short files). The exposition is checked against the
// Prometheus parser in the tests.
//
// The zero value is not usable; use NewMetrics. All methods are safe for
// concurrent use.
type Metrics struct {
	start time.Time
	// transactions[verdict][path]
	transactions [len(metricVerdicts)][2]atomic.Uint64
	errors       atomic.Uint64
	// duration[path]
	duration [2]histogram
	// decisions counts evaluated messages (and recipients the profile refused) by
	// mode, the verdict of enforce mode and the condition behind it: in report mode
	// what enforce would have done.
	mu        sync.Mutex
	decisions map[decisionKey]uint64
}

// decisionKey is one series of vpim_milter_decisions_total.
type decisionKey struct {
	mode      Mode
	verdict   profile.Verdict
	condition string
}

// metricVerdicts are the verdict label values, in exposition order.
var metricVerdicts = [...]profile.Verdict{
	profile.VerdictAccept, profile.VerdictModify, profile.VerdictReject,
	profile.VerdictTempfail, profile.VerdictQuarantine,
}

// metricPaths are the path label values: index 0 fast, 1 full.
var metricPaths = [2]string{"fast", "full"}

// durationBuckets are the upper bounds (seconds) of the transaction
// duration histogram: 0.5 ms × 4^k, k = 0..9 (0.5 ms … 131 s).
var durationBuckets = [...]float64{0.0005, 0.002, 0.008, 0.032, 0.128, 0.512, 2.048, 8.192, 32.768, 131.072}

// histogram is a fixed-bucket histogram with non-cumulative counts
// (made cumulative when written out) and the sum kept in nanoseconds, so
// updates are lock-free integer adds.
type histogram struct {
	counts [len(durationBuckets) + 1]atomic.Uint64 // last: above every bound
	sumNS  atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(durationBuckets) && s > durationBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{start: time.Now()}
}

func (m *Metrics) observe(res Result, d time.Duration) {
	path := 1
	if res.FastPath {
		path = 0
	}
	for i, v := range metricVerdicts {
		if v == res.Verdict {
			m.transactions[i][path].Add(1)
			break
		}
	}
	m.duration[path].observe(d)
	if res.Err != nil {
		m.errors.Add(1)
	}
	if res.Mode != "" && res.Would != "" {
		m.decide(decisionKey{res.Mode, res.Would, string(res.Condition)})
	}
}

// observeRcpt counts a recipient the profile refused (a 5xx with its rule), carried out
// or, in report mode, not: condition is the rule in lower case ("v2-addr-nmu").
func (m *Metrics) observeRcpt(ref RcptRefusal) {
	if ref.Rule == "" || ref.Reply.Code < 500 {
		return
	}
	mode := ModeEnforce
	if ref.Report {
		mode = ModeReport
	}
	m.decide(decisionKey{mode, profile.VerdictReject, strings.ToLower(string(ref.Rule))})
}

func (m *Metrics) decide(k decisionKey) {
	if k.condition == "" {
		k.condition = "none"
	}
	m.mu.Lock()
	if m.decisions == nil {
		m.decisions = map[decisionKey]uint64{}
	}
	m.decisions[k]++
	m.mu.Unlock()
}

// ServeHTTP writes the metrics for a Prometheus scrape.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	promtext.Handler(m).ServeHTTP(w, r)
}

// WriteText writes every metric in the Prometheus text format, families
// sorted by name, series in a fixed order.
func (m *Metrics) WriteText(w io.Writer) error {
	var e promtext.Exposition
	m.Collect(&e)
	_, err := e.WriteTo(w)
	return err
}

// Collect adds the filter's families to e (promtext.Collector), so one
// scrape can carry them together with other packages' families. Besides the
// vpim_milter_ families they are go_goroutines and process_start_time_seconds,
// which no other collector may write.
func (m *Metrics) Collect(e *promtext.Exposition) {
	e.Family("go_goroutines", promtext.Gauge, "Number of goroutines that currently exist.")
	e.Int(int64(runtime.NumGoroutine()))

	e.Family("process_start_time_seconds", promtext.Gauge, "Start time of the process since unix epoch in seconds.")
	e.Float(float64(m.start.UnixNano()) / 1e9)

	e.Family("vpim_milter_errors_total", promtext.Counter, "Transactions that hit an internal error (tempfailed or accepted per error_action).")
	e.Uint(m.errors.Load())

	e.Family("vpim_milter_transaction_seconds", promtext.Histogram, "Time from MAIL FROM to the final verdict.")
	for p, path := range metricPaths {
		h := &m.duration[p]
		var counts [len(durationBuckets) + 1]uint64
		for i := range counts {
			counts[i] = h.counts[i].Load()
		}
		e.Histogram(durationBuckets[:], counts[:], float64(h.sumNS.Load())/1e9, promtext.L("path", path))
	}

	e.Family("vpim_milter_decisions_total", promtext.Counter, "Evaluated messages, and recipients the profile refused, by mode (enforce, report), the verdict of enforce mode (in report mode what it would have been) and the condition behind it (none when nothing decided).")
	m.mu.Lock()
	keys := slices.SortedFunc(maps.Keys(m.decisions), func(a, b decisionKey) int {
		return cmp.Or(cmp.Compare(a.condition, b.condition), cmp.Compare(a.mode, b.mode), cmp.Compare(a.verdict, b.verdict))
	})
	counts := make([]uint64, len(keys))
	for i, k := range keys {
		counts[i] = m.decisions[k]
	}
	m.mu.Unlock()
	for i, k := range keys {
		e.Uint(counts[i], promtext.L("condition", k.condition), promtext.L("mode", string(k.mode)), promtext.L("verdict", string(k.verdict)))
	}

	e.Family("vpim_milter_transactions_total", promtext.Counter, "Transactions by verdict (accept, modify, reject, tempfail, quarantine) and path (fast, full).")
	for p, path := range metricPaths {
		for i, v := range metricVerdicts {
			e.Uint(m.transactions[i][p].Load(), promtext.L("path", path), promtext.L("verdict", string(v)))
		}
	}
}
