package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// Backend places one call for a job. Deliver returns nil when the message
// was played, or an error; a *DeliveryError says whether the failure is
// temporary (retried) or final, any other error counts as temporary. Deliver
// must return promptly when ctx is done.
type Backend interface {
	Deliver(ctx context.Context, job *Job) error
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, job *Job) error

// Deliver calls f.
func (f BackendFunc) Deliver(ctx context.Context, job *Job) error { return f(ctx, job) }

var _ Backend = BackendFunc(nil)

// Bridge is the worker: it claims due jobs from the spool, runs the back-end
// with bounded concurrency, retries temporary failures on the Retry
// schedule until Expire, sends DSNs, files each job under done/ or failed/
// and prunes those directories (KeepDone, KeepFailed).
type Bridge struct {
	cfg     atomic.Pointer[bridgeConfig] // Reload swaps it
	spool   *Spool
	log     *slog.Logger
	metrics *Metrics // from Options.Metrics; nil counts nothing
	now     func() time.Time
	// pruneEvery is the time between two Spool.Prune runs (the first is at
	// start); defaultPruneEvery, shorter in tests.
	pruneEvery time.Duration
}

// bridgeConfig is one generation of the bridge's options and back-end. A
// job runs with the generation it was claimed under.
type bridgeConfig struct {
	opts    Options
	backend Backend
}

// defaultPruneEvery is how often the worker prunes done/ and failed/:
// retentions are days, so an hour is precise enough and costs one scan of
// two directories.
const defaultPruneEvery = time.Hour

// New builds the bridge for opts.Backend. With the "spool" back-end Run only
// waits for ctx (an external bridge consumes the spool). opts is validated
// again here.
func New(opts Options, spool *Spool, log *slog.Logger) (*Bridge, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("telephony: invalid options: %w", err)
	}
	var be Backend
	var err error
	switch opts.Backend {
	case BackendSIP:
		be, err = NewSIPBackend(opts.SIP, log)
	case BackendAsterisk:
		be, err = NewAsteriskBackend(opts.Asterisk)
	case BackendExec:
		be, err = NewExecBackend(opts.Exec)
	}
	if err != nil {
		return nil, err
	}
	return newBridge(opts, spool, be, log), nil
}

// NewWithBackend builds a bridge around a caller-supplied back-end (for
// embedding and tests); opts.Backend is ignored.
func NewWithBackend(opts Options, spool *Spool, be Backend, log *slog.Logger) (*Bridge, error) {
	if be == nil {
		return nil, errors.New("telephony: nil backend")
	}
	opts.Backend = ""
	if opts.SpoolDir == "" {
		opts.SpoolDir = spool.Dir()
	}
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("telephony: invalid options: %w", err)
	}
	return newBridge(opts, spool, customBackend{be}, log), nil
}

func newBridge(opts Options, spool *Spool, be Backend, log *slog.Logger) *Bridge {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{spool: spool, log: log.With("component", "telephony"), metrics: opts.Metrics,
		now: time.Now, pruneEvery: defaultPruneEvery}
	b.cfg.Store(&bridgeConfig{opts: opts, backend: be})
	return b
}

func (b *Bridge) config() *bridgeConfig { return b.cfg.Load() }

// Reload replaces the bridge's settings for the jobs it claims from now
// on: retry schedule, expiry, attempt timeout, retention, DSNs, and the
// back-end's own settings (for SIP the trunk, caller ID, ring timeout,
// replays and credentials; the Asterisk and exec sections). Calls in
// progress finish with the settings they started with. It changes nothing
// and returns *FieldError values when opts is invalid or changes what only
// a restart can (Options.RestartRequired). opts.Metrics is ignored: the
// bridge keeps counting where it did.
func (b *Bridge) Reload(opts Options) error {
	cur := b.config()
	if _, custom := cur.backend.(customBackend); custom {
		opts.Backend = cur.opts.Backend
	}
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("telephony: invalid options: %w", err)
	}
	var restart optfield.List
	for _, f := range opts.RestartRequired(cur.opts) {
		restart.Add(f, "cannot change without a restart")
	}
	if err := restart.Err(); err != nil {
		return fmt.Errorf("telephony: reload: %w", err)
	}
	be := cur.backend
	var err error
	switch x := be.(type) {
	case *AsteriskBackend:
		be, err = NewAsteriskBackend(opts.Asterisk)
	case *ExecBackend:
		be, err = NewExecBackend(opts.Exec)
	case *SIPBackend:
		err = x.Reconfigure(opts.SIP) // the last step that can fail
	}
	if err != nil {
		return err
	}
	opts.Metrics = cur.opts.Metrics
	b.cfg.Store(&bridgeConfig{opts: opts, backend: be})
	return nil
}

// customBackend marks a back-end given to NewWithBackend, which Reload keeps.
type customBackend struct{ Backend }

// Close closes the back-end if it has a Close method.
func (c customBackend) Close() error {
	if x, ok := c.Backend.(interface{ Close() error }); ok {
		return x.Close()
	}
	return nil
}

// Run processes the spool until ctx is done, then waits for the calls in
// progress to end (their jobs return to new/ without counting the attempt)
// and returns nil. At start, jobs left in active/ by a crash go back to
// new/: delivery is at-least-once, so such a call may be repeated once.
// Jobs in done/ and failed/ older than KeepDone and KeepFailed are removed
// at start and then hourly; a pruning error is logged, never fatal. With the
// "spool" back-end Run does nothing but wait: the external bridge owns
// done/ and failed/.
func (b *Bridge) Run(ctx context.Context) error {
	start := b.config()
	if start.backend == nil {
		<-ctx.Done()
		return nil
	}
	defer func() {
		// A reload keeps the SIP back-end (the one that needs closing).
		if c, ok := b.config().backend.(interface{ Close() error }); ok {
			c.Close()
		}
	}()
	recovered, err := b.spool.recoverActive()
	if err != nil {
		return err
	}
	if len(recovered) > 0 {
		b.log.Warn("jobs interrupted by a restart are retried (at-least-once)", "count", len(recovered))
	}
	sem := make(chan struct{}, start.opts.Concurrency)
	finished := make(chan string, start.opts.Concurrency)
	inflight := map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.pruneLoop(ctx)
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		jobs, next, damaged, err := b.spool.due(b.now())
		if err != nil {
			b.log.Error("scan spool", "err", err)
		}
		for _, id := range damaged {
			// Unreadable metadata: no call, no DSN possible; keep it for the admin.
			if err := b.spool.file(&Job{ID: id}, dirNew, dirFailed); err == nil {
				b.metrics.jobFinished(finishedDamaged)
				b.log.Error("damaged job moved to failed/", "job", id)
			}
		}
		for _, j := range jobs {
			if inflight[j.ID] {
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				goto wait
			}
			if err := b.spool.claim(j); err != nil {
				<-sem
				continue // another worker won, or the job vanished
			}
			b.metrics.jobClaimed()
			inflight[j.ID] = true
			wg.Add(1)
			go func(j *Job) {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						b.log.Error("panic in delivery; job stays active until restart", "job", j.ID, "panic", fmt.Sprint(r))
					}
					<-sem
					finished <- j.ID
				}()
				b.process(ctx, j)
			}(j)
		}
	wait:
		d := b.config().opts.Poll
		if !next.IsZero() {
			if u := time.Until(next); u < d {
				d = max(u, time.Millisecond)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			for len(inflight) > 0 {
				delete(inflight, <-finished)
			}
			return nil
		case id := <-finished:
			delete(inflight, id)
		case <-b.spool.wake:
		case <-timer.C:
		}
	}
}

// process runs one claimed job to its next state.
func (b *Bridge) process(ctx context.Context, j *Job) {
	c := b.config()
	o := &c.opts
	log := b.log.With("job", j.ID, "queue_id", j.Meta.QueueID)
	if j.Expires.IsZero() {
		j.Expires = j.Created.Add(o.Expire)
	}
	if j.Final == nil {
		actx, cancel := context.WithTimeout(ctx, o.AttemptTimeout)
		start := b.now()
		err := b.metrics.call(func() error { return c.backend.Deliver(actx, j) })
		cancel()
		end := b.now()
		if ctx.Err() != nil {
			// Shutdown: the attempt does not count; the job goes back.
			if err := b.spool.move(j, dirActive, dirNew); err != nil {
				log.Error("requeue on shutdown", "err", err)
			}
			return
		}
		j.Attempts++
		a := Attempt{Start: start.UTC(), End: end.UTC(), Outcome: OutcomeDelivered, Status: "2.0.0"}
		if err != nil {
			de := classify(err)
			a.Outcome, a.Status, a.Diagnostic = de.Outcome, de.Status, sanitizeDiagnostic(de.Diagnostic)
		}
		j.History = append(j.History, a)
		b.metrics.attempt(a.Outcome)
		log.Info("attempt", "n", j.Attempts, "outcome", a.Outcome, "status", a.Status, "diag", a.Diagnostic)
		switch {
		case err == nil || !IsTemporary(err):
			final := a
			j.Final = &final
		default:
			retry := o.Retry[min(j.Attempts-1, len(o.Retry)-1)]
			next := end.Add(retry)
			if !next.Before(j.Expires) {
				final := a
				final.Outcome = OutcomeExpired // Action: failed, keeps the 4.x.x status
				j.Final = &final
			} else {
				j.NextAttempt = next.UTC()
				b.delayNotice(ctx, o, j, a, end, log)
				if err := b.spool.save(j); err != nil {
					log.Error("save job", "err", err)
				}
				if err := b.spool.move(j, dirActive, dirNew); err != nil {
					log.Error("requeue", "err", err)
				}
				return
			}
		}
		if err := b.spool.save(j); err != nil {
			log.Error("save job", "err", err)
		}
	}
	b.finish(ctx, o, j, log)
}

// delayNotice sends the job's one "delayed" DSN (RFC 3464 §2.3.3, Status
// and Diagnostic-Code of the temporary failure a, Will-Retry-Until the
// job's expiry) once DSN.DelayAfter has passed since the job was enqueued,
// and records the decision in j.DelayDSN; the caller's save makes it
// durable together with the next attempt time. The job is still being
// retried: a failed submission is logged and tried again after the next
// temporary failure, and never changes what happens to the call.
func (b *Bridge) delayNotice(ctx context.Context, o *Options, j *Job, a Attempt, now time.Time, log *slog.Logger) {
	after := o.DSN.DelayAfter
	if after == DelayNever || now.Sub(j.Created) < after {
		return
	}
	if j.DelayDSN != "" && !strings.HasPrefix(j.DelayDSN, "failed") {
		return // decided or sent before, perhaps before a restart
	}
	want, why := delayDSNWanted(j)
	switch {
	case !want:
		j.DelayDSN = why
		return
	case o.DSN.Disable:
		j.DelayDSN = "disabled"
		return
	}
	msg := buildDSN(dsnInput{opts: o.DSN, job: j, now: now, boundary: "dsn-" + randomToken(),
		msgID: fmt.Sprintf("%s.delay.dsn@%s", j.ID, sanitizeAddr(o.DSN.ReportingMTA)), delayed: &a})
	err := sendDSN(ctx, o.DSN, j.Meta.Sender, msg)
	b.metrics.dsnSubmitted(dsnActionDelayed, err)
	if err != nil {
		j.DelayDSN = "failed: " + sanitizeDiagnostic(err.Error())
		log.Warn("delay dsn; tried again after the next attempt", "err", err, "attempts", j.Attempts)
		return
	}
	j.DelayDSN = "sent"
	log.Info("delay dsn sent", "status", a.Status, "will_retry_until", j.Expires)
}

// finish sends the DSN if one is due and files the job.
func (b *Bridge) finish(ctx context.Context, o *Options, j *Job, log *slog.Logger) {
	if j.DSN == "" || j.DSN[0] == 'f' { // not yet decided, or failed before
		want, why := dsnWanted(j)
		switch {
		case !want:
			j.DSN = why
		case o.DSN.Disable:
			j.DSN = "disabled"
		default:
			now := b.now()
			msg := buildDSN(dsnInput{opts: o.DSN, job: j, now: now, boundary: "dsn-" + randomToken(),
				msgID: fmt.Sprintf("%s.dsn@%s", j.ID, sanitizeAddr(o.DSN.ReportingMTA))})
			err := sendDSN(ctx, o.DSN, j.Meta.Sender, msg)
			if j.Final.Outcome == OutcomeDelivered {
				b.metrics.dsnSubmitted(dsnActionDelivered, err)
			} else {
				b.metrics.dsnSubmitted(dsnActionFailed, err)
			}
			j.DSNAttempts++
			if err != nil {
				j.DSN = "failed: " + sanitizeDiagnostic(err.Error())
				log.Warn("dsn", "err", err, "attempt", j.DSNAttempts)
				if j.DSNAttempts < 5 && ctx.Err() == nil {
					j.NextAttempt = now.Add(o.Retry[min(j.DSNAttempts-1, len(o.Retry)-1)]).UTC()
					if err := b.spool.save(j); err != nil {
						log.Error("save job", "err", err)
					}
					if err := b.spool.move(j, dirActive, dirNew); err != nil {
						log.Error("requeue", "err", err)
					}
					return
				}
			} else {
				j.DSN = "sent"
			}
		}
		if err := b.spool.save(j); err != nil {
			log.Error("save job", "err", err)
		}
	}
	to, outcome := dirFailed, finishedFailed
	switch j.Final.Outcome {
	case OutcomeDelivered:
		to, outcome = dirDone, finishedDone
	case OutcomeExpired:
		outcome = finishedExpired
	}
	if err := b.spool.file(j, dirActive, to); err != nil {
		log.Error("file job", "err", err)
		return
	}
	b.metrics.jobFinished(outcome)
	log.Info("job final", "outcome", j.Final.Outcome, "status", j.Final.Status, "dsn", j.DSN, "attempts", j.Attempts)
}

// pruneLoop runs Spool.Prune at once and then every pruneEvery until ctx is
// done. It runs beside the scheduling loop, so removing many old jobs does
// not delay calls.
func (b *Bridge) pruneLoop(ctx context.Context) {
	tick := time.NewTicker(b.pruneEvery)
	defer tick.Stop()
	for {
		b.prune()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// prune runs Spool.Prune once and logs one line with the counts.
func (b *Bridge) prune() {
	o := b.config().opts
	if o.KeepDone == KeepForever && o.KeepFailed == KeepForever {
		return
	}
	done, failed, err := b.spool.Prune(b.now(), o.KeepDone, o.KeepFailed)
	b.metrics.prunedJobs(done, failed)
	switch {
	case err != nil:
		b.log.Error("prune spool", "done", done, "failed", failed, "err", err)
	case done+failed > 0:
		b.log.Info("pruned spool", "done", done, "failed", failed)
	default:
		b.log.Debug("pruned spool", "done", 0, "failed", 0)
	}
}
