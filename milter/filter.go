package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"

	gomilter "github.com/d--j/go-milter"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// config is one immutable generation of options and engine; SIGHUP swaps it.
type config struct {
	opts   Options
	engine Engine
}

// Filter is the milter. One Filter serves any number of MTA connections.
type Filter struct {
	cfg     atomic.Pointer[config]
	log     *slog.Logger
	metrics *Metrics
	server  *gomilter.Server

	mu       sync.Mutex
	sessions int // open MTA connections, for tests and the drain log line

	conns         atomic.Int64 // connections accepted and not closed (MaxSessions)
	refusedConns  atomic.Int64 // refused over MaxSessions since the last log line
	refusalLogged atomic.Int64 // UnixNano of that line
	mem           *memBudget   // BodyMemoryTotal
}

// New returns a filter for opts and engine. metrics may be nil.
func New(opts Options, engine Engine, log *slog.Logger, metrics *Metrics) (*Filter, error) {
	if engine == nil {
		return nil, errors.New("milter: no engine")
	}
	if log == nil {
		return nil, errors.New("milter: no logger")
	}
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("milter: invalid options: %w", err)
	}
	f := &Filter{log: log, metrics: metrics}
	f.cfg.Store(&config{opts: opts, engine: engine})
	f.mem = &memBudget{limit: func() int64 { return f.options().BodyMemoryTotal }}
	// The macros the filter reads (Macros): who may dial is decided at RCPT
	// from the SMTP AUTH login and the client address read at MAIL
	// (telephony.Policy.CheckCaller); the queue ID names every log line.
	f.server = gomilter.NewServer(append(macroRequests(),
		gomilter.WithDynamicMilter(func(version uint32, action gomilter.OptAction, protocol gomilter.OptProtocol, maxData gomilter.DataSize) gomilter.Milter {
			growStack(0) // the session runs on this goroutine: see stackReserve
			return &session{f: f, leadSpace: protocol&gomilter.OptHeaderLeadingSpace != 0}
		}),
		gomilter.WithActions(gomilter.OptAddHeader|gomilter.OptChangeHeader|gomilter.OptChangeBody|
			gomilter.OptAddRcpt|gomilter.OptAddRcptWithArgs|gomilter.OptRemoveRcpt|gomilter.OptQuarantine),
		// Skip the stages we do not use and the replies we never vary: every
		// avoided round trip is latency the MTA does not wait for.
		gomilter.WithProtocols(gomilter.OptHeaderLeadingSpace|gomilter.OptNoConnect|gomilter.OptNoHelo|
			gomilter.OptNoUnknown|gomilter.OptNoData|gomilter.OptNoMailReply|gomilter.OptNoHeaderReply|gomilter.OptNoBodyReply),
		gomilter.WithNegotiationCallback(negotiate),
		// No timeouts in go-milter: it would set and clear a deadline
		// around every packet. The frameGuard applies ReadTimeout and
		// WriteTimeout where a read or write reaches the socket.
		gomilter.WithReadTimeout(0),
		gomilter.WithWriteTimeout(0),
	)...)
	return f, nil
}

// Reload swaps in new options (with their Bridge) and a new engine for
// the transactions that start from now on, all at once. It changes nothing
// and returns the *FieldError values when opts is invalid or changes a
// setting the running filter cannot change (Options.RestartRequired).
func (f *Filter) Reload(opts Options, engine Engine) error {
	if engine == nil {
		return errors.New("milter: no engine")
	}
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("milter: invalid options: %w", err)
	}
	var restart optfield.List
	for _, field := range opts.RestartRequired(*f.options()) {
		restart.Add(field, "cannot change without a restart")
	}
	if err := restart.Err(); err != nil {
		return fmt.Errorf("milter: reload: %w", err)
	}
	f.cfg.Store(&config{opts: opts, engine: engine})
	return nil
}

func (f *Filter) options() *Options { return &f.cfg.Load().opts }
func (f *Filter) engine() Engine    { return f.cfg.Load().engine }

// Sessions returns the number of open MTA connections.
func (f *Filter) Sessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions
}

func (f *Filter) sessionDelta(d int) {
	f.mu.Lock()
	f.sessions += d
	f.mu.Unlock()
}

// Serve accepts MTA connections on ln until ctx is cancelled, then stops
// accepting and waits up to DrainTimeout for open sessions before closing
// them (their transactions then get the MTA's milter_default_action).
// Every connection is read through a frameGuard, which closes it on a
// packet go-milter cannot take, whatever listener ln is.
func (f *Filter) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- f.server.Serve(guardListener{Listener: ln, f: f}) }()
	select {
	case err := <-errc:
		if errors.Is(err, gomilter.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("milter: serve: %w", err)
	case <-ctx.Done():
	}
	drain := f.options().DrainTimeout
	f.log.Info("draining milter sessions", "sessions", f.Sessions(), "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := f.server.Shutdown(sctx)
	<-errc
	if addr, ok := ln.Addr().(*net.UnixAddr); ok {
		_ = os.Remove(addr.Name)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("milter: shutdown: %w", err)
	}
	if err != nil {
		f.log.Warn("drain timeout: closed open milter sessions", "timeout", drain)
	}
	return nil
}

// negotiate takes what the MTA offers of what we ask for instead of failing
// when an MTA lacks an optimisation (go-milter's default is all or nothing).
// Without the modification actions we still filter; the missing ones fail
// at end of message and tempfail that message.
//
// The data size is always 64 KiB, whatever the MTA offers (Sendmail's
// MaxDataSize, SMFIP_MDS_256K or SMFIP_MDS_1M): go-milter v0.10.2 writes no
// packet over 65535 bytes (modifier.go, write: "invalid data length"), yet
// its ReplaceBody cuts the body in chunks of the negotiated size, so with
// 256K or 1M every body replacement failed and the message was tempfailed.
// Answering without the MDS bits tells the MTA to use 64 KiB both ways, as
// with a libmilter filter that does not know them; it also keeps the body
// chunks the MTA sends us at 64 KiB.
func negotiate(mtaVersion, milterVersion uint32, mtaActions, milterActions gomilter.OptAction, mtaProtocol, milterProtocol gomilter.OptProtocol, offered gomilter.DataSize) (uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize, error) {
	version := min(mtaVersion, milterVersion)
	if version < 2 {
		return 0, 0, 0, 0, fmt.Errorf("milter: negotiate: MTA protocol version %d is too old", mtaVersion)
	}
	return version, milterActions & mtaActions, milterProtocol & mtaProtocol, gomilter.DataSize64K, nil
}

// stackReserve is the stack a session's goroutine makes room for when it
// starts. A connection's goroutine starts with a small stack, and the
// first RCPT needs about 5 KiB (profile.Engine.Recipient and addr.Parse
// pass addresses by value) and the transaction's log line at end of
// headers more than 8 KiB (slog's text handler): growing it there, deep in
// the call chain, copied the stack twice and took 8-10% of the CPU per
// message (pprof of BenchmarkPostfixTransaction). Growing it once while
// the goroutine is still shallow costs a fraction of that: 12 KiB plus
// the guard takes the stack to 16 KiB in one copy, the largest size the
// runtime still serves from its per-P stack cache.
const stackReserve = 12 << 10

// growStack makes the calling goroutine's stack stackReserve bytes deeper
// (the runtime grows it at the call, to fit the frame); i is 0.
//
//go:noinline
func growStack(i int) byte {
	var b [stackReserve]byte
	return b[i]
}
