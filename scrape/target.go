package scrape

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// Health is a target's state after its last scrape.
type Health string

const (
	HealthUnknown Health = "unknown"
	HealthUp      Health = "up"
	HealthDown    Health = "down"
)

// Target is one endpoint to scrape, with its labels after target relabeling.
type Target struct {
	// labels are the target's labels after relabeling, including the
	// internal ones (__address__, __scheme__, ...) that shape the scrape;
	// only the public ones are attached to samples.
	labels     labels.Labels
	discovered labels.Labels
	url        string
	interval   time.Duration
	timeout    time.Duration
	hash       uint64

	mu           sync.RWMutex
	health       Health
	lastScrape   time.Time
	lastDuration time.Duration
	lastErr      error
	lastSamples  int
}

// Labels returns the labels attached to every sample of the target: its
// relabeled labels without the internal ones starting with "__".
func (t *Target) Labels() labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	t.labels.Range(func(l labels.Label) {
		if !strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			b.Set(l.Name, l.Value)
		}
	})
	return b.Labels()
}

// DiscoveredLabels returns the labels service discovery produced, before
// relabeling.
func (t *Target) DiscoveredLabels() labels.Labels { return t.discovered }

// URL returns the address the target is scraped at.
func (t *Target) URL() string { return t.url }

// Interval and Timeout return the target's scrape interval and timeout.
func (t *Target) Interval() time.Duration { return t.interval }
func (t *Target) Timeout() time.Duration  { return t.timeout }

// Status is a snapshot of a target's last scrape.
type Status struct {
	Health       Health
	LastScrape   time.Time
	LastDuration time.Duration
	LastError    string
	LastSamples  int
}

// Status returns the target's current status.
func (t *Target) Status() Status {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Status{Health: t.health, LastScrape: t.lastScrape, LastDuration: t.lastDuration, LastSamples: t.lastSamples}
	if s.Health == "" {
		s.Health = HealthUnknown
	}
	if t.lastErr != nil {
		s.LastError = t.lastErr.Error()
	}
	return s
}

func (t *Target) report(start time.Time, dur time.Duration, samples int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.health = HealthUp
	if err != nil {
		t.health = HealthDown
	}
	t.lastScrape, t.lastDuration, t.lastErr, t.lastSamples = start, dur, err, samples
}

// offset returns how far into each interval the target is scraped: a hash of
// the target mixed with a seed unique to this ferry instance, so targets are
// spread over the interval and two replicas scraping the same target do not
// hit it at the same instant.
func (t *Target) offset(interval time.Duration, seed uint64, now time.Time) time.Duration {
	base := int64(interval) - now.UnixNano()%int64(interval)
	next := base + int64((t.hash^seed)%uint64(interval))
	if next > int64(interval) {
		next -= int64(interval)
	}
	return time.Duration(next)
}

// DroppedTarget is a discovered target that relabeling dropped.
type DroppedTarget struct {
	Discovered labels.Labels
}

// populateLabels builds a target's labels from its discovered labels, the
// group's labels and the scrape config, then relabels and validates them,
// the way Prometheus does. It returns empty labels and no error when
// relabeling dropped the target.
func populateLabels(lb *labels.Builder, cfg *promconfig.ScrapeConfig, tLabels, gLabels model.LabelSet) (res, discovered labels.Labels, err error) {
	lb.Reset(labels.EmptyLabels())
	for n, v := range tLabels {
		lb.Set(string(n), string(v))
	}
	for n, v := range gLabels {
		if _, ok := tLabels[n]; !ok {
			lb.Set(string(n), string(v))
		}
	}
	defaults := []labels.Label{
		{Name: model.JobLabel, Value: cfg.JobName},
		{Name: model.ScrapeIntervalLabel, Value: cfg.ScrapeInterval.String()},
		{Name: model.ScrapeTimeoutLabel, Value: cfg.ScrapeTimeout.String()},
		{Name: model.MetricsPathLabel, Value: cfg.MetricsPath},
		{Name: model.SchemeLabel, Value: cfg.Scheme},
	}
	for _, l := range defaults {
		if lb.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	}
	for k, v := range cfg.Params {
		if name := model.ParamLabelPrefix + k; len(v) > 0 && lb.Get(name) == "" {
			lb.Set(name, v[0])
		}
	}
	discovered = lb.Labels()

	if !relabel.ProcessBuilder(lb, cfg.RelabelConfigs...) {
		return labels.EmptyLabels(), discovered, nil
	}
	addr := lb.Get(model.AddressLabel)
	if addr == "" {
		return labels.EmptyLabels(), discovered, errors.New("no address")
	}
	if err := promconfig.CheckTargetAddress(model.LabelValue(addr)); err != nil {
		return labels.EmptyLabels(), discovered, err
	}
	interval, err := model.ParseDuration(lb.Get(model.ScrapeIntervalLabel))
	if err != nil {
		return labels.EmptyLabels(), discovered, fmt.Errorf("error parsing scrape interval: %w", err)
	}
	if interval == 0 {
		return labels.EmptyLabels(), discovered, errors.New("scrape interval cannot be 0")
	}
	timeout, err := model.ParseDuration(lb.Get(model.ScrapeTimeoutLabel))
	if err != nil {
		return labels.EmptyLabels(), discovered, fmt.Errorf("error parsing scrape timeout: %w", err)
	}
	if timeout == 0 {
		return labels.EmptyLabels(), discovered, errors.New("scrape timeout cannot be 0")
	}
	if timeout > interval {
		return labels.EmptyLabels(), discovered, fmt.Errorf("scrape timeout cannot be greater than scrape interval (%q > %q)", timeout, interval)
	}
	// Meta labels go after relabeling; other internal labels stay on the
	// target, which decides what to do with them.
	lb.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, model.MetaLabelPrefix) {
			lb.Del(l.Name)
		}
	})
	if lb.Get(model.InstanceLabel) == "" {
		lb.Set(model.InstanceLabel, addr)
	}
	res = lb.Labels()
	err = res.Validate(func(l labels.Label) error {
		if !model.LabelValue(l.Value).IsValid() {
			return fmt.Errorf("invalid label value for %q: %q", l.Name, l.Value)
		}
		return nil
	})
	if err != nil {
		return labels.EmptyLabels(), discovered, err
	}
	return res, discovered, nil
}

// newTarget builds a Target from relabeled labels.
func newTarget(lset, discovered labels.Labels, cfg *promconfig.ScrapeConfig) *Target {
	params := url.Values{}
	for k, v := range cfg.Params {
		params[k] = append([]string(nil), v...)
	}
	lset.Range(func(l labels.Label) {
		if !strings.HasPrefix(l.Name, model.ParamLabelPrefix) {
			return
		}
		k := l.Name[len(model.ParamLabelPrefix):]
		if len(params[k]) > 0 {
			params[k][0] = l.Value
		} else {
			params[k] = []string{l.Value}
		}
	})
	u := url.URL{
		Scheme:   lset.Get(model.SchemeLabel),
		Host:     lset.Get(model.AddressLabel),
		Path:     lset.Get(model.MetricsPathLabel),
		RawQuery: params.Encode(),
	}
	interval, _ := model.ParseDuration(lset.Get(model.ScrapeIntervalLabel))
	timeout, _ := model.ParseDuration(lset.Get(model.ScrapeTimeoutLabel))
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(lset.Hash(), 16)))
	h.Write([]byte(u.String()))
	return &Target{
		labels: lset, discovered: discovered, url: u.String(),
		interval: time.Duration(interval), timeout: time.Duration(timeout),
		hash: h.Sum64(), health: HealthUnknown,
	}
}

// targetsFromGroup turns a discovered group into targets. Dropped targets
// are returned with their discovered labels; invalid ones as errors.
func targetsFromGroup(tg *targetgroup.Group, cfg *promconfig.ScrapeConfig, lb *labels.Builder) (targets []*Target, dropped []labels.Labels, errs []error) {
	for i, tl := range tg.Targets {
		lset, disc, err := populateLabels(lb, cfg, tl, tg.Labels)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("instance %d in group %s: %w", i, tg, err))
		case lset.IsEmpty():
			dropped = append(dropped, disc)
		default:
			targets = append(targets, newTarget(lset, disc, cfg))
		}
	}
	return targets, dropped, errs
}
