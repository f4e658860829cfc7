package promtext_test

import (
	"fmt"
	"math"
	"os"

	"github.com/vpim-milter/vpim-milter/internal/promtext"
)

// ExampleExposition writes a counter with escaped label values, a gauge
// and a histogram. The families come out sorted by name.
func ExampleExposition() {
	var e promtext.Exposition
	e.Family("calls_total", promtext.Counter, "Calls by result.")
	e.Uint(3, promtext.L("result", "busy"))
	e.Uint(1, promtext.L("result", `odd "quoted" \ value`))

	e.Family("call_seconds", promtext.Histogram, "Call duration.")
	// 1 call up to 1 s, 2 up to 10 s, none up to 60 s, 1 longer.
	e.Histogram([]float64{1, 10, 60}, []uint64{1, 2, 0, 1}, 95.5)

	e.Family("backlog", promtext.Gauge, "Jobs waiting.\nUpdated at scrape time.")
	e.Float(math.Inf(1))

	if _, err := e.WriteTo(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// # HELP backlog Jobs waiting.\nUpdated at scrape time.
	// # TYPE backlog gauge
	// backlog +Inf
	// # HELP call_seconds Call duration.
	// # TYPE call_seconds histogram
	// call_seconds_bucket{le="1"} 1
	// call_seconds_bucket{le="10"} 3
	// call_seconds_bucket{le="60"} 3
	// call_seconds_bucket{le="+Inf"} 4
	// call_seconds_sum 95.5
	// call_seconds_count 4
	// # HELP calls_total Calls by result.
	// # TYPE calls_total counter
	// calls_total{result="busy"} 3
	// calls_total{result="odd \"quoted\" \\ value"} 1
}
