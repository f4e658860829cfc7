package profile

import (
	"slices"
	"testing"
)

// TestSensitivityFields checks that with several Sensitivity fields the
// most restrictive counts (issue 10 defect 12): a message marked Personal
// and then Private is Private, and to a privacy-capable destination it
// leaves with one field, Private.
func TestSensitivityFields(t *testing.T) {
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	raw := msg(v2Header("sens2", "3135551234@vm2.example.net", "Sensitivity: personal", "Sensitivity: Private"),
		multipart("VB", adpcmPart("Voice-Message", 1)))
	r := runMessage(t, e, raw)
	if r.out == nil {
		t.Fatalf("not delivered: %s", r.verdict())
	}
	got := fieldValues(r.output(t).Root.Header, "Sensitivity")
	if !slices.Equal(got, []string{"Private"}) {
		t.Errorf("Sensitivity fields %q, want [Private]", got)
	}
	for _, tc := range []struct {
		h    []Field
		most string
	}{
		{[]Field{{"Sensitivity", " Personal"}, {"Sensitivity", " Private"}}, "Private"},
		{[]Field{{"Sensitivity", " Private"}, {"Sensitivity", " Personal"}}, "Private"},
		{[]Field{{"Sensitivity", " Company Confidential"}, {"Sensitivity", " personal"}}, "Company-Confidential"},
		{[]Field{{"Sensitivity", " Private-if-Possible"}}, ""},
		{nil, ""},
	} {
		if _, most := sensitivities(tc.h); most != tc.most {
			t.Errorf("%v: most restrictive %q, want %q", tc.h, most, tc.most)
		}
	}
}

// fieldValues returns the unfolded values of every field named name.
func fieldValues(h []Field, name string) []string {
	var out []string
	for _, f := range h {
		if equalFold(f.Name, name) {
			out = append(out, unfold(f.Value))
		}
	}
	return out
}

func equalFold(a, b string) bool { return len(a) == len(b) && hasPrefixFold(a, b) }
