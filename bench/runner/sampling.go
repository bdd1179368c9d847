package runner

import (
	"fmt"
	"time"
)

// The sampler reads the running agent's /proc files and the machine's
// load average every second, so that a result can show RSS over time and
// the window's figures can be read at any moment.

// rssPoint is one RSS reading.
type rssPoint struct {
	at  time.Time
	rss int64
}

// sampleLoop reads the agent's /proc files and the load average every
// second until the session closes.
func (s *session) sampleLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.sampleOnce()
		select {
		case <-s.bg.Done():
			return
		case <-t.C:
		}
	}
}

func (s *session) sampleOnce() {
	la := loadAvg()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadMax = max(s.loadMax, la[0])
	p := s.agent
	if p == nil {
		return
	}
	if p.exited() {
		if !s.killing && s.died == nil {
			s.died = fmt.Errorf("agent exited unexpectedly: %v (log: %s)", p.err, s.logFile)
		}
		return
	}
	ps, err := p.sample()
	if err != nil {
		return
	}
	s.last = ps
	s.rss = append(s.rss, rssPoint{time.Now(), ps.RSS})
}

// mark is a reading of the cumulative counters at one moment.
type mark struct {
	at      time.Time
	cpu     float64 // agent CPU seconds, all processes so far
	write   int64   // agent bytes written, all processes so far
	samples int64   // payload samples served or acknowledged so far
	harness float64 // this process's CPU seconds
}

// mark reads the counters now.
func (s *session) mark(samples int64) mark {
	s.sampleOnce()
	s.mu.Lock()
	defer s.mu.Unlock()
	return mark{at: time.Now(), cpu: s.prior.CPUSeconds + s.last.CPUSeconds, write: s.prior.WriteBytes + s.last.WriteBytes,
		samples: samples, harness: selfCPUSeconds()}
}

// rssWindow returns the average and highest RSS sampled in [from, to].
func (s *session) rssWindow(from, to time.Time) (avg, hi int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum, n int64
	for _, p := range s.rss {
		if p.at.Before(from) || p.at.After(to) || p.rss == 0 {
			continue
		}
		sum += p.rss
		n++
		hi = max(hi, p.rss)
	}
	if n == 0 {
		return 0, 0
	}
	return sum / n, hi
}

// rssSeries returns RSS every 10 seconds since the agent was ready.
func (s *session) rssSeries() [][2]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]int64
	next := s.ready
	for _, p := range s.rss {
		if p.at.Before(next) {
			continue
		}
		out = append(out, [2]int64{int64(p.at.Sub(s.ready).Round(time.Second) / time.Second), p.rss})
		next = next.Add(10 * time.Second)
		for !next.After(p.at) {
			next = next.Add(10 * time.Second)
		}
	}
	return out
}
