package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
)

// checkReport is the `check --json` object (DESIGN.md contract).
type checkReport struct {
	Profile  string            `json:"profile"`
	Target   string            `json:"target"`
	Verdict  string            `json:"verdict"`
	Reply    string            `json:"reply"`
	Findings []profile.Finding `json:"findings"`
	Actions  []string          `json:"actions"`
	Bridge   []string          `json:"bridge"`
	// Mode is [milter] mode for the message's target; Would is the verdict of enforce
	// mode (in report mode what it would have been); Stamp is the VPIM-Check value
	// added. Left out when empty (the fast path, a refused recipient; no stamp).
	Mode  string `json:"mode,omitempty"`
	Would string `json:"would,omitempty"`
	Stamp string `json:"stamp,omitempty"`
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// runCheck implements `check` and `rewrite`: one message through the same
// transaction code the milter runs.
func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer, rewrite bool) int {
	name := "check"
	if rewrite {
		name = "rewrite"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	var rcpts multiFlag
	fs.Var(&rcpts, "rcpt", "envelope recipient `ADDR` (repeatable; default: the header To and Cc addresses)")
	from := fs.String("from", "", "envelope sender `ADDR` (default: the header From address; \"<>\" for the null sender)")
	asJSON := false
	if !rewrite {
		fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "vpim-milter %s: want exactly one FILE or -\n", name)
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "vpim-milter: %v\n", err)
		return 2
	}
	if cf.logLevel == "" {
		cfg.Log.Level = "warn" // keep the report on stdout clean
	}
	log, _ := newLogger(cfg.Log, stderr)
	in := stdin
	if p := fs.Arg(0); p != "-" {
		fh, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, "vpim-milter %s: %v\n", name, err)
			return 2
		}
		defer fh.Close()
		in = fh
	}
	res, err := offline(&cfg, log, *from, rcpts, in, stdout, rewrite)
	if err != nil {
		fmt.Fprintf(stderr, "vpim-milter %s: %v\n", name, err)
		return 2
	}
	rep := makeReport(res)
	switch {
	case rewrite:
		if !res.Verdict.Delivered() {
			fmt.Fprintln(stderr, rep.Reply)
		}
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 2
		}
	default:
		printReport(stdout, rep)
	}
	if res.Err != nil {
		fmt.Fprintf(stderr, "vpim-milter %s: %v\n", name, res.Err)
	}
	if res.Verdict.Delivered() {
		return 0
	}
	return 1
}

// offline builds a filter from cfg and runs one message through it.
func offline(cfg *Config, log *slog.Logger, from string, rcpts []string, in io.Reader, stdout io.Writer, rewrite bool) (milter.Result, error) {
	o, err := cfg.options()
	if err != nil {
		return milter.Result{}, err
	}
	engine, err := newEngine(o)
	if err != nil {
		return milter.Result{}, err
	}
	mopts := o.milter
	bridge, err := newBridge(o, nil)
	if err != nil {
		return milter.Result{}, err
	}
	if bridge != nil {
		mopts.Bridge = bridge
	}
	f, err := milter.New(mopts, engine, log, nil)
	if err != nil {
		return milter.Result{}, err
	}
	var out io.Writer
	if rewrite {
		out = stdout
	}
	return f.Offline(context.Background(), from, rcpts, in, out)
}

func makeReport(res milter.Result) checkReport {
	rep := checkReport{Profile: "none", Verdict: string(res.Verdict), Findings: []profile.Finding{}, Actions: []string{}, Bridge: []string{}}
	if res.Reply.Code != 0 {
		rep.Reply = res.Reply.String()
	}
	rep.Target = string(res.Target)
	if r := res.Report; r != nil {
		rep.Profile = r.Profile
		if r.Target != "" {
			rep.Target = string(r.Target)
		}
		rep.Findings = append(rep.Findings, r.Findings...)
		// actions are what is done: the plan's steps in enforce mode, marked as not
		// done in report mode or when [milter.on] keeps the message as it came.
		skip := ""
		switch {
		case res.Mode == milter.ModeReport:
			skip = "not done (report mode): "
		case res.Action == milter.OnQuarantine || res.Action == milter.OnTag:
			skip = fmt.Sprintf("not done (on %s: %s): ", res.Condition, res.Action)
		}
		for _, a := range r.Plan.Actions {
			rep.Actions = append(rep.Actions, skip+a.String())
		}
		if skip != "" && res.Action == milter.OnQuarantine && res.Mode != milter.ModeReport {
			rep.Actions = append(rep.Actions, "quarantine as it came")
		}
		rep.Bridge = append(rep.Bridge, r.Bridge...)
	}
	rep.Mode, rep.Would, rep.Stamp = string(res.Mode), string(res.Would), res.Stamp
	if res.Unstamped > 0 {
		rep.Actions = append(rep.Actions, fmt.Sprintf("remove %d %s field(s) that claim this host's authserv-id", res.Unstamped, milter.StampField))
	}
	if res.Stamp != "" {
		rep.Actions = append(rep.Actions, fmt.Sprintf("insert header @0 %s: %s", milter.StampField, res.Stamp))
	}
	for _, rf := range res.Refused {
		rep.Actions = append(rep.Actions, fmt.Sprintf("refuse recipient %s: %s", rf.Rcpt, rf.Reply))
	}
	if res.FastPath {
		rep.Actions = append(rep.Actions, "accept at end of headers: not voice mail")
	}
	return rep
}

func printReport(w io.Writer, rep checkReport) {
	fmt.Fprintf(w, "profile: %s\ntarget: %s\nverdict: %s\n", rep.Profile, rep.Target, rep.Verdict)
	if rep.Mode == string(milter.ModeReport) {
		fmt.Fprintf(w, "mode: report (enforce would: %s)\n", rep.Would)
	}
	if rep.Reply != "" {
		fmt.Fprintf(w, "reply: %s\n", rep.Reply)
	}
	for _, f := range rep.Findings {
		part := f.Part
		if part == "" {
			part = "header"
		}
		fmt.Fprintf(w, "finding: %s %s [%s] part %s: %s\n", f.Level, f.Rule, f.Spec, part, f.Message)
	}
	for _, a := range rep.Actions {
		fmt.Fprintf(w, "action: %s\n", a)
	}
	for _, b := range rep.Bridge {
		fmt.Fprintf(w, "bridge: %s\n", b)
	}
}
