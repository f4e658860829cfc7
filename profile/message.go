package profile

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// Limits bound the work of parsing one message. The zero value of a field
// means its default.
type Limits struct {
	MaxDepth       int   // nesting of multiparts and message/rfc822 (default 50)
	MaxParts       int   // MIME parts in the whole tree (default 1000)
	MaxHeaderBytes int64 // size of the top-level header block (default 1 MiB)
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 50
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 1000
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 1 << 20
	}
	return l
}

// headLen is how many decoded bytes of a leaf part are kept for sniffing.
const headLen = 512

// Part is one node of the MIME tree of a message (RFC 2045, RFC 2046).
// Its body is not held in memory: only its size and its first decoded bytes.
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

	Size      int64  // raw body size in bytes
	Data      int64  // decoded body size in bytes (exact for base64, binary and 7bit)
	Head      []byte // first decoded bytes (up to 512)
	BadBase64 bool   // base64 body with invalid characters or a length not a multiple of 4
	Truncated bool   // the body ended before its multipart delimiter
	Unclosed  bool   // multipart without a (valid) close delimiter
	NoParts   bool   // multipart whose first delimiter was never found

	Sniffed string // format recognised from the bytes ("wav-ulaw", "au", "mp3", "pdf", ...), "" if unknown
}

// Message is the parsed model of one message: its header and MIME tree.
type Message struct {
	Root       *Part
	PartCount  int
	MaxDepth   int
	DepthLimit bool // the tree was deeper than the limit; deeper parts were not parsed
	PartLimit  bool // the tree had more parts than the limit
	HeaderSize int64
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

// Get returns the unfolded, trimmed value of the first field named name
// (case insensitive) and whether it exists.
func (p *Part) Get(name string) (string, bool) { return fieldValue(p.Header, name) }

// IsMultipart reports whether the part is a multipart container.
func (p *Part) IsMultipart() bool { return strings.HasPrefix(p.Type, "multipart/") }

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

// bodyReader records the first read error of the input that is not io.EOF,
// so that I/O failures are told apart from MIME defects.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

type parser struct {
	lim Limits
	msg *Message
	buf []byte
}

// Parse reads the MIME tree of a message from its header fields and body.
// It is lenient: every defect of DIGEST §8 still yields a tree, with the
// defect recorded on the part. An error means the body could not be read.
func Parse(header []Field, body io.Reader, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	br := &bodyReader{r: body}
	m := &Message{}
	for _, f := range header {
		m.HeaderSize += int64(len(f.Name) + len(f.Value) + 3)
	}
	root := &Part{Header: header}
	m.Root = root
	p := &parser{lim: lim, msg: m, buf: make([]byte, 32<<10)}
	if m.HeaderSize > lim.MaxHeaderBytes {
		// Do not interpret an oversized header; only measure the body.
		classify(root)
		root.Type = "" // not interpreted
		p.leaf(root, br)
	} else {
		p.entity(root, br, 0)
	}
	if br.err != nil {
		return m, errBody{br.err}
	}
	return m, nil
}

// classify fills the content fields of p from its header.
func classify(p *Part) {
	p.Duration = -1
	p.Type = "text/plain"
	if v, ok := p.Get("Content-Type"); ok {
		p.RawType = v
		mt, params, err := parseMediaType(v)
		if err != nil || !strings.Contains(mt, "/") {
			p.TypeInvalid = true
		}
		if strings.Contains(mt, "/") {
			p.Type = mt
		}
		p.Params = params
		if p.Params == nil {
			p.Params = map[string]string{}
		}
		if i := strings.IndexByte(p.RawType, ';'); i >= 0 {
			p.RawType = strings.TrimSpace(p.RawType[:i])
		}
	}
	if v, ok := p.Get("Content-Disposition"); ok {
		d, params, _ := parseMediaType(v)
		p.Disposition = d
		p.DispositionParams = params
	}
	if v, ok := p.Get("Content-Transfer-Encoding"); ok {
		p.RawEncoding = v
		p.Encoding = strings.ToLower(v)
	}
	if v, ok := p.Get("Content-Duration"); ok {
		p.RawDuration = v
		// RFC 3803 3: 1*10DIGIT
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n <= 2147483647 && len(v) <= 10 {
			p.Duration = n
		}
	}
}

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

// entity parses the body of p (whose header is set) to the end of body.
func (ps *parser) entity(p *Part, body io.Reader, depth int) {
	classify(p)
	if depth > ps.msg.MaxDepth {
		ps.msg.MaxDepth = depth
	}
	switch {
	case p.IsMultipart():
		b := p.Params["boundary"]
		if b == "" || depth >= ps.lim.MaxDepth || ps.msg.PartLimit {
			if b != "" && depth >= ps.lim.MaxDepth {
				ps.msg.DepthLimit = true
			}
			ps.leaf(p, body)
			return
		}
		mr := textproto.NewMultipartReader(body, b)
		for i := 1; ; i++ {
			tp, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				if i == 1 {
					p.NoParts = true
				} else {
					p.Unclosed = true
				}
				break
			}
			if ps.msg.PartCount >= ps.lim.MaxParts {
				ps.msg.PartLimit = true
				io.Copy(io.Discard, tp)
				break
			}
			ps.msg.PartCount++
			c := &Part{Path: childPath(p.Path, i), Header: headerFields(tp.Header)}
			p.Children = append(p.Children, c)
			ps.entity(c, tp, depth+1)
			if c.Truncated {
				p.Unclosed = true
			}
		}
		io.Copy(io.Discard, body) // epilogue
	case p.Type == "message/rfc822":
		if depth >= ps.lim.MaxDepth {
			ps.msg.DepthLimit = true
			ps.leaf(p, body)
			return
		}
		cr := &countReader{r: body}
		br := bufio.NewReader(cr)
		h, err := textproto.ReadHeader(br)
		inner := &Part{Path: p.Path, Header: headerFields(h)}
		p.Embedded = inner
		if err != nil && len(inner.Header) == 0 {
			// Not a message at all: keep it as opaque data.
			p.Embedded = nil
			p.Size = cr.n
			p.Data = cr.n
			ps.leaf(p, br)
			p.Size += cr.n
			return
		}
		ps.entity(inner, br, depth+1)
		p.Size = cr.n
		p.Data = cr.n
		p.Truncated = inner.Truncated
	default:
		ps.leaf(p, body)
	}
}

type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func childPath(parent string, i int) string {
	if parent == "" {
		return strconv.Itoa(i)
	}
	return parent + "." + strconv.Itoa(i)
}

// headerFields converts a go-message header to fields with raw values.
func headerFields(h textproto.Header) []Field {
	var out []Field
	fs := h.Fields()
	for fs.Next() {
		raw, err := fs.Raw()
		if err != nil {
			out = append(out, Field{Name: fs.Key(), Value: " " + fs.Value()})
			continue
		}
		s := string(raw)
		name, val, _ := strings.Cut(s, ":")
		val = strings.TrimSuffix(val, "\r\n")
		out = append(out, Field{Name: strings.TrimSpace(name), Value: val})
	}
	return out
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

// leaf reads the body of a non-container part, counting its size and
// keeping its first decoded bytes for sniffing. Memory is bounded by the
// parser's buffer.
func (ps *parser) leaf(p *Part, body io.Reader) {
	var (
		raw      []byte // first raw bytes (for non-base64 and QP)
		b64head  []byte // first base64 alphabet characters
		b64n     int64  // alphabet + padding characters
		tail     []byte // last non-white-space characters (up to 2)
		badChars bool
	)
	isB64 := strings.Contains(p.Encoding, "base") && strings.Contains(p.Encoding, "64") // base64, Base-64
	for {
		n, err := body.Read(ps.buf)
		if n > 0 {
			chunk := ps.buf[:n]
			p.Size += int64(n)
			if isB64 {
				if len(b64head) < headLen*4/3+8 {
					for _, c := range chunk {
						switch b64class[c] {
						case 1, 2:
							if len(b64head) < headLen*4/3+8 {
								b64head = append(b64head, c)
							}
						case 0:
							badChars = true
						}
					}
				}
				ws := bytes.Count(chunk, []byte{'\n'}) + bytes.Count(chunk, []byte{'\r'}) +
					bytes.Count(chunk, []byte{' '}) + bytes.Count(chunk, []byte{'\t'})
				b64n += int64(n - ws)
				// Padding: remember the last two characters.
				var last []byte
				for i := n - 1; i >= 0 && len(last) < 2; i-- {
					if b64class[chunk[i]] != 3 {
						last = append([]byte{chunk[i]}, last...)
					}
				}
				if len(last) == 2 || len(tail) == 0 {
					tail = last
				} else if len(last) == 1 {
					tail = append(tail[len(tail)-1:], last[0])
				}
			} else if len(raw) < headLen*3 {
				k := min(n, headLen*3-len(raw))
				raw = append(raw, chunk[:k]...)
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				p.Truncated = true
			}
			break
		}
	}
	switch {
	case isB64:
		if b64n%4 != 0 || badChars {
			p.BadBase64 = true
		}
		pad := int64(len(tail) - len(bytes.TrimRight(tail, "=")))
		p.Data = b64n/4*3 - pad
		if p.Data < 0 {
			p.Data = 0
		}
		k := len(b64head) / 4 * 4
		head := make([]byte, base64.StdEncoding.DecodedLen(k))
		m, _ := base64.StdEncoding.Decode(head, b64head[:k])
		p.Head = head[:min(m, headLen)]
	case p.Encoding == "quoted-printable":
		p.Data = p.Size
		d, _ := io.ReadAll(io.LimitReader(quotedprintable.NewReader(bytes.NewReader(raw)), headLen))
		p.Head = d
	default:
		p.Data = p.Size
		p.Head = raw[:min(len(raw), headLen)]
	}
	p.Sniffed = sniff(p.Head)
}
