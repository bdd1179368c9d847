package loadgen

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes the targets a Generator serves.
type Config struct {
	// Targets is how many targets are active at once.
	Targets int
	// Series is how many series each target exposes.
	Series int
	// Interval is the tick: each target's values move once per Interval.
	// It should equal the agent's scrape interval.
	Interval time.Duration
	// Seed makes the values reproducible.
	Seed uint64
	// ChurnFraction of the targets is replaced every ChurnEvery (default
	// one minute); 0 disables churn. At least one target is replaced per
	// round when ChurnFraction > 0.
	ChurnFraction float64
	ChurnEvery    time.Duration
	// Start is tick 0; the zero value means when Start is called.
	Start time.Time
	// GzipLevel compresses gzip responses; the zero value means
	// gzip.DefaultCompression, what Prometheus' client libraries use.
	GzipLevel int
}

// Stats counts what the generator served.
type Stats struct {
	// Scrapes answered with 200 whose body was written in full.
	Scrapes int64 `json:"scrapes"`
	// Samples is the series count of those scrapes: the samples an agent
	// received, before it adds its own report series.
	Samples int64 `json:"samples"`
	// Bytes of response bodies written, compressed when gzip was used.
	Bytes       int64 `json:"bytes"`
	GzipScrapes int64 `json:"gzip_scrapes"`
	// Refused scrapes, answered 503 while the generator was down.
	Refused int64 `json:"refused"`
	// Replaced targets, by churn.
	Replaced int64 `json:"replaced"`
}

// Generator serves Config.Targets targets on loopback.
type Generator struct {
	cfg    Config
	layout *Layout

	mu      sync.Mutex
	active  []*target
	retired []*target // replaced by churn, still answering until Close
	nextID  uint64
	changed chan struct{}

	down                                 atomic.Bool
	scrapes, samples, bytes, gzipScrapes atomic.Int64
	refused, replaced                    atomic.Int64
	cancel                               context.CancelFunc
	wg                                   sync.WaitGroup
}

// Start opens the targets' listeners and starts serving.
func Start(cfg Config) (*Generator, error) {
	if cfg.Targets < 0 || cfg.Series <= 0 || cfg.Interval <= 0 {
		return nil, fmt.Errorf("loadgen: need targets >= 0, series > 0 and interval > 0, got %d, %d, %v", cfg.Targets, cfg.Series, cfg.Interval)
	}
	if cfg.ChurnFraction < 0 || cfg.ChurnFraction > 1 {
		return nil, fmt.Errorf("loadgen: churn fraction %v is not within [0, 1]", cfg.ChurnFraction)
	}
	if cfg.ChurnEvery <= 0 {
		cfg.ChurnEvery = time.Minute
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	if cfg.GzipLevel == 0 {
		cfg.GzipLevel = gzip.DefaultCompression
	}
	g := &Generator{cfg: cfg, layout: NewLayout(cfg.Series), changed: make(chan struct{}, 1)}
	for range cfg.Targets {
		t, err := g.startTarget(g.nextID)
		if err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("loadgen: start target %d: %w", g.nextID, err)
		}
		g.nextID++
		g.active = append(g.active, t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	if cfg.ChurnFraction > 0 && cfg.Targets > 0 {
		g.wg.Add(1)
		go g.churnLoop(ctx)
	}
	return g, nil
}

// Layout returns the shape of every target's exposition.
func (g *Generator) Layout() *Layout { return g.layout }

// Targets returns the host:port of every active target.
func (g *Generator) Targets() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.active))
	for i, t := range g.active {
		out[i] = t.addr
	}
	return out
}

// Changed receives a value after churn has replaced targets.
func (g *Generator) Changed() <-chan struct{} { return g.changed }

// SetDown makes every target answer 503 (true) or serve again (false).
func (g *Generator) SetDown(down bool) { g.down.Store(down) }

// Stats returns the counts so far.
func (g *Generator) Stats() Stats {
	return Stats{
		Scrapes: g.scrapes.Load(), Samples: g.samples.Load(), Bytes: g.bytes.Load(),
		GzipScrapes: g.gzipScrapes.Load(), Refused: g.refused.Load(), Replaced: g.replaced.Load(),
	}
}

// Close stops churn and closes every listener, active and retired.
func (g *Generator) Close() error {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, t := range append(g.active, g.retired...) {
		errs = append(errs, t.srv.Close())
	}
	return errors.Join(errs...)
}

// tickAt returns the tick that time t falls in.
func (g *Generator) tickAt(t time.Time) int64 {
	d := t.Sub(g.cfg.Start)
	if d < 0 {
		return 0
	}
	return int64(d / g.cfg.Interval)
}

// clockAt returns the wall time of the start of tick, in seconds.
func (g *Generator) clockAt(tick int64) float64 {
	return float64(g.cfg.Start.Add(time.Duration(tick)*g.cfg.Interval).UnixMilli()) / 1000
}

// churnLoop replaces ChurnFraction of the active targets every ChurnEvery.
// Which targets go is drawn from the seed, so runs are reproducible.
func (g *Generator) churnLoop(ctx context.Context) {
	defer g.wg.Done()
	rng := rand.New(rand.NewPCG(g.cfg.Seed, math.MaxUint64))
	n := max(1, int(math.Round(g.cfg.ChurnFraction*float64(g.cfg.Targets))))
	tick := time.NewTicker(g.cfg.ChurnEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		g.mu.Lock()
		for range n {
			i := rng.IntN(len(g.active))
			t, err := g.startTarget(g.nextID)
			if err != nil {
				continue // out of ports or files: keep the old target
			}
			g.nextID++
			g.retired = append(g.retired, g.active[i])
			g.active[i] = t
			g.replaced.Add(1)
		}
		g.mu.Unlock()
		select {
		case g.changed <- struct{}{}:
		default:
		}
	}
}
