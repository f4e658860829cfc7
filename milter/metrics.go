package milter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the filter's Prometheus metrics, registered on a registry the
// caller owns (never the global default one).
type Metrics struct {
	transactions *prometheus.CounterVec
	errors       prometheus.Counter
	duration     *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpim_milter_transactions_total",
			Help: "Transactions by verdict (accept, modify, reject, tempfail, quarantine) and path (fast, full).",
		}, []string{"verdict", "path"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vpim_milter_errors_total",
			Help: "Transactions that hit an internal error (tempfailed or accepted per error_action).",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpim_milter_transaction_seconds",
			Help:    "Time from MAIL FROM to the final verdict.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"path"}),
	}
	for _, c := range []prometheus.Collector{m.transactions, m.errors, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(res Result, d time.Duration) {
	path := "full"
	if res.FastPath {
		path = "fast"
	}
	m.transactions.WithLabelValues(string(res.Verdict), path).Inc()
	m.duration.WithLabelValues(path).Observe(d.Seconds())
	if res.Err != nil {
		m.errors.Inc()
	}
}
