package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ferrymetrics/ferry/bench/loadgen"
)

// Run runs the scenario o describes and returns its result. The result is
// filled as far as the run got even when an error is returned.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	dir := o.WorkDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ferrybench-")
		if err != nil {
			return Result{}, err
		}
		dir = tmp
		if !o.Keep {
			defer os.RemoveAll(tmp)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	o.Logger.Info("preparing the agent", "dir", dir)
	build, err := prepareAgent(ctx, &o.Agent, dir)
	if err != nil {
		return Result{}, err
	}
	var baseline rss
	if o.Baseline > 0 {
		o.Logger.Info("measuring baseline RSS with no load", "for", o.Baseline)
		if baseline, err = measureBaseline(ctx, &o, filepath.Join(dir, "baseline")); err != nil {
			return Result{}, fmt.Errorf("baseline: %w", err)
		}
	}
	switch o.Scenario {
	case Scale:
		return runScale(ctx, &o, build, baseline, dir)
	case Relay:
		return runRelay(ctx, &o, build, baseline, filepath.Join(dir, Relay))
	}
	return runScrape(ctx, &o, build, baseline, filepath.Join(dir, o.Scenario), Step{o.Targets, o.Series, o.Interval})
}

// baseConfig returns the agent configuration shared by every session.
func (o *Options) baseConfig(writeURL string, interval time.Duration) agentConfig {
	return agentConfig{
		Interval: interval, Gzip: o.Gzip, WriteURL: writeURL, Message: message(o.Protocol),
		Compression: o.Compression, Plain: o.Agent.PlainConfig, SendDeadline: o.SendDeadline,
		MaxSamplesPerSend: o.MaxSamplesPerSend,
	}
}

// measureBaseline runs the agent with no targets (or, for relay, nothing
// pushed) and returns its average RSS over the second half of o.Baseline.
func measureBaseline(ctx context.Context, o *Options, dir string) (rss, error) {
	s, err := newSession(o, dir)
	if err != nil {
		return rss{}, err
	}
	defer s.close()
	s.cfg = o.baseConfig(s.recvURL, o.Interval)
	if o.Scenario == Relay {
		s.cfg.Relay = true
	} else {
		s.cfg.TargetsFile = filepath.Join(dir, "targets.json")
		if err := loadgen.WriteFileSD(s.cfg.TargetsFile, nil); err != nil {
			return rss{}, err
		}
	}
	if err := s.startAgent(ctx); err != nil {
		return rss{}, err
	}
	if err := s.sleepUntil(ctx, s.ready.Add(o.Baseline)); err != nil {
		return rss{}, err
	}
	avg, _ := s.rssWindow(s.ready.Add(o.Baseline/2), time.Now())
	if _, err := s.stopAgent(); err != nil {
		return rss{}, err
	}
	return avg, nil
}

// event is something a scenario does at a given time.
type event struct {
	at   time.Time
	name string
	do   func() error
}

// runEvents runs evs in time order, each at its time.
func (s *session) runEvents(ctx context.Context, evs []event) error {
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	for _, e := range evs {
		if err := s.sleepUntil(ctx, e.at); err != nil {
			return err
		}
		s.log.Info(e.name, "t", time.Since(s.ready).Round(time.Second))
		if err := e.do(); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	return nil
}

// newResult returns a result with the run's description filled in.
func newResult(o *Options, b Build, st Step, scenario string) Result {
	r := Result{
		Scenario: scenario, Started: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Agent: b,
		Load: Load{
			Targets: st.Targets, Series: st.Series, Interval: promDuration(st.Interval), Gzip: o.Gzip,
			Protocol: o.Protocol, Compression: o.Compression, Churn: o.ChurnFraction, Seed: o.Seed,
			IngestRate: st.Rate(), ActiveSeries: int64(st.Targets) * int64(st.Series+5),
		},
		DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(),
	}
	if o.SendDeadline > 0 {
		r.Load.SendDeadline = promDuration(o.SendDeadline)
	}
	if o.MaxSamplesPerSend > 0 {
		r.Load.MaxSamplesPerSend = o.MaxSamplesPerSend
	}
	return r
}

// window fills the figures measured between two marks.
func (s *session) window(res *Result, from, to mark, baseline rss) {
	w := to.at.Sub(from.at).Seconds()
	n := to.samples - from.samples
	c := &res.Cost
	res.WindowS = w
	res.HarnessCPUS = to.harness - from.harness
	c.WindowSamples = n
	c.CPUS = to.cpu - from.cpu
	c.CPUCores = c.CPUS / w
	c.DiskWriteBytes = to.write - from.write
	if n > 0 {
		c.CPUUsPerSample = c.CPUS * 1e6 / float64(n)
		c.DiskBytesPerSample = float64(c.DiskWriteBytes) / float64(n)
	}
	avg, hi := s.rssWindow(from.at, to.at)
	c.RSSWindowAvg, c.RSSWindowMax, c.RSSAnonWindowAvg = avg.all, hi.all, avg.anon
	c.RSSBaseline, c.RSSAnonBaseline = baseline.all, baseline.anon
	if baseline.all > 0 && res.Load.ActiveSeries > 0 {
		c.RSSPerSeriesAvg = float64(avg.all-baseline.all) / float64(res.Load.ActiveSeries)
	}
	if baseline.anon > 0 && res.Load.ActiveSeries > 0 {
		c.RSSAnonPerSeriesAvg = float64(avg.anon-baseline.anon) / float64(res.Load.ActiveSeries)
	}
	c.StorageBytes = dirSize(s.dataDir)
}

// finish fills what is known once the agent has stopped.
func (s *session) finish(res *Result, expected int64, drain time.Duration, usage procSample) {
	r := s.recv.Stats()
	res.Receiver = r
	if s.gen != nil {
		res.Targets = s.gen.Stats()
	}
	d := &res.Delivery
	d.Expected, d.Delivered = expected, r.PayloadSamples
	if expected > 0 {
		d.Ratio = float64(d.Delivered) / float64(expected)
	}
	d.Missing, d.Extra = max(0, expected-d.Delivered), max(0, d.Delivered-expected)
	d.Duplicates, d.OutOfOrder, d.LagMs = r.Duplicates, r.OutOfOrder, r.Lag
	d.DrainS = drain.Seconds()
	if drain < 0 {
		d.DrainS = -1
	}
	res.Wire = Wire{Requests: r.Requests, Bytes: r.WireBytes}
	if in := r.SamplesIn + r.HistogramsIn; in > 0 {
		res.Wire.BytesPerSample = float64(r.WireBytes) / float64(in)
	}
	c := &res.Cost
	c.RSSPeak, c.CPUSTotal, c.WriteBytesTotal = usage.HWM, usage.CPUSeconds, usage.WriteBytes
	if c.RSSBaseline > 0 && res.Load.ActiveSeries > 0 {
		c.RSSPerSeriesPeak = float64(c.RSSPeak-c.RSSBaseline) / float64(res.Load.ActiveSeries)
	}
	c.RSSOverTime, c.RSSAnonOverTime = s.rssSeries()
	c.AgentLogBytes = fileSize(s.logFile)
	res.Machine.LoadEnd = loadAvg()
	s.mu.Lock()
	res.Machine.LoadMax1 = s.loadMax
	s.mu.Unlock()
	if res.Machine.LoadStart[0] > float64(res.Machine.CPUs) {
		res.Notes = append(res.Notes, fmt.Sprintf("the machine was busy: 1-minute load %.1f on %d CPUs at the start", res.Machine.LoadStart[0], res.Machine.CPUs))
	}
	if res.Agent.Dirty {
		res.Notes = append(res.Notes, "the agent was built from a tree with uncommitted changes")
	}
}
