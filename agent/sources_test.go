package agent

import (
	"testing"

	"github.com/ferrymetrics/ferry/config"
)

func TestSameSenderSeesEveryDestinationSetting(t *testing.T) {
	load := func(extra string) config.RemoteWrite {
		t.Helper()
		cfg, err := config.Load([]byte("remote_write:\n  - url: http://a/api/v1/write\n    name: a\n"+extra), ".", nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.RemoteWrite[0]
	}
	base := load("")
	if !sameSender(base, load("")) {
		t.Fatal("the same entry loaded twice counts as changed")
	}
	for _, change := range []string{
		"    tenant_header: X-Tenant\n",
		"    tenant_label: team\n",
		"    compression: zstd\n",
		"    queue_config:\n      max_samples_per_send: 2000\n",
		"    queue_config:\n      retry_on_http_429: false\n",
	} {
		if sameSender(base, load(change)) {
			t.Errorf("adding %q is not seen as a change: the destination would keep its old settings", change)
		}
	}
}
