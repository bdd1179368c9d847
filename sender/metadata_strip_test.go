package sender

import (
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// With metadata_config.send: false, an RW2 destination gets no type, help
// or unit, for scraped series and received ones alike, although both
// carry their help and unit as dictionary ids.
func TestMetadataSendFalseStripsHelpAndUnitToo(t *testing.T) {
	rc, l, s := startRW2(t, func(cfg *promconfig.RemoteWriteConfig) { cfg.MetadataConfig.Send = false })
	req := &remote.Request{Series: []remote.Series{{Labels: labels.FromStrings("__name__", "recv_total", "job", "edge"),
		Samples:  []remote.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}},
		Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: "Received help.", Unit: "bytes"}}}}
	_, err := l.Append(wal.Entry{Kind: record.KindBatch, Count: 1, Data: record.AppendBatch(nil, req, &remote.SymbolTable{})})
	require.NoError(t, err)
	appendRich(t, l, record.NewStreamEncoder(1), time.Now().UnixMilli())
	require.Eventually(t, func() bool { return rc.total() >= 2 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Empty(t, rc.seriesMeta)
}

// startRW2 starts a sender of RW2 requests to a new counting receiver,
// reading a new log; mutate adjusts its configuration.
func startRW2(t *testing.T, mutate func(*promconfig.RemoteWriteConfig)) (*receiver, *wal.Log, *Sender) {
	rc := newReceiver(t)
	l := openLog(t, t.TempDir())
	t.Cleanup(func() { l.Close() })
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.ProtobufMessage = remoteapiMessage("io.prometheus.write.v2.Request")
		mutate(cfg)
	}), Options{})
	return rc, l, s
}
