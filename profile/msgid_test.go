package profile

import "testing"

// TestMessageIDForms checks the recognition of RFC 5322 3.6.4 msg-id
// values, "[CFWS] "<" id-left "@" id-right ">" [CFWS]", and of the forms the
// plan repairs (DIGEST §2.1).
func TestMessageIDForms(t *testing.T) {
	tests := []struct {
		v            string
		proper, bare bool
		draft        bool
	}{
		{"<abc.123@vm.example.com>", true, false, false},
		{"(comment) <abc.123@vm.example.com> (trailing)", true, false, false},
		{" (a (nested) comment)\r\n\t<x@y> ", true, false, false},
		{`<"quoted left"@example.com>`, false, false, false}, // a quoted local part with a space: not kept as msg-id
		{"abc@vm.example.com", false, true, false},
		{"<abc@vm.example.com", false, false, false},
		{"<a b@c>", false, false, false},
		{"<@c>", false, false, false},
		{"vm1.example.com-12345678", false, false, true},
		{"VM1.mycompany.co-123456789", false, false, true},
		{"example-12345678", false, false, false},
		{"vm1.example.com-1234", false, false, false},
	}
	for _, tc := range tests {
		if got := isMsgID(tc.v); got != tc.proper {
			t.Errorf("isMsgID(%q) = %v", tc.v, got)
		}
		if got := isBareID(tc.v); got != tc.bare {
			t.Errorf("isBareID(%q) = %v", tc.v, got)
		}
		if got := isDraftID(tc.v); got != tc.draft {
			t.Errorf("isDraftID(%q) = %v", tc.v, got)
		}
	}
}
