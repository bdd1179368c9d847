package scrape

import (
	"context"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"

	"github.com/ferrymetrics/ferry/record"
)

// Options configure a Manager.
type Options struct {
	// Appender receives every scrape; normally the log.
	Appender Appender
	// Seed spreads scrape times over the interval; give each replica of
	// an HA pair a different seed so they do not scrape a target at the
	// same instant.
	Seed uint64
	// Shards and ShardIndex split the targets of every job across
	// replicas: this instance scrapes a target only when a stable hash of
	// its labels and URL modulo Shards equals ShardIndex. Shards <= 1
	// scrapes everything.
	Shards     int
	ShardIndex int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// owns reports whether this instance scrapes the target under sharding.
func (o Options) owns(t *Target) bool {
	return o.Shards <= 1 || t.hash%uint64(o.Shards) == uint64(o.ShardIndex)
}

// Manager runs one scrape pool per job and keeps them in line with the
// configuration and with service discovery.
type Manager struct {
	opts   Options
	logger *slog.Logger
	m      *metrics
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	cfgs      map[string]*promconfig.ScrapeConfig
	pools     map[string]*pool
	groups    map[string][]*targetgroup.Group
	streamIDs atomic.Uint64  // loops started, the high part of their stream ids
	stopping  sync.WaitGroup // loops writing end-of-target staleness markers
}

// newStreamID returns the log stream of a new loop for target t of job:
// unique within the process, with its low record.StreamSlotBits bits a hash
// of the job and the target's labels, the same after a reload or a restart
// (see record.StreamSlotBits).
func (m *Manager) newStreamID(job string, t *Target) uint64 {
	const mask = 1<<record.StreamSlotBits - 1
	slot := xxhash.Sum64String(job+"\xff"+t.Labels().String()) & mask
	return m.streamIDs.Add(1)<<record.StreamSlotBits | slot
}

// NewManager returns a Manager; it scrapes nothing until ApplyConfig and
// target groups arrive.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		opts: opts, logger: opts.Logger, m: newMetrics(opts.Registerer),
		ctx: ctx, cancel: cancel,
		cfgs: map[string]*promconfig.ScrapeConfig{}, pools: map[string]*pool{},
		groups: map[string][]*targetgroup.Group{},
	}
}

// ApplyConfig sets the scrape jobs. Jobs whose configuration did not change
// keep running untouched; changed jobs restart their loops; removed jobs
// stop, marking their series stale.
func (m *Manager) ApplyConfig(cfgs []*promconfig.ScrapeConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]*promconfig.ScrapeConfig, len(cfgs))
	for _, c := range cfgs {
		next[c.JobName] = c
	}
	for job, p := range m.pools {
		if c, ok := next[job]; !ok {
			p.stop(true)
			delete(m.pools, job)
		} else if !reflect.DeepEqual(c, m.cfgs[job]) {
			p.stop(false)
			delete(m.pools, job)
		}
	}
	m.cfgs = next
	var firstErr error
	for job, c := range next {
		if _, ok := m.pools[job]; ok {
			continue
		}
		p, err := newPool(c, m)
		if err != nil {
			m.logger.Error("Cannot start scrape job", "job", job, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		m.pools[job] = p
		if gs, ok := m.groups[job]; ok {
			p.sync(gs)
		}
	}
	return firstErr
}

// Run applies target group updates from service discovery until ctx ends.
func (m *Manager) Run(ctx context.Context, updates <-chan map[string][]*targetgroup.Group) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			m.applyGroups(u)
		}
	}
}

func (m *Manager) applyGroups(u map[string][]*targetgroup.Group) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for job, gs := range u {
		m.groups[job] = gs
		if p, ok := m.pools[job]; ok {
			p.sync(gs)
		}
	}
}

// stopLoop stops a loop; with staleness its series are marked stale in the
// background once the target would have been scraped twice more.
func (m *Manager) stopLoop(l *loop, staleness bool) {
	if !staleness {
		l.stop(m.ctx, false)
		return
	}
	l.cancel()
	m.stopping.Add(1)
	go func() {
		defer m.stopping.Done()
		l.stop(m.ctx, true)
	}()
}

// Stop stops every loop without writing staleness markers: on shutdown the
// targets did not go away, ferry did.
func (m *Manager) Stop() {
	m.cancel()
	m.mu.Lock()
	pools := m.pools
	m.pools = map[string]*pool{}
	m.mu.Unlock()
	for _, p := range pools {
		p.stop(false)
	}
	m.stopping.Wait()
}

// Pools returns the status of every scrape job, sorted by job name.
func (m *Manager) Pools() []PoolStatus {
	m.mu.Lock()
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	m.mu.Unlock()
	out := make([]PoolStatus, 0, len(pools))
	for _, p := range pools {
		out = append(out, p.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Job < out[j].Job })
	return out
}
