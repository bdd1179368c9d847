package sender

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the self-metrics of all senders. Names and labels follow
// Prometheus' remote-write metrics where the meaning is the same, so existing
// dashboards and the usual lag alert work unchanged. Create one Metrics per
// process and pass it to every Sender.
type Metrics struct {
	samplesTotal     *prometheus.CounterVec
	samplesFailed    *prometheus.CounterVec
	samplesRetried   *prometheus.CounterVec
	samplesDropped   *prometheus.CounterVec
	samplesPending   *prometheus.GaugeVec
	bytesTotal       *prometheus.CounterVec
	requests         *prometheus.CounterVec
	batchDuration    *prometheus.HistogramVec
	highestSent      *prometheus.GaugeVec
	shards           *prometheus.GaugeVec
	shardsMin        *prometheus.GaugeVec
	shardsMax        *prometheus.GaugeVec
	shardsDesired    *prometheus.GaugeVec
	maxSamplesPerReq *prometheus.GaugeVec
	undecodable      *prometheus.CounterVec
	histogramsTotal  *prometheus.CounterVec
	exemplarsTotal   *prometheus.CounterVec
	histogramsDrop   *prometheus.CounterVec
	exemplarsDrop    *prometheus.CounterVec
	metadataTotal    *prometheus.CounterVec
	metadataFailed   *prometheus.CounterVec
}

const (
	labelRemote = "remote_name"
	labelURL    = "url"
)

// NewMetrics creates the metrics and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	rl := []string{labelRemote, labelURL}
	m := &Metrics{
		samplesTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_samples_total", Help: "Samples sent to remote storage and acknowledged.",
		}, rl),
		samplesFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_samples_failed_total", Help: "Samples the remote storage rejected for good (non-retryable errors).",
		}, rl),
		samplesRetried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_samples_retried_total", Help: "Samples sent again after a retryable error.",
		}, rl),
		samplesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_samples_dropped_total", Help: "Samples not sent on purpose, by reason (e.g. dropped by write relabeling).",
		}, []string{labelRemote, labelURL, "reason"}),
		samplesPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_samples_pending", Help: "Samples read from the log and not yet acknowledged.",
		}, rl),
		bytesTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_bytes_total", Help: "Compressed request bytes sent, retries included.",
		}, rl),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_remote_requests_total", Help: "Remote-write requests by outcome (ok, retry, rejected).",
		}, []string{labelRemote, labelURL, "outcome"}),
		batchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "prometheus_remote_storage_sent_batch_duration_seconds", Help: "Duration of remote-write requests.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, rl),
		highestSent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
			Help: "Log append time of the newest record the destination acknowledged.",
		}, rl),
		shards: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_shards", Help: "Lanes sending in parallel.",
		}, rl),
		shardsMin: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_shards_min", Help: "Configured minimum lanes.",
		}, rl),
		shardsMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_shards_max", Help: "Configured maximum lanes.",
		}, rl),
		shardsDesired: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_shards_desired", Help: "Lanes the sender wants.",
		}, rl),
		maxSamplesPerReq: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_remote_storage_max_samples_per_send", Help: "Configured max_samples_per_send.",
		}, rl),
		histogramsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_histograms_total", Help: "Native histogram samples sent and acknowledged.",
		}, rl),
		exemplarsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_exemplars_total", Help: "Exemplars sent and acknowledged.",
		}, rl),
		histogramsDrop: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_histograms_dropped_total", Help: "Native histogram samples not sent on purpose, by reason.",
		}, []string{labelRemote, labelURL, "reason"}),
		exemplarsDrop: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_exemplars_dropped_total", Help: "Exemplars not sent on purpose, by reason.",
		}, []string{labelRemote, labelURL, "reason"}),
		metadataTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_metadata_total", Help: "Metric family metadata entries sent (Remote-Write 1.0).",
		}, rl),
		metadataFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_remote_storage_metadata_failed_total", Help: "Metric family metadata entries that could not be sent.",
		}, rl),
		undecodable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_remote_undecodable_samples_total", Help: "Samples in log records that could not be decoded (corruption), so never sent.",
		}, rl),
	}
	if reg != nil {
		reg.MustRegister(m.samplesTotal, m.samplesFailed, m.samplesRetried, m.samplesDropped, m.samplesPending,
			m.bytesTotal, m.requests, m.batchDuration, m.highestSent, m.shards, m.shardsMin, m.shardsMax,
			m.shardsDesired, m.maxSamplesPerReq, m.undecodable, m.histogramsTotal, m.exemplarsTotal,
			m.histogramsDrop, m.exemplarsDrop, m.metadataTotal, m.metadataFailed)
	}
	return m
}

// forget removes a destination's series when it is removed.
func (m *Metrics) forget(name, url string) {
	l := prometheus.Labels{labelRemote: name, labelURL: url}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.samplesTotal, m.samplesFailed, m.samplesRetried, m.samplesDropped, m.samplesPending,
		m.bytesTotal, m.requests, m.batchDuration, m.highestSent, m.shards, m.shardsMin, m.shardsMax,
		m.shardsDesired, m.maxSamplesPerReq, m.undecodable, m.histogramsTotal, m.exemplarsTotal,
		m.histogramsDrop, m.exemplarsDrop, m.metadataTotal, m.metadataFailed,
	} {
		v.DeletePartialMatch(l)
	}
}

// destMetrics are one destination's metrics, resolved once.
type destMetrics struct {
	samplesTotal, samplesFailed, samplesRetried, bytesTotal, undecodable prometheus.Counter
	histogramsTotal, exemplarsTotal, metadataTotal, metadataFailed       prometheus.Counter
	all                                                                  *Metrics
	name, url                                                            string
	droppedRelabel, droppedAge                                           prometheus.Counter
	reqOK, reqRetry, reqRejected                                         prometheus.Counter
	pending, highestSent, shards, shardsDesired                          prometheus.Gauge
	batchDuration                                                        prometheus.Observer
}

func (m *Metrics) forDest(name, url string, minLanes, maxLanes, maxPerSend int) *destMetrics {
	v := []string{name, url}
	m.shards.WithLabelValues(v...).Set(float64(minLanes))
	m.shardsDesired.WithLabelValues(v...).Set(float64(minLanes))
	m.shardsMin.WithLabelValues(v...).Set(float64(minLanes))
	m.shardsMax.WithLabelValues(v...).Set(float64(maxLanes))
	m.maxSamplesPerReq.WithLabelValues(v...).Set(float64(maxPerSend))
	return &destMetrics{
		all: m, name: name, url: url,
		histogramsTotal: m.histogramsTotal.WithLabelValues(v...),
		exemplarsTotal:  m.exemplarsTotal.WithLabelValues(v...),
		metadataTotal:   m.metadataTotal.WithLabelValues(v...),
		metadataFailed:  m.metadataFailed.WithLabelValues(v...),
		samplesTotal:    m.samplesTotal.WithLabelValues(v...),
		samplesFailed:   m.samplesFailed.WithLabelValues(v...),
		samplesRetried:  m.samplesRetried.WithLabelValues(v...),
		bytesTotal:      m.bytesTotal.WithLabelValues(v...),
		undecodable:     m.undecodable.WithLabelValues(v...),
		droppedRelabel:  m.samplesDropped.WithLabelValues(name, url, "write_relabel"),
		droppedAge:      m.samplesDropped.WithLabelValues(name, url, "too_old"),
		reqOK:           m.requests.WithLabelValues(name, url, "ok"),
		reqRetry:        m.requests.WithLabelValues(name, url, "retry"),
		reqRejected:     m.requests.WithLabelValues(name, url, "rejected"),
		pending:         m.samplesPending.WithLabelValues(v...),
		shards:          m.shards.WithLabelValues(v...),
		shardsDesired:   m.shardsDesired.WithLabelValues(v...),
		highestSent:     m.highestSent.WithLabelValues(v...),
		batchDuration:   m.batchDuration.WithLabelValues(v...),
	}
}

// dropped counts what was not sent on purpose, by kind and reason.
func (d *destMetrics) dropped(c dropCounts, reason string) {
	if c.samples > 0 {
		d.all.samplesDropped.WithLabelValues(d.name, d.url, reason).Add(float64(c.samples))
	}
	if c.histograms > 0 {
		d.all.histogramsDrop.WithLabelValues(d.name, d.url, reason).Add(float64(c.histograms))
	}
	if c.exemplars > 0 {
		d.all.exemplarsDrop.WithLabelValues(d.name, d.url, reason).Add(float64(c.exemplars))
	}
}
