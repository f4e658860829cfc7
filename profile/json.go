package profile

import "encoding/json"

// reportJSON is the `check --json` object of DESIGN.md.
type reportJSON struct {
	Profile  string    `json:"profile"`
	Target   Target    `json:"target"`
	Verdict  Verdict   `json:"verdict"`
	Reply    string    `json:"reply"`
	Findings []Finding `json:"findings"`
	Actions  []string  `json:"actions"`
	Bridge   []string  `json:"bridge"`
}

// MarshalJSON renders the report as the `check --json` object: profile,
// target, verdict, reply (empty unless reject/tempfail), findings, actions
// and bridge; lists are never null.
func (r *Report) MarshalJSON() ([]byte, error) {
	out := reportJSON{Profile: r.Profile, Target: r.Target, Verdict: r.Plan.Verdict(),
		Findings: r.Findings, Actions: r.Actions, Bridge: r.Bridge}
	if v := out.Verdict; v == VerdictReject || v == VerdictTempfail {
		out.Reply = r.Plan.Decision.Reply.String()
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Actions == nil {
		out.Actions = []string{}
	}
	if out.Bridge == nil {
		out.Bridge = []string{}
	}
	return json.Marshal(out)
}
