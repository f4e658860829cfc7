package profile

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// rewriter is the streamed body rewrite of a plan. WriteBody re-reads the
// seekable input, re-parses it with the same parser (so the tree matches
// the one the plan was made for) and writes the new body with CRLF line
// endings; audio is transcoded into a temporary file first because
// Content-Duration precedes the data (RFC 3803).
type rewriter struct {
	e     *Engine
	in    *Input
	m     *Message
	edits map[*Part]*partEdit
}

// bodyChanges reports whether the plan changes the body at all.
func (rw *rewriter) bodyChanges() bool {
	for p, pe := range rw.edits {
		if p.Path != "" || pe.transcode != "" || pe.wrap != "" {
			return true
		}
	}
	return false
}

// WriteBody writes the rewritten body to w. It implements [BodyWriter].
func (rw *rewriter) WriteBody(w io.Writer) error {
	if _, err := rw.in.Body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("profile: rewinding body: %w", err)
	}
	br := &bodyReader{r: rw.in.Body}
	bw := bufio.NewWriterSize(w, 32<<10)
	err := rw.entity(bw, rw.m.Root, br, 0)
	if br.err != nil {
		return errBody{br.err}
	}
	if err != nil {
		return err
	}
	return bw.Flush()
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

func (rw *rewriter) entity(w *bufio.Writer, p *Part, body io.Reader, depth int) error {
	pe := rw.edits[p]
	if pe != nil && pe.wrap != "" {
		// RFC 3801 4.4.1: the single part becomes the only child.
		w.WriteString("--" + pe.wrap + "\r\n")
		if pe.transcode != "" {
			if err := rw.transcodePart(w, p, pe, body); err != nil {
				return err
			}
		} else {
			writeHeader(w, pe.header)
			if _, err := io.Copy(&crlfWriter{w: w}, body); err != nil {
				return err
			}
		}
		w.WriteString("\r\n--" + pe.wrap + "--\r\n")
		return nil
	}
	if pe != nil && pe.transcode != "" {
		return rw.transcodePart(w, p, pe, body)
	}
	if p.Path != "" {
		h := p.Header
		if pe != nil && pe.header != nil {
			h = pe.header
		}
		writeHeader(w, h)
	}
	if !p.IsMultipart() || len(p.Children) == 0 || p.NoParts || p.Params["boundary"] == "" {
		_, err := io.Copy(&crlfWriter{w: w}, body)
		if p.Path == "" && !p.IsMultipart() {
			return err
		}
		return ignoreMIME(err)
	}
	b := p.Params["boundary"]
	mr := textproto.NewMultipartReader(body, b)
	first := true
	for _, c := range p.Children {
		tp, err := mr.NextPart()
		if err != nil {
			return fmt.Errorf("profile: rewrite: part %s vanished on re-read: %v", c.Path, err)
		}
		if ce := rw.edits[c]; ce != nil && ce.drop {
			if _, err := io.Copy(io.Discard, tp); ignoreMIME(err) != nil {
				return err
			}
			continue
		}
		if !first {
			w.WriteString("\r\n")
		}
		first = false
		w.WriteString("--" + b + "\r\n")
		if err := rw.entity(w, c, tp, depth+1); err != nil {
			return err
		}
	}
	w.WriteString("\r\n--" + b + "--\r\n")
	_, err := io.Copy(io.Discard, body)
	return ignoreMIME(err)
}

// ignoreMIME drops the errors a malformed MIME structure produces on
// re-read (they were reported as findings); I/O errors are caught by
// bodyReader.
func ignoreMIME(err error) error {
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil
	}
	return nil
}

// transcodePart transcodes one audio part into a temporary file, then
// writes its header (with Content-Duration from the samples) and its data
// in base64 lines of 76 characters (RFC 2045 6.8). If the codec fails on a
// nested part, the part is written unchanged from a raw copy, so the
// message is never silently mangled.
func (rw *rewriter) transcodePart(w *bufio.Writer, p *Part, pe *partEdit, body io.Reader) error {
	tmp, err := os.CreateTemp(rw.e.opts.TempDir, "vpim-audio-*")
	if err != nil {
		return fmt.Errorf("profile: transcode spool: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var raw *os.File
	src := body
	if p.Path != "" {
		raw, err = os.CreateTemp(rw.e.opts.TempDir, "vpim-raw-*")
		if err != nil {
			return fmt.Errorf("profile: transcode spool: %w", err)
		}
		defer os.Remove(raw.Name())
		defer raw.Close()
		src = io.TeeReader(body, raw)
	}
	samples, terr := rw.e.opts.Codec.Transcode(tmp, pe.transcode, decoder(p, src), pe.from)
	if terr != nil {
		if p.Path == "" {
			return fmt.Errorf("profile: transcoding the message body: %w", terr)
		}
		// Fall back to the original part.
		if _, err := io.Copy(io.Discard, src); ignoreMIME(err) != nil {
			return err
		}
		writeHeader(w, p.Header)
		if _, err := raw.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("profile: transcode spool: %w", err)
		}
		_, err := io.Copy(&crlfWriter{w: w}, raw)
		return err
	}
	if _, err := io.Copy(io.Discard, src); ignoreMIME(err) != nil {
		return err
	}
	if p.Path != "" || pe.wrap != "" {
		h := setField(append([]Field(nil), pe.header...), "Content-Duration", strconv.FormatInt(roundSeconds(samples), 10))
		writeHeader(w, h)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("profile: transcode spool: %w", err)
	}
	lw := &lineWrapper{w: w}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, tmp); err != nil {
		return fmt.Errorf("profile: transcode spool: %w", err)
	}
	enc.Close()
	if p.Path == "" && pe.wrap == "" {
		w.WriteString("\r\n")
	}
	return nil
}

// decoder undoes the part's Content-Transfer-Encoding (RFC 2045 6).
func decoder(p *Part, src io.Reader) io.Reader {
	switch {
	case strings.Contains(p.Encoding, "base") && strings.Contains(p.Encoding, "64"):
		return base64.NewDecoder(base64.StdEncoding, &wsStripper{r: src})
	case p.Encoding == "quoted-printable":
		return quotedprintable.NewReader(src)
	}
	return src
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
