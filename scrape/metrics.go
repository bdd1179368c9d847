package scrape

import "github.com/prometheus/client_golang/prometheus"

// metrics are the scrape layer's self-metrics. Names follow Prometheus'
// where the meaning is the same, so existing dashboards keep working.
type metrics struct {
	intervalLength      *prometheus.SummaryVec
	exceededSampleLimit prometheus.Counter
	exceededTargetLimit prometheus.Counter
	duplicates          prometheus.Counter
	badExemplars        prometheus.Counter
	poolTargets         *prometheus.GaugeVec
	pools               prometheus.Counter
	appendFailures      prometheus.Counter
	otherShard          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		intervalLength: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name:       "prometheus_target_interval_length_seconds",
			Help:       "Actual intervals between scrapes.",
			Objectives: map[float64]float64{0.01: 0.001, 0.05: 0.005, 0.5: 0.05, 0.90: 0.01, 0.99: 0.001},
		}, []string{"interval"}),
		exceededSampleLimit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_target_scrapes_exceeded_sample_limit_total",
			Help: "Scrapes that hit the sample limit and were rejected.",
		}),
		exceededTargetLimit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_target_scrape_pool_exceeded_target_limit_total",
			Help: "Times scrape pools hit the target limit.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_target_scrapes_sample_duplicate_timestamp_total",
			Help: "Samples dropped because a scrape exposed their series twice.",
		}),
		badExemplars: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_scrape_invalid_exemplars_total",
			Help: "Exemplars dropped because their labels were empty or longer than OpenMetrics allows (128 runes).",
		}),
		poolTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_target_scrape_pool_targets",
			Help: "Current number of targets in each scrape pool.",
		}, []string{"scrape_job"}),
		pools: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_target_scrape_pools_total",
			Help: "Scrape pool creations.",
		}),
		otherShard: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_scrape_targets_skipped_other_shard_total",
			Help: "Discovered targets left to another replica by --cluster.shards (counted at every discovery update).",
		}),
		appendFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_scrape_append_failures_total",
			Help: "Scrapes that could not be appended to the log.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.intervalLength, m.exceededSampleLimit, m.exceededTargetLimit, m.duplicates,
			m.badExemplars, m.poolTargets, m.pools, m.appendFailures, m.otherShard)
	}
	return m
}
