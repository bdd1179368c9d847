package runner

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Scenario names.
const (
	Steady  = "steady"  // constant load
	Outage  = "outage"  // receiver answers 503 for the middle third
	Restart = "restart" // as outage, and the agent is killed (SIGKILL) and restarted mid-outage
	Churn   = "churn"   // a fraction of the targets replaced every minute
	Scale   = "scale"   // steady runs at growing load until the agent saturates or falls behind
	Relay   = "relay"   // the agent receives remote write and relays it
)

// Scenarios lists every scenario.
var Scenarios = []string{Steady, Outage, Restart, Churn, Scale, Relay}

// Options configure a run.
type Options struct {
	Scenario string
	// Targets, Series and Interval are the load: Targets targets of
	// Series series, scraped every Interval (in the relay scenario:
	// Targets senders pushing Series series every Interval).
	Targets  int
	Series   int
	Interval time.Duration
	// Duration is measured from the moment the agent is ready; Warmup of
	// it is excluded from the per-sample figures. In the scale scenario
	// both apply to each step.
	Duration time.Duration
	Warmup   time.Duration
	// Drain is how long the runner waits, after the load stops, for every
	// sample to be delivered.
	Drain time.Duration
	// Protocol is "rw1" or "rw2"; Compression "snappy" or "zstd" (what
	// the agent sends).
	Protocol    string
	Compression string
	// Gzip makes the agent ask targets for gzip.
	Gzip bool
	// SendDeadline, when set, is the agent's batch_send_deadline (how
	// long a partial batch waits); unset keeps the agent's default (5s in
	// Prometheus and ferry).
	SendDeadline time.Duration
	// MaxSamplesPerSend, when set, is the agent's max_samples_per_send
	// (the largest request); 0 keeps the agent's default.
	MaxSamplesPerSend int
	// ChurnFraction of the targets is replaced every minute (churn).
	ChurnFraction float64
	Seed          uint64
	// Baseline measures the agent's RSS with no targets for this long
	// before the run, to subtract it from the RSS per series; 0 skips it.
	Baseline time.Duration
	// Steps are the loads of the scale scenario, e.g. "200x1000@10s".
	Steps []Step
	// PushProtocol and PushCompression are what the relay scenario's
	// senders send to the agent.
	PushProtocol    string
	PushCompression string
	// Profile, when set, is a directory where a CPU profile (taken over
	// the middle of the window) and a heap profile (right after it) are saved.
	Profile string
	// WorkDir holds the agent's storage, configuration and log; empty
	// means a new temporary directory, removed afterwards unless Keep.
	WorkDir string
	Keep    bool
	Agent   AgentSpec
	Logger  *slog.Logger
}

// Step is one load of the scale scenario.
type Step struct {
	Targets, Series int
	Interval        time.Duration
}

func (s Step) String() string {
	return fmt.Sprintf("%dx%d@%s", s.Targets, s.Series, promDuration(s.Interval))
}

// Rate returns the step's ingest rate in samples per second.
func (s Step) Rate() float64 { return float64(s.Targets*s.Series) / s.Interval.Seconds() }

// ParseSteps parses "200x1000@10s,400x1000@10s".
func ParseSteps(v string) ([]Step, error) {
	var steps []Step
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		load, iv, ok := strings.Cut(part, "@")
		t, s, ok2 := strings.Cut(load, "x")
		if !ok || !ok2 {
			return nil, fmt.Errorf("step %q: want TARGETSxSERIES@INTERVAL", part)
		}
		var st Step
		var err error
		if st.Targets, err = strconv.Atoi(t); err != nil || st.Targets <= 0 {
			return nil, fmt.Errorf("step %q: bad target count", part)
		}
		if st.Series, err = strconv.Atoi(s); err != nil || st.Series <= 0 {
			return nil, fmt.Errorf("step %q: bad series count", part)
		}
		if st.Interval, err = time.ParseDuration(iv); err != nil || st.Interval <= 0 {
			return nil, fmt.Errorf("step %q: bad interval", part)
		}
		steps = append(steps, st)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("no steps in %q", v)
	}
	return steps, nil
}

// check validates o and fills defaults.
func (o *Options) check() error {
	known := false
	for _, s := range Scenarios {
		known = known || s == o.Scenario
	}
	switch {
	case !known:
		return fmt.Errorf("unknown scenario %q (want one of %s)", o.Scenario, strings.Join(Scenarios, ", "))
	case o.Targets < 0 || o.Series <= 0 || o.Interval <= 0:
		return fmt.Errorf("need targets >= 0, series > 0, interval > 0")
	case o.Duration <= o.Warmup:
		return fmt.Errorf("duration %v must exceed warm-up %v", o.Duration, o.Warmup)
	case o.Protocol != "rw1" && o.Protocol != "rw2":
		return fmt.Errorf("protocol %q: want rw1 or rw2", o.Protocol)
	case o.Compression != "snappy" && o.Compression != "zstd":
		return fmt.Errorf("compression %q: want snappy or zstd", o.Compression)
	case o.MaxSamplesPerSend < 0:
		return fmt.Errorf("max samples per send %d: want 0 (the agent's default) or more", o.MaxSamplesPerSend)
	case o.Scenario == Scale && len(o.Steps) == 0:
		return fmt.Errorf("the scale scenario needs steps")
	}
	if o.PushProtocol == "" {
		o.PushProtocol = "rw1"
	}
	if o.PushCompression == "" {
		o.PushCompression = "snappy"
	}
	if o.Scenario == Churn && o.ChurnFraction == 0 {
		o.ChurnFraction = 0.01
	}
	if o.Drain <= 0 {
		o.Drain = 2 * time.Minute
	}
	if len(o.Agent.Args) == 0 {
		o.Agent.Args = FerryArgs
	}
	if o.Agent.ReadyPath == "" {
		o.Agent.ReadyPath = "/-/ready"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// message returns the protobuf_message name of an "rw1"/"rw2" protocol.
func message(protocol string) string {
	if protocol == "rw2" {
		return "io.prometheus.write.v2.Request"
	}
	return "prometheus.WriteRequest"
}
