package telephony

import "strings"

// Mail text (Subject, From, display names) is untrusted. It never reaches a
// call file, dial string, DSN field or command line without one of these.

// sanitizeCallFileValue keeps a conservative whitelist of printable ASCII for
// an Asterisk call-file value. pbx_spool treats "#" after a blank and ";" as
// comment starts and splits on line ends; "$", "{", "}", "[" and "]" could
// trigger dialplan expressions later; "\" and "," are separators in
// applications. All of them, CR/LF, controls and non-ASCII are dropped;
// blank runs collapse; the result is at most 200 bytes (pbx_spool skips lines
// over 1024 bytes).
func sanitizeCallFileValue(s string) string {
	return sanitizeWhitelist(s, "", 200)
}

// sanitizeDiagnostic makes text safe for a DSN field or log line: printable
// ASCII only, one line, at most 200 bytes.
func sanitizeDiagnostic(s string) string {
	return sanitizeWhitelist(s, ";#,[]$\"", 200)
}

const safePunct = ".:@+-_'()/!?=<>&*%"

// sanitizeWhitelist keeps letters, digits, blanks and safePunct plus extra;
// any other rune becomes a blank (so words stay apart), blank runs collapse.
func sanitizeWhitelist(s, extra string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r < 0x7f && (strings.ContainsRune(safePunct, r) || strings.ContainsRune(extra, r))
		if !ok {
			switch r {
			case ' ', '\t', '\r', '\n':
				space = true
				continue
			}
			// dropped, like the characters Asterisk would interpret
			continue
		}
		sep := space && b.Len() > 0
		if n := b.Len() + 1; sep && n+1 > max || !sep && n > max {
			break
		}
		if sep {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r) // ASCII only: one byte
	}
	return b.String()
}
