package promtext_test

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpim-milter/vpim-milter/internal/promtext"
)

// sample is one parsed sample of a counter or gauge family: its labels as
// name=value in the parser's order, and its value.
type sample struct {
	labels string
	value  float64
}

// parsed is what the Prometheus text parser reads back from an exposition.
type parsed struct {
	types   map[string]string   // family → COUNTER, GAUGE, HISTOGRAM
	help    map[string]string   // family → HELP
	samples map[string][]sample // counter and gauge families
	// histograms: family → one entry per series: labels, cumulative bucket
	// counts (+Inf included), sample count and sum.
	histograms map[string][]histogram
}

type histogram struct {
	labels string
	cum    []uint64
	count  uint64
	sum    float64
}

// parse reads an exposition back with the Prometheus text parser.
func parse(t *testing.T, text string) parsed {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	out := parsed{types: map[string]string{}, help: map[string]string{}, samples: map[string][]sample{}, histograms: map[string][]histogram{}}
	for name, mf := range fams {
		typ := mf.GetType().String()
		out.types[name] = typ
		out.help[name] = mf.GetHelp()
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			labels := strings.Join(ls, ",")
			switch typ {
			case "COUNTER":
				out.samples[name] = append(out.samples[name], sample{labels, m.GetCounter().GetValue()})
			case "GAUGE":
				out.samples[name] = append(out.samples[name], sample{labels, m.GetGauge().GetValue()})
			case "HISTOGRAM":
				h := histogram{labels: labels, count: m.GetHistogram().GetSampleCount(), sum: m.GetHistogram().GetSampleSum()}
				for _, b := range m.GetHistogram().GetBucket() {
					h.cum = append(h.cum, b.GetCumulativeCount())
				}
				out.histograms[name] = append(out.histograms[name], h)
			default:
				t.Fatalf("family %s: unexpected type %s", name, typ)
			}
		}
	}
	return out
}

func write(t *testing.T, build func(e *promtext.Exposition)) string {
	t.Helper()
	var e promtext.Exposition
	build(&e)
	var b bytes.Buffer
	n, err := e.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
	return b.String()
}

// TestExposition writes one family per case and compares the exact text,
// then the values the Prometheus parser reads back.
func TestExposition(t *testing.T) {
	tests := []struct {
		name  string
		build func(e *promtext.Exposition)
		text  string
		help  string   // HELP as parsed
		want  []sample // counter or gauge samples as parsed
	}{
		{
			name: "counter without labels",
			build: func(e *promtext.Exposition) {
				e.Family("x_total", promtext.Counter, "Things.")
				e.Uint(42)
			},
			text: "# HELP x_total Things.\n# TYPE x_total counter\nx_total 42\n",
			help: "Things.",
			want: []sample{{"", 42}},
		},
		{
			name: "label values escaped",
			build: func(e *promtext.Exposition) {
				e.Family("x_total", promtext.Counter, "Things.")
				e.Uint(1, promtext.L("path", `C:\dir`), promtext.L("q", `say "hi"`))
				e.Uint(2, promtext.L("path", "two\nlines"), promtext.L("q", "ünï"))
			},
			text: "# HELP x_total Things.\n# TYPE x_total counter\n" +
				`x_total{path="C:\\dir",q="say \"hi\""} 1` + "\n" +
				`x_total{path="two\nlines",q="ünï"} 2` + "\n",
			help: "Things.",
			want: []sample{{`path=C:\dir,q=say "hi"`, 1}, {"path=two\nlines,q=ünï", 2}},
		},
		{
			name: "help escaped, quotes kept",
			build: func(e *promtext.Exposition) {
				e.Family("g", promtext.Gauge, "A \\ back\"slash\nand a newline.")
				e.Int(-3)
			},
			text: "# HELP g A \\\\ back\"slash\\nand a newline.\n# TYPE g gauge\ng -3\n",
			help: "A \\ back\"slash\nand a newline.",
			want: []sample{{"", -3}},
		},
		{
			name: "no help line when empty",
			build: func(e *promtext.Exposition) {
				e.Family("g", promtext.Gauge, "")
				e.Uint(math.MaxUint64)
			},
			text: "# TYPE g gauge\ng 18446744073709551615\n",
			want: []sample{{"", math.MaxUint64}},
		},
		{
			name: "floats as Prometheus writes them",
			build: func(e *promtext.Exposition) {
				e.Family("f", promtext.Gauge, "Floats.")
				for i, v := range []float64{math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -1, 1.5, 1e6, 0.0005, 1.7954597562444463e+09, 123456789012} {
					e.Float(v, promtext.L("i", string(rune('a'+i))))
				}
			},
			text: "# HELP f Floats.\n# TYPE f gauge\n" +
				"f{i=\"a\"} +Inf\nf{i=\"b\"} -Inf\nf{i=\"c\"} 0\nf{i=\"d\"} 0\nf{i=\"e\"} 1\nf{i=\"f\"} -1\n" +
				"f{i=\"g\"} 1.5\nf{i=\"h\"} 1e+06\nf{i=\"i\"} 0.0005\nf{i=\"j\"} 1.7954597562444463e+09\nf{i=\"k\"} 1.23456789012e+11\n",
			help: "Floats.",
			want: []sample{{"i=a", math.Inf(1)}, {"i=b", math.Inf(-1)}, {"i=c", 0}, {"i=d", 0}, {"i=e", 1}, {"i=f", -1},
				{"i=g", 1.5}, {"i=h", 1e6}, {"i=i", 0.0005}, {"i=j", 1.7954597562444463e+09}, {"i=k", 123456789012}},
		},
		{
			name: "family without samples",
			build: func(e *promtext.Exposition) {
				e.Family("empty", promtext.Gauge, "Nothing yet.")
			},
			text: "# HELP empty Nothing yet.\n# TYPE empty gauge\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := write(t, tc.build)
			if got != tc.text {
				t.Fatalf("text:\n%s\nwant:\n%s", got, tc.text)
			}
			p := parse(t, got)
			var names []string
			for name := range p.types {
				names = append(names, name)
			}
			if tc.want == nil {
				if len(names) != 0 {
					t.Errorf("parsed families %v, want none with samples", names)
				}
				return
			}
			if len(names) != 1 {
				t.Fatalf("parsed families %v, want 1", names)
			}
			if h := p.help[names[0]]; h != tc.help {
				t.Errorf("HELP %q, want %q", h, tc.help)
			}
			gs := p.samples[names[0]]
			if len(gs) != len(tc.want) {
				t.Fatalf("samples %v, want %v", gs, tc.want)
			}
			for i := range gs {
				if gs[i] != tc.want[i] {
					t.Errorf("sample %d: %v, want %v", i, gs[i], tc.want[i])
				}
			}
		})
	}
}

// TestNaN is apart because NaN != NaN.
func TestNaN(t *testing.T) {
	got := write(t, func(e *promtext.Exposition) {
		e.Family("f", promtext.Gauge, "")
		e.Float(math.NaN())
	})
	if got != "# TYPE f gauge\nf NaN\n" {
		t.Fatalf("text %q", got)
	}
	if gs := parse(t, got).samples["f"]; len(gs) != 1 || !math.IsNaN(gs[0].value) {
		t.Errorf("parsed %v, want one NaN", gs)
	}
}

// TestHistogram: per-bucket counts become cumulative buckets ending in
// +Inf, with le last among the labels, then _sum and _count.
func TestHistogram(t *testing.T) {
	got := write(t, func(e *promtext.Exposition) {
		e.Family("h_seconds", promtext.Histogram, "Durations.")
		e.Histogram([]float64{0.1, 1, 10}, []uint64{1, 2, 0, 3}, 42.5, promtext.L("path", "a"))
		e.Histogram([]float64{0.1, 1, 10}, []uint64{0, 0, 0, 0}, 0, promtext.L("path", `b"`))
	})
	want := `# HELP h_seconds Durations.
# TYPE h_seconds histogram
h_seconds_bucket{path="a",le="0.1"} 1
h_seconds_bucket{path="a",le="1"} 3
h_seconds_bucket{path="a",le="10"} 3
h_seconds_bucket{path="a",le="+Inf"} 6
h_seconds_sum{path="a"} 42.5
h_seconds_count{path="a"} 6
h_seconds_bucket{path="b\"",le="0.1"} 0
h_seconds_bucket{path="b\"",le="1"} 0
h_seconds_bucket{path="b\"",le="10"} 0
h_seconds_bucket{path="b\"",le="+Inf"} 0
h_seconds_sum{path="b\""} 0
h_seconds_count{path="b\""} 0
`
	if got != want {
		t.Fatalf("text:\n%s\nwant:\n%s", got, want)
	}
	p := parse(t, got)
	if p.types["h_seconds"] != "HISTOGRAM" {
		t.Fatalf("type %q, want HISTOGRAM", p.types["h_seconds"])
	}
	hs := p.histograms["h_seconds"]
	want2 := []histogram{
		{labels: "path=a", cum: []uint64{1, 3, 3, 6}, count: 6, sum: 42.5},
		{labels: `path=b"`, cum: []uint64{0, 0, 0, 0}, count: 0, sum: 0},
	}
	if fmt.Sprint(hs) != fmt.Sprint(want2) {
		t.Errorf("parsed %v, want %v", hs, want2)
	}
}

// TestSortedAndCombined: families come out sorted by name whatever the
// order they were added in, so several collectors share one exposition.
func TestSortedAndCombined(t *testing.T) {
	got := write(t, func(e *promtext.Exposition) {
		e.Family("b_total", promtext.Counter, "B.")
		e.Uint(2)
		e.Family("a", promtext.Gauge, "A.")
		e.Uint(1)
		e.Family("c", promtext.Gauge, "C.")
		e.Uint(3)
	})
	want := "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b_total B.\n# TYPE b_total counter\nb_total 2\n# HELP c C.\n# TYPE c gauge\nc 3\n"
	if got != want {
		t.Fatalf("text:\n%s\nwant:\n%s", got, want)
	}
	if n := len(parse(t, got).types); n != 3 {
		t.Errorf("%d families, want 3", n)
	}
}

// TestErrors: mistakes are reported, the first one sticks, and WriteTo then
// writes nothing.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(e *promtext.Exposition)
		err   string
	}{
		{"bad metric name", func(e *promtext.Exposition) { e.Family("2x", promtext.Gauge, "") }, `promtext: invalid metric name "2x"`},
		{"bad type", func(e *promtext.Exposition) { e.Family("x", "summary", "") }, `promtext: family x: unknown type "summary"`},
		{"duplicate family", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Family("x", promtext.Counter, "")
		}, "promtext: family x written twice"},
		{"sample first", func(e *promtext.Exposition) { e.Uint(1) }, "promtext: sample outside a family"},
		{"bad label name", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Uint(1, promtext.L("a-b", "v"))
		}, `promtext: family x: invalid label name "a-b"`},
		{"reserved label name", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Uint(1, promtext.L("__name__", "v"))
		}, `promtext: family x: invalid label name "__name__"`},
		{"label twice", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Uint(1, promtext.L("a", "1"), promtext.L("a", "2"))
		}, "promtext: family x: label a given twice"},
		{"series twice", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Uint(1, promtext.L("a", "1"), promtext.L("b", "2"))
			e.Uint(2, promtext.L("b", "2"), promtext.L("a", "1"))
		}, `promtext: family x: series {b="2",a="1"} written twice`},
		{"invalid UTF-8", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Uint(1, promtext.L("a", "\xff"))
		}, "promtext: family x: label a: value is not UTF-8"},
		{"histogram sample in gauge", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Histogram(nil, []uint64{0}, 0)
		}, "promtext: family x: histogram sample in a gauge family"},
		{"gauge sample in histogram", func(e *promtext.Exposition) {
			e.Family("x", promtext.Histogram, "")
			e.Float(1)
		}, "promtext: family x: counter or gauge sample in a histogram family"},
		{"le label", func(e *promtext.Exposition) {
			e.Family("x", promtext.Histogram, "")
			e.Histogram([]float64{1}, []uint64{0, 0}, 0, promtext.L("le", "1"))
		}, "promtext: family x: label le is reserved"},
		{"bucket count mismatch", func(e *promtext.Exposition) {
			e.Family("x", promtext.Histogram, "")
			e.Histogram([]float64{1, 2}, []uint64{0, 0}, 0)
		}, "promtext: family x: 2 bucket counts for 2 bounds, want 3 (one above every bound)"},
		{"bounds not increasing", func(e *promtext.Exposition) {
			e.Family("x", promtext.Histogram, "")
			e.Histogram([]float64{1, 1}, []uint64{0, 0, 0}, 0)
		}, "promtext: family x: bucket bounds not increasing: 1 after 1"},
		{"explicit +Inf bound", func(e *promtext.Exposition) {
			e.Family("x", promtext.Histogram, "")
			e.Histogram([]float64{1, math.Inf(1)}, []uint64{0, 0, 0}, 0)
		}, "promtext: family x: bucket bound +Inf (+Inf is implied)"},
		{"first error sticks", func(e *promtext.Exposition) {
			e.Family("x", promtext.Gauge, "")
			e.Uint(1, promtext.L("9", ""))
			e.Family("7", promtext.Gauge, "")
		}, `promtext: family x: invalid label name "9"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e promtext.Exposition
			tc.build(&e)
			if err := e.Err(); err == nil || err.Error() != tc.err {
				t.Fatalf("Err() = %v, want %s", err, tc.err)
			}
			var b bytes.Buffer
			if n, err := e.WriteTo(&b); n != 0 || b.Len() != 0 || err == nil || err.Error() != tc.err {
				t.Errorf("WriteTo = %d, %v and %q; want 0, %s and nothing", n, err, b.String(), tc.err)
			}
		})
	}
}

type collectorFunc func(e *promtext.Exposition)

func (f collectorFunc) Collect(e *promtext.Exposition) { f(e) }

// TestHandler: one scrape carries every collector's families; methods
// other than GET and HEAD are refused; an invalid exposition is a 500, not
// a partial scrape.
func TestHandler(t *testing.T) {
	a := collectorFunc(func(e *promtext.Exposition) { e.Family("z_total", promtext.Counter, "Z."); e.Uint(1) })
	b := collectorFunc(func(e *promtext.Exposition) { e.Family("y", promtext.Gauge, "Y."); e.Uint(2) })
	tests := []struct {
		name       string
		method     string
		collectors []promtext.Collector
		code       int
		ctype      string
		body       string
	}{
		{"get", "GET", []promtext.Collector{a, b}, 200, promtext.ContentType,
			"# HELP y Y.\n# TYPE y gauge\ny 2\n# HELP z_total Z.\n# TYPE z_total counter\nz_total 1\n"},
		{"head", "HEAD", []promtext.Collector{a, b}, 200, promtext.ContentType, ""},
		{"post", "POST", []promtext.Collector{a, b}, 405, "text/plain; charset=utf-8", "method not allowed\n"},
		{"duplicate family", "GET", []promtext.Collector{a, a}, 500, "text/plain; charset=utf-8", "promtext: family z_total written twice\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			promtext.Handler(tc.collectors...).ServeHTTP(rec, httptest.NewRequest(tc.method, "/metrics", nil))
			if rec.Code != tc.code || rec.Header().Get("Content-Type") != tc.ctype || rec.Body.String() != tc.body {
				t.Errorf("got %d %q %q, want %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tc.code, tc.ctype, tc.body)
			}
			if tc.method == "POST" && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
	var _ http.Handler = promtext.Handler()
}
