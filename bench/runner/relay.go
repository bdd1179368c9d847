package runner

import (
	"context"
	"fmt"

	"github.com/ferrymetrics/ferry/bench/loadgen"
)

// runRelay measures the agent as a relay: senders push remote write to its
// receiver, and it forwards everything to the counting receiver. Expected
// samples are those the agent acknowledged.
func runRelay(ctx context.Context, o *Options, b Build, baseline rss, dir string) (Result, error) {
	st := Step{o.Targets, o.Series, o.Interval}
	res := newResult(o, b, st, Relay)
	res.Load.Gzip = false
	res.Load.ActiveSeries = int64(st.Targets) * int64(st.Series) // no report series when relaying
	s, err := newSession(o, dir)
	if err != nil {
		return res, err
	}
	defer s.close()
	s.cfg = o.baseConfig(s.recvURL, st.Interval)
	s.cfg.Relay = true
	o.Logger.Info("starting the agent", "scenario", Relay, "load", st.String())
	if err := s.startAgent(ctx); err != nil {
		return res, err
	}
	layout := loadgen.NewLayout(st.Series)
	p := newPushers("http://"+s.listen+"/api/v1/write", st.Targets, layout, o.Seed, st.Interval, o.PushProtocol, o.PushCompression)
	end := s.ready.Add(o.Duration)
	p.start(end)
	defer p.stop()
	acked := func() int64 { return p.acked.Load() }

	var from mark
	evs := []event{{s.ready.Add(o.Warmup), "window starts", func() error { from = s.mark(acked()); return nil }}}
	var profErr error
	profDone := make(chan struct{})
	if o.Profile != "" {
		evs = append(evs, s.profileEvent(ctx, &res, o, Relay, s.ready.Add(o.Warmup), end, &profErr, profDone))
	} else {
		close(profDone)
	}
	if err := s.runEvents(ctx, evs); err != nil {
		return res, err
	}
	if err := s.sleepUntil(ctx, end); err != nil {
		return res, err
	}
	to := s.mark(acked())
	if m, err := agentMetrics(ctx, s.listen); err == nil {
		res.AgentMetrics = m
	}
	s.window(&res, from, to, baseline)
	p.stop()
	expected := acked()
	drain, err := s.waitDelivered(ctx, expected, o.Drain)
	if err != nil {
		return res, err
	}
	<-profDone
	usage, stopErr := s.stopAgent()
	s.finish(&res, expected, drain, usage)
	res.Notes = append(res.Notes, fmt.Sprintf("senders pushed %s/%s: %d requests, %d samples acknowledged, %d failed after retries",
		o.PushProtocol, o.PushCompression, p.requests.Load(), p.acked.Load(), p.failed.Load()))
	if profErr != nil {
		return res, profErr
	}
	return res, stopErr
}
