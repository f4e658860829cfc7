// Package postfixwire builds the milter packets Postfix 3.7 sends a filter
// for one plain message in one SMTP session (captured with strace from the
// Postfix of integration/mta/postfix, smtp-source as the client, with the
// macro requests of milter.Macros), in the groups Postfix writes them. The
// milter's BenchmarkPostfixTransaction and tools/bench/mta/milterload replay
// the same session from here, so a change in what vpim-milter asks of the
// MTA is made once. The functions append to dst, so a caller that reuses
// its buffers allocates nothing per transaction.
package postfixwire

import "encoding/binary"

// Protocol flags (libmilter mfdef.h SMFIP_*): steps the filter negotiated
// away are not sent, replies it negotiated away are not awaited.
const (
	NoConnect = 1 << 0
	NoHelo    = 1 << 1
	NoMail    = 1 << 2
	NoRcpt    = 1 << 3
	NoBody    = 1 << 4
	NoHdrs    = 1 << 5
	NoEOH     = 1 << 6
	NRHdr     = 1 << 7
	NoData    = 1 << 9
	NRConn    = 1 << 12
	NRHelo    = 1 << 13
	NRMail    = 1 << 14
	NRRcpt    = 1 << 15
	NRData    = 1 << 16
	NREOH     = 1 << 18
	NRBody    = 1 << 19
	HdrLeadSp = 1 << 20
)

// Packet appends one milter packet: length, command, the parts.
func Packet(dst []byte, cmd byte, parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, cmd)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

// Negotiate appends Postfix's option negotiation: version 6, actions
// 0x1ff, protocol 0x1fffff (everything offered).
func Negotiate(dst []byte) []byte {
	return Packet(dst, 'O', "\x00\x00\x00\x06\x00\x00\x01\xff\x00\x1f\xff\xff")
}

// Envelope appends the group Postfix writes between negotiation and the
// RCPT reply: connect, HELO and MAIL macros, MAIL, RCPT macros, RCPT (each
// step unless negotiated away in proto).
func Envelope(dst []byte, proto uint32) []byte {
	dst = Packet(dst, 'D', "C", "j\x00mx.harness.test\x00{daemon_name}\x00mx.harness.test\x00{daemon_addr}\x00127.0.0.1\x00v\x00Postfix 3.7.11\x00_\x00unknown [127.0.0.1]\x00")
	if proto&NoConnect == 0 {
		dst = Packet(dst, 'C', "unknown\x00", "4", "\x00\x00", "127.0.0.1\x00")
	}
	dst = Packet(dst, 'D', "H")
	if proto&NoHelo == 0 {
		dst = Packet(dst, 'H', "client.bench.test\x00")
	}
	dst = Packet(dst, 'D', "M", "{client_addr}\x00127.0.0.1\x00")
	if proto&NoMail == 0 {
		dst = Packet(dst, 'M', "<bench@example.org>\x00")
	}
	dst = Packet(dst, 'D', "R")
	if proto&NoRcpt == 0 {
		dst = Packet(dst, 'R', "<user@vm.example.net>\x00")
	}
	return dst
}

// Data appends the DATA macros with queue ID qid, and DATA unless
// negotiated away.
func Data(dst []byte, proto uint32, qid string) []byte {
	dst = Packet(dst, 'D', "T", "i\x00", qid, "\x00")
	if proto&NoData == 0 {
		dst = Packet(dst, 'T')
	}
	return dst
}

// Headers is the number of header fields Headers sends.
const Headers = 4

// HeaderGroup appends smtp-source's Headers header fields with their macros
// and the end of headers (each unless negotiated away; the leading space
// of a value only with SMFIP_HDR_LEADSPC, else the MTA strips it).
func HeaderGroup(dst []byte, proto uint32, qid string) []byte {
	sp := " "
	if proto&HdrLeadSp == 0 {
		sp = ""
	}
	if proto&NoHdrs == 0 {
		for _, h := range [Headers][2]string{
			{"From", "<bench@example.org>"},
			{"To", "<user@vm.example.net>"},
			{"Date", "Sun,  6 Dec 2026 03:22:35 +0000 (UTC)"},
			{"Message-Id", "<6b78.0003.0002@client.bench.test>"},
		} {
			dst = Packet(dst, 'D', "L", "i\x00", qid, "\x00")
			dst = Packet(dst, 'L', h[0], "\x00", sp, h[1], "\x00")
		}
	}
	dst = Packet(dst, 'D', "N", "i\x00", qid, "\x00")
	if proto&NoEOH == 0 {
		dst = Packet(dst, 'N')
	}
	return dst
}

// Quit appends how Postfix ends every session: abort, abort, quit.
func Quit(dst []byte) []byte {
	return Packet(Packet(Packet(dst, 'A'), 'A'), 'Q')
}
