package profile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"os"
	"strconv"
	"strings"
)

// rewriter is the streamed body rewrite of a plan: it carries out the
// plan's body steps and nothing else. It re-reads the seekable input by the
// byte offsets the parser recorded, copies every byte no step touches
// (part headers, delimiter lines, preamble and epilogue included) and
// writes changed parts with CRLF line ends; audio is transcoded into a
// temporary file first because Content-Duration precedes the data
// (RFC 3803).
type rewriter struct {
	e     *Engine
	in    *Input
	m     *Message
	nodes map[*Part]*node
}

// node is what the plan does to one part.
type node struct {
	fields    []Action // ActionPartField steps, in order
	drop      bool
	transcode *Action
	reencode  *Action
	layout    *Layout
	changed   bool // the part or something inside it changes
}

// newRewriter prepares the body steps of actions for writing.
func newRewriter(e *Engine, in *Input, m *Message, actions []Action) *rewriter {
	rw := &rewriter{e: e, in: in, m: m, nodes: map[*Part]*node{}}
	for i := range actions {
		a := &actions[i]
		p := a.part
		switch a.Kind {
		case ActionPartField:
			rw.node(p).fields = append(rw.node(p).fields, *a)
		case ActionDrop:
			rw.node(p).drop = true
		case ActionTranscode:
			rw.node(p).transcode = a
		case ActionReencode:
			rw.node(p).reencode = a
		case ActionLayout:
			rw.node(p).layout = a.Layout
		case ActionClose:
			rw.node(p) // the multipart is written: children() adds the delimiter
		default:
			continue
		}
		for q := p; q != nil; q = q.parent {
			rw.node(q).changed = true
		}
	}
	return rw
}

func (rw *rewriter) node(p *Part) *node {
	n := rw.nodes[p]
	if n == nil {
		n = &node{}
		rw.nodes[p] = n
	}
	return n
}

func (rw *rewriter) changed(p *Part) bool {
	n := rw.nodes[p]
	return n != nil && n.changed
}

// WriteBody writes the rewritten body to w. It implements [BodyWriter].
func (rw *rewriter) WriteBody(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := rw.body(bw, rw.m.Root); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("profile: rewrite: %w", err)
	}
	return nil
}

// raw copies the input bytes [from, to).
func (rw *rewriter) raw(w *bufio.Writer, from, to int64) error {
	if to <= from {
		return nil
	}
	r, err := section(rw.in.Body, from, to)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return errBody{err}
	}
	if n != to-from {
		return errBody{fmt.Errorf("body shorter than when it was parsed: %w", io.ErrUnexpectedEOF)}
	}
	return nil
}

// part writes a part: its header, the blank line and its body.
func (rw *rewriter) part(w *bufio.Writer, p *Part) error {
	n := rw.nodes[p]
	if !p.synthetic && (n == nil || !n.changed) {
		return rw.raw(w, p.Start, p.End)
	}
	if n != nil && n.transcode != nil {
		return rw.transcode(w, p, n)
	}
	if p.synthetic || n != nil && len(n.fields) > 0 {
		writeHeader(w, applyFields(p.Header, n))
	} else if err := rw.raw(w, p.Start, p.BodyStart); err != nil {
		return err
	}
	return rw.body(w, p)
}

// applyFields returns h with the field steps of n applied.
func applyFields(h []Field, n *node) []Field {
	out := append([]Field(nil), h...)
	if n == nil {
		return out
	}
	for _, a := range n.fields {
		i := -1
		for k := range out {
			if strings.EqualFold(out[k].Name, a.Name) {
				i = k
				break
			}
		}
		switch {
		case a.Value == "" && i >= 0:
			out = append(out[:i], out[i+1:]...)
		case a.Value == "":
		case i >= 0:
			out[i].Value = " " + a.Value
		default:
			out = append(out, Field{Name: a.Name, Value: " " + a.Value})
		}
	}
	return out
}

// writeHeader writes fields with CRLF line endings and the blank line.
func writeHeader(w *bufio.Writer, h []Field) {
	for _, f := range h {
		w.WriteString(f.Name)
		w.WriteByte(':')
		v := f.Value
		if strings.ContainsAny(v, "\r\n") {
			v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n")
		}
		w.WriteString(v)
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
}

// body writes the body of p.
func (rw *rewriter) body(w *bufio.Writer, p *Part) error {
	n := rw.nodes[p]
	switch {
	case n == nil || !n.changed:
		return rw.raw(w, p.BodyStart, p.End)
	case n.layout != nil:
		return rw.layout(w, p, n.layout)
	case n.transcode != nil:
		// Only the top-level body: its header is the message header,
		// which the plan's header steps change.
		tmp, _, err := rw.transcodeTo(p, n.transcode)
		if err != nil {
			return err
		}
		defer closeTemp(tmp)
		if err := writeBase64(w, tmp); err != nil {
			return err
		}
		w.WriteString("\r\n")
		return nil
	case n.reencode != nil:
		src, err := rw.decoded(p)
		if err != nil {
			return err
		}
		if err := writeBase64(w, src); err != nil {
			return err
		}
		if p.Path == "" && p.embeddedIn == nil {
			w.WriteString("\r\n")
		}
		return nil
	case p.Embedded != nil:
		return rw.part(w, p.Embedded)
	case p.IsMultipart() && len(p.Children) > 0:
		return rw.children(w, p)
	}
	return rw.raw(w, p.BodyStart, p.End)
}

// children writes a multipart whose parts stay in place, copying the
// preamble, delimiter lines and epilogue as they came.
func (rw *rewriter) children(w *bufio.Writer, p *Part) error {
	kids := p.Children
	if err := rw.raw(w, p.BodyStart, kids[0].DelimStart); err != nil {
		return err
	}
	for i, c := range kids {
		next := p.End
		switch {
		case i+1 < len(kids):
			next = kids[i+1].DelimStart
		case p.CloseStart >= 0:
			next = p.CloseStart
		}
		if n := rw.nodes[c]; n != nil && n.drop {
			continue
		}
		if err := rw.raw(w, c.DelimStart, c.Start); err != nil {
			return err
		}
		if err := rw.part(w, c); err != nil {
			return err
		}
		if c.End == next && next != p.End && rw.changed(c) {
			w.WriteString("\r\n") // the line end the delimiter needs
		}
		if err := rw.raw(w, c.End, next); err != nil {
			return err
		}
	}
	if p.CloseStart >= 0 {
		return rw.raw(w, p.CloseStart, p.End)
	}
	// RFC 2046 5.1.1: repair the missing close delimiter.
	w.WriteString("\r\n--" + p.Params["boundary"] + "--")
	if p.End == rw.m.BodySize {
		w.WriteString("\r\n")
	}
	return nil
}

// layout writes the body of p arranged as l.
func (rw *rewriter) layout(w *bufio.Writer, p *Part, l *Layout) error {
	same := p.IsMultipart() && len(p.Children) > 0 && p.Params["boundary"] == l.Boundary
	if same {
		if err := rw.raw(w, p.BodyStart, p.Children[0].DelimStart); err != nil {
			return err
		}
	}
	if err := rw.entries(w, l); err != nil {
		return err
	}
	if same && p.CloseStart >= 0 {
		w.WriteString("\r\n")
		return rw.raw(w, p.CloseStart, p.End)
	}
	w.WriteString("\r\n--" + l.Boundary + "--")
	if p.End == rw.m.BodySize || !same {
		w.WriteString("\r\n")
	}
	return nil
}

// entries writes the delimited entries of l (without the close delimiter).
func (rw *rewriter) entries(w *bufio.Writer, l *Layout) error {
	for i, e := range l.Entries {
		if i > 0 {
			w.WriteString("\r\n")
		}
		w.WriteString("--" + l.Boundary + "\r\n")
		switch {
		case e.part != nil:
			if err := rw.part(w, e.part); err != nil {
				return err
			}
		case e.Group != nil:
			params := copyParams(e.Group.Params)
			params["boundary"] = e.Group.Boundary
			writeHeader(w, []Field{{Name: "Content-Type", Value: " " + mime.FormatMediaType(e.Group.Type, params)}})
			if err := rw.entries(w, e.Group); err != nil {
				return err
			}
			w.WriteString("\r\n--" + e.Group.Boundary + "--")
		default:
			writeHeader(w, e.New)
		}
	}
	return nil
}

// transcode writes a transcoded part: its header with Content-Duration
// from the samples, then the audio in base64.
func (rw *rewriter) transcode(w *bufio.Writer, p *Part, n *node) error {
	// Evaluate tried the codec on this part before it announced the
	// transcode; should the conversion still fail (broken data past what
	// the trial read), the rewrite fails: the milter tempfails the message
	// rather than deliver what the report did not announce.
	tmp, samples, err := rw.transcodeTo(p, n.transcode)
	if err != nil {
		return err
	}
	defer closeTemp(tmp)
	h := applyFields(p.Header, n)
	h = setField(h, "Content-Duration", strconv.FormatInt(roundSeconds(samples), 10))
	writeHeader(w, h)
	return writeBase64(w, tmp)
}

// transcodeTo transcodes the data of p into a temporary file, rewound.
func (rw *rewriter) transcodeTo(p *Part, a *Action) (*os.File, int64, error) {
	src, err := rw.decoded(p)
	if err != nil {
		return nil, 0, err
	}
	tmp, err := os.CreateTemp(rw.e.opts.TempDir, "vpim-audio-*")
	if err != nil {
		return nil, 0, fmt.Errorf("profile: transcode spool: %w", err)
	}
	samples, err := rw.e.opts.Codec.Transcode(tmp, a.To, src, a.From)
	if err != nil {
		closeTemp(tmp)
		return nil, 0, fmt.Errorf("profile: transcoding part %s: %w", a.label(), err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		closeTemp(tmp)
		return nil, 0, fmt.Errorf("profile: transcode spool: %w", err)
	}
	return tmp, samples, nil
}

func closeTemp(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// decoded returns the data of leaf p with its transfer encoding removed.
func (rw *rewriter) decoded(p *Part) (io.Reader, error) {
	r, err := section(rw.in.Body, p.BodyStart, p.End)
	if err != nil {
		return nil, err
	}
	return transferDecoder(p, ctxReader{r: &bodyErr{r: r}}), nil
}

// transferDecoder undoes the part's Content-Transfer-Encoding (RFC 2045 6).
func transferDecoder(p *Part, src io.Reader) io.Reader {
	switch {
	case isBase64(p.Encoding):
		return base64.NewDecoder(base64.StdEncoding, &wsStripper{r: src})
	case p.Encoding == "quoted-printable":
		return quotedprintable.NewReader(src)
	}
	return src
}

// bodyErr marks read errors of the input body, so they are told apart
// from codec errors.
type bodyErr struct{ r io.Reader }

func (b *bodyErr) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = errBody{err}
	}
	return n, err
}

// setFieldRaw replaces the first field name in h with a raw value (its
// folding kept), or appends it.
func setFieldRaw(h []Field, name, raw string) []Field {
	return setField(h, name, strings.TrimLeft(raw, " \t"))
}

// setField replaces the first field name in h, or appends it.
func setField(h []Field, name, value string) []Field {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			h[i].Value = " " + value
			return h
		}
	}
	return append(h, Field{Name: name, Value: " " + value})
}

// writeBase64 writes r in base64 lines of 76 characters (RFC 2045 6.8),
// without a line end after the last.
func writeBase64(w *bufio.Writer, r io.Reader) error {
	lw := &lineWrapper{w: w}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, r); err != nil {
		return fmt.Errorf("profile: rewrite: %w", err)
	}
	return enc.Close()
}

// wsStripper removes spaces and tabs, which base64.NewDecoder does not
// skip (it skips only CR and LF).
type wsStripper struct{ r io.Reader }

func (s *wsStripper) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// lineWrapper inserts CRLF every 76 characters (RFC 2045 6.8).
type lineWrapper struct {
	w   *bufio.Writer
	col int
}

func (l *lineWrapper) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if l.col == 76 {
			l.w.WriteString("\r\n")
			l.col = 0
		}
		k := min(76-l.col, len(b))
		l.w.Write(b[:k])
		l.col += k
		b = b[k:]
	}
	return n, nil
}

// crlfWriter turns bare LF into CRLF.
type crlfWriter struct {
	w    *bufio.Writer
	prev byte
}

func (c *crlfWriter) Write(b []byte) (int, error) {
	n := len(b)
	prev := c.prev
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.w.Write(b)
			prev = b[len(b)-1]
			break
		}
		if i > 0 {
			prev = b[i-1]
		}
		if prev == '\r' {
			c.w.Write(b[:i+1])
		} else {
			c.w.Write(b[:i])
			c.w.WriteString("\r\n")
		}
		prev = '\n'
		b = b[i+1:]
	}
	c.prev = prev
	return n, nil
}

// ctxReader stops reading when ctx ends, so that a long trial transcoding
// does not outlive the milter's evaluation timeout.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	return c.r.Read(b)
}
