package sender

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// defaultResizeInterval is how often the sender reconsiders how many lanes
// to use.
const defaultResizeInterval = 5 * time.Second

// load is what the concurrency controller measures between two decisions.
type load struct {
	sendNanos atomic.Int64 // time lanes spent encoding, compressing and in requests
	waitNanos atomic.Int64 // time the reader waited for capacity or a lane (backlog)
}

// desiredLanes decides how many lanes to use from the last interval: busy is
// the average number of lanes encoding or inside a request, pressured tells
// whether the reader spent a noticeable part of the interval waiting for
// capacity or for a lane (the log holds a backlog). It grows fast
// under pressure and shrinks slowly, with headroom, when lanes idle.
func desiredLanes(active, minLanes, maxLanes int, busy float64, pressured bool) int {
	want := active
	switch {
	case pressured && busy >= 0.5*float64(active):
		want = active * 2
	case !pressured && busy*1.5 < 0.6*float64(active):
		want = int(math.Ceil(busy * 1.5))
		if want < active-1 {
			want = active - max(1, (active-want)/2)
		}
	}
	return min(max(want, minLanes), maxLanes)
}

// controlConcurrency resizes the active lanes every resize interval until ctx
// ends.
func (s *Sender) controlConcurrency(ctx context.Context) {
	t := time.NewTicker(s.cfg.resizeInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			elapsed := now.Sub(last)
			last = now
			busy := float64(s.load.sendNanos.Swap(0)) / float64(elapsed)
			// A reader that waits a tenth of the time is behind; brief
			// waits when a burst of scrapes lands are not backlog.
			pressured := float64(s.load.waitNanos.Swap(0)) >= 0.1*float64(elapsed)
			active := s.router.activeLanes()
			want := desiredLanes(active, s.cfg.minLanes, len(s.lanes), busy, pressured)
			s.m.shardsDesired.Set(float64(want))
			if want != active {
				s.router.setActive(want)
				s.tracker.setCapacity(s.cfg.capacity * want)
				s.m.shards.Set(float64(want))
				s.logger.Debug("Changing the number of lanes", "from", active, "to", want, "busy", busy, "backlog", pressured)
			}
		}
	}
}
