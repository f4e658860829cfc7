package telephony

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpim-milter/vpim-milter/internal/promtext"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// scrape writes m's families, checks that the Prometheus text parser reads
// them, and returns every sample as `name{label="value"}` → value.
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	var e promtext.Exposition
	m.Collect(&e)
	var b bytes.Buffer
	_, err := e.WriteTo(&b)
	tcheck(t, err, "write exposition")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, b.String())
	}
	got := map[string]float64{}
	for name, mf := range fams {
		if !strings.HasPrefix(name, "vpim_bridge_") {
			t.Errorf("family %s lacks the vpim_bridge_ prefix", name)
		}
		for _, s := range mf.GetMetric() {
			key := name
			var ls []string
			for _, l := range s.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if len(ls) > 0 {
				sort.Strings(ls)
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch mf.GetType().String() {
			case "COUNTER":
				got[key] = s.GetCounter().GetValue()
			case "GAUGE":
				got[key] = s.GetGauge().GetValue()
			default:
				t.Errorf("family %s: unexpected type %v", name, mf.GetType())
			}
		}
	}
	return got
}

// zeroMetrics is every series of a fresh worker with an empty spool.
func zeroMetrics() map[string]float64 {
	m := map[string]float64{
		"vpim_bridge_calls_in_progress":  0,
		"vpim_bridge_jobs_claimed_total": 0,
	}
	for _, r := range []string{"delivered", "busy", "no-answer", "temp-failure", "perm-failure", "interrupted"} {
		m[`vpim_bridge_attempts_total{result="`+r+`"}`] = 0
	}
	for _, a := range []string{"failed", "delayed", "delivered"} {
		m[`vpim_bridge_dsns_sent_total{action="`+a+`"}`] = 0
		m[`vpim_bridge_dsn_errors_total{action="`+a+`"}`] = 0
	}
	for _, o := range []string{"done", "failed", "expired", "damaged"} {
		m[`vpim_bridge_jobs_finished_total{outcome="`+o+`"}`] = 0
	}
	for _, s := range []string{"done", "failed"} {
		m[`vpim_bridge_jobs_pruned_total{state="`+s+`"}`] = 0
	}
	for _, s := range []string{"new", "active", "done", "failed"} {
		m[`vpim_bridge_spool_jobs{state="`+s+`"}`] = 0
	}
	return m
}

// compareMetrics fails unless got holds exactly the series of want.
func compareMetrics(t *testing.T, got, want map[string]float64) {
	t.Helper()
	var diff []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s missing, want %v", k, w))
		} else if g != w {
			diff = append(diff, fmt.Sprintf("%s = %v, want %v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s = %v not expected", k, g))
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		t.Fatalf("metrics:\n%s", strings.Join(diff, "\n"))
	}
}

// waitFiled waits until job id is in done/ or failed/ (without reading it).
func waitFiled(t *testing.T, s *Spool, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, st := range []string{"done", "failed"} {
			if _, err := os.Stat(filepath.Join(s.Dir(), st, id)); err == nil {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s not filed", id)
}

// TestBridgeMetrics runs one job per case through the worker with the
// scripted back-end, stops the worker once the job is filed, and compares
// every vpim_bridge_ series with the exact values expected.
func TestBridgeMetrics(t *testing.T) {
	t.Parallel()
	busy := SIPStatusError(486, "Busy Here")
	tests := []struct {
		name   string
		errs   []error
		notify string
		opts   func(o *Options, t *testing.T)
		setup  func(t *testing.T, s *Spool, id string)
		want   map[string]float64 // series that are not zero
	}{
		{
			name: "busy then answered",
			errs: []error{busy, nil},
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="busy"}`:       1,
				`vpim_bridge_attempts_total{result="delivered"}`:  1,
				`vpim_bridge_jobs_claimed_total`:                  2,
				`vpim_bridge_jobs_finished_total{outcome="done"}`: 1,
				`vpim_bridge_spool_jobs{state="done"}`:            1,
			},
		},
		{
			name:   "answered, NOTIFY=SUCCESS",
			errs:   []error{nil},
			notify: "SUCCESS",
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="delivered"}`:  1,
				`vpim_bridge_jobs_claimed_total`:                  1,
				`vpim_bridge_dsns_sent_total{action="delivered"}`: 1,
				`vpim_bridge_jobs_finished_total{outcome="done"}`: 1,
				`vpim_bridge_spool_jobs{state="done"}`:            1,
			},
		},
		{
			name: "unknown number",
			errs: []error{SIPStatusError(404, "Not Found")},
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="perm-failure"}`: 1,
				`vpim_bridge_jobs_claimed_total`:                    1,
				`vpim_bridge_dsns_sent_total{action="failed"}`:      1,
				`vpim_bridge_jobs_finished_total{outcome="failed"}`: 1,
				`vpim_bridge_spool_jobs{state="failed"}`:            1,
			},
		},
		{
			name: "no answer past expiry",
			errs: []error{SIPStatusError(480, "Temporarily Unavailable")},
			opts: func(o *Options, t *testing.T) { o.Retry = []time.Duration{time.Hour} },
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="no-answer"}`:     1,
				`vpim_bridge_jobs_claimed_total`:                     1,
				`vpim_bridge_dsns_sent_total{action="failed"}`:       1,
				`vpim_bridge_jobs_finished_total{outcome="expired"}`: 1,
				`vpim_bridge_spool_jobs{state="failed"}`:             1,
			},
		},
		{
			name: "temporary failure, delay DSN, answered",
			errs: []error{SIPStatusError(503, "Service Unavailable"), nil},
			opts: func(o *Options, t *testing.T) { o.DSN.DelayAfter = time.Nanosecond },
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="temp-failure"}`: 1,
				`vpim_bridge_attempts_total{result="delivered"}`:    1,
				`vpim_bridge_jobs_claimed_total`:                    2,
				`vpim_bridge_dsns_sent_total{action="delayed"}`:     1,
				`vpim_bridge_jobs_finished_total{outcome="done"}`:   1,
				`vpim_bridge_spool_jobs{state="done"}`:              1,
			},
		},
		{
			// Five submissions (one per claim), then the job is filed anyway.
			name: "MTA down for the DSN",
			errs: []error{SIPStatusError(404, "Not Found")},
			opts: func(o *Options, t *testing.T) { o.DSN.SMTPAddr = "127.0.0.1:" + itoa(testport.Reserve(t, 1).Port(0)) },
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="perm-failure"}`: 1,
				`vpim_bridge_jobs_claimed_total`:                    5,
				`vpim_bridge_dsn_errors_total{action="failed"}`:     5,
				`vpim_bridge_jobs_finished_total{outcome="failed"}`: 1,
				`vpim_bridge_spool_jobs{state="failed"}`:            1,
			},
		},
		{
			name: "old jobs pruned at start",
			errs: []error{nil},
			setup: func(t *testing.T, s *Spool, id string) {
				mkJob(t, s, "done", "old-done", time.Now().Add(-8*24*time.Hour))
				mkJob(t, s, "failed", "old-failed", time.Now().Add(-31*24*time.Hour))
				mkJob(t, s, "failed", "recent-failed", time.Now().Add(-24*time.Hour))
			},
			want: map[string]float64{
				`vpim_bridge_attempts_total{result="delivered"}`:  1,
				`vpim_bridge_jobs_claimed_total`:                  1,
				`vpim_bridge_jobs_finished_total{outcome="done"}`: 1,
				`vpim_bridge_jobs_pruned_total{state="done"}`:     1,
				`vpim_bridge_jobs_pruned_total{state="failed"}`:   1,
				`vpim_bridge_spool_jobs{state="done"}`:            1,
				`vpim_bridge_spool_jobs{state="failed"}`:          1,
			},
		},
		{
			name: "damaged job",
			errs: []error{nil},
			setup: func(t *testing.T, s *Spool, id string) {
				tcheck(t, os.WriteFile(filepath.Join(s.Dir(), "new", id, "job.json"), []byte("{trunc"), 0o640), "damage")
			},
			want: map[string]float64{
				`vpim_bridge_jobs_finished_total{outcome="damaged"}`: 1,
				`vpim_bridge_spool_jobs{state="failed"}`:             1,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := newSMTPSink(t)
			s, err := OpenSpool(t.TempDir())
			tcheck(t, err, "spool")
			meta := testMeta()
			meta.Notify = tc.notify
			id, err := s.Enqueue(meta, bytes.NewReader(pcmRamp(80)), 80)
			tcheck(t, err, "enqueue")
			if tc.setup != nil {
				tc.setup(t, s, id)
			}
			m := NewMetrics(s)
			m.scanEvery = 0
			compareMetrics(t, scrape(t, m), merge(zeroMetrics(), map[string]float64{
				`vpim_bridge_spool_jobs{state="new"}`:    1,
				`vpim_bridge_spool_jobs{state="done"}`:   float64(len(listOrEmpty(t, s, "done"))),
				`vpim_bridge_spool_jobs{state="failed"}`: float64(len(listOrEmpty(t, s, "failed"))),
			}))

			opts := fastOpts(sink)
			if tc.opts != nil {
				tc.opts(&opts, t)
			}
			opts.Metrics = m
			b, err := NewWithBackend(opts, s, &scripted{errs: tc.errs}, testLogger(t))
			tcheck(t, err, "bridge")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- b.Run(ctx) }()
			waitFiled(t, s, id)
			cancel()
			tcheck(t, <-done, "run")
			compareMetrics(t, scrape(t, m), merge(zeroMetrics(), tc.want))
		})
	}
}

func merge(base, over map[string]float64) map[string]float64 {
	for k, v := range over {
		base[k] = v
	}
	return base
}

func listOrEmpty(t *testing.T, s *Spool, state string) []string {
	t.Helper()
	ids, err := s.List(state)
	tcheck(t, err, "list "+state)
	return ids
}

// TestMetricsCallInProgress: while the back-end is in a call, the call and
// its job in active/ show up in the gauges.
func TestMetricsCallInProgress(t *testing.T) {
	t.Parallel()
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	id, err := s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	m := NewMetrics(s)
	m.scanEvery = 0
	inCall, hangUp := make(chan struct{}), make(chan struct{})
	be := BackendFunc(func(ctx context.Context, j *Job) error {
		close(inCall)
		<-hangUp
		return nil
	})
	b, err := NewWithBackend(Options{Poll: 10 * time.Millisecond, Metrics: m}, s, be, testLogger(t))
	tcheck(t, err, "bridge")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-inCall
	compareMetrics(t, scrape(t, m), merge(zeroMetrics(), map[string]float64{
		`vpim_bridge_calls_in_progress`:          1,
		`vpim_bridge_jobs_claimed_total`:         1,
		`vpim_bridge_spool_jobs{state="active"}`: 1,
	}))
	close(hangUp)
	waitFiled(t, s, id)
	cancel()
	tcheck(t, <-done, "run")
	compareMetrics(t, scrape(t, m), merge(zeroMetrics(), map[string]float64{
		`vpim_bridge_attempts_total{result="delivered"}`:  1,
		`vpim_bridge_jobs_claimed_total`:                  1,
		`vpim_bridge_jobs_finished_total{outcome="done"}`: 1,
		`vpim_bridge_spool_jobs{state="done"}`:            1,
	}))
}

// TestMetricsSpoolScan: the spool is counted at most once per scanEvery,
// dot-names and files are not jobs, an unreadable state directory has no
// series, and without a spool there are no spool series at all.
func TestMetricsSpoolScan(t *testing.T) {
	t.Parallel()
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	for i := range 600 { // more than one ReadDir batch; count needs no job.json
		tcheck(t, os.Mkdir(filepath.Join(s.Dir(), "done", fmt.Sprintf("j%04d", i)), 0o750), "mkdir job")
	}
	tcheck(t, os.Mkdir(filepath.Join(s.Dir(), "done", ".prune-x"), 0o750), "dot dir")
	tcheck(t, os.WriteFile(filepath.Join(s.Dir(), "done", "stray"), nil, 0o640), "file")

	m := NewMetrics(s)
	tcompare(t, m.scanEvery, 5*time.Second, "default scan interval")
	m.scanEvery = time.Hour
	want := merge(zeroMetrics(), map[string]float64{`vpim_bridge_spool_jobs{state="done"}`: 600})
	compareMetrics(t, scrape(t, m), want)

	_, err = s.Enqueue(testMeta(), bytes.NewReader(pcmRamp(80)), 80)
	tcheck(t, err, "enqueue")
	compareMetrics(t, scrape(t, m), want) // within scanEvery: the last counts

	m.mu.Lock()
	m.scanEvery = 0
	m.mu.Unlock()
	tcheck(t, os.RemoveAll(filepath.Join(s.Dir(), "failed")), "remove failed/")
	want[`vpim_bridge_spool_jobs{state="new"}`] = 1
	delete(want, `vpim_bridge_spool_jobs{state="failed"}`)
	compareMetrics(t, scrape(t, m), want)

	want = zeroMetrics()
	for _, st := range []string{"new", "active", "done", "failed"} {
		delete(want, `vpim_bridge_spool_jobs{state="`+st+`"}`)
	}
	compareMetrics(t, scrape(t, NewMetrics(nil)), want)
}

// TestMetricsNil: a nil *Metrics counts nothing and does not panic.
func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.jobClaimed()
	m.attempt(OutcomeBusy)
	m.jobFinished(finishedDone)
	m.dsnSubmitted(dsnActionFailed, nil)
	m.prunedJobs(1, 2)
	called := false
	tcheck(t, m.call(func() error { called = true; return nil }), "call")
	tcompare(t, called, true, "deliver called")
}
