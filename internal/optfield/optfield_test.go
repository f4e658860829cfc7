package optfield

import (
	"errors"
	"fmt"
	"testing"
)

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add("ReadTimeout", "must be positive, got %v", -1)
	Positive(&l, "MaxHeaders", 0, "2000")
	Positive(&l, "BodyMaxSize", int64(5), "")
	OneOf(&l, "ErrorAction", "drop", []string{"tempfail", "accept"})
	OneOf(&l, "Backend", "fax", []string{"spool", "sip", "asterisk"})
	OneOf(&l, "IVMAudio", "au", []string{"raw", "au"})
	want := "ReadTimeout: must be positive, got -1\n" +
		"MaxHeaders: must be positive, got 0 (hint: 2000)\n" +
		"ErrorAction: \"drop\": want tempfail or accept\n" +
		"Backend: \"fax\": want spool, sip or asterisk"
	if got := l.Err().Error(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAll(t *testing.T) {
	var l List
	l.Add("A", "bad")
	l.Add("B.C[2]", "worse")
	plain := errors.New("not a field")
	err := fmt.Errorf("pkg: invalid options: %w", errors.Join(l.Err(), plain, fmt.Errorf("wrapped: %w", &Error{Field: "D", Msg: "x"})))
	fields, other := All(err)
	if len(fields) != 3 || fields[0].Field != "A" || fields[1].Field != "B.C[2]" || fields[2].Field != "D" {
		t.Fatalf("fields %v", fields)
	}
	if len(other) != 1 || other[0] != plain {
		t.Fatalf("other %v", other)
	}
	if f, o := All(nil); f != nil || o != nil {
		t.Fatalf("nil: %v %v", f, o)
	}
}
