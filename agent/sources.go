package agent

import (
	"net/http"
	"reflect"
	"sort"
	"time"

	"github.com/ferrymetrics/ferry/config"
	"github.com/ferrymetrics/ferry/receiver"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/sender"
	"github.com/ferrymetrics/ferry/wal"
	"github.com/ferrymetrics/ferry/web"
)

// sources gives the web pages read access to the running components.
func (a *Agent) sources() web.Sources {
	return web.Sources{
		Pools:   a.scrape.Pools,
		Senders: a.senderStatus,
		Log:     func() wal.Stats { return a.log.Stats() },
		Inspect: func() *receiver.Table {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.recv == nil {
				return nil
			}
			return a.recv.Inspect
		},
		Receiver: func() http.Handler {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.recv == nil {
				return nil
			}
			return a.recv
		},
		Config: func() string {
			a.mu.Lock()
			defer a.mu.Unlock()
			out, err := a.cfg.Redacted()
			if err != nil {
				return "could not render the configuration: " + err.Error()
			}
			return out
		},
		Reload: a.Reload,
		LastReload: func() (time.Time, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.lastReload, a.reloadErr
		},
		Ready: a.ready.Load,
		Flags: a.opts.Flags,
	}
}

func (a *Agent) senderStatus() []sender.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]sender.Status, 0, len(a.senders))
	for _, rs := range a.senders {
		out = append(out, rs.s.Status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// sameSender reports whether a destination's configuration is unchanged:
// the Prometheus entry and every ferry setting (compression, tenancy, the
// effective queue settings).
func sameSender(a, b config.RemoteWrite) bool {
	return reflect.DeepEqual(a, b)
}

func remoteEncoding(c string) remote.Encoding {
	if c == config.CompressionZstd {
		return remote.EncodingZstd
	}
	return remote.EncodingSnappy
}
