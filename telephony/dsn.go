package telephony

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// dsnWanted decides whether a DSN goes out for a final outcome (RFC 3461
// §4.1: NOTIFY=NEVER suppresses all; without NOTIFY a failure is reported;
// success only with NOTIFY=SUCCESS). Never to the null sender (RFC 3464 §2,
// DIGEST §5: "none if it is <>").
func dsnWanted(j *Job) (bool, string) {
	if j.Meta.Sender == "" {
		return false, "null-sender"
	}
	notify := j.Meta.Notify
	has := func(kw string) bool { return notifyHas(notify, kw) }
	if has("NEVER") {
		return false, "not-requested"
	}
	if j.Final.Outcome == OutcomeDelivered {
		if has("SUCCESS") {
			return true, ""
		}
		return false, "not-requested"
	}
	if notify == "" || has("FAILURE") {
		return true, ""
	}
	return false, "not-requested"
}

// notifyHas reports whether the RFC 3461 NOTIFY value (a comma-separated
// list, keywords in any case: RFC 3461 §4.1 notes a, b) contains kw, which
// is upper case.
func notifyHas(notify, kw string) bool {
	for _, f := range strings.Split(notify, ",") {
		if strings.ToUpper(strings.TrimSpace(f)) == kw {
			return true
		}
	}
	return false
}

// delayDSNWanted decides whether a "delayed" DSN may go out for a job that
// is still being retried (RFC 3461 §5.2.5): (a) NOTIFY with DELAY: yes;
// (b) no NOTIFY: yes, as an MTA's delay warning (§4.1 allows reading it as
// FAILURE,DELAY); (c) NOTIFY without DELAY (NEVER, SUCCESS, FAILURE): MUST
// NOT. Never to the null sender (RFC 3464 §2, as dsnWanted).
func delayDSNWanted(j *Job) (bool, string) {
	if j.Meta.Sender == "" {
		return false, "null-sender"
	}
	if j.Meta.Notify == "" || notifyHas(j.Meta.Notify, "DELAY") {
		return true, ""
	}
	return false, "not-requested"
}

// dsnInput is everything buildDSN needs; fixed values make it testable.
type dsnInput struct {
	opts     DSNOptions
	job      *Job
	now      time.Time
	boundary string
	msgID    string
	// delayed, if set, makes the DSN a "delayed" one (RFC 3464 §2.3.3)
	// about this temporary failure of a job that is still being retried,
	// instead of the report on job.Final.
	delayed *Attempt
}

// buildDSN renders an RFC 3464 multipart/report (report-type=delivery-status)
// with a text/plain explanation, the message/delivery-status part and the
// original header block as text/rfc822-headers (RFC 3462 / RFC 6522).
func buildDSN(in dsnInput) []byte {
	j, o := in.job, in.opts
	f := j.Final
	if in.delayed != nil {
		f = in.delayed
	}
	delivered := in.delayed == nil && f.Outcome == OutcomeDelivered
	action := "failed"
	subject := "Undelivered voice message"
	intro := []string{"Your voice message could not be delivered by telephone."}
	switch {
	case in.delayed != nil:
		// §2.3.3 "delayed": not delivered so far, still trying; the Status
		// keeps the temporary failure's 4.x.x code (§2.3.3 note).
		action = "delayed"
		subject = "Delayed voice message (still trying)"
		intro = []string{
			"Your voice message has not yet been delivered by telephone.",
			"This is a warning only; you do not need to resend your message.",
		}
		if !j.Expires.IsZero() {
			intro = append(intro, "The gateway keeps trying until "+j.Expires.In(in.now.Location()).Format(time.RFC1123Z)+".")
		}
	case delivered:
		action = "delivered"
		subject = "Voice message delivered by telephone"
		intro = []string{"Your voice message was delivered by telephone."}
	}
	var b bytes.Buffer
	crlf := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	rcpt := sanitizeAddr(j.Meta.Recipient)
	number := sanitizeDiagnostic(j.Meta.Number)
	from := o.From
	if from == "" {
		from = "MAILER-DAEMON@" + o.ReportingMTA
	}
	crlf("From: Mail Delivery System <%s>", sanitizeAddr(from))
	crlf("To: <%s>", sanitizeAddr(j.Meta.Sender))
	crlf("Subject: %s", subject)
	crlf("Date: %s", in.now.Format(time.RFC1123Z))
	crlf("Message-ID: <%s>", in.msgID)
	crlf("Auto-Submitted: auto-replied") // RFC 3834 §5
	crlf("MIME-Version: 1.0")
	// RFC 3464 2; RFC 4239 3 (I-NOTIFCT): a notification we originate has
	// multipart/report at the top level. (RFC 3801 4.6 V2-DSN likewise.)
	crlf("Content-Type: multipart/report; report-type=delivery-status;")
	crlf("\tboundary=\"%s\"", in.boundary)
	crlf("")
	crlf("This is a MIME-encapsulated delivery status notification.")
	crlf("")

	// Part 1: human readable (RFC 3464 §2: the first part).
	crlf("--%s", in.boundary)
	crlf("Content-Type: text/plain; charset=us-ascii")
	crlf("Content-Description: Notification")
	crlf("")
	for _, l := range intro {
		crlf("%s", l)
	}
	crlf("")
	crlf("Recipient: %s", rcpt)
	crlf("Number:    %s", number)
	crlf("Result:    %s (%s)", f.Outcome, f.Status)
	if f.Diagnostic != "" {
		crlf("Detail:    %s", sanitizeDiagnostic(f.Diagnostic))
	}
	crlf("Attempts:  %d", j.Attempts)
	crlf("")

	// Part 2: machine readable (RFC 3464 §2.2, §2.3).
	crlf("--%s", in.boundary)
	crlf("Content-Type: message/delivery-status")
	crlf("")
	if j.Meta.EnvID != "" {
		crlf("Original-Envelope-Id: %s", sanitizeDiagnostic(j.Meta.EnvID)) // RFC 3464 §2.2.1
	}
	crlf("Reporting-MTA: dns; %s", sanitizeDiagnostic(o.ReportingMTA)) // §2.2.2
	crlf("Arrival-Date: %s", j.Created.In(in.now.Location()).Format(time.RFC1123Z))
	crlf("")
	if orcpt := originalRecipient(j.Meta.ORcpt); orcpt != "" {
		crlf("Original-Recipient: %s", orcpt) // §2.3.1
	}
	crlf("Final-Recipient: rfc822; %s", rcpt) // §2.3.2
	crlf("Action: %s", action)                // §2.3.3
	crlf("Status: %s", f.Status)              // §2.3.4, DIGEST §5 codes
	if f.Diagnostic != "" {
		// §2.3.6: diagnostic-type "X-SIP" (an X- type for telephony results)
		crlf("Diagnostic-Code: X-SIP; %s", sanitizeDiagnostic(f.Diagnostic))
	}
	if !f.End.IsZero() {
		crlf("Last-Attempt-Date: %s", f.End.In(in.now.Location()).Format(time.RFC1123Z)) // §2.3.7
	}
	if in.delayed != nil && !j.Expires.IsZero() {
		// §2.3.9: only in "delayed" DSNs; the job's expiry, after which a
		// temporary failure becomes final.
		crlf("Will-Retry-Until: %s", j.Expires.In(in.now.Location()).Format(time.RFC1123Z))
	}
	crlf("")

	// Part 3: the original header block.
	crlf("--%s", in.boundary)
	crlf("Content-Type: text/rfc822-headers")
	crlf("")
	b.Write(headerBlock(j.Meta.Header))
	crlf("")
	crlf("--%s--", in.boundary)
	return b.Bytes()
}

// headerBlock normalises line ends to CRLF, stops at the first empty line
// and guarantees a final CRLF.
func headerBlock(h []byte) []byte {
	s := strings.ReplaceAll(string(h), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n") // a bare CR would break the CRLF framing
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i+1]
	}
	s = strings.TrimLeft(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// originalRecipient turns an ORCPT value ("rfc822;" xtext, RFC 3461 §4.2)
// into the Original-Recipient field value, or "" if it is unusable.
func originalRecipient(orcpt string) string {
	typ, addr, ok := strings.Cut(orcpt, ";")
	if !ok || !isToken(strings.TrimSpace(typ)) {
		return ""
	}
	dec, err := decodeXtext(strings.TrimSpace(addr))
	if err != nil || dec == "" {
		return ""
	}
	return strings.TrimSpace(typ) + "; " + sanitizeAddr(dec)
}

// decodeXtext decodes RFC 3461 §4 xtext ("+" HEX HEX).
func decodeXtext(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("telephony: dsn: bad xtext %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("telephony: dsn: bad xtext %q", s)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// sanitizeAddr keeps an address on one line without brackets.
func sanitizeAddr(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '<' || r == '>' {
			return -1
		}
		return r
	}, s)
}

// sendDSN submits msg to the local MTA with the null reverse path (RFC 3464
// §2: "MAIL FROM:<>") and the original envelope sender as recipient.
func sendDSN(ctx context.Context, o DSNOptions, rcpt string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", o.SMTPAddr)
	if err != nil {
		return fmt.Errorf("telephony: dsn: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(o.SMTPAddr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("telephony: dsn: %w", err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Hello(o.ReportingMTA) },
		func() error { return c.Mail("") },
		func() error { return c.Rcpt(sanitizeAddr(rcpt)) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("telephony: dsn: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("telephony: dsn: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("telephony: dsn: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("telephony: dsn: %w", err)
	}
	return c.Quit()
}

func randomToken() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
