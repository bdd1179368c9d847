package loadgen

import (
	"bytes"
	"compress/gzip"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// contentType is what node_exporter answers for the text format.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// target is one scrape target: its own listener and the cached bodies of
// its current tick.
type target struct {
	id   uint64
	addr string
	srv  *http.Server
	gen  *Generator

	mu      sync.Mutex
	payload *Payload
	tick    int64  // tick the bodies below were rendered for; -1 before the first
	plain   []byte // the exposition text
	gz      bytes.Buffer
	gzw     *gzip.Writer
}

// startTarget opens a listener on 127.0.0.1 and serves target id on it.
func (g *Generator) startTarget(id uint64) (*target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &target{id: id, addr: ln.Addr().String(), gen: g, payload: NewPayload(g.layout, g.cfg.Seed, id), tick: -1}
	t.gzw, _ = gzip.NewWriterLevel(&t.gz, g.cfg.GzipLevel)
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

// ServeHTTP answers a scrape with the body of the current tick.
func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := t.gen
	if g.down.Load() {
		g.refused.Add(1)
		http.Error(w, "target is down", http.StatusServiceUnavailable)
		return
	}
	useGzip := acceptsGzip(r.Header.Get("Accept-Encoding"))
	t.mu.Lock()
	t.render(g.tickAt(time.Now()))
	body := t.plain
	if useGzip {
		body = t.gz.Bytes()
	}
	// The bodies are replaced, not rewritten, at the next tick, so the
	// slice stays valid after unlocking.
	t.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if useGzip {
		h.Set("Content-Encoding", "gzip")
	}
	if _, err := w.Write(body); err != nil {
		return // the agent went away; this scrape delivered nothing
	}
	g.scrapes.Add(1)
	g.samples.Add(int64(g.layout.Len()))
	g.bytes.Add(int64(len(body)))
	if useGzip {
		g.gzipScrapes.Add(1)
	}
}

// render brings the cached bodies to tick, stepping the values once. A
// target that was not scraped for several ticks steps once, not once per
// missed tick: the values stay plausible and the cost stays bounded.
func (t *target) render(tick int64) {
	if tick == t.tick {
		return
	}
	t.tick = tick
	t.payload.Step(t.gen.clockAt(tick))
	t.plain = t.payload.AppendText(make([]byte, 0, len(t.plain)+len(t.plain)/8))
	// A fresh buffer, not a reset one: ServeHTTP may still be writing the
	// previous tick's body.
	t.gz = bytes.Buffer{}
	t.gz.Grow(len(t.plain) / 4)
	t.gzw.Reset(&t.gz)
	_, _ = t.gzw.Write(t.plain)
	_ = t.gzw.Close()
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(q, 64)
			return err != nil || f > 0
		}
		return true
	}
	return false
}
