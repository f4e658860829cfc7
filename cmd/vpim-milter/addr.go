package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile/addr"
)

const addrUsage = `usage: vpim-milter addr [--json] ADDRESS...

Parses voice-mail addresses: VPIM v2 numeric local parts (RFC 3801 4.1.1),
service selectors VOICE= FAX= VPIM= AMIS= SMS= ... with /ISUB= /POSTD= /EXT=
/DL= /T33S= /SYSNUM= /ATTN= (RFC 2303/2304/2846/3191/3804), and the special
addresses postmaster, non-mail-user and loopback.

Without --json, one line per address:
  ADDRESS: valid KIND [key=value]... dial=NUMBER canonical=ADDRESS [warning="..."]...
  ADDRESS: invalid [KIND]: REASON
(valid (lenient) when the address departs from the strict grammar).
With --json, one JSON array with one object per address, in order, each with
input, valid, kind (vpim, pstn, special, plain, or "" when not an address),
service, number, extension, post_dial, isub, sysnum, error, and when set
t33s, dl, special, attn, amis, qualifiers, warnings.

Flags may come before or after the addresses; "--" ends the flags.
Exit status: 0 all addresses valid, 1 some invalid, 2 usage error.
`

// runAddr implements "vpim-milter addr": it parses each address argument
// with profile/addr and prints the result. It returns the exit status.
func runAddr(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("addr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, addrUsage) }
	asJSON := fs.Bool("json", false, "print a JSON array")
	operands, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(operands) == 0 {
		fmt.Fprint(stderr, addrUsage)
		return 2
	}
	all := make([]addr.Address, len(operands))
	code = 0
	for i, s := range operands {
		all[i] = addr.Parse(s)
		if !all[i].Valid {
			code = 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			fmt.Fprintf(stderr, "vpim-milter: addr: %v\n", err)
			return 2
		}
		return code
	}
	for _, a := range all {
		if _, err := fmt.Fprintln(stdout, addrLine(a)); err != nil {
			fmt.Fprintf(stderr, "vpim-milter: addr: %v\n", err)
			return 2
		}
	}
	return code
}

// addrLine is the human-readable form of one parsed address.
func addrLine(a addr.Address) string {
	var b strings.Builder
	in := a.Input
	if in == "" || !printableASCII(in) {
		in = strconv.Quote(in)
	}
	b.WriteString(in + ": ")
	if !a.Valid {
		b.WriteString("invalid")
		if a.Kind != "" {
			b.WriteString(" " + a.Kind)
		}
		b.WriteString(": " + a.Error)
		return b.String()
	}
	b.WriteString("valid ")
	if !a.Strict() {
		b.WriteString("(lenient) ")
	}
	b.WriteString(a.Kind)
	kv := func(k, v string) {
		if v == "" {
			return
		}
		if strings.ContainsAny(v, " \"\\") || !printableASCII(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	kv("service", a.Service)
	kv("special", a.Special)
	kv("number", a.Number)
	kv("extension", a.Extension)
	kv("isub", a.ISub)
	kv("post_dial", a.PostDial)
	kv("dl", a.DL)
	kv("t33s", a.T33S)
	if a.AMIS != nil {
		kv("amis", a.AMIS.Form)
		kv("amis_mailbox", a.AMIS.Mailbox)
	}
	kv("sysnum", a.SysNum)
	if a.Attn != nil {
		kv("attn", a.Attn.String())
	}
	for _, q := range a.Qualifiers {
		kv(strings.ToLower(q.Key), q.Value)
	}
	kv("dial", a.DialString())
	kv("canonical", a.String())
	for _, w := range a.Warnings {
		b.WriteString(" warning=" + strconv.Quote(w))
	}
	return b.String()
}

// printableASCII reports whether s has only bytes 0x20-0x7E, so it can be
// printed on one line as is.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
