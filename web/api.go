package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/scrape"
)

// apiTarget is an active target in the shape of Prometheus' /api/v1/targets.
type apiTarget struct {
	DiscoveredLabels   map[string]string `json:"discoveredLabels"`
	Labels             map[string]string `json:"labels"`
	ScrapePool         string            `json:"scrapePool"`
	ScrapeURL          string            `json:"scrapeUrl"`
	GlobalURL          string            `json:"globalUrl"`
	LastError          string            `json:"lastError"`
	LastScrape         time.Time         `json:"lastScrape"`
	LastScrapeDuration float64           `json:"lastScrapeDuration"`
	Health             scrape.Health     `json:"health"`
	ScrapeInterval     string            `json:"scrapeInterval"`
	ScrapeTimeout      string            `json:"scrapeTimeout"`
}

// apiDroppedTarget is a target relabeling dropped. DropReason is ferry's
// addition to Prometheus' format.
type apiDroppedTarget struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	ScrapePool       string            `json:"scrapePool"`
	DropReason       string            `json:"dropReason"`
}

type apiTargets struct {
	ActiveTargets       []apiTarget        `json:"activeTargets"`
	DroppedTargets      []apiDroppedTarget `json:"droppedTargets"`
	DroppedTargetCounts map[string]int     `json:"droppedTargetCounts"`
}

func labelMap(ls labels.Labels) map[string]string {
	m := make(map[string]string, ls.Len())
	ls.Range(func(l labels.Label) { m[l.Name] = l.Value })
	return m
}

// apiTargets serves /api/v1/targets like Prometheus: ?state=active|dropped|any
// and ?scrapePool=<job>.
func (h *handler) apiTargets(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	pool := r.URL.Query().Get("scrapePool")
	if state != "" && state != "active" && state != "dropped" && state != "any" {
		apiError(w, http.StatusBadRequest, "bad_data", `state must be "active", "dropped" or "any"`)
		return
	}
	res := apiTargets{ActiveTargets: []apiTarget{}, DroppedTargets: []apiDroppedTarget{}, DroppedTargetCounts: map[string]int{}}
	if h.opts.Sources.Pools != nil {
		for _, p := range h.opts.Sources.Pools() {
			if pool != "" && p.Job != pool {
				continue
			}
			res.DroppedTargetCounts[p.Job] = len(p.Dropped)
			if state != "dropped" {
				for _, t := range p.Targets {
					st := t.Status()
					res.ActiveTargets = append(res.ActiveTargets, apiTarget{
						DiscoveredLabels: labelMap(t.DiscoveredLabels()), Labels: labelMap(t.Labels()),
						ScrapePool: p.Job, ScrapeURL: t.URL(), GlobalURL: t.URL(),
						LastError: st.LastError, LastScrape: st.LastScrape, LastScrapeDuration: st.LastDuration.Seconds(),
						Health: st.Health, ScrapeInterval: promDuration(t.Interval()), ScrapeTimeout: promDuration(t.Timeout()),
					})
				}
			}
			if state == "dropped" || state == "any" {
				for _, d := range p.Dropped {
					res.DroppedTargets = append(res.DroppedTargets, apiDroppedTarget{DiscoveredLabels: labelMap(d), ScrapePool: p.Job, DropReason: "relabeling"})
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": res})
}

func apiError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": typ, "error": msg})
}
