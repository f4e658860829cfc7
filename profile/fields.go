package profile

import (
	"mime"
	"strings"
)

// Editing structured header values (Content-Type, Content-Disposition)
// parameter by parameter, so that what a rule does not require stays as
// the sender wrote it: folding, quoting, case, RFC 2231 encodings
// (issue 10: "Edit only what a rule requires").

// paramSegment is one ";"-separated piece of a structured value.
type paramSegment struct {
	raw  string // as written, without the separating ";"
	name string // lower-case parameter name, "" for the leading value; RFC 2231 names keep their "*" suffixes
}

// splitParams splits a raw value at the ";" outside quoted strings and
// comments.
func splitParams(raw string) []paramSegment {
	var segs []paramSegment
	start, quoted, depth := 0, false, 0
	add := func(end int) {
		s := raw[start:end]
		seg := paramSegment{raw: s}
		if len(segs) > 0 {
			if k, _, ok := strings.Cut(s, "="); ok {
				seg.name = strings.ToLower(strings.TrimSpace(stripAllComments(k)))
			}
		}
		segs = append(segs, seg)
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case quoted:
			quoted = c != '"'
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ';' && depth == 0:
			add(i)
			start = i + 1
		}
	}
	add(len(raw))
	return segs
}

// baseName is a parameter name without its RFC 2231 suffixes
// ("filename*0*" → "filename").
func baseName(n string) string {
	if i := strings.IndexByte(n, '*'); i >= 0 {
		return n[:i]
	}
	return n
}

// formatParam renders name=value, quoting the value when it needs it
// (RFC 2045 5.1) and using RFC 2231 for non-ASCII values.
func formatParam(name, value string) string {
	return mime.FormatMediaType("x", map[string]string{name: value})[len("x; "):]
}

// editParams returns raw (a Content-Type or Content-Disposition value as
// written, leading white space included) with the parameters in set given
// the new values (replacing every RFC 2231 piece of the old one, in the
// place of the first) and the parameters in del removed; with kind != ""
// the leading value becomes kind. Everything else keeps its bytes.
func editParams(raw, kind string, set map[string]string, del ...string) string {
	segs := splitParams(raw)
	done := map[string]bool{}
	var out []string
	for i, s := range segs {
		if i == 0 {
			if kind != "" {
				lead := s.raw[:len(s.raw)-len(strings.TrimLeft(s.raw, " \t\r\n"))]
				trail := s.raw[len(strings.TrimRight(s.raw, " \t\r\n")):]
				s.raw = lead + kind + trail
			}
			out = append(out, s.raw)
			continue
		}
		b := baseName(s.name)
		if v, ok := set[b]; ok {
			if !done[b] {
				done[b] = true
				out = append(out, " "+formatParam(b, v))
			}
			continue
		}
		if contains(del, b) {
			continue
		}
		out = append(out, s.raw)
	}
	for _, n := range sortedKeys(set) {
		if !done[n] {
			out = append(out, " "+formatParam(n, set[n]))
		}
	}
	return strings.Join(out, ";")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// rawField returns the raw value of the first field name of h.
func rawField(h []Field, name string) (string, bool) {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return h[i].Value, true
		}
	}
	return "", false
}
