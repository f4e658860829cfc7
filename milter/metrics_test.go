package milter_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
)

// TestMetrics runs four transactions through the filter and reads the
// exposition back with the Prometheus text parser.
func TestMetrics(t *testing.T) {
	m := milter.NewMetrics()
	f, err := milter.New(milter.Options{TempDir: t.TempDir()}, testengine.Engine{}, slog.New(slog.DiscardHandler), m)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{
		"From: a@example.org\n\nplain\n",
		"From: a@example.org\nX-Test-Action: add-header\n\nx\n",
		"From: a@example.org\nX-Test-Action: reject\n\nx\n",
		"From: a@example.org\nX-Test-Action: panic\n\nx\n",
	} {
		if _, err := f.Offline(context.Background(), "", []string{"b@example.net"}, strings.NewReader(msg), nil); err != nil {
			t.Fatal(err)
		}
	}

	srv := httptest.NewServer(m)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}

	got := map[string]float64{}
	for _, mf := range fams["vpim_milter_transactions_total"].GetMetric() {
		var path, verdict string
		for _, l := range mf.GetLabel() {
			switch l.GetName() {
			case "path":
				path = l.GetValue()
			case "verdict":
				verdict = l.GetValue()
			}
		}
		got[path+"/"+verdict] = mf.GetCounter().GetValue()
	}
	want := map[string]float64{
		"fast/accept": 1, "full/modify": 1, "full/reject": 1, "full/tempfail": 1,
		"fast/modify": 0, "fast/reject": 0, "fast/tempfail": 0, "fast/quarantine": 0,
		"full/accept": 0, "full/quarantine": 0,
	}
	if len(got) != len(want) {
		t.Errorf("%d transaction series, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("transactions %s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if e := fams["vpim_milter_errors_total"].GetMetric(); len(e) != 1 || e[0].GetCounter().GetValue() != 1 {
		t.Errorf("errors_total = %v, want one series of 1", e)
	}

	h := fams["vpim_milter_transaction_seconds"]
	if h.GetType().String() != "HISTOGRAM" || len(h.GetMetric()) != 2 {
		t.Fatalf("transaction_seconds: type %v, %d series; want HISTOGRAM, 2 (fast, full)", h.GetType(), len(h.GetMetric()))
	}
	counts := map[string]uint64{}
	for _, s := range h.GetMetric() {
		hs := s.GetHistogram()
		counts[s.GetLabel()[0].GetValue()] = hs.GetSampleCount()
		if n := len(hs.GetBucket()); n != 11 {
			t.Errorf("%d buckets, want 11 (10 bounds and +Inf)", n)
		}
		prev := uint64(0)
		for _, b := range hs.GetBucket() {
			if b.GetCumulativeCount() < prev {
				t.Errorf("buckets not cumulative: %v", hs.GetBucket())
			}
			prev = b.GetCumulativeCount()
		}
		if prev != hs.GetSampleCount() || hs.GetSampleSum() <= 0 {
			t.Errorf("bucket %d vs count %d, sum %v", prev, hs.GetSampleCount(), hs.GetSampleSum())
		}
	}
	if counts["fast"] != 1 || counts["full"] != 3 {
		t.Errorf("histogram counts %v, want fast 1, full 3", counts)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if g := fams[name].GetMetric(); len(g) != 1 || g[0].GetGauge().GetValue() <= 0 {
			t.Errorf("%s = %v, want one positive gauge", name, g)
		}
	}
}

// TestMetricsMethods refuses what a scraper never sends.
func TestMetricsMethods(t *testing.T) {
	m := milter.NewMetrics()
	for _, tc := range []struct {
		method string
		code   int
		body   bool
	}{{"GET", 200, true}, {"HEAD", 200, false}, {"POST", 405, false}} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(tc.method, "/metrics", nil))
		if rec.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.method, rec.Code, tc.code)
		}
		if has := bytes.Contains(rec.Body.Bytes(), []byte("# TYPE vpim_milter_errors_total counter")); has != tc.body {
			t.Errorf("%s: body has metrics = %v, want %v", tc.method, has, tc.body)
		}
	}
}

// ExampleMetrics_WriteText shows the counter part of a fresh exposition.
func ExampleMetrics_WriteText() {
	var b bytes.Buffer
	_ = milter.NewMetrics().WriteText(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "vpim_milter_errors_total") || strings.HasPrefix(line, "vpim_milter_transactions_total{path=\"fast\"") {
			fmt.Println(line)
		}
	}
	// Output:
	// vpim_milter_errors_total 0
	// vpim_milter_transactions_total{path="fast",verdict="accept"} 0
	// vpim_milter_transactions_total{path="fast",verdict="modify"} 0
	// vpim_milter_transactions_total{path="fast",verdict="reject"} 0
	// vpim_milter_transactions_total{path="fast",verdict="tempfail"} 0
	// vpim_milter_transactions_total{path="fast",verdict="quarantine"} 0
}
