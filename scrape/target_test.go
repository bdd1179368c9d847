package scrape

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	promscrape "github.com/prometheus/prometheus/scrape"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
)

func rl(action relabel.Action, src []string, regex, target, repl string) *relabel.Config {
	c := relabel.DefaultRelabelConfig
	c.Action = action
	for _, s := range src {
		c.SourceLabels = append(c.SourceLabels, model.LabelName(s))
	}
	if regex != "" {
		c.Regex = relabel.MustNewRegexp(regex)
	}
	if target != "" {
		c.TargetLabel = target
	}
	if repl != "" {
		c.Replacement = repl
	}
	c.NameValidationScheme = model.UTF8Validation
	return &c
}

// TestTargetLabelsMatchPrometheus compares ferry's target label population
// with Prometheus' own for a table of discovered targets and relabel rules.
func TestTargetLabelsMatchPrometheus(t *testing.T) {
	type tc struct {
		tl, gl model.LabelSet
		rules  []*relabel.Config
		mutate func(*promconfig.ScrapeConfig)
	}
	cases := []tc{
		{tl: model.LabelSet{"__address__": "host:9100"}},
		{tl: model.LabelSet{"__address__": "host:9100", "instance": "custom"}},
		{tl: model.LabelSet{"__address__": "host:9100", "__meta_kubernetes_pod_name": "p1"}, gl: model.LabelSet{"team": "a"},
			rules: []*relabel.Config{rl(relabel.Replace, []string{"__meta_kubernetes_pod_name"}, "(.*)", "pod", "$1")}},
		{tl: model.LabelSet{"__address__": "host:9100"}, rules: []*relabel.Config{rl(relabel.Drop, []string{"__address__"}, "host:.*", "", "")}},
		{tl: model.LabelSet{"__address__": "host:9100", "a": "1"}, rules: []*relabel.Config{rl(relabel.Keep, []string{"a"}, "2", "", "")}},
		{tl: model.LabelSet{"__address__": "host:9100", "__meta_x_y": "v"}, rules: []*relabel.Config{rl(relabel.LabelMap, nil, "__meta_x_(.*)", "", "$1")}},
		{tl: model.LabelSet{"__address__": "host:9100", "drop_me": "1"}, rules: []*relabel.Config{rl(relabel.LabelDrop, nil, "drop_.*", "", "")}},
		{tl: model.LabelSet{"__address__": "host:9100", "keep_me": "1", "other": "2"}, rules: []*relabel.Config{rl(relabel.LabelKeep, nil, "__.*|keep_.*", "", "")}},
		{tl: model.LabelSet{"__address__": "host:9100"}, rules: []*relabel.Config{hashmod(4), rl(relabel.Replace, []string{"__tmp_shard"}, "(.*)", "shard", "$1")}},
		{tl: model.LabelSet{"__address__": "host:9100", "__param_target": "example.com"}, mutate: func(c *promconfig.ScrapeConfig) { c.Params = map[string][]string{"module": {"http_2xx"}} }},
		{tl: model.LabelSet{"__address__": "host:9100", "__scrape_interval__": "5s", "__scrape_timeout__": "2s"}},
		{tl: model.LabelSet{"__address__": "host:9100", "__scrape_timeout__": "2m"}},
		{tl: model.LabelSet{"__address__": ""}},
		{tl: model.LabelSet{"__address__": "host:9100/path"}},
		{tl: model.LabelSet{"__address__": "host:9100", "bad": "\xff"}},
		{tl: model.LabelSet{"__address__": "host:9100"}, rules: []*relabel.Config{rl(relabel.Lowercase, []string{"__address__"}, "", "lower", "")}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			cfg := promconfig.DefaultScrapeConfig
			cfg.JobName = "job"
			cfg.ScrapeInterval = model.Duration(15 * time.Second)
			cfg.ScrapeTimeout = model.Duration(10 * time.Second)
			cfg.MetricsPath = "/metrics"
			cfg.Scheme = "http"
			cfg.RelabelConfigs = c.rules
			if c.mutate != nil {
				c.mutate(&cfg)
			}
			want, wantErr := promscrape.PopulateLabels(labels.NewBuilder(labels.EmptyLabels()), &cfg, c.tl, c.gl)
			got, _, gotErr := populateLabels(labels.NewBuilder(labels.EmptyLabels()), &cfg, c.tl, c.gl)
			require.Equal(t, wantErr != nil, gotErr != nil, "prometheus err=%v ferry err=%v", wantErr, gotErr)
			// Prometheus adds its histogram-option labels to every target;
			// they are internal ("__") and never reach samples.
			strip := func(l labels.Labels) labels.Labels {
				b := labels.NewBuilder(l)
				for _, n := range []string{"__convert_classic_histograms_to_nhcb__", "__always_scrape_classic_histograms__", "__scrape_native_histograms__"} {
					b.Del(n)
				}
				return b.Labels()
			}
			require.Equal(t, strip(want).String(), got.String())
			if !got.IsEmpty() {
				pt := promscrape.NewTarget(want, &cfg, c.tl, c.gl)
				require.Equal(t, pt.URL().String(), newTarget(got, labels.EmptyLabels(), &cfg).URL())
			}
		})
	}
}

func hashmod(n uint64) *relabel.Config {
	c := rl(relabel.HashMod, []string{"__address__"}, "", "__tmp_shard", "")
	c.Modulus = n
	return c
}

func TestAReloadedTargetKeepsItsStreamSlot(t *testing.T) {
	m := NewManager(Options{Logger: quiet()})
	cfg := scrapeConfig("node")
	mk := func(addr, interval string) *Target { return nodeTarget(cfg, addr, interval) }
	const mask = 1<<record.StreamSlotBits - 1
	first := m.newStreamID("node", mk("10.0.0.1:9100", "10s"))
	again := m.newStreamID("node", mk("10.0.0.1:9100", "30s")) // reloaded with another interval
	other := m.newStreamID("node", mk("10.0.0.2:9100", "10s"))
	if first == again || first == 0 || again == 0 {
		t.Fatalf("stream ids %d and %d: want distinct and non-zero", first, again)
	}
	if first&mask != again&mask {
		t.Errorf("slots %d and %d: a target's new stream must keep its slot", first&mask, again&mask)
	}
	if first&mask == other&mask {
		t.Errorf("two targets share slot %d (possible, but not for these two)", first&mask)
	}
	// A restarted process counts from the start again: same slot.
	if restarted := NewManager(Options{Logger: quiet()}).newStreamID("node", mk("10.0.0.1:9100", "10s")); restarted&mask != first&mask {
		t.Errorf("after a restart the slot is %d, was %d", restarted&mask, first&mask)
	}
}
