package profile

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Target is the profile a recipient's copy of a message must conform to.
type Target string

// The targets a recipient can be assigned (DESIGN.md, [profile] targets).
const (
	TargetVPIM2       Target = "vpim2"       // RFC 3801
	TargetVPIM1       Target = "vpim1"       // RFC 1911
	TargetIVM         Target = "ivm"         // RFC 4239
	TargetDesktop     Target = "desktop"     // ordinary mail readers (README "Desktop clients", DT-* rules)
	TargetPassthrough Target = "passthrough" // deliver unchanged
	TargetBridge      Target = "bridge"      // handed to the telephony bridge
)

// Level is the RFC 2119 strength of the requirement behind a finding.
type Level string

// The requirement levels of RFC 2119.
const (
	LevelMust   Level = "MUST"
	LevelShould Level = "SHOULD"
	LevelMay    Level = "MAY"
)

// Verdict is what happens to the message as a whole.
type Verdict string

// The verdicts of `check --json` (DESIGN.md).
const (
	VerdictAccept     Verdict = "accept"
	VerdictModify     Verdict = "modify"
	VerdictReject     Verdict = "reject"
	VerdictTempfail   Verdict = "tempfail"
	VerdictQuarantine Verdict = "quarantine"
)

// Delivered reports whether a message with this verdict reaches its recipients.
func (v Verdict) Delivered() bool { return v == VerdictAccept || v == VerdictModify }

// Reply is an SMTP reply: basic code, RFC 3463 enhanced code and text.
type Reply struct {
	Code     int    // e.g. 550
	Enhanced string // e.g. "5.6.0"; may be empty
	Text     string
}

// String renders the reply as the SMTP client sees it: "550 5.6.0 text".
func (r Reply) String() string {
	if r.Code == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d", r.Code)
	if r.Enhanced != "" {
		b.WriteString(" " + r.Enhanced)
	}
	if r.Text != "" {
		b.WriteString(" " + r.Text)
	}
	return b.String()
}

// Field is one header field as received: name, and value exactly as it
// followed the colon (folding kept, no trailing CRLF).
type Field struct {
	Name  string
	Value string
}

// Rcpt is one envelope recipient with its ESMTP arguments (e.g. NOTIFY=).
type Rcpt struct {
	Addr string // without angle brackets
	Args string
}

// Envelope is the SMTP envelope of one transaction.
type Envelope struct {
	QueueID  string
	From     string // without angle brackets; empty for the null sender
	FromArgs string
	Rcpts    []Rcpt
}

// Input is one message to evaluate: its envelope, its header fields in order
// and its body (everything after the blank line), seekable so the engine can
// read it twice (once to check, once to rewrite).
type Input struct {
	Envelope Envelope
	Header   []Field
	Body     io.ReadSeeker
	BodySize int64
	// Arrival is when the message arrived; a message without a Date gets
	// it (RFC 3801 4.2.4). Zero means the time of the evaluation.
	Arrival time.Time
}

// Finding is one deviation from a profile (or one observation).
type Finding struct {
	Rule    Rule   `json:"rule"`    // rule ID, e.g. "V2-HDR-FROM" (RULES.md)
	Level   Level  `json:"level"`   // MUST, SHOULD, MAY
	Spec    string `json:"spec"`    // e.g. "RFC 3801 4.2.1"
	Part    string `json:"part"`    // MIME part path, "" for the top-level header, "1.2" for nested parts
	Message string `json:"message"` // human-readable detail
}

// HeaderOp is the kind of a header edit.
type HeaderOp int

// The header edits the milter protocol can carry.
const (
	HeaderAdd    HeaderOp = iota + 1 // append Name: Value at the end (SMFIR_ADDHEADER)
	HeaderChange                     // replace the Index-th field named Name (SMFIR_CHGHEADER)
	HeaderInsert                     // insert Name: Value at position Index of all fields (SMFIR_INSHEADER)
	HeaderDelete                     // delete the Index-th field named Name (SMFIR_CHGHEADER, empty value)
)

// HeaderEdit is one header modification. For HeaderChange and HeaderDelete,
// Index is the one-based occurrence among fields with the same name (case
// insensitive); for HeaderInsert it is the zero-based position in the whole
// header list.
type HeaderEdit struct {
	Op    HeaderOp
	Name  string
	Index int
	Value string
}

// String describes the edit for reports and golden files.
func (e HeaderEdit) String() string {
	switch e.Op {
	case HeaderAdd:
		return fmt.Sprintf("add header %s: %s", e.Name, unfold(e.Value))
	case HeaderChange:
		return fmt.Sprintf("change header %s[%d]: %s", e.Name, e.Index, unfold(e.Value))
	case HeaderInsert:
		return fmt.Sprintf("insert header @%d %s: %s", e.Index, e.Name, unfold(e.Value))
	case HeaderDelete:
		return fmt.Sprintf("delete header %s[%d]", e.Name, e.Index)
	}
	return fmt.Sprintf("unknown header edit %d", int(e.Op))
}

// BodyWriter produces a replacement body. WriteBody streams the new body
// (everything after the header block, CRLF line endings) into w; it must not
// hold the whole body in memory.
type BodyWriter interface {
	WriteBody(w io.Writer) error
}

// Decision is the terminal decision of a plan. The zero value accepts.
// Every refusal names the condition that caused it and the rule behind
// it, so that what happens on a condition can become a policy without
// touching the check that finds it.
type Decision struct {
	Verdict   Verdict   // accept/modify are derived from the edits; reject, tempfail, quarantine are set here
	Reply     Reply     // for reject and tempfail
	Reason    string    // for quarantine
	Condition Condition // why: what the check found
	Rule      Rule      // the rule that decides it
}

// Plan is everything the milter must do to the message. Actions is the
// typed list of steps; Headers, the body writer and the envelope changes
// are derived from it, so the report (which prints Actions) and what the
// milter and rewrite do cannot differ.
type Plan struct {
	Actions  []Action
	Headers  []HeaderEdit // the top-level header edits of Actions, in order
	Body     BodyWriter   // nil: body unchanged
	AddRcpts []Rcpt
	DelRcpts []string
	Decision Decision
}

// Modifies reports whether the plan changes the message or its envelope.
func (p *Plan) Modifies() bool {
	return len(p.Headers) > 0 || p.Body != nil || len(p.AddRcpts) > 0 || len(p.DelRcpts) > 0
}

// Verdict is the overall verdict of the plan.
func (p *Plan) Verdict() Verdict {
	switch p.Decision.Verdict {
	case VerdictReject, VerdictTempfail, VerdictQuarantine:
		return p.Decision.Verdict
	}
	if p.Modifies() {
		return VerdictModify
	}
	return VerdictAccept
}

// Report is the result of evaluating one message: what it is, what is wrong
// with it and what to do. With the plan's actions rendered as text it is the
// `check --json` contract.
type Report struct {
	Profile  string    // v1-draft, vpim1, vpim2, ivm, vendor, none
	Target   Target    // the body target of the transaction
	Findings []Finding // never nil
	Bridge   []string  // recipients handed to the telephony bridge (none when the message is refused)
	// Voice is the part the telephony bridge plays: the voice message the
	// evaluation chose; nil when the message has none.
	Voice *Voice
	Plan  Plan
}

// RcptResult is the RCPT-time decision for one recipient.
type RcptResult struct {
	Target Target // the recipient's target when accepted
	Reject *Reply // non-nil: refuse this recipient with this reply
	Rule   Rule   // the rule behind a refusal
}
