package telephony

import (
	"context"
	"errors"
	"fmt"
)

// Outcome classifies one delivery attempt.
type Outcome string

// Outcomes of a delivery attempt.
const (
	OutcomeDelivered   Outcome = "delivered"    // answered and played
	OutcomeBusy        Outcome = "busy"         // 486/600, retried
	OutcomeNoAnswer    Outcome = "no-answer"    // 408/480/487/ring timeout, retried
	OutcomeTempFailure Outcome = "temp-failure" // 5xx, timeouts, local trouble, retried
	OutcomePermFailure Outcome = "perm-failure" // 404, 403, 6xx, ...: final
	OutcomeExpired     Outcome = "expired"      // temporary failures until Expire: final
	// OutcomeInterrupted is an attempt cut short because the bridge shut
	// down (SIGTERM past DrainTimeout): status 4.3.2 (RFC 3463 X.3.2,
	// system not accepting messages), retried on the schedule.
	OutcomeInterrupted Outcome = "interrupted"
)

// DeliveryError is the error a Backend returns when a call did not deliver
// the message. It carries the outcome class, the RFC 3463 status code used in
// the DSN (DIGEST §5: busy and no answer 4.4.1, unknown number 5.1.1, ...) and
// a diagnostic for the DSN's Diagnostic-Code field.
type DeliveryError struct {
	Outcome    Outcome
	Status     string // e.g. "4.4.1", "5.1.1"
	Diagnostic string // e.g. "486 Busy Here" (sanitised before use)
	Err        error  // underlying error, may be nil
}

// Error implements error.
func (e *DeliveryError) Error() string {
	s := fmt.Sprintf("telephony: %s (%s)", e.Outcome, e.Status)
	if e.Diagnostic != "" {
		s += ": " + e.Diagnostic
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Temporary reports whether the attempt may be retried.
func (e *DeliveryError) Temporary() bool {
	switch e.Outcome {
	case OutcomeBusy, OutcomeNoAnswer, OutcomeTempFailure, OutcomeInterrupted:
		return true
	}
	return false
}

// IsTemporary reports whether err (from Backend.Deliver) may be retried.
// Errors that are not a *DeliveryError count as temporary: a local problem
// must not lose the message.
func IsTemporary(err error) bool {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Temporary()
	}
	return err != nil
}

// classify turns any Deliver error into a *DeliveryError.
func classify(err error) *DeliveryError {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.7", Diagnostic: "attempt timed out", Err: err}
	}
	return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.3.0", Diagnostic: "local error", Err: err}
}

// SIPStatusError maps a final SIP response code to a DeliveryError (RFC 3261
// §21; statuses from DIGEST §5 / RFC 3463): 486/600 busy and 408/480/487 no
// answer (4.4.1), 5xx temporary (4.4.0), 404/604/484 unknown number (5.1.1),
// 403/603 refused (5.7.1), 401/407 authentication failed (5.7.0),
// 415/488/606 media (5.6.1), other 4xx/6xx permanent (5.4.0).
func SIPStatusError(code int, reason string) *DeliveryError {
	diag := sanitizeDiagnostic(fmt.Sprintf("%d %s", code, reason))
	switch {
	case code == 486 || code == 600:
		return &DeliveryError{Outcome: OutcomeBusy, Status: "4.4.1", Diagnostic: diag}
	case code == 408 || code == 480 || code == 487:
		return &DeliveryError{Outcome: OutcomeNoAnswer, Status: "4.4.1", Diagnostic: diag}
	case code >= 500 && code < 600:
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.0", Diagnostic: diag}
	case code == 404 || code == 604 || code == 484:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.1.1", Diagnostic: diag}
	case code == 403 || code == 603:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.7.1", Diagnostic: diag}
	case code == 401 || code == 407:
		// A 401/407 that reaches us is a challenge left unanswered: no
		// credentials, or the trunk refused the ones we sent (sipgo answers
		// up to two challenges, the second for a stale nonce). Final: the
		// same credentials fail on every retry, and repeated failures get a
		// gateway banned by fail2ban-style trunk protection. RFC 3463 §3.8
		// X.7.0 "other or undefined security status", not X.7.1: the callee
		// did not refuse the message, the gateway failed to authenticate
		// itself to the next hop; X.7.8 (RFC 4954) is the reply to SMTP AUTH.
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.7.0", Diagnostic: diag}
	case code == 415 || code == 488 || code == 606:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.6.1", Diagnostic: diag}
	default:
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.4.0", Diagnostic: diag}
	}
}
