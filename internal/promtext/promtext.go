// Package promtext writes metrics in the Prometheus text exposition format,
// version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// counter, gauge and histogram families, each with its HELP and TYPE lines.
// It is what the daemon needs instead of the Prometheus client library, which
// would add protobuf, procfs and YAML to the binary and milliseconds to the
// start-up of every command.
//
// An Exposition collects families in any order and writes them sorted by
// name, so several packages can contribute to one scrape; a family name used
// twice, an invalid metric or label name, a repeated series and a sample
// outside a family are errors, reported before anything is written. Label
// values and HELP texts are escaped as the format requires, and floats are
// formatted as the Prometheus client libraries do ("+Inf", "NaN", shortest
// representation). The package holds no state of its own: the counters
// belong to the caller.
package promtext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ContentType is the Content-Type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family's type, as written on its TYPE line.
type Type string

// The family types this package writes.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Label is one label of a series.
type Label struct {
	Name  string
	Value string
}

// L returns the label name="value".
func L(name, value string) Label { return Label{Name: name, Value: value} }

// Exposition is one scrape's worth of metric families. Open a family with
// Family, then add its series with Uint, Int, Float (counters and gauges)
// or Histogram (histograms). The first error sticks: later calls do nothing
// and WriteTo returns it without writing. The zero value is ready to use;
// an Exposition is not safe for concurrent use.
type Exposition struct {
	families []*family
	names    map[string]bool
	cur      *family
	err      error
}

// family is one metric family's text: HELP, TYPE and the sample lines.
type family struct {
	name   string
	typ    Type
	text   bytes.Buffer
	series map[string]bool // label sets written, in canonical form
}

// Family starts the family name of type typ; the samples that follow
// belong to it. help is its HELP text (may be empty: no HELP line).
func (e *Exposition) Family(name string, typ Type, help string) {
	if e.err != nil {
		return
	}
	e.cur = nil
	switch {
	case !validMetricName(name):
		e.fail(fmt.Errorf("promtext: invalid metric name %q", name))
		return
	case typ != Counter && typ != Gauge && typ != Histogram:
		e.fail(fmt.Errorf("promtext: family %s: unknown type %q", name, typ))
		return
	case !utf8.ValidString(help):
		e.fail(fmt.Errorf("promtext: family %s: HELP is not UTF-8", name))
		return
	case e.names[name]:
		e.fail(fmt.Errorf("promtext: family %s written twice", name))
		return
	}
	if e.names == nil {
		e.names = map[string]bool{}
	}
	e.names[name] = true
	f := &family{name: name, typ: typ, series: map[string]bool{}}
	if help != "" {
		f.text.WriteString("# HELP ")
		f.text.WriteString(name)
		f.text.WriteByte(' ')
		helpEscaper.WriteString(&f.text, help)
		f.text.WriteByte('\n')
	}
	fmt.Fprintf(&f.text, "# TYPE %s %s\n", name, typ)
	e.families = append(e.families, f)
	e.cur = f
}

// Uint adds a counter or gauge sample with an integer value, written in
// decimal.
func (e *Exposition) Uint(v uint64, labels ...Label) {
	e.sample(strconv.FormatUint(v, 10), labels)
}

// Int adds a counter or gauge sample with an integer value, written in
// decimal.
func (e *Exposition) Int(v int64, labels ...Label) {
	e.sample(strconv.FormatInt(v, 10), labels)
}

// Float adds a counter or gauge sample; see FormatFloat for the form.
func (e *Exposition) Float(v float64, labels ...Label) {
	e.sample(FormatFloat(v), labels)
}

func (e *Exposition) sample(value string, labels []Label) {
	f := e.open(Counter, Gauge)
	if f == nil {
		return
	}
	lt, err := labelText(labels, "")
	if err == nil {
		err = f.addSeries(labels)
	}
	if err != nil {
		e.fail(fmt.Errorf("promtext: family %s: %w", f.name, err))
		return
	}
	writeSample(&f.text, f.name, lt, value)
}

// Histogram adds one histogram series: bounds are the buckets' upper
// bounds in increasing order, without +Inf; counts the number of
// observations per bucket, not cumulative, the last one for those above
// every bound (len(counts) == len(bounds)+1); sum the sum of all
// observations. It writes the cumulative name_bucket series with the label
// le last, then name_sum and name_count.
func (e *Exposition) Histogram(bounds []float64, counts []uint64, sum float64, labels ...Label) {
	f := e.open(Histogram)
	if f == nil {
		return
	}
	err := checkBounds(bounds, counts)
	var lt string
	if err == nil {
		lt, err = labelText(labels, "le")
	}
	if err == nil {
		err = f.addSeries(labels)
	}
	if err != nil {
		e.fail(fmt.Errorf("promtext: family %s: %w", f.name, err))
		return
	}
	sep := ""
	if lt != "" {
		sep = ","
	}
	var cum uint64
	for i, c := range counts {
		cum += c
		le := "+Inf"
		if i < len(bounds) {
			le = FormatFloat(bounds[i])
		}
		writeSample(&f.text, f.name+"_bucket", lt+sep+`le="`+le+`"`, strconv.FormatUint(cum, 10))
	}
	writeSample(&f.text, f.name+"_sum", lt, FormatFloat(sum))
	writeSample(&f.text, f.name+"_count", lt, strconv.FormatUint(cum, 10))
}

// open returns the current family if its type is one of types, or records
// the error and returns nil.
func (e *Exposition) open(types ...Type) *family {
	if e.err != nil {
		return nil
	}
	f := e.cur
	switch {
	case f == nil:
		e.fail(errors.New("promtext: sample outside a family"))
		return nil
	case !slices.Contains(types, f.typ):
		e.fail(fmt.Errorf("promtext: family %s: %s sample in a %s family", f.name, sampleKind(types), f.typ))
		return nil
	}
	return f
}

func sampleKind(types []Type) string {
	if slices.Contains(types, Histogram) {
		return "histogram"
	}
	return "counter or gauge"
}

func (e *Exposition) fail(err error) {
	e.err = err
	e.cur = nil
}

// Err returns the first error, or nil.
func (e *Exposition) Err() error { return e.err }

// WriteTo writes the families sorted by name, each with its series in the
// order they were added. On an earlier error it writes nothing and returns
// that error.
func (e *Exposition) WriteTo(w io.Writer) (int64, error) {
	if e.err != nil {
		return 0, e.err
	}
	fams := slices.Clone(e.families)
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	var n int64
	for _, f := range fams {
		k, err := w.Write(f.text.Bytes())
		n += int64(k)
		if err != nil {
			return n, fmt.Errorf("promtext: %w", err)
		}
	}
	return n, nil
}

// addSeries records a label set and refuses one written before.
func (f *family) addSeries(labels []Label) error {
	sorted := slices.Clone(labels)
	slices.SortFunc(sorted, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	var key strings.Builder
	for _, l := range sorted {
		key.WriteString(l.Name)
		key.WriteByte(0)
		key.WriteString(l.Value)
		key.WriteByte(0)
	}
	if f.series[key.String()] {
		return fmt.Errorf("series {%s} written twice", seriesText(labels))
	}
	f.series[key.String()] = true
	return nil
}

// Collector contributes metric families to a scrape.
type Collector interface {
	Collect(e *Exposition)
}

// Handler serves a Prometheus scrape (GET or HEAD) with the families of
// every collector in one exposition. If the collectors produce an invalid
// exposition (a programming error, such as two collectors writing the same
// family), it answers 500 with the error instead of a partial scrape.
func Handler(collectors ...Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var e Exposition
		for _, c := range collectors {
			c.Collect(&e)
		}
		if err := e.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if r.Method == http.MethodHead {
			return
		}
		_, _ = e.WriteTo(w)
	})
}

// FormatFloat formats f as the Prometheus client libraries do: "+Inf",
// "-Inf", "NaN", otherwise the shortest decimal that reads back as f
// (strconv 'g' format, so 1e+06 for a million and 0.0005 for 5e-4).
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case f == 0:
		return "0" // also for -0, as the client libraries write it
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var (
	// helpEscaper escapes a HELP text: backslash and line feed.
	helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	// valueEscaper escapes a label value: backslash, double quote, line feed.
	valueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

// labelText renders labels as name="value",... in the given order and
// checks them; reserved is a label name the caller adds itself ("le").
func labelText(labels []Label, reserved string) (string, error) {
	var b strings.Builder
	for i, l := range labels {
		switch {
		case !validLabelName(l.Name):
			return "", fmt.Errorf("invalid label name %q", l.Name)
		case l.Name == reserved:
			return "", fmt.Errorf("label %s is reserved", l.Name)
		case !utf8.ValidString(l.Value):
			return "", fmt.Errorf("label %s: value is not UTF-8", l.Name)
		}
		for _, o := range labels[:i] {
			if o.Name == l.Name {
				return "", fmt.Errorf("label %s given twice", l.Name)
			}
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		valueEscaper.WriteString(&b, l.Value)
		b.WriteByte('"')
	}
	return b.String(), nil
}

// seriesText renders labels already checked by labelText, for messages.
func seriesText(labels []Label) string {
	s, _ := labelText(labels, "")
	return s
}

func writeSample(b *bytes.Buffer, name, labels, value string) {
	b.WriteString(name)
	if labels != "" {
		b.WriteByte('{')
		b.WriteString(labels)
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(value)
	b.WriteByte('\n')
}

// checkBounds checks a histogram's bucket bounds against its counts.
func checkBounds(bounds []float64, counts []uint64) error {
	if len(counts) != len(bounds)+1 {
		return fmt.Errorf("%d bucket counts for %d bounds, want %d (one above every bound)", len(counts), len(bounds), len(bounds)+1)
	}
	for i, b := range bounds {
		if math.IsNaN(b) || math.IsInf(b, +1) {
			return fmt.Errorf("bucket bound %s (+Inf is implied)", FormatFloat(b))
		}
		if i > 0 && b <= bounds[i-1] {
			return fmt.Errorf("bucket bounds not increasing: %s after %s", FormatFloat(b), FormatFloat(bounds[i-1]))
		}
	}
	return nil
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]* and does
// not start with "__" (reserved for Prometheus).
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
