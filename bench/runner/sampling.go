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
	rss rss
}

// rss is a reading of resident memory: all of it, and its anonymous part.
// The rest is pages of the agent's binary and other mapped files, which
// the kernel maps in by the 64 KiB around each page touched when the file
// is in the page cache: how much of the binary is cached changes VmRSS by
// up to 10 MB from one process to the next, the anonymous part does not.
type rss struct{ all, anon int64 }

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
	s.rss = append(s.rss, rssPoint{time.Now(), rss{ps.RSS, ps.RSSAnon}})
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
func (s *session) rssWindow(from, to time.Time) (avg, hi rss) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum rss
	var n int64
	for _, p := range s.rss {
		if p.at.Before(from) || p.at.After(to) || p.rss.all == 0 {
			continue
		}
		sum.all += p.rss.all
		sum.anon += p.rss.anon
		n++
		hi.all, hi.anon = max(hi.all, p.rss.all), max(hi.anon, p.rss.anon)
	}
	if n == 0 {
		return rss{}, rss{}
	}
	return rss{sum.all / n, sum.anon / n}, hi
}

// rssSeries returns RSS and its anonymous part every 10 seconds since the
// agent was ready.
func (s *session) rssSeries() (all, anon [][2]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.ready
	for _, p := range s.rss {
		if p.at.Before(next) {
			continue
		}
		t := int64(p.at.Sub(s.ready).Round(time.Second) / time.Second)
		all = append(all, [2]int64{t, p.rss.all})
		anon = append(anon, [2]int64{t, p.rss.anon})
		next = next.Add(10 * time.Second)
		for !next.After(p.at) {
			next = next.Add(10 * time.Second)
		}
	}
	return all, anon
}
