// Package web serves ferry's own HTTP endpoints: the status pages, the
// remote-write receiver, /metrics, /-/healthy, /-/ready and /-/reload.
//
// Pages are server-rendered HTML that works without JavaScript. The handler
// reads the running components through Sources, and counters (drops and
// failures by reason, fsync latency, receiver rejects) from the same
// registry /metrics exports, so a page and an alert never disagree. The only
// state it keeps is a minute of snapshots of those counters, from which the
// pages show rates (see meter).
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/receiver"
	"github.com/ferrymetrics/ferry/scrape"
	"github.com/ferrymetrics/ferry/sender"
	"github.com/ferrymetrics/ferry/version"
	"github.com/ferrymetrics/ferry/wal"
)

//go:embed templates/*.html
var templateFS embed.FS

// Sources is where the pages get what they show.
type Sources struct {
	Pools   func() []scrape.PoolStatus
	Senders func() []sender.Status
	Log     func() wal.Stats
	// LogLimits returns the log's configured size and age limits; 0 is
	// unlimited.
	LogLimits func() (maxBytes int64, maxAge time.Duration)
	// Inspect is the receiver's table in inspect mode, nil otherwise.
	Inspect func() *receiver.Table
	// Receiver handles /api/v1/write and pushes to /metrics/job/...; nil
	// when the receiver is off.
	Receiver func() http.Handler
	// Config returns the running configuration with secrets hidden.
	Config func() string
	// Reload reloads the configuration.
	Reload func() error
	// LastReload reports the last reload's time and error.
	LastReload func() (time.Time, error)
	Ready      func() bool
	Flags      map[string]string
}

// Options configure the handler.
type Options struct {
	Sources       Sources
	Gatherer      prometheus.Gatherer
	EnableReload  bool
	EnablePprof   bool
	Logger        *slog.Logger
	StartTime     time.Time
	ListenAddress string
	// Context bounds the handler's background work: sampling ferry's
	// counters for the rates the pages show. Without it, rates are
	// measured between page views only.
	Context context.Context
}

// rateWindow is the span rates are measured over, as rate(x[1m]) would.
const (
	rateWindow   = time.Minute
	rateInterval = 5 * time.Second
)

type handler struct {
	opts  Options
	pages map[string]*template.Template
	meter *meter
}

// NewHandler returns the HTTP handler of all of ferry's endpoints.
func NewHandler(opts Options) (http.Handler, error) {
	h := &handler{opts: opts, pages: map[string]*template.Template{},
		meter: newMeter(opts.Gatherer, rateWindow, rateInterval, time.Now)}
	if opts.Context != nil {
		go h.meter.run(opts.Context)
	}
	funcs := template.FuncMap{
		"ago":          ago,
		"ms":           func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) },
		"unixms":       func(t int64) string { return unixMs(t) },
		"bytes":        humanBytes,
		"lower":        strings.ToLower,
		"add":          func(a, b int) int { return a + b },
		"version":      version.String,
		"now":          time.Now,
		"pairs":        pairs,
		"duration":     formatSeconds,
		"promduration": promDuration,
		"count":        func(v float64) string { return fmt.Sprintf("%.0f", v) },
		"percent":      func(v float64) string { return fmt.Sprintf("%.1f%%", v) },
		"metrictype":   metricType,
	}
	for _, page := range []string{"targets", "sd", "remote", "log", "received", "config", "status"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", page, err)
		}
		h.pages[page] = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/targets", http.StatusFound) })
	mux.HandleFunc("GET /targets", h.targets)
	mux.HandleFunc("GET /service-discovery", h.sd)
	mux.HandleFunc("GET /remote-write", h.remote)
	mux.HandleFunc("GET /log", h.log)
	mux.HandleFunc("GET /received", h.received)
	mux.HandleFunc("GET /config", h.config)
	mux.HandleFunc("GET /status", h.status)
	mux.HandleFunc("GET /api/v1/targets", h.apiTargets)
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ferry is Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, r *http.Request) {
		if opts.Sources.Ready != nil && opts.Sources.Ready() {
			fmt.Fprintln(w, "ferry is Ready.")
			return
		}
		http.Error(w, "ferry is not ready.", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/-/reload", h.reload)
	receive := func(w http.ResponseWriter, r *http.Request) {
		if opts.Sources.Receiver == nil {
			http.Error(w, "remote write receiver is not enabled", http.StatusNotFound)
			return
		}
		rh := opts.Sources.Receiver()
		if rh == nil {
			http.Error(w, "remote write receiver is not enabled", http.StatusNotFound)
			return
		}
		rh.ServeHTTP(w, r)
	}
	// The receiver also takes pushes from batch jobs, on the Pushgateway's
	// paths (receiver.PushPathPrefix).
	for _, path := range []string{"/api/v1/write", receiver.PushPathPrefix + "/", receiver.PushPathPrefix + "@base64/"} {
		mux.HandleFunc(path, receive)
	}
	if opts.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux, nil
}

func (h *handler) render(w http.ResponseWriter, page string, data any) {
	var b strings.Builder
	view := map[string]any{"Page": page, "Data": data}
	if h.opts.Sources.LastReload != nil {
		// Every page says when the running configuration is not the file's.
		if _, err := h.opts.Sources.LastReload(); err != nil {
			view["ReloadErr"] = err.Error()
		}
	}
	if err := h.pages[page].Execute(&b, view); err != nil {
		http.Error(w, "render "+page+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, b.String())
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		http.Error(w, "use POST to reload", http.StatusMethodNotAllowed)
		return
	}
	if !h.opts.EnableReload || h.opts.Sources.Reload == nil {
		http.Error(w, "lifecycle API is not enabled (--web.enable-lifecycle)", http.StatusForbidden)
		return
	}
	if err := h.opts.Sources.Reload(); err != nil {
		http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "config reloaded")
}

// pairs lists a label set's labels for templates, which cannot range over
// labels.Labels directly.
func pairs(l labels.Labels) []labels.Label {
	out := make([]labels.Label, 0, l.Len())
	l.Range(func(x labels.Label) { out = append(out, x) })
	return out
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms ago", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs ago", d.Seconds())
	default:
		return d.Round(time.Second).String() + " ago"
	}
}

func unixMs(t int64) string {
	if t == 0 {
		return "-"
	}
	return time.UnixMilli(t).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// shownFlagNames lists the flags the status page shows, sorted.
func shownFlagNames(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if shownFlag(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
