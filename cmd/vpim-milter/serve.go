package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/internal/promtext"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// commonFlags are -c and the logging overrides shared by the commands.
type commonFlags struct {
	config    string
	logFormat string
	logLevel  string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "c", "", "configuration `FILE` (TOML); without it the built-in defaults serve")
	fs.StringVar(&c.logFormat, "log-format", "", "log format: text or json (overrides [log] format)")
	fs.StringVar(&c.logLevel, "log-level", "", "log level: debug, info, warn or error (overrides [log] level)")
}

// load reads the configuration and applies the flag overrides.
func (c *commonFlags) load() (Config, error) {
	cfg, err := loadConfig(c.config)
	if err != nil {
		return cfg, err
	}
	if c.logFormat != "" {
		cfg.Log.Format = c.logFormat
	}
	if c.logLevel != "" {
		cfg.Log.Level = c.logLevel
	}
	if errs := cfg.Log.validate("--log-format", "--log-level"); len(errs) > 0 {
		return cfg, errors.New(strings.Join(errs, "\n"))
	}
	return cfg, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger returns the logger cfg asks for, writing to w, and its level,
// which a reload can change.
func newLogger(cfg LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	l, _ := parseLevel(cfg.Level)
	level.Set(l)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}

// newEngine builds the profile engine, with its transcoder, for o.
func newEngine(o options) (*profile.Engine, error) {
	tr, err := codec.NewTranscoder(o.codec)
	if err != nil {
		return nil, err
	}
	o.profile.Codec = tr
	return profile.New(o.profile)
}

func runServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vpim-milter serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "vpim-milter: %v\n", err)
		return 2
	}
	log, level := newLogger(cfg.Log, stderr)
	// go-milter's one global hook (STYLE.md rule 6): its warnings go to slog.
	gomilter.LogWarning = func(format string, v ...any) { log.Warn("go-milter: " + fmt.Sprintf(format, v...)) }
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := serve(context.Background(), cf, cfg, log, level, hup); err != nil {
		log.Error("fatal", "error", err)
		return 1
	}
	return 0
}

// serve runs the milter (and the bridge worker) until SIGTERM, SIGINT or
// the end of ctx; each value from hup (SIGHUP) reloads the configuration.
func serve(ctx context.Context, cf commonFlags, cfg Config, log *slog.Logger, level *slog.LevelVar, hup <-chan os.Signal) error {
	d := &daemon{cf: cf, log: log, level: level, cfg: cfg}
	o, err := cfg.options()
	if err != nil {
		return err
	}
	d.opts = o
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit(o.milter))
	}
	var metrics *milter.Metrics
	var metricsLn net.Listener // served once the worker, if any, is built
	if o.metrics.Listen != "" {
		metrics = milter.NewMetrics()
		metricsLn, err = net.Listen("tcp", o.metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		defer metricsLn.Close()
	}
	if o.telephony.Backend != telephony.BackendSpool {
		// The worker takes jobs from the spool whether or not this daemon's
		// gateway writes them.
		if d.spool, err = telephony.OpenSpool(o.telephony.SpoolDir); err != nil {
			return err
		}
	}
	mopts, engine, err := d.build(o)
	if err != nil {
		return err
	}
	f, err := milter.New(mopts, engine, log, metrics)
	if err != nil {
		return err
	}
	d.filter = f
	ln, err := milter.Listen(mopts.Listen, mopts.Socket)
	if err != nil {
		return err
	}
	log.Info("vpim-milter listening", "listen", cfg.Milter.Listen, "addr", ln.Addr().String(), "config", cf.config,
		"default_target", cfg.Profile.DefaultTarget, "version", versionString())
	for _, w := range exposureWarnings(o) {
		log.Warn(w)
	}

	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	var workerDone chan error
	var bridgeMetrics *telephony.Metrics
	if o.telephony.Backend != telephony.BackendSpool {
		topts := o.telephony
		if metrics != nil {
			bridgeMetrics = telephony.NewMetrics(d.spool)
			topts.Metrics = bridgeMetrics
		}
		d.worker, err = telephony.New(topts, d.spool, log.With("component", "bridge"))
		if err != nil {
			return err
		}
		workerDone = make(chan error, 1)
		go func() { workerDone <- d.worker.Run(ctx) }()
		log.Info("telephony bridge worker running", "backend", o.telephony.Backend, "spool", o.telephony.SpoolDir)
	}
	if metricsLn != nil {
		srv := metricsServer(metricsHandler(metrics, bridgeMetrics))
		go func() { _ = srv.Serve(metricsLn) }()
		defer srv.Close()
		log.Info("metrics listening", "addr", metricsLn.Addr().String())
	}
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.reload()
			}
		}
	}()
	err = f.Serve(ctx, ln)
	cancel()
	<-reloaded
	if workerDone != nil {
		if werr := <-workerDone; werr != nil && !errors.Is(werr, context.Canceled) {
			log.Error("telephony bridge worker", "error", werr)
		}
	}
	log.Info("vpim-milter stopped")
	return err
}

// softMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// does not set one: three times body_memory_total plus 32 MiB (128 MiB at
// the defaults). What the daemon keeps alive is bounded (bodies by
// body_memory_total, sessions by max_sessions); without the limit the
// collector lets the heap grow to twice that before it runs, and the
// resident memory with it. It is soft: above it the collector only runs
// more often.
func softMemoryLimit(o milter.Options) int64 {
	return 3*o.WithDefaults().BodyMemoryTotal + 32<<20
}

// metricsServer is the HTTP server of /metrics. Scrapers send one small
// request and read a small answer: every phase has a timeout, so idle
// keep-alive connections and slow clients cannot pile up.
func metricsServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second, // Prometheus scrapes every 15 s to 1 min
		MaxHeaderBytes:    16 << 10,
	}
}

// exposureWarnings lists what the running configuration exposes that is
// allowed but deserves the operator's attention: the start logs each at
// WARN.
func exposureWarnings(o options) []string {
	var out []string
	if w := o.milter.WiderSocketMode(); w != "" {
		out = append(out, "milter."+w)
	}
	if open, why := o.milter.ReachableByAll(); open && o.milter.AllowUnauthenticatedListener && len(o.profile.GatewayDomains) > 0 {
		out = append(out, "milter.allow_unauthenticated_listener = true: "+why+", and the telephony gateway places calls for it")
	}
	if host, _, err := net.SplitHostPort(o.metrics.Listen); err == nil && o.metrics.Listen != "" {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			out = append(out, fmt.Sprintf("metrics.listen = %q listens on all interfaces: /metrics is reachable from other hosts (hint: \"127.0.0.1:9895\")", o.metrics.Listen))
		}
	}
	t := o.telephony
	if t.Backend != telephony.BackendSpool && t.MaxAudio >= t.AttemptTimeout {
		out = append(out, fmt.Sprintf("telephony.max_audio (%v) is not shorter than attempt_timeout (%v): the longest messages would be cut and fail", t.MaxAudio, t.AttemptTimeout))
	}
	return out
}

// metricsHandler serves /metrics: the milter's families and, when the bridge
// worker runs (bridge not nil), the bridge's vpim_bridge_* families, as one
// exposition sorted by family name.
func metricsHandler(m *milter.Metrics, bridge *telephony.Metrics) http.Handler {
	collectors := []promtext.Collector{m}
	if bridge != nil {
		collectors = append(collectors, bridge)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promtext.Handler(collectors...))
	return mux
}

// newBridge builds the hand-off to the telephony spool when gateway domains
// are configured (nil otherwise). Offline commands get a dry run (spool
// nil): the outdial policy applies, but no job is written.
func newBridge(o options, spool *telephony.Spool) (*telephony.Gateway, error) {
	if len(o.profile.GatewayDomains) == 0 {
		return nil, nil
	}
	return telephony.NewGateway(o.telephony, spool)
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "vpim-milter: %v\n", err)
		return 1
	}
	out, err := cfg.encode()
	if err != nil {
		fmt.Fprintf(stderr, "vpim-milter: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "# effective configuration (built-in defaults overridden by %s)\n%s", orDefaults(cf.config), out)
	return 0
}

func orDefaults(path string) string {
	if path == "" {
		return "nothing"
	}
	return path
}
