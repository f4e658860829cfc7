package profile

// Test helpers: read a stored message into an Input and render a plan's
// header edits, for the profile tests. Production code reads messages
// through the milter (milter.Filter.Offline), which mirrors the MTA.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadInput reads a stored message (as in `vpim-milter check FILE`): the
// header fields in order with raw values, and the body as a seekable view
// of r after the blank line. A leading mbox "From " line is skipped. The
// envelope is left empty. r must stay open while the Input is used.
func ReadInput(r io.ReadSeeker) (*Input, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	br := bufio.NewReader(r)
	var (
		in  Input
		off int64
	)
	first := true
	for {
		line, err := br.ReadString('\n')
		off += int64(len(line))
		if first && strings.HasPrefix(line, "From ") {
			first = false
			continue
		}
		first = false
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" {
			break // end of header (or of input)
		}
		if (line[0] == ' ' || line[0] == '\t') && len(in.Header) > 0 {
			f := &in.Header[len(in.Header)-1]
			f.Value += "\r\n" + trimmed
		} else if name, val, ok := strings.Cut(trimmed, ":"); ok && name != "" && !strings.ContainsAny(name, " \t") {
			in.Header = append(in.Header, Field{Name: name, Value: val})
		} else {
			// Not a header line: the header ended without a blank line.
			off -= int64(len(line))
			break
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("profile: reading header: %w", err)
		}
	}
	end, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if off > end {
		off = end
	}
	in.Body = io.NewSectionReader(readerAt{r}, off, end-off)
	in.BodySize = end - off
	return &in, nil
}

// readerAt adapts a ReadSeeker to ReaderAt (single-threaded use).
type readerAt struct{ r io.ReadSeeker }

func (a readerAt) ReadAt(p []byte, off int64) (int, error) {
	if _, err := a.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(a.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// ApplyHeader returns header with the plan's header edits applied in order,
// as the MTA would apply them (for offline rewrite). HeaderEdit values have
// no leading space; the returned fields get one after the colon.
func (p *Plan) ApplyHeader(header []Field) []Field {
	h := append([]Field(nil), header...)
	nth := func(name string, idx int) int {
		k := 0
		for i := range h {
			if strings.EqualFold(h[i].Name, name) {
				k++
				if k == idx {
					return i
				}
			}
		}
		return -1
	}
	for _, e := range p.Headers {
		switch e.Op {
		case HeaderAdd:
			h = append(h, Field{Name: e.Name, Value: " " + e.Value})
		case HeaderChange:
			if i := nth(e.Name, e.Index); i >= 0 {
				h[i].Value = " " + e.Value
			} else {
				h = append(h, Field{Name: e.Name, Value: " " + e.Value})
			}
		case HeaderInsert:
			i := min(max(e.Index, 0), len(h))
			h = append(h[:i], append([]Field{{Name: e.Name, Value: " " + e.Value}}, h[i:]...)...)
		case HeaderDelete:
			if i := nth(e.Name, e.Index); i >= 0 {
				h = append(h[:i], h[i+1:]...)
			}
		}
	}
	return h
}

// FormatMessage writes header fields and a body as a message with CRLF
// line endings, applying nothing; it helps offline commands print what a
// plan produces.
func FormatMessage(w io.Writer, header []Field, body io.Reader) error {
	bw := bufio.NewWriter(w)
	writeHeader(bw, header)
	if _, err := io.Copy(&crlfWriter{w: bw}, body); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return bw.Flush()
}
