package profile

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"sync"
)

// Limits bound the work of parsing one message. The zero value of a field
// means its default.
type Limits struct {
	MaxDepth       int   // nesting of multiparts and message/rfc822 (default 50)
	MaxParts       int   // MIME parts in the whole tree (default 1000)
	MaxHeaderBytes int64 // size of the top-level header block (default 1 MiB)
	// MaxPartHeaderLines and MaxPartHeaderBytes bound the header of each
	// MIME part and of each embedded message (default 1000 lines,
	// 64 KiB; folded lines count one each). All part headers of a message
	// together may hold partHeaderTotal times as much.
	MaxPartHeaderLines int
	MaxPartHeaderBytes int64
}

// partHeaderTotal is how many times the per-part header caps all part
// headers of one message may hold together: what the parser keeps of
// part headers stays within 16 × 64 KiB (and 16,000 lines) by default,
// however the lines are spread over parts.
const partHeaderTotal = 16

// The defaults of Limits.
const (
	DefaultMaxDepth           = 50
	DefaultMaxParts           = 1000
	DefaultMaxHeaderBytes     = 1 << 20
	DefaultMaxPartHeaderLines = 1000
	DefaultMaxPartHeaderBytes = 64 << 10
)

// withDefaults fills in the defaults of zero fields (Options.WithDefaults
// calls it; Parse too, for callers without Options).
func (l Limits) withDefaults() Limits {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxParts == 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxPartHeaderLines == 0 {
		l.MaxPartHeaderLines = DefaultMaxPartHeaderLines
	}
	if l.MaxPartHeaderBytes == 0 {
		l.MaxPartHeaderBytes = DefaultMaxPartHeaderBytes
	}
	return l
}

// headLen is how many decoded bytes of a leaf part are kept for sniffing.
const headLen = 512

// Part is one node of the MIME tree of a message (RFC 2045, RFC 2046).
// Its body is not held in memory: only its place in the body (byte
// offsets, so the rewrite can copy what it does not change), its size and
// its first decoded bytes.
type Part struct {
	// Path is the part's position: "" for the top level, "1", "1.2", ...
	// (RFC 3501 6.4.5 numbering). The message embedded in a message/rfc822
	// part shares the path of that part.
	Path   string
	Header []Field // the part's own header fields, in order, raw values

	Type        string            // media type, lower case ("audio/32kadpcm"); "text/plain" when absent (RFC 2045 5.2)
	RawType     string            // media type as written ("Audio/32KADPCM"); "" when absent
	Params      map[string]string // Content-Type parameters, lower-case names
	TypeInvalid bool              // Content-Type present but unparsable

	Disposition       string            // lower case; "" when absent
	DispositionParams map[string]string // lower-case names, values trimmed
	Encoding          string            // Content-Transfer-Encoding, lower case; "" when absent
	RawEncoding       string
	Duration          int64 // declared Content-Duration (RFC 3803); -1 when absent or invalid
	RawDuration       string

	Children []*Part // multipart children
	Embedded *Part   // the message inside a message/rfc822 part

	// Offsets in the body stream (after the top-level header). Start is
	// the first byte of the part's header (of its delimiter line's end
	// for a child: the header follows it), BodyStart the first byte of
	// its body, End the end of its content (before the line end that
	// belongs to the next delimiter, RFC 2046 5.1.1). DelimStart is
	// where the delimiter line introducing a multipart child starts.
	Start, BodyStart, End, DelimStart int64
	// CloseStart and CloseEnd delimit the close delimiter line of a
	// multipart (-1 without one); the epilogue runs from CloseEnd to End.
	CloseStart, CloseEnd int64

	Size      int64  // raw body size in bytes
	Data      int64  // decoded body size in bytes
	Head      []byte // first decoded bytes (up to 512)
	MaxLine   int    // longest line of the body, line end excluded
	BadBase64 bool   // base64 body with invalid characters, misplaced padding or a length not a multiple of 4
	BadQP     bool   // quoted-printable body with bytes no decoder takes (controls other than TAB, CR, LF)
	Truncated bool   // the body ended before its multipart delimiter
	Unclosed  bool   // multipart without a (valid) close delimiter
	NoParts   bool   // multipart whose first delimiter was never found

	synthetic  bool  // made by the plan (the wrapped single-part body), not read from the input
	embeddedIn *Part // for the root of an embedded message: its message/rfc822 part
	parent     *Part // the multipart or message/rfc822 part containing this one
}

// Message is the parsed model of one message: its header and MIME tree.
type Message struct {
	Root       *Part
	PartCount  int
	MaxDepth   int
	DepthLimit bool // the tree was deeper than the limit; deeper parts were not parsed
	PartLimit  bool // the tree had more parts than the limit
	// HeaderLimit names the first part whose header exceeded
	// MaxPartHeaderLines or MaxPartHeaderBytes ("" for none); nothing
	// after it was interpreted.
	HeaderLimit string
	HeaderSize  int64
	BodySize    int64
}

// Walk calls fn for every part in depth-first order, entering embedded
// messages. It stops early when fn returns false.
func (m *Message) Walk(fn func(p *Part, depth int) bool) {
	var walk func(p *Part, d int) bool
	walk = func(p *Part, d int) bool {
		if !fn(p, d) {
			return false
		}
		if p.Embedded != nil && !walk(p.Embedded, d+1) {
			return false
		}
		for _, c := range p.Children {
			if !walk(c, d+1) {
				return false
			}
		}
		return true
	}
	if m.Root != nil {
		walk(m.Root, 0)
	}
}

// Limited reports whether a parse limit stopped the interpretation.
func (m *Message) Limited() bool { return m.DepthLimit || m.PartLimit || m.HeaderLimit != "" }

// Get returns the unfolded, trimmed value of the first field named name
// (case insensitive) and whether it exists.
func (p *Part) Get(name string) (string, bool) { return fieldValue(p.Header, name) }

// IsMultipart reports whether the part is a multipart container.
func (p *Part) IsMultipart() bool { return strings.HasPrefix(p.Type, "multipart/") }

// IsLeaf reports whether the part holds data: neither a multipart nor a
// message/rfc822 with its embedded message.
func (p *Part) IsLeaf() bool { return !p.IsMultipart() && p.Embedded == nil }

// fieldValue returns the unfolded trimmed value of the first field named name.
func fieldValue(h []Field, name string) (string, bool) {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return unfold(h[i].Value), true
		}
	}
	return "", false
}

// fieldCount returns how many fields are named name.
func fieldCount(h []Field, name string) int {
	n := 0
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			n++
		}
	}
	return n
}

// unfold removes folding (RFC 5322 2.2.3) and surrounding white space.
func unfold(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
	}
	return strings.TrimSpace(v)
}

// errBody marks an error of the underlying body reader, as opposed to a
// malformed message.
type errBody struct{ err error }

func (e errBody) Error() string { return "profile: reading body: " + e.err.Error() }
func (e errBody) Unwrap() error { return e.err }

// classify fills the content fields of p from its header.
func classify(p *Part) {
	p.Duration = -1
	p.Type = "text/plain"
	p.Params = map[string]string{}
	p.DispositionParams = map[string]string{}
	if v, ok := p.Get("Content-Type"); ok {
		p.RawType = v
		mt, params, err := parseMediaType(v)
		if err != nil || !strings.Contains(mt, "/") {
			p.TypeInvalid = true
		}
		if strings.Contains(mt, "/") {
			p.Type = mt
		}
		if params != nil {
			p.Params = params
		}
		if i := strings.IndexByte(p.RawType, ';'); i >= 0 {
			p.RawType = strings.TrimSpace(p.RawType[:i])
		}
	}
	if v, ok := p.Get("Content-Disposition"); ok {
		d, params, _ := parseMediaType(v)
		p.Disposition = d
		if params != nil {
			p.DispositionParams = params
		}
	}
	if v, ok := p.Get("Content-Transfer-Encoding"); ok {
		p.RawEncoding = v
		p.Encoding = strings.ToLower(stripComments(v))
	}
	if v, ok := p.Get("Content-Duration"); ok {
		p.RawDuration = v
		// RFC 3803 3: 1*10DIGIT
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n <= 2147483647 && len(v) <= 10 {
			p.Duration = n
		}
	}
}

// isBase64 reports whether a transfer encoding is base64, including the
// 1994 draft's spelling "Base-64" (DIGEST D1-ENC).
func isBase64(enc string) bool { return enc == "base64" || enc == "base-64" }

// parseMediaType parses a Content-Type or Content-Disposition value
// leniently: parameter names and the type are lower-cased, white space
// around "=" is accepted (DIGEST §2.6, §2.11), and a broken parameter list
// still yields the type and the parameters it can split, together with the
// error of mime.ParseMediaType.
func parseMediaType(v string) (string, map[string]string, error) {
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		for k, val := range params {
			params[k] = strings.TrimSpace(val)
		}
		return mt, params, nil
	}
	// Fallback: split on ';' and '='.
	params = map[string]string{}
	fields := strings.Split(v, ";")
	mt = strings.ToLower(strings.TrimSpace(fields[0]))
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		if k != "" {
			params[k] = val
		}
	}
	return mt, params, err
}

func childPath(parent string, i int) string {
	if parent == "" {
		return strconv.Itoa(i)
	}
	return parent + "." + strconv.Itoa(i)
}

// scanner reads the body line by line and knows the offset of every
// line. A line longer than the buffer comes in fragments; only the first
// fragment of a line can be a delimiter.
type scanner struct {
	r   *bufio.Reader
	off int64 // offset of the next byte to read
	err error // first read error other than io.EOF

	line     []byte // the current fragment (valid until the next call)
	lineOff  int64  // offset of line
	atStart  bool   // line begins a line
	complete bool   // line ends with '\n'
	prevEOL  int    // length of the line end of the fragment before line
	eof      bool
	pending  bool // the current line was pushed back
}

// next reads the next fragment; it returns false at the end of the input.
func (s *scanner) next() bool {
	if s.pending {
		s.pending = false
		return true
	}
	if s.eof {
		return false
	}
	s.prevEOL = s.eolLen()
	s.atStart = s.complete || s.off == 0
	s.lineOff = s.off
	line, err := s.r.ReadSlice('\n')
	s.off += int64(len(line))
	s.line = line
	s.complete = err == nil
	if err != nil && err != bufio.ErrBufferFull {
		if err != io.EOF && s.err == nil {
			s.err = err
		}
		s.eof = true
		if len(line) == 0 {
			return false
		}
	}
	return true
}

// unread pushes the current fragment back.
func (s *scanner) unread() { s.pending = true }

// eolLen is the length of the line end of the current fragment (0, 1 or 2).
func (s *scanner) eolLen() int {
	l := s.line
	if !s.complete {
		return 0
	}
	if len(l) >= 2 && l[len(l)-2] == '\r' {
		return 2
	}
	return 1
}

// delimiter reports whether the current fragment is a delimiter line of
// one of the boundaries (innermost last): the index of the boundary, and
// whether it is a close delimiter. -1 when it is none.
func (s *scanner) delimiter(bounds []string) (int, bool) {
	l := s.line
	if !s.atStart || len(l) < 3 || l[0] != '-' || l[1] != '-' || len(l) > 2+70+2+200 {
		return -1, false
	}
	l = bytes.TrimRight(l[2:], " \t\r\n") // transport padding (RFC 2046 5.1.1)
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(l, []byte(b)) {
			continue
		}
		rest := l[len(b):]
		switch {
		case len(rest) == 0:
			return i, false
		case len(rest) == 2 && rest[0] == '-' && rest[1] == '-':
			return i, true
		}
	}
	return -1, false
}

type parser struct {
	lim  Limits
	msg  *Message
	s    *scanner
	stop bool // a limit was hit: read to the end without interpreting

	headerLines int   // part header lines kept so far
	headerBytes int64 // part header bytes kept so far
}

// Parse reads the MIME tree of a message from its header fields and body.
// It is lenient: every defect of DIGEST §8 still yields a tree, with the
// defect recorded on the part. An error means the body could not be read.
// Parsing stops interpreting (the rest is only counted) at the first limit
// of lim it exceeds; Message.Limited then reports it.
func Parse(header []Field, body io.Reader, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	m := &Message{}
	for _, f := range header {
		m.HeaderSize += int64(len(f.Name) + len(f.Value) + 3)
	}
	root := &Part{Header: header, CloseStart: -1, CloseEnd: -1}
	m.Root = root
	ps := &parser{lim: lim, msg: m, s: &scanner{r: bufio.NewReaderSize(body, 32<<10)}}
	if m.HeaderSize > lim.MaxHeaderBytes {
		classify(root)
		root.Type = "" // not interpreted
		ps.stop = true
	} else {
		classify(root)
	}
	ps.entity(root, 0, nil)
	ps.drain()
	m.BodySize = ps.s.off
	if ps.s.err != nil {
		return m, errBody{ps.s.err}
	}
	return m, nil
}

// drain reads the rest of the input.
func (ps *parser) drain() {
	for ps.s.next() {
	}
}

// entity parses the body of p (header read and classified), which runs
// to a delimiter of bounds or the end of the input. It returns how it
// ended: the boundary index hit (-1 at the end of input) and whether that
// was a close delimiter; the delimiter line stays unread.
func (ps *parser) entity(p *Part, depth int, bounds []string) (int, bool) {
	if depth > ps.msg.MaxDepth {
		ps.msg.MaxDepth = depth
	}
	p.BodyStart = ps.s.off
	if ps.s.pending {
		p.BodyStart = ps.s.lineOff
	}
	switch {
	case ps.stop:
		return ps.leaf(p, bounds)
	case p.IsMultipart() && p.Params["boundary"] != "":
		if depth >= ps.lim.MaxDepth {
			ps.msg.DepthLimit = true
			ps.stop = true
			return ps.leaf(p, bounds)
		}
		return ps.multipart(p, depth, bounds)
	case p.Type == "message/rfc822":
		if depth >= ps.lim.MaxDepth {
			ps.msg.DepthLimit = true
			ps.stop = true
			return ps.leaf(p, bounds)
		}
		return ps.embedded(p, depth, bounds)
	}
	return ps.leaf(p, bounds)
}

// multipart parses the children of p.
func (ps *parser) multipart(p *Part, depth int, bounds []string) (int, bool) {
	b := p.Params["boundary"]
	inner := append(bounds[:len(bounds):len(bounds)], b)
	mine := len(inner) - 1
	s := ps.s
	// Preamble: up to the first delimiter of b.
	for {
		if !s.next() {
			p.NoParts = true
			p.End = s.off
			return -1, false
		}
		i, closing := s.delimiter(inner)
		if i < 0 {
			p.Size += int64(len(s.line))
			continue
		}
		if i != mine {
			s.unread()
			p.NoParts = true
			p.End = ps.contentEnd(p.BodyStart)
			return i, closing
		}
		if closing {
			// A close delimiter before any part: no parts.
			p.NoParts = true
			p.CloseStart, p.CloseEnd = s.lineOff, s.off
			return ps.epilogue(p, bounds)
		}
		break
	}
	for n := 1; ; n++ {
		// s.line is a delimiter of b.
		c := &Part{Path: childPath(p.Path, n), DelimStart: s.lineOff, Start: s.off, CloseStart: -1, CloseEnd: -1, parent: p}
		if ps.stop || ps.msg.PartCount >= ps.lim.MaxParts {
			if !ps.stop {
				ps.msg.PartLimit = true
				ps.stop = true
			}
		} else {
			ps.msg.PartCount++
			p.Children = append(p.Children, c)
		}
		ps.header(c, inner)
		if !ps.stop {
			classify(c)
		}
		i, closing := ps.entity(c, depth+1, inner)
		if c.Truncated && !ps.stop {
			p.Unclosed = true
		}
		if i < 0 {
			// End of input without a close delimiter.
			p.Unclosed = true
			p.End = s.off
			return -1, false
		}
		if i != mine {
			// An outer boundary ends this multipart too.
			p.Unclosed = true
			p.End = c.End
			return i, closing
		}
		s.next() // consume our delimiter
		if closing {
			p.CloseStart, p.CloseEnd = s.lineOff, s.off
			return ps.epilogue(p, bounds)
		}
	}
}

// epilogue reads from the close delimiter to the end of p.
func (ps *parser) epilogue(p *Part, bounds []string) (int, bool) {
	s := ps.s
	for s.next() {
		if i, closing := s.delimiter(bounds); i >= 0 {
			s.unread()
			p.End = ps.contentEnd(p.CloseEnd)
			return i, closing
		}
	}
	p.End = s.off
	return -1, false
}

// contentEnd is where content ends before the current (delimiter) line:
// the line end before it belongs to the delimiter (RFC 2046 5.1.1). It is
// never before floor.
func (ps *parser) contentEnd(floor int64) int64 {
	return max(ps.s.lineOff-int64(ps.s.prevEOL), floor)
}

// embedded parses the message inside a message/rfc822 part.
func (ps *parser) embedded(p *Part, depth int, bounds []string) (int, bool) {
	inner := &Part{Path: p.Path, Start: p.BodyStart, CloseStart: -1, CloseEnd: -1, embeddedIn: p, parent: p}
	ps.header(inner, bounds)
	if ps.stop {
		return ps.leaf(p, bounds)
	}
	if len(inner.Header) == 0 {
		// Not a message at all: keep it as opaque data.
		return ps.leaf(p, bounds)
	}
	classify(inner)
	p.Embedded = inner
	i, closing := ps.entity(inner, depth+1, bounds)
	p.End = inner.End
	p.Size = p.End - p.BodyStart
	p.Data = p.Size
	p.Truncated = inner.Truncated
	return i, closing
}

// header reads the header fields of p, up to the blank line, a line that
// is not a header field, a delimiter of bounds or the end of input, within
// the part header limits.
func (ps *parser) header(p *Part, bounds []string) {
	s := ps.s
	lines, size := 0, int64(0)
	for s.next() {
		if i, _ := s.delimiter(bounds); i >= 0 {
			s.unread()
			return
		}
		l := s.line
		if !s.atStart {
			// The rest of an overlong line.
			size += int64(len(l))
			if !ps.stop {
				ps.headerBytes += int64(len(l))
				if size > ps.lim.MaxPartHeaderBytes || ps.headerBytes > partHeaderTotal*ps.lim.MaxPartHeaderBytes {
					ps.headerLimit(p)
				}
			}
			if !ps.stop && len(p.Header) > 0 {
				f := &p.Header[len(p.Header)-1]
				f.Value += string(bytes.TrimRight(l, "\r\n"))
			}
			continue
		}
		if len(bytes.TrimRight(l, "\r\n")) == 0 {
			return // the blank line ending the header
		}
		lines++
		size += int64(len(l))
		if !ps.stop {
			ps.headerLines++
			ps.headerBytes += int64(len(l))
			if lines > ps.lim.MaxPartHeaderLines || size > ps.lim.MaxPartHeaderBytes ||
				ps.headerLines > partHeaderTotal*ps.lim.MaxPartHeaderLines || ps.headerBytes > partHeaderTotal*ps.lim.MaxPartHeaderBytes {
				ps.headerLimit(p)
			}
		}
		if ps.stop {
			continue
		}
		t := bytes.TrimRight(l, "\r\n")
		if (t[0] == ' ' || t[0] == '\t') && len(p.Header) > 0 {
			f := &p.Header[len(p.Header)-1]
			f.Value += "\r\n" + string(t)
			continue
		}
		name, val, ok := bytes.Cut(t, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			// Not a header field: the header ended without a blank line
			// and this line is body (lenient, as RFC 5322 2.2 readers).
			s.unread()
			return
		}
		p.Header = append(p.Header, Field{Name: string(name), Value: string(val)})
	}
}

// headerLimit stops interpreting at part p whose header is too large.
func (ps *parser) headerLimit(p *Part) {
	ps.stop = true
	ps.msg.HeaderLimit = p.Path
	if p.Path == "" {
		ps.msg.HeaderLimit = "0"
	}
	p.Header = nil
}

// b64class classifies bytes for base64 scanning: 0 other, 1 alphabet,
// 2 padding, 3 white space.
var b64class = func() (t [256]byte) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = 1
	}
	t['='] = 2
	for _, c := range []byte(" \t\r\n") {
		t[c] = 3
	}
	return t
}() // immutable lookup table

// b64scan returns the OR of the classes of b's bytes (b64tables): 0
// means b is all base64 characters. It reads two bytes per table lookup,
// as this loop runs over every byte of every base64 part.
func b64scan(t *b64tables, b []byte) byte {
	var acc byte
	for len(b) >= 8 {
		v := binary.LittleEndian.Uint64(b)
		acc |= t.pair[uint16(v)] | t.pair[uint16(v>>16)] | t.pair[uint16(v>>32)] | t.pair[uint16(v>>48)]
		b = b[8:]
	}
	for _, c := range b {
		acc |= t.one[c]
	}
	return acc
}

// b64Pad is the class b64tables give '='.
const b64Pad = 4

// b64tables classify bytes for b64scan: 0 for the base64 alphabet, b64Pad
// for '=', 1 for white space, 2 for anything else; pair holds the OR of
// the classes of two bytes.
type b64tables struct {
	one  [256]byte
	pair [1 << 16]byte
}

// b64pair builds the tables once per process when first needed (64 KiB,
// read-only).
var b64pair = sync.OnceValue(func() *b64tables {
	t := new(b64tables)
	for i := range t.one {
		switch b64class[i] {
		case 0:
			t.one[i] = 2
		case 2:
			t.one[i] = b64Pad
		case 3:
			t.one[i] = 1
		}
	}
	for i := range t.pair {
		t.pair[i] = t.one[i&0xFF] | t.one[i>>8]
	}
	return t
})

// leaf reads the body of a non-container part up to a delimiter of
// bounds, counting its size and keeping its first decoded bytes for
// sniffing. Memory is bounded by the scanner's buffer.
func (ps *parser) leaf(p *Part, bounds []string) (int, bool) {
	s := ps.s
	var (
		raw     []byte // first raw bytes (non-base64)
		b64head []byte // first base64 alphabet characters
		b64n    int64  // alphabet + padding characters
		tail    [2]byte
		ntail   int
		bad     bool
		padSeen bool // base64 padding seen: only white space may follow
		pads    int  // padding characters
		qpData  int64
		qpHard  bool // the last QP line ended with a hard line break
		line    int  // length of the current line so far
	)
	isB64 := isBase64(p.Encoding)
	isQP := p.Encoding == "quoted-printable"
	var pairs *b64tables
	if isB64 {
		pairs = b64pair()
	}
	interpret := !ps.stop
	hit, closing := -1, false
	for s.next() {
		if i, c := s.delimiter(bounds); i >= 0 {
			s.unread()
			hit, closing = i, c
			break
		}
		l := s.line
		if s.atStart {
			line = 0
		}
		e := s.eolLen()
		line += len(l) - e
		if line > p.MaxLine {
			p.MaxLine = line
		}
		if !interpret {
			continue
		}
		switch {
		case isB64:
			t := l[:len(l)-e]
			acc := b64scan(pairs, t)
			if acc&^b64Pad == 0 { // alphabet (and padding) only: the common case
				b64n += int64(len(t))
			} else {
				for _, c := range t {
					switch b64class[c] {
					case 1, 2:
						b64n++
					case 0:
						bad = true
					}
				}
				t = bytes.TrimRight(t, " \t\r")
			}
			// RFC 2045 6.8: "=" only pads the end of the data, at most
			// twice; the decoder refuses it elsewhere.
			if padSeen && len(bytes.Trim(t, " \t\r=")) > 0 {
				bad = true
			}
			if acc&b64Pad != 0 {
				i := bytes.IndexByte(t, '=')
				rest := bytes.Trim(t[i:], " \t\r")
				pads += bytes.Count(rest, []byte("="))
				if len(bytes.TrimLeft(rest, "=")) > 0 || pads > 2 {
					bad = true
				}
				padSeen = true
			}
			if len(t) >= 2 {
				tail[0], tail[1], ntail = t[len(t)-2], t[len(t)-1], 2
			} else if len(t) == 1 {
				tail[0], tail[1] = tail[1], t[0]
				ntail = min(ntail+1, 2)
			}
			if len(b64head) < headLen*4/3+8 {
				for _, c := range t {
					if k := b64class[c]; (k == 1 || k == 2) && len(b64head) < headLen*4/3+8 {
						b64head = append(b64head, c)
					}
				}
			}
		default:
			if len(raw) < headLen*3 {
				raw = append(raw, l[:min(len(l), headLen*3-len(raw))]...)
			}
			if isQP {
				n, hard := qpDecodedLen(l, e)
				qpData += n
				qpHard = hard
				for _, c := range l {
					if c < ' ' && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
						p.BadQP = true // RFC 2045 6.7 (1), (3): no bare controls
					}
				}
			}
		}
	}
	end := s.off
	if hit >= 0 {
		end = ps.contentEnd(p.BodyStart)
	} else if len(bounds) > 0 {
		p.Truncated = true
	}
	p.End = end
	p.Size = end - p.BodyStart
	if !interpret {
		p.Data = p.Size
		return hit, closing
	}
	switch {
	case isB64:
		// The line end before a delimiter is not data; it is white space
		// for base64 anyway.
		if b64n%4 != 0 || bad {
			p.BadBase64 = true
		}
		pad := int64(0)
		if ntail > 0 && tail[1] == '=' {
			pad++
			if ntail > 1 && tail[0] == '=' {
				pad++
			}
		}
		p.Data = max(b64n/4*3-pad, 0)
		k := len(b64head) / 4 * 4
		head := make([]byte, base64.StdEncoding.DecodedLen(k))
		n, _ := base64.StdEncoding.Decode(head, b64head[:k])
		p.Head = head[:min(n, headLen)]
	case isQP:
		p.Data = qpData
		if hit >= 0 && qpHard {
			p.Data -= 2 // the last line end belongs to the delimiter
		}
		d, _ := io.ReadAll(io.LimitReader(quotedprintable.NewReader(bytes.NewReader(raw)), headLen))
		p.Head = d
	default:
		p.Data = p.Size
		p.Head = raw[:min(len(raw), headLen)]
	}
	return hit, closing
}

// qpDecodedLen is the decoded length of one quoted-printable line whose
// line end is eol bytes long (RFC 2045 6.7): "=XX" is one byte, a trailing
// "=" is a soft line break, trailing white space is dropped, a hard line
// break is CRLF (hard reports one).
func qpDecodedLen(l []byte, eol int) (int64, bool) {
	body := bytes.TrimRight(l[:len(l)-eol], " \t")
	soft := len(body) > 0 && body[len(body)-1] == '='
	if soft {
		body = body[:len(body)-1]
	}
	n := int64(len(body))
	for i := bytes.IndexByte(body, '='); i >= 0 && i+2 < len(body); {
		if isHex(body[i+1]) && isHex(body[i+2]) {
			n -= 2 // "=XX" is one byte; any other "=" stays as it is
		}
		j := bytes.IndexByte(body[i+1:], '=')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	hard := !soft && eol > 0
	if hard {
		n += 2
	}
	return max(n, 0), hard
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f' }

// damaged reports whether the part's data cannot be decoded.
func (p *Part) damaged() bool { return p.BadBase64 || p.BadQP }

// errNoPart is returned when a part cannot be found again in the body.
var errNoPart = errors.New("profile: part not found in the body")

// section returns the raw bytes [from, to) of the body as a reader.
func section(body io.ReadSeeker, from, to int64) (io.Reader, error) {
	if to < from {
		return nil, fmt.Errorf("%w: bad span %d-%d", errNoPart, from, to)
	}
	if _, err := body.Seek(from, io.SeekStart); err != nil {
		return nil, errBody{err}
	}
	return io.LimitReader(body, to-from), nil
}
