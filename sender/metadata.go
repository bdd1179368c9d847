package sender

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/ferrymetrics/ferry/remote"
)

// maxFamilies bounds the metadata a sender remembers; beyond it the table
// starts over (families still exposed come back with their next series
// definition).
const maxFamilies = 200_000

// familyTable is the latest metadata of every metric family the sender has
// seen in the log, for Remote-Write 1.0's separate metadata requests.
type familyTable struct {
	mu       sync.Mutex
	families map[string]remote.Metadata
}

func (t *familyTable) note(family string, m remote.Metadata) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.families == nil || len(t.families) >= maxFamilies {
		t.families = map[string]remote.Metadata{}
	}
	t.families[family] = m
}

// snapshot returns the table sorted by family name.
func (t *familyTable) snapshot() []remote.FamilyMetadata {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]remote.FamilyMetadata, 0, len(t.families))
	for name, m := range t.families {
		out = append(out, remote.FamilyMetadata{MetricFamilyName: name, Metadata: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MetricFamilyName < out[j].MetricFamilyName })
	return out
}

// metadataLoop sends the family table every interval while the destination
// speaks Remote-Write 1.0 (RW2 carries metadata with each series). Metadata
// is not in the log: a failed send is retried a few times and otherwise
// waits for the next interval, as in Prometheus.
func (s *Sender) metadataLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.metadataInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if msg, _ := s.protocol(); msg != remote.MessageV1 {
			continue
		}
		s.sendMetadata(ctx, s.families.snapshot())
	}
}

func (s *Sender) sendMetadata(ctx context.Context, all []remote.FamilyMetadata) {
	var pb, comp []byte
	for len(all) > 0 {
		n := min(len(all), s.cfg.metadataPerSend)
		req := remote.Request{FamilyMetadata: all[:n]}
		all = all[n:]
		pb = remote.AppendV1(pb[:0], &req)
		bo := backoff{min: s.cfg.minBackoff, max: s.cfg.maxBackoff}
		sent := false
		for attempt := 0; attempt < 3 && !sent; attempt++ {
			_, enc := s.protocol()
			var err error
			if comp, err = remote.Compress(comp[:0], pb, enc); err != nil {
				return
			}
			a := s.client.send(ctx, comp, remote.MessageV1, enc, "")
			switch {
			case a.result == resultOK:
				sent = true
			case a.result == resultUnsupported && s.fallBack(remote.MessageV1, enc, a.err):
			case a.result != resultRetry || sleep(ctx, bo.next()) != nil:
				attempt = 3
				s.logger.Debug("Sending metadata failed", "err", a.err)
			}
		}
		if sent {
			s.m.metadataTotal.Add(float64(n))
		} else {
			s.m.metadataFailed.Add(float64(n))
		}
	}
}
