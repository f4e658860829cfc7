package addr

import "strings"

// String returns the canonical form of a valid address, the form to
// generate (RFC 3191 4: accept leniently, generate strictly): written
// separators removed (RFC 3191 2.1 UAs SHOULD remove them), no optional
// slashes (RFC 3191 4 SHOULD NOT generate), selector and keywords upper
// case, elements in grammar order, the special names lower case, the domain
// lower case, and the local part quoted only when RFC 5322 3.4.1 requires
// it. A VPIM v2 native address stays native ("+17035245550+230@ema.org");
// the selector-less RFC 3804 vpim-mbox gains "VPIM=". Parsing the result
// gives the same fields (Input, Local and Warnings aside). For an invalid
// address String returns Input unchanged.
func (a Address) String() string {
	if !a.Valid {
		return a.Input
	}
	var local string
	switch a.Kind {
	case KindSpecial:
		local = a.Special
	case KindVPIM:
		local = a.Number
		if a.Extension != "" {
			local += "+" + a.Extension
		}
	case KindPSTN:
		local = a.pstnString()
		if strings.HasSuffix(local, "/") {
			// A value ending in "/" (an AMIS-D mailbox, an ATTN name) would
			// lose it to the optional trailing slash of RFC 3191 4; write
			// that slash explicitly.
			local += "/"
		}
	default:
		local = a.Local
	}
	local = quoteLocal(local)
	if a.Domain == "" {
		return local
	}
	return local + "@" + a.Domain
}

func (a Address) pstnString() string {
	var b strings.Builder
	b.WriteString(a.Service)
	b.WriteByte('=')
	if a.Service == "AMIS" {
		if a.AMIS != nil {
			b.WriteString(a.AMIS.Mailbox)
			if a.AMIS.SysNum != "" {
				b.WriteString("/SYSNUM=" + a.AMIS.SysNum)
			}
		}
	} else {
		b.WriteString(a.Number)
		if a.ISub != "" {
			b.WriteString("/ISUB=" + a.ISub)
		}
		if a.PostDial != "" {
			b.WriteString("/POSTD=" + a.PostDial)
		}
		if a.Extension != "" {
			b.WriteString("/EXT=" + a.Extension)
		}
		if a.DL != "" {
			b.WriteString("/DL=" + a.DL)
		}
	}
	if a.Attn != nil {
		b.WriteString("/ATTN=" + a.Attn.String())
	}
	if a.T33S != "" {
		b.WriteString("/T33S=" + a.T33S)
	}
	for _, q := range a.Qualifiers {
		b.WriteString("/" + q.Key + "=" + q.Value)
	}
	return b.String()
}

// String returns the pers-name as written in "/ATTN=" (RFC 2846 3.1),
// in a form that parses back to the same parts.
func (n Name) String() string {
	switch {
	case n.Initials != "":
		return n.Given + "." + n.Initials + "." + n.Surname
	case n.Given != "" || strings.Contains(n.Surname, "."):
		return n.Given + "." + n.Surname
	}
	return n.Surname
}

// quoteLocal returns local as a dot-atom when it is one, else as a
// quoted-string (RFC 5322 3.4.1, 3.2.4).
func quoteLocal(local string) string {
	dotAtom := local != "" && local[0] != '.' && local[len(local)-1] != '.' && !strings.Contains(local, "..")
	for i := 0; dotAtom && i < len(local); i++ {
		dotAtom = isAText(local[i]) || local[i] == '.'
	}
	if dotAtom {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if local[i] == '"' || local[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Equivalent reports whether a and b reach the same mailbox (DIGEST 4.1
// notes): both valid, same domain, and for VPIM mailboxes (KindVPIM, or
// KindPSTN with service VPIM) the same number, extension, ISDN subaddress
// and distribution list, so that 2722+111 ≡ VPIM=2722/EXT=111 ≡
// VPIM=2722+111 and +17035245550+230 ≡ VPIM=+17035245550/EXT=230; digits
// compare after written separators are removed (RFC 3191 2.1). Other
// addresses are equivalent when their canonical forms ([Address.String])
// are equal.
func (a Address) Equivalent(b Address) bool {
	if !a.Valid || !b.Valid || a.Domain != b.Domain {
		return false
	}
	if a.vpimMailbox() && b.vpimMailbox() {
		return a.Number == b.Number && a.Extension == b.Extension && a.ISub == b.ISub && a.DL == b.DL
	}
	return a.String() == b.String()
}

func (a Address) vpimMailbox() bool {
	return a.Kind == KindVPIM || (a.Kind == KindPSTN && a.Service == "VPIM")
}
