package milter_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := milter.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
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
	want := `
# HELP vpim_milter_errors_total Transactions that hit an internal error (tempfailed or accepted per error_action).
# TYPE vpim_milter_errors_total counter
vpim_milter_errors_total 1
# HELP vpim_milter_transactions_total Transactions by verdict (accept, modify, reject, tempfail, quarantine) and path (fast, full).
# TYPE vpim_milter_transactions_total counter
vpim_milter_transactions_total{path="fast",verdict="accept"} 1
vpim_milter_transactions_total{path="full",verdict="modify"} 1
vpim_milter_transactions_total{path="full",verdict="reject"} 1
vpim_milter_transactions_total{path="full",verdict="tempfail"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vpim_milter_errors_total", "vpim_milter_transactions_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "vpim_milter_transaction_seconds"); n != 2 {
		t.Errorf("%d duration series, want 2 (fast, full)", n)
	}
}
