package runner

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ferrymetrics/ferry/bench/loadgen"
	"github.com/ferrymetrics/ferry/bench/receiver"
)

// settle is how long the runner waits, after making the targets refuse
// scrapes, before reading how many samples they served: scrapes that had
// passed the check are still writing their bodies.
const settle = 2 * time.Second

// runScrape runs the steady, outage, restart and churn scenarios (and one
// step of scale): targets of st's load, scraped by the agent, which sends
// to the counting receiver.
func runScrape(ctx context.Context, o *Options, b Build, baseline rss, dir string, st Step) (Result, error) {
	scenario := o.Scenario
	res := newResult(o, b, st, scenario)
	s, err := newSession(o, dir)
	if err != nil {
		return res, err
	}
	defer s.close()
	s.cfg = o.baseConfig(s.recvURL, st.Interval)
	churn := 0.0
	if scenario == Churn {
		churn = o.ChurnFraction
	}
	if err := s.startTargets(loadgen.Config{Targets: st.Targets, Series: st.Series, Interval: st.Interval, Seed: o.Seed, ChurnFraction: churn}); err != nil {
		return res, err
	}
	o.Logger.Info("starting the agent", "scenario", scenario, "load", st.String())
	if err := s.startAgent(ctx); err != nil {
		return res, err
	}
	served := func() int64 { return s.gen.Stats().Samples }
	t0 := s.ready
	end := t0.Add(o.Duration)

	var from mark
	evs := []event{{t0.Add(o.Warmup), "window starts", func() error { from = s.mark(served()); return nil }}}
	var profErr error
	profDone := make(chan struct{})
	if o.Profile != "" {
		evs = append(evs, s.profileEvent(ctx, &res, o, scenario, t0.Add(o.Warmup), end, &profErr, profDone))
	} else {
		close(profDone)
	}
	var cu *outage
	if scenario == Outage || scenario == Restart {
		cu = newOutage(s, t0, o.Duration, end.Add(o.Drain), st.Rate(), served)
		evs = append(evs, cu.events(ctx, &res, scenario == Restart)...)
	}
	if err := s.runEvents(ctx, evs); err != nil {
		return res, err
	}
	if err := s.sleepUntil(ctx, end); err != nil {
		return res, err
	}
	to := s.mark(served())
	s.log.Info("window ends; stopping the load", "t", time.Since(t0).Round(time.Second))
	if m, err := agentMetrics(ctx, s.listen); err == nil {
		res.AgentMetrics = m
	}
	s.window(&res, from, to, baseline)

	stopAt := time.Now()
	s.gen.SetDown(true)
	time.Sleep(settle)
	expected := served()
	drain, err := s.waitDelivered(ctx, expected, o.Drain)
	if err != nil {
		return res, err
	}
	if cu != nil {
		<-cu.done
		res.Catchup = &cu.result
	}
	<-profDone
	usage, stopErr := s.stopAgent()
	s.finish(&res, expected, drain, usage)
	res.Delivery.AgentFailedScrapes = s.recv.FailedScrapesBefore(stopAt)
	return res, errors.Join(profErr, stopErr)
}

// profileEvent returns the event that takes a CPU profile over the middle
// of the window (half of it, at most 2 minutes: at 100 samples per second,
// shorter profiles of an agent using a tenth of a core are too few samples
// to rank its costs) and a heap profile after it.
func (s *session) profileEvent(ctx context.Context, res *Result, o *Options, prefix string, from, to time.Time, errp *error, done chan struct{}) event {
	d := min(2*time.Minute, to.Sub(from)/2).Truncate(time.Second)
	at := from.Add((to.Sub(from) - d) / 2)
	return event{at, "profiling", func() error {
		listen := s.listen
		go func() {
			defer close(done)
			res.Profiles, *errp = profile(ctx, listen, o.Profile, prefix, max(d, time.Second))
		}()
		return nil
	}}
}

// outage schedules a receiver outage over the middle third of a run and
// measures the catch-up after it.
type outage struct {
	s          *session
	start, end time.Time
	deadline   time.Time // give up measuring the catch-up
	served     func() int64
	result     Catchup
	done       chan struct{}
}

func newOutage(s *session, t0 time.Time, d time.Duration, deadline time.Time, rate float64, served func() int64) *outage {
	// The end falls on a whole second: the receiver counts arrivals per
	// second of timestamp, and the catch-up test counts those before it.
	end := t0.Add(2 * d / 3).Truncate(time.Second)
	c := &outage{s: s, start: t0.Add(d / 3), end: end, deadline: deadline, served: served, done: make(chan struct{})}
	c.result = Catchup{OutageStartS: c.start.Sub(t0).Seconds(), OutageEndS: end.Sub(t0).Seconds(), IngestRate: rate, Seconds: -1}
	return c
}

// events returns the outage's start, optional kill and restart, and end.
func (c *outage) events(ctx context.Context, res *Result, restart bool) []event {
	s := c.s
	evs := []event{
		{c.start, "receiver outage starts (503)", func() error {
			s.recv.SetFault(receiver.Fault{Status: http.StatusServiceUnavailable})
			return nil
		}},
		{c.end, "receiver outage ends", func() error {
			s.recv.SetFault(receiver.Fault{})
			go c.watch(ctx)
			return nil
		}},
	}
	if restart {
		evs = append(evs, event{c.start.Add(c.end.Sub(c.start) / 2), "killing the agent (SIGKILL) and restarting it", func() error {
			killed := time.Since(s.ready).Seconds()
			d, err := s.restartAgent(ctx)
			res.Restart = &RestartInfo{KilledAtS: killed, ReadyS: d.Seconds()}
			return err
		}})
	}
	return evs
}

// watch waits until every sample served before the end of the outage has
// arrived, and records how long that took and at what rate.
func (c *outage) watch(ctx context.Context) {
	defer close(c.done)
	r := c.s.recv
	servedEnd := c.served()
	deliveredEnd := r.Counters().PayloadSamples
	acceptedEnd := r.Accepted()
	c.result.Backlog = servedEnd - deliveredEnd
	var firstAccept time.Time
	var deliveredFirst int64
	for time.Now().Before(c.deadline) {
		if firstAccept.IsZero() && r.Accepted() > acceptedEnd {
			firstAccept, deliveredFirst = time.Now(), r.Counters().PayloadSamples
			c.result.FirstAcceptS = firstAccept.Sub(c.end).Seconds()
		}
		// Samples served before the end carry timestamps before it: the
		// agent stamps a scrape when it starts.
		if !firstAccept.IsZero() && r.DeliveredBefore(c.end) >= servedEnd {
			now := time.Now()
			delivered := r.Counters().PayloadSamples
			dt := now.Sub(c.end).Seconds()
			c.result.Seconds = dt
			c.result.Rate = float64(delivered-deliveredEnd) / dt
			c.result.Ratio = c.result.Rate / c.result.IngestRate
			if ds := now.Sub(firstAccept).Seconds(); ds > 0 {
				c.result.SendingRate = float64(delivered-deliveredFirst) / ds
				c.result.SendingRatio = c.result.SendingRate / c.result.IngestRate
			}
			return
		}
		// Poll often until the first acceptance, to time it closely.
		wait := 200 * time.Millisecond
		if firstAccept.IsZero() {
			wait = 20 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
