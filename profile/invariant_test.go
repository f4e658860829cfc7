package profile

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// invariantMessages are the messages of testdata/messages and the
// third-party samples (read in place).
func invariantMessages(t *testing.T) map[string][]byte {
	t.Helper()
	msgs := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(messagesDir, "*.eml"))
	samples, _ := filepath.Glob(filepath.Join(shareddata.Path(t, "samples"), "*.eml"))
	for _, f := range append(files, samples...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs[filepath.Base(f)] = b
	}
	if len(msgs) < 100 {
		t.Fatalf("only %d messages", len(msgs))
	}
	return msgs
}

// deliver runs raw to rcpt and returns the report and, when it is
// delivered, the message as delivered.
func deliver(t *testing.T, e *Engine, raw []byte, rcpt string) (*Report, *Input, []byte) {
	t.Helper()
	in := inputFrom(t, raw, rcpt)
	in.Envelope.From = "sender@example.org"
	rep, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if !rep.Plan.Verdict().Delivered() {
		return rep, in, nil
	}
	var body bytes.Buffer
	if rep.Plan.Body != nil {
		if err := rep.Plan.Body.WriteBody(&body); err != nil {
			t.Fatalf("write body: %v (actions %v)", err, actionStrings(rep))
		}
	} else {
		in.Body.Seek(0, io.SeekStart)
		io.Copy(&body, in.Body)
	}
	var out bytes.Buffer
	if err := FormatMessage(&out, rep.Plan.ApplyHeader(in.Header), &body); err != nil {
		t.Fatal(err)
	}
	return rep, in, out.Bytes()
}

// TestRewriteInvariant: every message, rewritten for each target, checks
// as accept for that target (no action, and no MUST finding unless a
// stated decision passes the message as it is), or is refused with a
// stated condition and rule (issue 10 acceptance). And what the report
// lists is what the rewrite did: the delivered header is the input header
// with exactly the listed header edits, a body without body steps is the
// input body byte for byte, and every part no step names comes out with
// its bytes.
func TestRewriteInvariant(t *testing.T) {
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	msgs := invariantMessages(t)
	names := make([]string, 0, len(msgs))
	for n := range msgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := msgs[name]
		for _, tgt := range []Target{TargetVPIM2, TargetVPIM1, TargetIVM, TargetDesktop, TargetPassthrough} {
			rcpt := targetRcpts[tgt]
			t.Run(name+"/"+string(tgt), func(t *testing.T) {
				rep, in, out := deliver(t, e, raw, rcpt)
				if out == nil {
					if d := rep.Plan.Decision; d.Rule == "" || d.Condition == "" {
						t.Errorf("refused without a stated condition and rule: %+v", d)
					}
					return
				}
				checkActionsMatch(t, rep, in, raw, out)
				again, _, _ := deliver(t, e, out, rcpt)
				if v := again.Plan.Verdict(); v != VerdictAccept || len(again.Plan.Actions) != 0 {
					t.Errorf("rewritten message checks as %s with actions %v (first pass: %v)", v, actionStrings(again), actionStrings(rep))
				}
				stated := again.Plan.Decision.Condition != ""
				for _, f := range again.Findings {
					if f.Level == LevelMust && !stated && f.Rule != rulePLimit {
						t.Errorf("rewritten message still has %s %s [%s] %s", f.Rule, f.Level, f.Part, f.Message)
					}
				}
			})
		}
	}
}

// checkActionsMatch compares what the plan lists with the difference
// between the input and the delivered message.
func checkActionsMatch(t *testing.T, rep *Report, in *Input, raw, out []byte) {
	t.Helper()
	got := inputFrom(t, out)
	want := rep.Plan.ApplyHeader(in.Header)
	if len(got.Header) != len(want) {
		t.Errorf("delivered header has %d fields, the input with the listed edits %d", len(got.Header), len(want))
	} else {
		for i := range want {
			if !strings.EqualFold(got.Header[i].Name, want[i].Name) || unfold(got.Header[i].Value) != unfold(want[i].Value) {
				t.Errorf("header field %d is %s:%s, the listed edits give %s:%s", i, got.Header[i].Name, got.Header[i].Value, want[i].Name, want[i].Value)
			}
		}
	}
	inBody, _ := io.ReadAll(io.NewSectionReader(bytes.NewReader(raw), int64(len(raw))-in.BodySize, in.BodySize))
	inBody = crlf(inBody) // the milter gets CRLF line ends (a stored sample may have LF)
	outBody, _ := io.ReadAll(got.Body)
	if rep.Plan.Body == nil {
		if !bytes.Equal(inBody, outBody) {
			t.Errorf("the plan lists no body step but the body changed")
		}
		return
	}
	// Every part no step names keeps its bytes.
	named := map[string]bool{}
	for _, a := range rep.Plan.Actions {
		switch a.Kind {
		case ActionPartField, ActionTranscode, ActionReencode, ActionDrop:
			named[a.Part] = true
		}
	}
	m, err := Parse(in.Header, bytes.NewReader(inBody), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m.Walk(func(p *Part, _ int) bool {
		if p.Path == "" || !p.IsLeaf() || named[p.Path] || p.End-p.Start < 16 {
			return true
		}
		for q := p.parent; q != nil; q = q.parent {
			if named[q.Path] && q.Path != "" {
				return true // inside a part a step rewrites or drops
			}
		}
		if !bytes.Contains(outBody, inBody[p.Start:p.End]) {
			t.Errorf("part %s %s changed, but no step names it (actions %v)", p.Path, p.Type, actionStrings(rep))
		}
		return true
	})
	for _, a := range rep.Plan.Actions {
		if a.Kind == ActionDrop && a.part != nil && a.part.End-a.part.Start >= 16 &&
			bytes.Contains(outBody, inBody[a.part.Start:a.part.End]) {
			t.Errorf("%s: the part is still there", a)
		}
	}
}

// crlf turns bare LF line ends into CRLF.
func crlf(b []byte) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	(&crlfWriter{w: bw}).Write(b)
	bw.Flush()
	return out.Bytes()
}
