package milter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile"
)

// Offline runs one message through the same transaction code a milter
// session uses: RCPT-time rules for each recipient, the end-of-headers fast
// path, evaluation and the plan, applied to a copy of the message instead of
// the MTA's. The message is read from r (header, blank line, body; LF or
// CRLF line ends). When rcpts is empty the To and Cc addresses of the header
// are the recipients; when from is "" the header From address is the
// envelope sender ("<>" gives the null sender). If out is not nil the message as it would be delivered
// is written to it (only when it would be delivered), with the line ends of
// the input.
func (f *Filter) Offline(ctx context.Context, from string, rcpts []string, r io.Reader, out io.Writer) (Result, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	tx := f.newTransaction(angle(from), "")
	defer tx.close()
	tx.env.QueueID = "offline"
	rest, crlf, err := readHeader(br, func(name, value string) { f.addHeader(tx, name, value) })
	if err != nil {
		return Result{}, err
	}
	if from == "" {
		tx.env.From = headerFrom(tx.header)
		// The caller at the telephony gateway too: the same sender for both.
		tx.adm.Sender = tx.env.From
	}
	if len(rcpts) == 0 {
		rcpts = profile.HeaderRecipients(tx.header)
	}
	for _, rc := range rcpts {
		f.rcpt(tx, rc, "")
	}
	var res Result
	applied := slices.IndexFunc(tx.refused, func(r RcptRefusal) bool { return !r.Report })
	switch {
	case len(tx.env.Rcpts) == 0 && applied >= 0:
		// Every recipient refused: the MTA would not even send the message. (Report
		// mode's refusals are not applied: their recipients are accepted.)
		rep := tx.refused[applied].Reply
		res = Result{Verdict: profile.VerdictReject, Reply: rep}
		if rep.Code < 500 {
			res.Verdict = profile.VerdictTempfail
		}
	case f.endOfHeaders(tx):
		res = Result{Verdict: profile.VerdictAccept, FastPath: true}
	}
	if err := copyBody(tx.body, rest); err != nil {
		return Result{}, err
	}
	mod := &messageModifier{header: append([]profile.Field(nil), tx.header...), rcpts: tx.env.Rcpts, tempDir: f.options().TempDir}
	defer mod.close()
	if res.Verdict == "" {
		res = f.finish(ctx, tx, mod, true, nil)
		res = f.commit(tx, res, nil)
	}
	res.Refused = tx.refused
	res.Target = tx.first
	f.logResult(tx, res)
	if out == nil || !res.Verdict.Delivered() {
		return res, nil
	}
	return res, mod.write(out, tx.body, crlf)
}

// readHeader reads header fields up to the blank line and reports each one
// with its raw value (folds kept as LF, the MTAs' form). It reports whether
// the input used CRLF line ends, and returns the reader for the body.
func readHeader(br *bufio.Reader, field func(name, value string)) (body io.Reader, crlf bool, err error) {
	var name string
	var value strings.Builder
	have := false
	flush := func() {
		if have {
			field(name, value.String())
		}
		have = false
		value.Reset()
	}
	first := true
	for {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, crlf, fmt.Errorf("milter: read header: %w", err)
		}
		if first {
			crlf = strings.HasSuffix(line, "\r\n")
			first = false
			if strings.HasPrefix(line, "From ") {
				continue // an mbox separator line, not part of the message
			}
		}
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" {
			flush()
			return br, crlf, nil
		}
		if (trimmed[0] == ' ' || trimmed[0] == '\t') && have {
			value.WriteString("\n" + trimmed)
		} else if n, v, ok := strings.Cut(trimmed, ":"); ok && n != "" && !strings.ContainsAny(n, " \t") {
			flush()
			name, have = n, true
			value.WriteString(v)
		} else {
			// Not a header field: the header ends here and this line is
			// body (a lenient reading of RFC 5322 2.2).
			flush()
			return io.MultiReader(strings.NewReader(line), br), crlf, nil
		}
		if errors.Is(err, io.EOF) {
			flush()
			return br, crlf, nil
		}
	}
}

// copyBody spools the body with CRLF line ends, as an MTA hands it to a milter.
func copyBody(b *body, r io.Reader) error {
	w := bufio.NewWriterSize(b, 64<<10)
	prevCR := false
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c == '\n' && !prevCR {
				w.WriteByte('\r')
			}
			w.WriteByte(c)
			prevCR = c == '\r'
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("milter: read body: %w", err)
		}
	}
	return w.Flush()
}

// headerFrom is the address of the first From field, for offline runs without a sender.
func headerFrom(h []profile.Field) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, "From") {
			if a, err := mail.ParseAddress(strings.TrimSpace(strings.ReplaceAll(f.Value, "\n", ""))); err == nil {
				return a.Address
			}
			return ""
		}
	}
	return ""
}

// messageModifier applies a plan to a copy of the message, with the MTA's
// semantics for header indexes.
type messageModifier struct {
	header     []profile.Field
	rcpts      []profile.Rcpt
	newBody    *body
	quarantine string
	tempDir    string
}

func (m *messageModifier) AddHeader(name, value string) error {
	m.header = append(m.header, profile.Field{Name: name, Value: value})
	return nil
}

func (m *messageModifier) ChangeHeader(index int, name, value string) error {
	n := 0
	for i, f := range m.header {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		n++
		if n == index {
			if value == "" {
				m.header = append(m.header[:i], m.header[i+1:]...)
			} else {
				m.header[i].Value = value
			}
			return nil
		}
	}
	if value != "" {
		return m.AddHeader(name, value)
	}
	return nil
}

func (m *messageModifier) InsertHeader(index int, name, value string) error {
	index = max(0, min(index, len(m.header)))
	m.header = append(m.header[:index], append([]profile.Field{{Name: name, Value: value}}, m.header[index:]...)...)
	return nil
}

func (m *messageModifier) AddRecipient(r string, args string) error {
	m.rcpts = append(m.rcpts, profile.Rcpt{Addr: r, Args: args})
	return nil
}

func (m *messageModifier) DeleteRecipient(r string) error {
	for i, rc := range m.rcpts {
		if strings.EqualFold(rc.Addr, r) {
			m.rcpts = append(m.rcpts[:i], m.rcpts[i+1:]...)
			return nil
		}
	}
	return nil
}

func (m *messageModifier) ReplaceBody(r io.Reader) error {
	if m.newBody == nil {
		m.newBody = newBody(m.tempDir, 1<<20, 0, nil)
	}
	_, err := io.Copy(m.newBody, r)
	return err
}

func (m *messageModifier) Quarantine(reason string) error {
	m.quarantine = reason
	return nil
}

func (m *messageModifier) close() {
	if m.newBody != nil {
		m.newBody.Close()
	}
}

// write renders the message as it would be delivered.
func (m *messageModifier) write(out io.Writer, orig *body, crlf bool) error {
	eol := "\n"
	if crlf {
		eol = "\r\n"
	}
	w := bufio.NewWriterSize(out, 64<<10)
	for _, f := range m.header {
		w.WriteString(f.Name + ":" + strings.ReplaceAll(f.Value, "\n", eol) + eol)
	}
	w.WriteString(eol)
	src := orig
	if m.newBody != nil {
		src = m.newBody
	}
	rd, err := src.Reader()
	if err != nil {
		return err
	}
	if crlf {
		if _, err := io.Copy(w, rd); err != nil {
			return fmt.Errorf("milter: write message: %w", err)
		}
	} else if err := crlfToLF(w, rd); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("milter: write message: %w", err)
	}
	return nil
}

func crlfToLF(w io.Writer, r io.Reader) error {
	buf := make([]byte, 32<<10)
	carry := false
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		if carry {
			if len(chunk) == 0 || chunk[0] != '\n' {
				if _, werr := w.Write([]byte{'\r'}); werr != nil {
					return werr
				}
			}
			carry = false
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\r' {
			chunk = chunk[:len(chunk)-1]
			carry = true
		}
		if _, werr := w.Write(bytes.ReplaceAll(chunk, []byte("\r\n"), []byte("\n"))); werr != nil {
			return fmt.Errorf("milter: write message: %w", werr)
		}
		if errors.Is(err, io.EOF) {
			if carry {
				_, werr := w.Write([]byte{'\r'})
				return werr
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("milter: write message: %w", err)
		}
	}
}
