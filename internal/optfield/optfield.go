// Package optfield is the error type of option validation that milter,
// profile, codec, telephony and promtext share: each Options.Validate
// returns its problems as *Error values joined with errors.Join, each
// naming the Go field path it concerns. The command maps those paths to
// configuration keys in one table and so reports every problem at once
// with its key. Each package re-exports the type as FieldError.
package optfield

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one invalid option.
type Error struct {
	// Field is the Go field path within the package's Options:
	// "ReadTimeout", "SIP.Trunk", "OutdialAllow[1]" (a list element),
	// "Targets.vm.example.net" (a map entry).
	Field string
	// Msg says what is wrong, with a hint where one helps.
	Msg string
}

// Error implements error: "Field: Msg".
func (e *Error) Error() string { return e.Field + ": " + e.Msg }

// List collects the problems of one validation. The zero value is empty.
type List []error

// Add records a problem with field.
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, &Error{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Positive records a problem with field unless v is above zero.
func Positive[T ~int | ~int64](l *List, field string, v T, hint string) {
	if v <= 0 {
		l.Add(field, "must be positive, got %v%s", v, hintText(hint))
	}
}

// OneOf records a problem with field unless v is one of allowed.
func OneOf[T ~string](l *List, field string, v T, allowed []T) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	l.Add(field, "%q: want %s", string(v), or(names))
}

// Err returns the problems joined with errors.Join, nil when there are none.
func (l List) Err() error { return errors.Join(l...) }

// All returns the *Error values in err's tree (errors.Join and %w
// wrapping), in order, and the errors in it that carry none.
func All(err error) (fields []*Error, other []error) {
	var walk func(error)
	walk = func(e error) {
		var fe *Error
		switch x := e.(type) {
		case nil:
		case *Error:
			fields = append(fields, x)
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		default:
			if errors.As(e, &fe) {
				walk(errors.Unwrap(e))
				return
			}
			other = append(other, e)
		}
	}
	walk(err)
	return fields, other
}

func hintText(hint string) string {
	if hint == "" {
		return ""
	}
	return " (hint: " + hint + ")"
}

// or lists names as "a", "a or b", "a, b or c".
func or(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
