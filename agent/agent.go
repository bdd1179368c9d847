// Package agent assembles ferry: it opens the log, runs service discovery,
// scraping, one sender per destination, the receiver and the web endpoints,
// applies reloaded configurations to each of them, and shuts them down in an
// order that loses nothing.
package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	toolkitweb "github.com/prometheus/exporter-toolkit/web"

	"github.com/ferrymetrics/ferry/config"
	"github.com/ferrymetrics/ferry/discovery"
	"github.com/ferrymetrics/ferry/gcgoal"
	"github.com/ferrymetrics/ferry/receiver"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/scrape"
	"github.com/ferrymetrics/ferry/sender"
	"github.com/ferrymetrics/ferry/version"
	"github.com/ferrymetrics/ferry/wal"
	"github.com/ferrymetrics/ferry/web"
)

// Options are the agent's command-line settings.
type Options struct {
	ConfigFile    string
	StoragePath   string
	ListenAddress string
	// WebConfigFile enables TLS and basic auth on the listener
	// (exporter-toolkit format).
	WebConfigFile   string
	EnableLifecycle bool
	EnablePprof     bool
	// EnableReceiver turns the remote-write receiver on even if the
	// configuration file does not (Prometheus' flag).
	EnableReceiver bool
	// ShutdownTimeout bounds how long shutdown waits for destinations to
	// acknowledge pending data; the rest stays in the log.
	ShutdownTimeout time.Duration
	// DiscoveryInterval throttles target updates; Prometheus' 5s when zero.
	DiscoveryInterval time.Duration
	// ClusterShards and ClusterShardIndex split targets across replicas
	// (see scrape.Options). A negative index is taken from the number at
	// the end of the host name, as a StatefulSet pod's ordinal.
	ClusterShards     int
	ClusterShardIndex int
	// AdaptiveGoGC adapts the garbage collector's target to what
	// collections cost (package gcgoal) while neither runtime.gogc nor
	// $GOGC sets it.
	AdaptiveGoGC bool
	Logger       *slog.Logger
	// Flags are shown on the status page.
	Flags map[string]string
}

// Agent is a running ferry.
type Agent struct {
	opts   Options
	logger *slog.Logger
	reg    *prometheus.Registry
	log    *wal.Log
	disc   *discovery.Manager
	scrape *scrape.Manager
	sm     *sender.Metrics
	start  time.Time
	gc     *gcgoal.Controller

	mu         sync.Mutex
	cfg        *config.Config
	senders    map[string]*runningSender
	recv       *receiver.Receiver
	lastReload time.Time
	reloadErr  error

	reloadOK, reloadTime prometheus.Gauge
	ready                atomic.Bool
	listener             net.Listener
	server               *http.Server
}

type runningSender struct {
	cfg config.RemoteWrite
	s   *sender.Sender
}

// New loads the configuration and opens the log. Nothing runs until Run.
func New(opts Options) (*Agent, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if err := resolveShard(&opts); err != nil {
		return nil, err
	}
	cfg, err := config.LoadFile(opts.ConfigFile, opts.Logger)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: opts, logger: opts.Logger, reg: prometheus.NewRegistry(), cfg: cfg,
		senders: map[string]*runningSender{}, start: time.Now()}
	a.gc = gcgoal.New(gcgoal.Options{Start: config.DefaultGoGC, Logger: opts.Logger.With("component", "gc")})
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_build_info", Help: "ferry's version; always 1."},
		[]string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(version.String(), version.Revision, version.GoVersion()).Set(1)
	a.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "prometheus_config_last_reload_successful", Help: "Whether the last configuration reload succeeded."})
	a.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "prometheus_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration reload."})
	a.reg.MustRegister(buildInfo, a.reloadOK, a.reloadTime)
	a.reloadOK.Set(1)
	a.reloadTime.SetToCurrentTime()
	a.lastReload = time.Now()

	st := cfg.Storage
	a.log, err = wal.Open(opts.StoragePath, wal.Options{
		SegmentSize:   int64(st.SegmentSize),
		SegmentMaxAge: time.Duration(st.SegmentMaxAge),
		MaxSize:       int64(st.MaxSize),
		MaxAge:        time.Duration(st.MaxAge),
		FsyncInterval: time.Duration(st.FsyncInterval),
		Logger:        opts.Logger.With("component", "log"),
		Registerer:    a.reg,
	})
	if err != nil {
		return nil, fmt.Errorf("open log in %s: %w", opts.StoragePath, err)
	}
	a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "prometheus_remote_storage_highest_timestamp_in_seconds",
		Help: "Append time of the newest record in the log: what every destination is measured against.",
	}, func() float64 { return float64(a.log.Stats().NewestTime) / 1000 }))
	a.sm = sender.NewMetrics(a.reg)
	return a, nil
}

// Registry returns the registry of ferry's own metrics.
func (a *Agent) Registry() *prometheus.Registry { return a.reg }

// Addr returns the address the web server listens on, once Run has started it.
func (a *Agent) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Listen opens the web listener; Run calls it if the caller did not.
func (a *Agent) Listen() error {
	if a.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", a.opts.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.opts.ListenAddress, err)
	}
	a.listener = l
	return nil
}

// Run starts every component and blocks until ctx ends, then shuts down.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.Listen(); err != nil {
		a.log.Close()
		return err
	}
	var err error
	a.disc, err = discovery.New(discovery.Options{Logger: a.logger, Registerer: a.reg, UpdateInterval: a.opts.DiscoveryInterval})
	if err != nil {
		a.log.Close()
		return err
	}
	a.scrape = scrape.NewManager(scrape.Options{
		Appender: a.log, Seed: a.seed(), Logger: a.logger.With("component", "scrape"), Registerer: a.reg,
		Shards: a.opts.ClusterShards, ShardIndex: a.opts.ClusterShardIndex,
	})
	a.mu.Lock()
	a.releaseRemovedCursors(a.cfg)
	a.applyLocked(a.cfg)
	a.mu.Unlock()
	if a.opts.AdaptiveGoGC {
		go a.gc.Run(ctx)
	}
	scrapeCtx, stopScrape := context.WithCancel(context.Background())
	go a.scrape.Run(scrapeCtx, a.disc.Updates())

	handler, err := web.NewHandler(web.Options{
		Sources:      a.webSources(),
		Gatherer:     a.reg,
		EnableReload: a.opts.EnableLifecycle,
		EnablePprof:  a.opts.EnablePprof,
		Logger:       a.logger,
		StartTime:    a.start,
		Context:      ctx,
	})
	if err != nil {
		stopScrape()
		return err
	}
	a.server = &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	serveErr := make(chan error, 1)
	go func() {
		webCfg := a.opts.WebConfigFile
		noSystemd := false
		flags := &toolkitweb.FlagConfig{WebConfigFile: &webCfg, WebSystemdSocket: &noSystemd, WebListenAddresses: &[]string{a.opts.ListenAddress}}
		serveErr <- toolkitweb.Serve(a.listener, a.server, flags, a.logger.With("component", "web"))
	}()
	a.ready.Store(true)
	a.logger.Info("ferry is ready", "listen", a.Addr(), "storage", a.opts.StoragePath, "version", version.String())

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("web server: %w", err)
		}
	}
	a.ready.Store(false)
	stopScrape()
	a.shutdown()
	return runErr
}

// shutdown stops scraping first so nothing new is appended, gives senders
// ShutdownTimeout to deliver what they hold, then closes the log; whatever
// was not delivered is still in it.
func (a *Agent) shutdown() {
	a.logger.Info("Shutting down")
	a.disc.Stop()
	a.scrape.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	a.server.Shutdown(sctx)
	cancel()
	a.mu.Lock()
	var wg sync.WaitGroup
	for _, rs := range a.senders {
		wg.Add(1)
		go func(s *sender.Sender) {
			defer wg.Done()
			s.Stop(a.opts.ShutdownTimeout)
		}(rs.s)
	}
	wg.Wait()
	a.senders = map[string]*runningSender{}
	a.mu.Unlock()
	if err := a.log.Close(); err != nil {
		a.logger.Error("Closing the log", "err", err)
	}
	a.logger.Info("Stopped")
}

// Reload loads the configuration file again and applies it. An invalid file
// is rejected and the running configuration stays.
func (a *Agent) Reload() error {
	cfg, err := config.LoadFile(a.opts.ConfigFile, a.logger)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastReload = time.Now()
	a.reloadErr = err
	if err != nil {
		a.reloadOK.Set(0)
		a.logger.Error("Configuration reload failed; keeping the running configuration", "err", err)
		return err
	}
	if storageChanged(a.cfg.Storage, cfg.Storage) {
		a.logger.Warn("Changes to ferry.storage take effect after a restart")
	}
	a.releaseRemovedCursors(cfg)
	a.applyLocked(cfg)
	a.cfg = cfg
	a.reloadOK.Set(1)
	a.reloadTime.SetToCurrentTime()
	a.logger.Info("Configuration reloaded", "file", a.opts.ConfigFile)
	return nil
}

func storageChanged(a, b config.Storage) bool { return a != b }

// applyLocked brings scraping, discovery, senders and the receiver in line
// with cfg. Callers hold a.mu.
func (a *Agent) applyLocked(cfg *config.Config) {
	if a.opts.AdaptiveGoGC && !cfg.GoGCSet {
		a.gc.Adapt()
	} else {
		a.gc.Fix(cfg.GoGC)
	}
	a.applySenders(cfg)
	a.applyReceiver(cfg)
	if err := a.scrape.ApplyConfig(cfg.Scrape); err != nil {
		a.logger.Error("Applying scrape configuration", "err", err)
	}
	if err := a.disc.ApplyConfig(cfg.Scrape); err != nil {
		a.logger.Error("Applying service discovery configuration", "err", err)
	}
}

// applySenders starts, restarts and stops senders. A restarted sender
// resumes from its cursor, so changing a destination's settings loses and
// repeats nothing.
func (a *Agent) applySenders(cfg *config.Config) {
	want := map[string]config.RemoteWrite{}
	for _, rw := range cfg.RemoteWrite {
		want[rw.ID] = rw
	}
	ext := cfg.Prometheus.GlobalConfig.ExternalLabels
	for id, rs := range a.senders {
		nw, ok := want[id]
		if ok && sameSender(rs.cfg, nw) && ext.String() == a.cfg.Prometheus.GlobalConfig.ExternalLabels.String() {
			continue
		}
		rs.s.Stop(a.opts.ShutdownTimeout)
		delete(a.senders, id)
		if !ok {
			rs.s.Forget()
			if err := a.log.RemoveCursor(id); err != nil {
				a.logger.Error("Could not release removed destination's position", "remote_name", id, "err", err)
			}
			a.logger.Info("Destination removed; its position in the log is released", "remote_name", id)
		}
	}
	for _, rw := range cfg.RemoteWrite {
		if _, ok := a.senders[rw.ID]; ok {
			continue
		}
		s, err := sender.New(sender.Options{
			Name: rw.ID, Config: rw.RemoteWriteConfig, Queue: &rw.Queue, Compression: remoteEncoding(rw.Compression),
			ExternalLabels: ext, Log: a.log, Metrics: a.sm, Logger: a.logger.With("component", "sender"),
			RetryOnHTTP429: rw.RetryOnHTTP429, TenantHeader: rw.TenantHeader, TenantLabel: rw.TenantLabel,
		})
		if err != nil {
			a.logger.Error("Cannot start destination", "remote_name", rw.ID, "err", err)
			continue
		}
		s.Start()
		a.senders[rw.ID] = &runningSender{cfg: rw, s: s}
	}
}

// releaseRemovedCursors deletes the log cursors of destinations no longer
// configured, so their data stops holding disk space.
func (a *Agent) releaseRemovedCursors(cfg *config.Config) {
	want := map[string]bool{}
	for _, rw := range cfg.RemoteWrite {
		want[rw.ID] = true
	}
	for _, name := range a.log.CursorNames() {
		if want[name] {
			continue
		}
		if _, running := a.senders[name]; running {
			continue // stopped by applySenders
		}
		if err := a.log.RemoveCursor(name); err == nil {
			a.logger.Info("Released the log position of a destination that is no longer configured", "remote_name", name)
		}
	}
}

func (a *Agent) applyReceiver(cfg *config.Config) {
	rc := cfg.Receiver
	if !rc.Enabled && !a.opts.EnableReceiver {
		a.recv = nil
		return
	}
	var accepted []remote.Message
	for _, m := range rc.AcceptedMessages {
		accepted = append(accepted, remote.Message(m))
	}
	mode := receiver.ModeRelay
	if rc.Mode == config.ReceiverInspect {
		mode = receiver.ModeInspect
	}
	if a.recv != nil && a.cfg != nil && a.cfg.Receiver.Mode == rc.Mode && fmt.Sprint(a.cfg.Receiver) == fmt.Sprint(rc) {
		return
	}
	r, err := receiver.New(receiver.Options{
		Mode: mode, Log: a.log, Accepted: accepted,
		MaxBodySize: int64(rc.MaxBodySize), MaxDecodedSize: int(rc.MaxDecodedSize), MaxConcurrent: rc.MaxConcurrentRequests,
		BearerToken: rc.BearerToken,
		Logger:      a.logger.With("component", "receiver"), Registerer: a.reg,
	})
	if err != nil {
		a.logger.Error("Cannot start the receiver", "err", err)
		return
	}
	a.recv = r
}

// seed is this instance's scrape-offset seed, so that two replicas of an HA
// pair spread their scrapes differently.
func (a *Agent) seed() uint64 {
	h := fnv.New64a()
	host, _ := os.Hostname()
	fmt.Fprint(h, host, a.opts.ListenAddress, a.cfg.Prometheus.GlobalConfig.ExternalLabels.String())
	return h.Sum64()
}
