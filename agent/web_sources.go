package agent

import (
	"time"

	"github.com/ferrymetrics/ferry/web"
)

// webSources is what the web pages read: the running components (sources)
// and the settings the pages put their figures against. Run calls it once,
// before any reload.
func (a *Agent) webSources() web.Sources {
	s := a.sources()
	// The log keeps the storage settings it was opened with: a reload
	// does not change them (see Reload), so they are captured now.
	a.mu.Lock()
	st := a.cfg.Storage
	a.mu.Unlock()
	s.LogLimits = func() (int64, time.Duration) { return int64(st.MaxSize), time.Duration(st.MaxAge) }
	return s
}
