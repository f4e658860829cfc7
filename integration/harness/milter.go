//go:build integration

package harness

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/vpim-milter/vpim-milter/milter"
)

// ServeMilter serves engine with opts on addr in process until the test ends (a TCP
// address with port 0 gets a free port) and returns the TCP port (0 for a unix socket) and
// a function that stops serving early. The filter logs to the test log.
func ServeMilter(t testing.TB, engine milter.Engine, addr milter.Address, opts milter.Options) (int, func()) {
	t.Helper()
	opts.Listen = addr
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	f, err := milter.New(opts, engine, slog.New(slog.NewTextHandler(TestWriter{t}, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := milter.Listen(addr, milter.SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Serve(ctx, ln); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	port := 0
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	return port, stop
}

// TestWriter writes each Write to the test log, one entry per call.
type TestWriter struct{ T testing.TB }

func (w TestWriter) Write(p []byte) (int, error) {
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
