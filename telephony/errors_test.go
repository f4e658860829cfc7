package telephony

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestSIPStatusError(t *testing.T) {
	tests := []struct {
		code    int
		outcome Outcome
		status  string
		temp    bool
	}{
		{486, OutcomeBusy, "4.4.1", true},
		{600, OutcomeBusy, "4.4.1", true},
		{408, OutcomeNoAnswer, "4.4.1", true},
		{480, OutcomeNoAnswer, "4.4.1", true},
		{487, OutcomeNoAnswer, "4.4.1", true},
		{500, OutcomeTempFailure, "4.4.0", true},
		{503, OutcomeTempFailure, "4.4.0", true},
		{404, OutcomePermFailure, "5.1.1", false},
		{484, OutcomePermFailure, "5.1.1", false},
		{604, OutcomePermFailure, "5.1.1", false},
		{403, OutcomePermFailure, "5.7.1", false},
		{603, OutcomePermFailure, "5.7.1", false},
		{401, OutcomePermFailure, "5.7.0", false},
		{407, OutcomePermFailure, "5.7.0", false},
		{488, OutcomePermFailure, "5.6.1", false},
		{606, OutcomePermFailure, "5.6.1", false},
		{400, OutcomePermFailure, "5.4.0", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			e := SIPStatusError(tc.code, "Reason\r\nX: y")
			tcompare(t, e.Outcome, tc.outcome, "outcome")
			tcompare(t, e.Status, tc.status, "status")
			tcompare(t, e.Temporary(), tc.temp, "temporary")
			tcompare(t, IsTemporary(fmt.Errorf("wrapped: %w", e)), tc.temp, "IsTemporary through %w")
			tcompare(t, e.Diagnostic, fmt.Sprintf("%d Reason X: y", tc.code), "sanitised diagnostic")
		})
	}
}

func TestClassify(t *testing.T) {
	tcompare(t, IsTemporary(errors.New("x")), true, "plain error is temporary")
	tcompare(t, IsTemporary(nil), false, "nil")
	tcompare(t, classify(context.DeadlineExceeded).Status, "4.4.7", "timeout status")
	tcompare(t, classify(errors.New("x")).Status, "4.3.0", "local error status")
}
