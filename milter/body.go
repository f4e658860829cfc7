package milter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrBodyTooLarge is returned when a body exceeds the configured size cap.
var ErrBodyTooLarge = errors.New("milter: body exceeds the size limit")

// body spools a message body: in memory up to maxMem bytes, then in a
// temporary file, up to maxSize bytes in all. The memory also comes out of
// a budget all sessions share (Options.BodyMemoryTotal): when it has no
// room the body goes to its temporary file sooner. It is seekable once
// written, so the engine can read it twice. Close removes the temporary
// file.
type body struct {
	maxMem, maxSize int64
	dir             string
	mem             bytes.Buffer
	file            *os.File
	size            int64
	tooLarge        bool
	budget          *memBudget // nil: no shared limit
	held            int64      // bytes of mem taken from budget
}

func newBody(dir string, maxMem, maxSize int64, budget *memBudget) *body {
	return &body{dir: dir, maxMem: maxMem, maxSize: maxSize, budget: budget}
}

// Write appends p. Past maxSize it stops storing and remembers the overflow;
// the caller checks TooLarge.
func (b *body) Write(p []byte) (int, error) {
	if b.tooLarge {
		return len(p), nil
	}
	if b.maxSize > 0 && b.size+int64(len(p)) > b.maxSize {
		b.tooLarge = true
		b.release()
		return len(p), nil
	}
	if b.file == nil && int64(b.mem.Len()+len(p)) <= b.maxMem && b.budget.reserve(int64(len(p))) {
		b.held += int64(len(p))
	} else if b.file == nil {
		f, err := os.CreateTemp(b.dir, "vpim-body-*")
		if err != nil {
			return 0, fmt.Errorf("milter: spool body: %w", err)
		}
		// Unlink at once: the descriptor keeps the data, and nothing is left
		// behind if the process dies.
		_ = os.Remove(f.Name())
		b.file = f
		if _, err := b.mem.WriteTo(f); err != nil {
			return 0, fmt.Errorf("milter: spool body: %w", err)
		}
		b.mem = bytes.Buffer{}
		b.budget.release(b.held)
		b.held = 0
	}
	if b.file != nil {
		if _, err := b.file.Write(p); err != nil {
			return 0, fmt.Errorf("milter: spool body: %w", err)
		}
	} else {
		b.mem.Write(p)
	}
	b.size += int64(len(p))
	return len(p), nil
}

// TooLarge reports whether the body went over the size cap.
func (b *body) TooLarge() bool { return b.tooLarge }

// Size is the number of bytes stored.
func (b *body) Size() int64 { return b.size }

// OnDisk reports whether the body spilled into a temporary file.
func (b *body) OnDisk() bool { return b.file != nil }

// Reader returns a reader over the whole body, positioned at its start.
func (b *body) Reader() (io.ReadSeeker, error) {
	if b.tooLarge {
		return nil, ErrBodyTooLarge
	}
	if b.file != nil {
		return io.NewSectionReader(b.file, 0, b.size), nil
	}
	return bytes.NewReader(b.mem.Bytes()), nil
}

func (b *body) release() {
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
	b.mem = bytes.Buffer{}
	b.budget.release(b.held)
	b.held = 0
}

// Close frees the memory and the temporary file.
func (b *body) Close() error {
	b.release()
	b.size = 0
	return nil
}
