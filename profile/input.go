package profile

import (
	"net/mail"
	"strings"
)

// HeaderRecipients returns the addresses of the To and Cc fields, the
// default envelope recipients of the offline commands (DESIGN.md --rcpt).
// Addresses net/mail cannot parse (e.g. the RFC 1911 phrase without angle
// brackets) are recovered leniently: the last word containing '@'.
func HeaderRecipients(h []Field) []string {
	var out []string
	for _, f := range h {
		if !strings.EqualFold(f.Name, "To") && !strings.EqualFold(f.Name, "Cc") {
			continue
		}
		v := unfold(f.Value)
		if list, err := mail.ParseAddressList(v); err == nil {
			for _, a := range list {
				out = append(out, a.Address)
			}
			continue
		}
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '<' || r == '>' || r == ',' }) {
			if strings.Contains(w, "@") {
				out = append(out, strings.Trim(w, `"`))
			}
		}
	}
	return out
}
