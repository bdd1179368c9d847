// Package discovery turns the scrape jobs' service discovery configuration
// into target groups, through Prometheus' own discovery manager and SD
// implementations, so a job discovers exactly the targets it would in
// Prometheus. Which SD mechanisms are available is decided by the imports in
// package config, which registers them for parsing.
package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	promdiscovery "github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// Manager runs service discovery for the scrape jobs.
type Manager struct {
	m      *promdiscovery.Manager
	cancel context.CancelFunc
	done   chan struct{}
}

// Options configure a Manager.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// UpdateInterval throttles how often changed targets are passed on;
	// Prometheus' default of 5s when zero.
	UpdateInterval time.Duration
}

// New starts a discovery manager with no jobs.
func New(opts Options) (*Manager, error) {
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sdMetrics, err := promdiscovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("service discovery metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	options := []func(*promdiscovery.Manager){promdiscovery.Name("scrape")}
	if opts.UpdateInterval > 0 {
		options = append(options, promdiscovery.Updatert(opts.UpdateInterval))
	}
	m := promdiscovery.NewManager(ctx, opts.Logger.With("component", "discovery"), reg, sdMetrics, options...)
	if m == nil {
		cancel()
		return nil, fmt.Errorf("service discovery manager could not be created")
	}
	d := &Manager{m: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		m.Run()
	}()
	return d, nil
}

// ApplyConfig sets the jobs whose targets are discovered.
func (d *Manager) ApplyConfig(cfgs []*promconfig.ScrapeConfig) error {
	byJob := make(map[string]promdiscovery.Configs, len(cfgs))
	for _, c := range cfgs {
		byJob[c.JobName] = c.ServiceDiscoveryConfigs
	}
	return d.m.ApplyConfig(byJob)
}

// Updates delivers the current target groups of every job whenever they
// change.
func (d *Manager) Updates() <-chan map[string][]*targetgroup.Group { return d.m.SyncCh() }

// Stop ends discovery.
func (d *Manager) Stop() {
	d.cancel()
	<-d.done
}
