package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// saturatedShare is the share of all CPUs at which the agent counts as
// saturated: beyond it, on a machine that also runs the load generator and
// the receiver, the agent is short of CPU.
const saturatedShare = 0.9

// runScale runs a steady step per load in o.Steps, each with a fresh agent,
// and stops at the first step where the agent does not keep up: not every
// sample delivered within the drain time, a p99 delivery lag beyond two
// intervals plus 10 s, or the agent using 90% of all CPUs.
func runScale(ctx context.Context, o *Options, b Build, baseline rss, dir string) (Result, error) {
	res := newResult(o, b, o.Steps[0], Scale)
	res.Saturation = &Saturation{}
	for i, st := range o.Steps {
		o.Logger.Info("scale step", "step", i+1, "of", len(o.Steps), "load", st.String(), "rate", st.Rate())
		r, err := runScrape(ctx, o, b, baseline, filepath.Join(dir, fmt.Sprintf("step%d", i+1)), st)
		r.Scenario = Scale
		if err != nil {
			r.Error = err.Error()
		}
		res.Steps = append(res.Steps, r)
		if reason := fallsShort(r, st); reason != "" {
			res.Saturation.StoppedAt, res.Saturation.Reason = st.String(), reason
			break
		}
		res.Saturation.MaxSustainedRate = st.Rate()
		if ctx.Err() != nil {
			break
		}
	}
	res.Machine.LoadEnd = loadAvg()
	return res, ctx.Err()
}

// fallsShort says why the agent did not keep up with a step, or "".
func fallsShort(r Result, st Step) string {
	cpus := float64(r.Machine.CPUs)
	lagLimit := (2*st.Interval + 10*time.Second).Milliseconds()
	switch {
	case r.Error != "":
		return "error: " + r.Error
	case r.Delivery.DrainS < 0 || r.Delivery.Ratio < 0.999:
		return fmt.Sprintf("fell behind: %.2f%% delivered within the drain time, %d scrapes failed (up == 0)",
			100*r.Delivery.Ratio, r.Delivery.AgentFailedScrapes)
	case r.Delivery.LagMs.P99 > lagLimit:
		return fmt.Sprintf("fell behind: p99 delivery lag %d ms > %d ms", r.Delivery.LagMs.P99, lagLimit)
	case r.Cost.CPUCores >= saturatedShare*cpus:
		return fmt.Sprintf("CPU saturated: %.2f of %.0f cores", r.Cost.CPUCores, cpus)
	}
	return ""
}
