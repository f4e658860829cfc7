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
	mem             []byte // the body while it is in memory; its capacity is what budget holds
	file            *os.File
	size            int64
	tooLarge        bool
	budget          *memBudget // nil: no shared limit
	held            int64      // bytes of mem taken from budget: cap(mem)
}

func newBody(dir string, maxMem, maxSize int64, budget *memBudget) *body {
	b := makeBody(dir, maxMem, maxSize, budget)
	return &b
}

// makeBody is newBody for a body that lives inside another allocation.
func makeBody(dir string, maxMem, maxSize int64, budget *memBudget) body {
	return body{dir: dir, maxMem: maxMem, maxSize: maxSize, budget: budget}
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
	if b.file == nil && !b.growMem(len(p)) {
		f, err := os.CreateTemp(b.dir, "vpim-body-*")
		if err != nil {
			return 0, fmt.Errorf("milter: spool body: %w", err)
		}
		// Unlink at once: the descriptor keeps the data, and nothing is left
		// behind if the process dies.
		_ = os.Remove(f.Name())
		b.file = f
		if _, err := f.Write(b.mem); err != nil {
			return 0, fmt.Errorf("milter: spool body: %w", err)
		}
		b.mem = nil
		b.budget.release(b.held)
		b.held = 0
	}
	if b.file != nil {
		if _, err := b.file.Write(p); err != nil {
			return 0, fmt.Errorf("milter: spool body: %w", err)
		}
	} else {
		b.mem = append(b.mem, p...)
	}
	b.size += int64(len(p))
	return len(p), nil
}

// growMem makes room for n more bytes in memory, within maxMem and the
// shared budget, and reports whether there is. The buffer grows by
// doubling, allocated here with its exact capacity, so that the budget
// counts the memory really held, not only the bytes stored.
func (b *body) growMem(n int) bool {
	need := len(b.mem) + n
	if int64(need) > b.maxMem {
		return false
	}
	if need <= cap(b.mem) {
		return true
	}
	c := int(min(max(int64(2*cap(b.mem)), int64(need), 16<<10), b.maxMem))
	if !b.budget.reserve(int64(c) - b.held) {
		return false
	}
	grown := make([]byte, len(b.mem), c)
	copy(grown, b.mem)
	b.mem, b.held = grown, int64(c)
	return true
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
	return bytes.NewReader(b.mem), nil
}

func (b *body) release() {
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
	b.mem = nil
	b.budget.release(b.held)
	b.held = 0
}

// Close frees the memory and the temporary file.
func (b *body) Close() error {
	b.release()
	b.size = 0
	return nil
}
