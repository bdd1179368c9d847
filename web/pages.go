package web

import (
	"net/http"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/scrape"
	"github.com/ferrymetrics/ferry/version"
)

// targetRow is one target as the targets page shows it.
type targetRow struct {
	URL        string
	Labels     labels.Labels
	Discovered labels.Labels
	Status     scrape.Status
}

type poolView struct {
	Job     string
	Up, All int
	Targets []targetRow
	Dropped []labels.Labels
	Errors  []string
}

// pools filters the scrape pools by health ("up", "down", "unknown" or "")
// and by a substring of the target's URL or labels.
func (h *handler) pools(health, q string) []poolView {
	var out []poolView
	if h.opts.Sources.Pools == nil {
		return nil
	}
	for _, p := range h.opts.Sources.Pools() {
		v := poolView{Job: p.Job, Dropped: p.Dropped, Errors: p.Errors}
		for _, t := range p.Targets {
			st := t.Status()
			v.All++
			if st.Health == scrape.HealthUp {
				v.Up++
			}
			row := targetRow{URL: t.URL(), Labels: t.Labels(), Discovered: t.DiscoveredLabels(), Status: st}
			if health != "" && string(st.Health) != health {
				continue
			}
			if q != "" && !strings.Contains(row.URL, q) && !strings.Contains(row.Labels.String(), q) {
				continue
			}
			v.Targets = append(v.Targets, row)
		}
		out = append(out, v)
	}
	return out
}

func (h *handler) targets(w http.ResponseWriter, r *http.Request) {
	health, q := r.URL.Query().Get("health"), r.URL.Query().Get("q")
	h.render(w, "targets", map[string]any{"Pools": h.pools(health, q), "Health": health, "Q": q})
}

func (h *handler) sd(w http.ResponseWriter, r *http.Request) {
	h.render(w, "sd", map[string]any{"Pools": h.pools("", "")})
}

func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	cfg := ""
	if h.opts.Sources.Config != nil {
		cfg = h.opts.Sources.Config()
	}
	h.render(w, "config", cfg)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{
		"Version": version.String(), "Revision": version.Revision, "GoVersion": version.GoVersion(),
		"BuildDate": version.BuildDate, "Branch": version.Branch, "Start": h.opts.StartTime, "Flags": h.opts.Sources.Flags,
		"FlagNames": shownFlagNames(h.opts.Sources.Flags),
		"Ready":     h.opts.Sources.Ready != nil && h.opts.Sources.Ready(),
	}
	if h.opts.Sources.LastReload != nil {
		t, err := h.opts.Sources.LastReload()
		data["ReloadTime"], data["ReloadErr"] = t, err
	}
	h.render(w, "status", data)
}
