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

	"github.com/vpim-milter/vpim-milter/codec"
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

// Run processes the spool until ctx is done, then stops claiming jobs and
// lets the calls in progress go on for up to DrainTimeout; calls still
// running then are cut (their attempt counts, OutcomeInterrupted, and the
// job is retried on its schedule after a restart). Run returns nil once
// every call has ended. At start, jobs left in active/ by a crash go back
// to new/: delivery is at-least-once, so such a call may be repeated once.
// Jobs in done/ and failed/ older than KeepDone and KeepFailed are removed
// at start and then hourly; a pruning error is logged, never fatal. With the
// "spool" back-end Run does nothing but wait: the external bridge owns
// done/ and failed/.
//
// A job whose new state cannot be written after an attempt (a full disk:
// job.json cannot be rewritten) is never called before its next attempt
// time: it stays claimed in active/, and the worker keeps its state in
// memory and tries again, writing first, at that time.
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
	// Calls run under callCtx: it outlives ctx by up to DrainTimeout.
	callCtx, cutCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cutCalls()
	sem := make(chan struct{}, start.opts.Concurrency)
	finished := make(chan callResult, start.opts.Concurrency)
	inflight := map[string]bool{}
	held := map[string]*Job{} // claimed jobs waiting in memory for their next attempt
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.pruneLoop(ctx)
	}()
	run := func(j *Job) {
		inflight[j.ID] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hold *Job
			defer func() {
				if r := recover(); r != nil {
					b.log.Error("panic in delivery; job stays active until restart", "job", j.ID, "queue_id", j.Meta.QueueID, "panic", fmt.Sprint(r))
				}
				<-sem
				finished <- callResult{j.ID, hold}
			}()
			hold = b.process(callCtx, j)
		}()
	}
	done := func(r callResult) {
		delete(inflight, r.id)
		if r.hold != nil {
			held[r.id] = r.hold
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := b.now()
		jobs, next, damaged, err := b.spool.due(now)
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
		for id, j := range held {
			if j.NextAttempt.After(now) {
				if next.IsZero() || j.NextAttempt.Before(next) {
					next = j.NextAttempt
				}
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				goto wait
			}
			delete(held, id)
			run(j)
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
			run(j)
		}
	wait:
		d := b.config().opts.Poll
		if !next.IsZero() {
			if u := next.Sub(b.now()); u < d {
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
			b.drain(inflight, finished, cutCalls, done)
			for _, j := range held {
				b.release(j)
			}
			return nil
		case r := <-finished:
			done(r)
		case <-b.spool.wake:
		case <-timer.C:
		}
	}
}

// callResult is what a call's goroutine reports to Run.
type callResult struct {
	id   string
	hold *Job // not nil: its state could not be saved; run it again at its NextAttempt
}

// drain waits for the calls in progress (inflight) to finish, passing each
// result to done; after DrainTimeout it cuts the rest (cut) and waits for
// them to return, which the back-ends do at once.
func (b *Bridge) drain(inflight map[string]bool, finished <-chan callResult, cut context.CancelFunc, done func(callResult)) {
	if len(inflight) == 0 {
		return
	}
	d := b.config().opts.DrainTimeout
	b.log.Info("waiting for calls in progress", "calls", len(inflight), "timeout", d)
	t := time.NewTimer(d)
	defer t.Stop()
	for len(inflight) > 0 {
		select {
		case r := <-finished:
			done(r)
		case <-t.C:
			b.log.Warn("drain timeout: cutting the calls in progress", "calls", len(inflight), "timeout", d)
			cut()
		}
	}
}

// release is the last try, at shutdown, to write a held job's state and
// queue it; if that still fails the job stays in active/, and the next
// start puts it back with the state it had before (it may then be called
// before its schedule: at-least-once).
func (b *Bridge) release(j *Job) {
	log := b.log.With("job", j.ID, "queue_id", j.Meta.QueueID)
	if err := b.spool.save(j); err != nil {
		log.Error("cannot save the job's state at shutdown; it stays in active/ and is retried after the restart", "err", err)
		return
	}
	if err := b.spool.move(j, dirActive, dirNew); err != nil {
		log.Error("requeue", "err", err)
	}
}

// requeue writes j's state and moves it back to new/ for its next attempt.
// When the state cannot be written (a full disk), j stays in active/ and
// is returned, for the worker to keep in memory until j.NextAttempt: the
// old job.json in new/ would make it due at once, a redial storm.
func (b *Bridge) requeue(j *Job, log *slog.Logger) (hold *Job) {
	if err := b.spool.save(j); err != nil {
		log.Error("cannot save the job's state; it stays claimed and is tried again at its next attempt, not before", "err", err, "next_attempt", j.NextAttempt)
		return j
	}
	if err := b.spool.move(j, dirActive, dirNew); err != nil {
		log.Error("requeue; the job stays claimed and is tried again at its next attempt", "err", err, "next_attempt", j.NextAttempt)
		return j
	}
	return nil
}

// process runs one claimed job to its next state. ctx is the calls'
// context: when it ends (a shutdown past DrainTimeout) the call is cut and
// recorded as interrupted. It returns j when j must stay claimed in memory
// (requeue).
func (b *Bridge) process(ctx context.Context, j *Job) (hold *Job) {
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
		timedOut := ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		end := b.now()
		j.Attempts++
		a := Attempt{Start: start.UTC(), End: end.UTC(), Outcome: OutcomeDelivered, Status: "2.0.0"}
		var de *DeliveryError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			// Shutdown cut the call: it counts, and says so.
			de = &DeliveryError{Outcome: OutcomeInterrupted, Status: "4.3.2", Diagnostic: "call cut short: the voice bridge shut down", Err: err}
		case timedOut:
			de = attemptTimedOut(j, o.AttemptTimeout, err)
		default:
			de = classify(err)
		}
		if de != nil {
			a.Outcome, a.Status, a.Diagnostic = de.Outcome, de.Status, sanitizeDiagnostic(de.Diagnostic)
		}
		j.History = append(j.History, a)
		b.metrics.attempt(a.Outcome)
		log.Info("attempt", "n", j.Attempts, "outcome", a.Outcome, "status", a.Status, "diag", a.Diagnostic, "duration", end.Sub(start).Round(time.Millisecond))
		switch {
		case de == nil || !de.Temporary():
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
				if ctx.Err() == nil {
					b.delayNotice(ctx, o, j, a, end, log)
				}
				return b.requeue(j, log)
			}
		}
		if err := b.spool.save(j); err != nil {
			log.Error("save job", "err", err)
		}
	}
	return b.finish(ctx, o, j, log)
}

// attemptTimedOut is the failure of an attempt that AttemptTimeout cut:
// temporary (4.4.7), unless the message alone is longer than the timeout,
// which no retry can change (5.3.4: the bridge takes such messages only
// when MaxAudio is not shorter than AttemptTimeout).
func attemptTimedOut(j *Job, timeout time.Duration, err error) *DeliveryError {
	if audio := time.Duration(j.Samples) * time.Second / codec.Rate; audio >= timeout {
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.3.4", Err: err,
			Diagnostic: fmt.Sprintf("call cut after the attempt timeout of %v: the message (%v) is longer", timeout, audio.Round(time.Second))}
	}
	return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.7", Err: err,
		Diagnostic: fmt.Sprintf("call cut after the attempt timeout of %v", timeout)}
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

// finish sends the DSN if one is due and files the job. It returns j when
// j must stay claimed in memory (requeue).
func (b *Bridge) finish(ctx context.Context, o *Options, j *Job, log *slog.Logger) (hold *Job) {
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
			if err != nil && ctx.Err() != nil {
				// Shutdown: the DSN goes out after the restart (the job
				// keeps its final outcome and is not called again).
				log.Warn("dsn not sent: shutting down; it is sent after the restart", "err", err)
				j.NextAttempt = now.UTC()
				return b.requeue(j, log)
			}
			if j.Final.Outcome == OutcomeDelivered {
				b.metrics.dsnSubmitted(dsnActionDelivered, err)
			} else {
				b.metrics.dsnSubmitted(dsnActionFailed, err)
			}
			j.DSNAttempts++
			if err != nil {
				j.DSN = "failed: " + sanitizeDiagnostic(err.Error())
				log.Warn("dsn", "err", err, "attempt", j.DSNAttempts)
				if j.DSNAttempts < 5 {
					j.NextAttempt = now.Add(o.Retry[min(j.DSNAttempts-1, len(o.Retry)-1)]).UTC()
					return b.requeue(j, log)
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
		return nil
	}
	b.metrics.jobFinished(outcome)
	log.Info("job final", "outcome", j.Final.Outcome, "status", j.Final.Status, "dsn", j.DSN, "attempts", j.Attempts)
	return nil
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
