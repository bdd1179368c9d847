package scrape

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"

	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
)

// pool runs the loops of one scrape job.
type pool struct {
	cfg    *promconfig.ScrapeConfig
	client *http.Client
	mgr    *Manager
	accept string

	mu       sync.Mutex
	loops    map[uint64]*loop
	dropped  []labels.Labels
	errs     []error
	overLim  error // non-nil while target_limit is exceeded
	cancelFn context.CancelFunc
	ctx      context.Context
}

func newPool(cfg *promconfig.ScrapeConfig, mgr *Manager) (*pool, error) {
	client, err := config_util.NewClientFromConfig(cfg.HTTPClientConfig, cfg.JobName)
	if err != nil {
		return nil, fmt.Errorf("HTTP client for job %q: %w", cfg.JobName, err)
	}
	client = plainHTTPClient(cfg.HTTPClientConfig, client)
	protocols := cfg.ScrapeProtocols
	if len(protocols) == 0 {
		protocols = promconfig.DefaultScrapeProtocols
	}
	escaping, err := model.ToEscapingScheme(cfg.MetricNameEscapingScheme)
	if err != nil {
		escaping = model.UnderscoreEscaping
	}
	ctx, cancel := context.WithCancel(mgr.ctx)
	mgr.m.pools.Inc()
	return &pool{
		cfg: cfg, client: client, mgr: mgr, accept: acceptHeader(protocols, escaping),
		loops: map[uint64]*loop{}, ctx: ctx, cancelFn: cancel,
	}, nil
}

// sync makes the pool scrape exactly the targets of the given groups:
// loops start for new targets, and stop (marking their series stale) for
// targets that are gone.
func (p *pool) sync(groups []*targetgroup.Group) {
	lb := labels.NewBuilder(labels.EmptyLabels())
	var all []*Target
	var dropped []labels.Labels
	var errs []error
	for _, g := range groups {
		if g == nil {
			continue
		}
		ts, d, e := targetsFromGroup(g, p.cfg, lb)
		for _, t := range ts {
			if p.mgr.opts.owns(t) {
				all = append(all, t)
			} else {
				p.mgr.m.otherShard.Inc()
			}
		}
		dropped, errs = append(dropped, d...), append(errs, e...)
	}
	for _, err := range errs {
		p.mgr.logger.Error("Invalid target", "job", p.cfg.JobName, "err", err)
	}
	if keep := int(p.cfg.KeepDroppedTargets); keep > 0 && len(dropped) > keep {
		dropped = dropped[:keep]
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropped, p.errs = dropped, errs
	if lim := int(p.cfg.TargetLimit); lim > 0 && len(all) > lim {
		p.mgr.m.exceededTargetLimit.Inc()
		p.overLim = fmt.Errorf("target_limit exceeded: %d targets, limit %d", len(all), lim)
	} else {
		p.overLim = nil
	}
	seen := make(map[uint64]bool, len(all))
	for _, t := range all {
		if seen[t.hash] {
			continue // the same target discovered twice
		}
		seen[t.hash] = true
		if l, ok := p.loops[t.hash]; ok {
			l.target.discovered = t.discovered
			continue
		}
		p.startLoop(t)
	}
	for h, l := range p.loops {
		if !seen[h] {
			delete(p.loops, h)
			p.mgr.stopLoop(l, true)
		}
	}
	p.mgr.m.poolTargets.WithLabelValues(p.cfg.JobName).Set(float64(len(p.loops)))
}

// startLoop starts scraping a target. Callers hold p.mu.
func (p *pool) startLoop(t *Target) {
	var bodyLimit int64
	if p.cfg.BodySizeLimit > 0 {
		bodyLimit = int64(p.cfg.BodySizeLimit)
	}
	f := fetcher{
		client: p.client, url: t.url, accept: p.accept, gzip: p.cfg.EnableCompression,
		timeout: t.timeout, bodyLimit: bodyLimit,
	}
	l := newLoop(t, p.cfg, f, p.mgr.opts.Appender, p.mgr.newStreamID(p.cfg.JobName, t), p.mgr.opts.Seed, p.mgr.logger, p.mgr.m, p.limitErr)
	ctx, cancel := context.WithCancel(p.ctx)
	l.cancel = cancel
	p.loops[t.hash] = l
	go l.run(ctx)
}

func (p *pool) limitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.overLim
}

// stop ends every loop of the pool.
func (p *pool) stop(staleness bool) {
	p.mu.Lock()
	loops := p.loops
	p.loops = map[uint64]*loop{}
	p.mu.Unlock()
	for _, l := range loops {
		p.mgr.stopLoop(l, staleness)
	}
	p.cancelFn()
	p.client.CloseIdleConnections()
	p.mgr.m.poolTargets.DeleteLabelValues(p.cfg.JobName)
}

// PoolStatus describes one scrape job for display.
type PoolStatus struct {
	Job     string
	Targets []*Target
	Dropped []labels.Labels
	Errors  []string
}

func (p *pool) status() PoolStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PoolStatus{Job: p.cfg.JobName, Dropped: p.dropped}
	for _, l := range p.loops {
		s.Targets = append(s.Targets, l.target)
	}
	sort.Slice(s.Targets, func(i, j int) bool { return s.Targets[i].url < s.Targets[j].url })
	for _, e := range p.errs {
		s.Errors = append(s.Errors, e.Error())
	}
	if p.overLim != nil {
		s.Errors = append(s.Errors, p.overLim.Error())
	}
	return s
}
