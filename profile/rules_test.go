package profile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// targetRcpts are envelope recipients of each target in the test policy.
var targetRcpts = map[Target]string{
	TargetVPIM2:       "3135551234@vm2.example.net",
	TargetVPIM1:       "2145551234@v1.example.net",
	TargetIVM:         "rcpt@mail.example.org",
	TargetDesktop:     "ann@desk.example.net",
	TargetPassthrough: "1@pass.example.net",
	TargetBridge:      "VOICE=+15145551234@voice.example.com",
}

// TestRuleTable checks the rule table: IDs are unique and carry a level
// and a section; every rule is emitted by some check on the corpus, the
// samples or at RCPT, unless it says why not (issue 10 item 16); and a
// rule that says why not is never emitted.
func TestRuleTable(t *testing.T) {
	seen := map[Rule]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || r.Spec == "" || r.Level == "" || r.Title == "" {
			t.Errorf("rule %s: duplicate or incomplete entry %+v", r.ID, r)
		}
		seen[r.ID] = true
	}
	emitted := map[Rule]bool{}
	note := func(rep *Report) {
		for _, f := range rep.Findings {
			emitted[f.Rule] = true
		}
		for _, a := range rep.Plan.Actions {
			emitted[a.Rule] = true
		}
		emitted[rep.Plan.Decision.Rule] = true
	}
	msgs := map[string][]byte{}
	for name, b := range corpus() {
		msgs[name] = b
	}
	files, _ := filepath.Glob(filepath.Join(shareddata.Path(t, "samples"), "*.eml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs[filepath.Base(f)] = b
	}
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range msgs {
		for _, rcpt := range targetRcpts {
			in := inputFrom(t, raw, rcpt)
			in.Envelope.From = "sender@example.org"
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatalf("%s to %s: %v", name, rcpt, err)
			}
			note(rep)
		}
	}
	strict, _ := New(testOptions())
	for _, a := range []string{"non-mail-user@vm.example.com", "loopback@vm.example.com"} {
		emitted[strict.Recipient("a@example.org", Rcpt{Addr: a}, nil).Rule] = true
	}
	// P-AUDIO-LONG needs audio longer than a limit, and the corpus is short:
	// 3 s of voice to the bridge under a limit of 1 s.
	o := testOptions()
	o.BridgeMaxAudio = time.Second
	short, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := short.Evaluate(context.Background(), inputFrom(t, corpus()["ivm-conforming"], targetRcpts[TargetBridge]))
	if err != nil {
		t.Fatal(err)
	}
	note(rep)
	for _, r := range Rules() {
		switch {
		case r.NotYet == "" && !emitted[r.ID]:
			t.Errorf("rule %s is in the table but no check emits it on the corpus (and it does not say why)", r.ID)
		case r.NotYet != "" && emitted[r.ID]:
			t.Errorf("rule %s says %q but is emitted", r.ID, r.NotYet)
		}
	}
	for id := range emitted {
		if id != "" && !seen[id] {
			t.Errorf("rule %s is emitted but not in the table", id)
		}
	}
	if !slices.ContainsFunc(Rules(), func(r RuleInfo) bool { return r.ID == rulePLimit }) {
		t.Error("P-LIMIT missing")
	}
}
