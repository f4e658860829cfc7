package main

import (
	"log/slog"
	"slices"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// daemon is what serve runs, built from one configuration: the filter with
// its engine and telephony gateway, the bridge worker, and the log level.
// reload builds all of them from a new configuration and swaps them in, or
// refuses the new configuration as a whole.
type daemon struct {
	cf     commonFlags
	log    *slog.Logger
	level  *slog.LevelVar
	filter *milter.Filter
	spool  *telephony.Spool  // nil until a gateway or the worker needs it
	worker *telephony.Bridge // nil with backend "spool"

	cfg  Config  // the running configuration
	opts options // and its options
}

// build makes the engine and the milter options of o, with the telephony
// gateway as their bridge; it opens the spool when the gateway is the
// first to need it.
func (d *daemon) build(o options) (milter.Options, *profile.Engine, error) {
	engine, err := newEngine(o)
	if err != nil {
		return milter.Options{}, nil, err
	}
	mopts := o.milter
	if len(o.profile.GatewayDomains) == 0 {
		return mopts, engine, nil
	}
	spool := d.spool
	if spool == nil {
		if spool, err = telephony.OpenSpool(o.telephony.SpoolDir); err != nil {
			return milter.Options{}, nil, err
		}
	}
	g, err := newBridge(o, spool)
	if err != nil {
		return milter.Options{}, nil, err
	}
	d.spool = spool
	mopts.Bridge = g
	return mopts, engine, nil
}

// restartKeys lists the configuration keys whose change from the running
// configuration needs a restart: what the packages cannot change while
// running (Options.RestartRequired), the log format and the metrics
// listener.
func (d *daemon) restartKeys(cfg *Config, o options) []string {
	var keys []string
	add := func(pkg string, fields []string) {
		for _, f := range fields {
			k, _ := keyOf(pkg, f)
			keys = append(keys, k)
		}
	}
	add("milter", o.milter.RestartRequired(d.opts.milter))
	add("telephony", o.telephony.RestartRequired(d.opts.telephony))
	if o.metrics != d.opts.metrics {
		add("promtext", []string{"Listen"})
	}
	if cfg.Log.Format != d.cfg.Log.Format {
		keys = append(keys, "log.format")
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// reload re-reads the configuration (SIGHUP). It builds every component
// from the new file first: the profile engine, the milter options, the
// telephony gateway with the outdial policy and allowed senders, and the
// worker's settings. Only when all of them could be built, and no key that
// needs a restart changed, are they swapped in: the milter's options,
// engine and gateway at once for the transactions that start from then on,
// the worker's settings for the jobs it claims from then on. Otherwise the
// running configuration stays as a whole, and the log says why at ERROR
// (for keys that need a restart, which ones).
func (d *daemon) reload() {
	refuse := func(err error) {
		d.log.Error("reload failed, keeping the running configuration", "config", d.cf.config, "error", err)
	}
	cfg, err := d.cf.load()
	if err != nil {
		refuse(err)
		return
	}
	o, err := cfg.options()
	if err != nil {
		refuse(err)
		return
	}
	if keys := d.restartKeys(&cfg, o); len(keys) > 0 {
		d.log.Error("reload refused, keeping the running configuration: these keys need a restart", "config", d.cf.config, "keys", keys)
		return
	}
	mopts, engine, err := d.build(o)
	if err != nil {
		refuse(err)
		return
	}
	if d.worker != nil {
		if err := d.worker.Reload(o.telephony); err != nil {
			refuse(err)
			return
		}
	}
	if err := d.filter.Reload(mopts, engine); err != nil {
		// Checked above, so not expected; put the worker back as it was.
		if d.worker != nil {
			_ = d.worker.Reload(d.opts.telephony)
		}
		refuse(err)
		return
	}
	if d.worker != nil && o.telephony.Backend == telephony.BackendSIP {
		// The password file was read again: a rotated password is in use.
		d.log.Info("telephony.sip credentials applied", "username", o.telephony.SIP.Username)
	}
	level, _ := parseLevel(cfg.Log.Level)
	d.level.Set(level)
	d.cfg, d.opts = cfg, o
	d.log.Info("configuration reloaded", "config", d.cf.config)
}
