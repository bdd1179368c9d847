package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// Options configure a Sender.
type Options struct {
	// Name identifies the destination: it names its log cursor and is the
	// remote_name label of its metrics.
	Name string
	// Config is the destination's remote_write entry.
	Config *promconfig.RemoteWriteConfig
	// Queue, when set, replaces Config.QueueConfig: the settings with
	// ferry's defaults applied (config.RemoteWrite.Queue).
	Queue *promconfig.QueueConfig
	// Compression is the preferred body encoding; snappy when empty.
	Compression remote.Encoding
	// ExternalLabels are added to every series that lacks them.
	ExternalLabels labels.Labels
	Log            *wal.Log
	Metrics        *Metrics
	Logger         *slog.Logger
	// TenantHeader is the header a tenant is sent in; X-Scope-OrgID when
	// empty. TenantLabel, when set, takes each series' tenant from that
	// label instead of from the tenant the data was received for.
	TenantHeader string
	TenantLabel  string
	// RetryOnHTTP429 retries requests answered with 429 (honouring
	// Retry-After); otherwise their data is dropped and counted, as in
	// Prometheus' default.
	RetryOnHTTP429 bool
	// Client replaces the HTTP client built from Config, for tests.
	Client *http.Client
	// resizeInterval overrides how often lanes are resized, for tests.
	resizeInterval time.Duration
}

// settings are the queue settings a Sender runs with.
type settings struct {
	minLanes          int
	maxLanes          int
	capacity          int
	maxSamplesPerSend int
	batchDeadline     time.Duration
	minBackoff        time.Duration
	maxBackoff        time.Duration
	sampleAgeLimit    time.Duration
	sendExemplars     bool
	sendHistograms    bool
	sendMetadata      bool
	metadataInterval  time.Duration
	metadataPerSend   int
	resizeInterval    time.Duration
}

// Sender delivers the log to one destination. See the package doc.
type Sender struct {
	name   string
	url    string
	cfg    settings
	logger *slog.Logger
	m      *destMetrics
	all    *Metrics
	client *client
	r      *wal.Reader
	dec    *record.Decoder

	tenantLabel string
	tracker     *tracker
	lanes       []*lane
	router      *router
	load        load
	families    familyTable

	mu       sync.Mutex
	msg      remote.Message
	enc      remote.Encoding
	lastErr  error
	lastErrT time.Time
	logged   time.Time // last time a rejection was logged

	sent, failed, retried atomic.Int64

	readCancel context.CancelFunc
	sendCancel context.CancelFunc
	readDone   chan struct{}
	lanesDone  sync.WaitGroup
}

// New opens the destination's cursor and prepares a Sender; Start runs it.
func New(opts Options) (*Sender, error) {
	cfg := opts.Config
	if cfg == nil || cfg.URL == nil {
		return nil, errors.New("sender: remote_write config without url")
	}
	q := cfg.QueueConfig
	if opts.Queue != nil {
		q = *opts.Queue
	}
	st := settings{
		minLanes:          max(q.MinShards, 1),
		capacity:          max(q.Capacity, q.MaxSamplesPerSend),
		maxSamplesPerSend: max(q.MaxSamplesPerSend, 1),
		batchDeadline:     time.Duration(q.BatchSendDeadline),
		minBackoff:        time.Duration(q.MinBackoff),
		maxBackoff:        time.Duration(q.MaxBackoff),
		sampleAgeLimit:    time.Duration(q.SampleAgeLimit),
		sendExemplars:     cfg.SendExemplars,
		sendHistograms:    cfg.SendNativeHistograms,
		sendMetadata:      cfg.MetadataConfig.Send,
		metadataInterval:  time.Duration(cfg.MetadataConfig.SendInterval),
		metadataPerSend:   cfg.MetadataConfig.MaxSamplesPerSend,
	}
	st.maxLanes = max(q.MaxShards, st.minLanes)
	st.resizeInterval = opts.resizeInterval
	if st.resizeInterval <= 0 {
		st.resizeInterval = defaultResizeInterval
	}
	if st.metadataInterval <= 0 {
		st.metadataInterval = time.Minute
	}
	if st.metadataPerSend <= 0 {
		st.metadataPerSend = 500
	}
	if st.batchDeadline <= 0 {
		st.batchDeadline = 5 * time.Second
	}
	hc := opts.Client
	if hc == nil {
		var err error
		hc, err = newHTTPClient(opts.Name, cfg)
		if err != nil {
			return nil, fmt.Errorf("sender %q: HTTP client: %w", opts.Name, err)
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	msg := remote.MessageV1
	if cfg.ProtobufMessage == "io.prometheus.write.v2.Request" {
		msg = remote.MessageV2
	}
	enc := opts.Compression
	if enc == "" {
		enc = remote.EncodingSnappy
	}
	r, err := opts.Log.OpenCursor(opts.Name)
	if err != nil {
		return nil, fmt.Errorf("sender %q: %w", opts.Name, err)
	}
	url := cfg.URL.String()
	// shown names the destination in logs, metrics and the UI: the URL
	// with any password hidden, as none of them may show a secret.
	shown := cfg.URL.Redacted()
	s := &Sender{
		name: opts.Name, url: shown, cfg: st,
		logger:      logger.With("remote_name", opts.Name, "url", shown),
		m:           opts.Metrics.forDest(opts.Name, shown, st.minLanes, st.maxLanes, st.maxSamplesPerSend),
		all:         opts.Metrics,
		client:      &client{http: hc, url: url, headers: cfg.Headers, timeout: time.Duration(cfg.RemoteTimeout), now: time.Now, retry429: opts.RetryOnHTTP429, tenantHeader: opts.TenantHeader},
		tenantLabel: opts.TenantLabel,
		r:           r,
		dec:         record.NewDecoder(newTransform(opts.ExternalLabels, cfg.WriteRelabelConfigs)),
		msg:         msg, enc: enc,
		readDone: make(chan struct{}),
	}
	if s.client.timeout <= 0 {
		s.client.timeout = 30 * time.Second
	}
	if s.client.tenantHeader == "" {
		s.client.tenantHeader = "X-Scope-OrgID"
	}
	if st.sendMetadata {
		s.dec.OnMetadata = s.families.note
	}
	// Capacity is per active lane, as Prometheus' is per shard.
	s.tracker = newTracker(r, st.capacity*st.minLanes, func(t int64) {
		s.m.highestSent.Set(float64(t) / 1000)
	})
	s.tracker.onWait = func(d time.Duration) { s.load.waitNanos.Add(int64(d)) }
	s.router = newRouter(st.minLanes)
	for i := 0; i < st.maxLanes; i++ {
		s.lanes = append(s.lanes, newLane(s))
	}
	return s, nil
}

// Name returns the destination's name.
func (s *Sender) Name() string { return s.name }

// Start begins delivery in the background.
func (s *Sender) Start() {
	readCtx, readCancel := context.WithCancel(context.Background())
	sendCtx, sendCancel := context.WithCancel(context.Background())
	s.readCancel, s.sendCancel = readCancel, sendCancel
	for _, l := range s.lanes {
		s.lanesDone.Add(1)
		go func(l *lane) {
			defer s.lanesDone.Done()
			l.run(sendCtx)
		}(l)
	}
	go s.readLoop(readCtx)
	if s.cfg.maxLanes > s.cfg.minLanes {
		s.lanesDone.Add(1)
		go func() {
			defer s.lanesDone.Done()
			s.controlConcurrency(readCtx)
		}()
	}
	if s.cfg.sendMetadata {
		s.lanesDone.Add(1)
		go func() {
			defer s.lanesDone.Done()
			s.metadataLoop(readCtx)
		}()
	}
}

// Stop stops reading the log, gives the lanes up to timeout to send what
// they hold, then abandons the rest (it stays in the log) and persists the
// cursor.
func (s *Sender) Stop(timeout time.Duration) {
	s.readCancel()
	s.tracker.close()
	<-s.readDone
	done := make(chan struct{})
	go func() { s.lanesDone.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		s.logger.Warn("Destination did not acknowledge pending data before shutdown; it stays in the log")
		s.sendCancel()
		<-done
	}
	s.sendCancel()
	s.r.Close()
}

// Forget removes the destination's metrics; call after Stop when the
// destination was removed from the configuration.
func (s *Sender) Forget() { s.all.forget(s.name, s.url) }

// readLoop reads records and hands their samples to the lanes.
func (s *Sender) readLoop(ctx context.Context) {
	defer close(s.readDone)
	defer func() {
		for _, l := range s.lanes {
			close(l.in)
		}
	}()
	var b record.Batch
	bo := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	for {
		rec, err := s.r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, wal.ErrClosed) {
				return
			}
			s.logger.Error("Reading the log failed; retrying", "err", err)
			if sleep(ctx, bo.next()) != nil {
				return
			}
			continue
		}
		bo.reset()
		if rec.Replay {
			s.dec.Decode(rec, nil)
			continue
		}
		b.Reset()
		if err := s.dec.Decode(rec, &b); err != nil {
			s.m.undecodable.Add(float64(rec.Count))
			s.logger.Warn("Skipping undecodable log record", "pos", rec.Pos, "samples", rec.Count, "err", err)
			if _, err := s.tracker.add(ctx, rec.End, rec.Time, 0, 0); err != nil {
				return
			}
			continue
		}
		if b.Dropped > 0 {
			s.m.droppedRelabel.Add(float64(b.Dropped))
		}
		if d := filterByConfig(b.Series, s.cfg.sendExemplars, s.cfg.sendHistograms); d.any() {
			s.m.dropped(d, "disabled_by_config")
		}
		pieces := s.split(&b)
		n := 0
		for _, p := range pieces {
			n += p.n
		}
		f, err := s.tracker.add(ctx, rec.End, rec.Time, len(pieces), n)
		if err != nil {
			return
		}
		s.m.pending.Set(float64(s.tracker.inFlight()))
		for _, p := range pieces {
			p.f = f
			select {
			case s.lanes[p.lane].in <- p:
				continue
			default:
			}
			// The lane's queue is full: the reader is ahead of the
			// lanes, which is backlog just as waiting for capacity is.
			start := time.Now()
			select {
			case s.lanes[p.lane].in <- p:
				s.load.waitNanos.Add(int64(time.Since(start)))
			case <-ctx.Done():
				return
			}
		}
	}
}

// split copies a decoded record into pieces of at most max_samples_per_send
// samples and routes them. A scrape record goes to its stream's lane and
// stays whole when it fits, so one scrape is one request; a received batch
// is split by series so each series keeps its own lane. Either way a series
// always travels through one lane while it has data in flight. Series of
// different tenants never share a piece.
func (s *Sender) split(b *record.Batch) []*piece {
	if p := s.whole(b); p != nil {
		return []*piece{p}
	}
	limit := s.cfg.maxSamplesPerSend
	type key struct {
		lane   int
		tenant string
	}
	var pieces []*piece
	// The open piece of each lane and tenant. Consecutive series mostly
	// share both, so the last one is checked before the map.
	var open map[key]*piece
	var last *piece
	var lastKey key
	var tl tenantLookup
	for i := range b.Series {
		ser := &b.Series[i]
		if len(ser.Samples)+len(ser.Histograms)+len(ser.Exemplars) == 0 {
			continue
		}
		tenant := b.Tenant
		if s.tenantLabel != "" {
			tenant = tl.value(ser, s.tenantLabel)
		}
		var slot, ln int
		if b.Stream != 0 {
			slot = slotOfStream(b.Stream)
		} else {
			slot = slotOfSeries(b.Hashes[i])
		}
		k := key{tenant: tenant}
		if b.Stream != 0 {
			k.lane = -1 // one stream, one lane: assigned once per piece
		} else {
			ln = s.router.assign(slot)
			k.lane = ln
		}
		cur := last
		if cur == nil || k != lastKey {
			cur = open[k]
		}
		if cur == nil || cur.n+len(ser.Samples)+len(ser.Histograms) > limit && cur.n > 0 {
			cur = newPiece(ln, tenant)
			if b.Stream != 0 {
				cur.lane = s.router.assign(slot)
				cur.slots = append(cur.slots, uint16(slot))
			}
			if open == nil {
				open = map[key]*piece{}
			}
			open[k] = cur
			pieces = append(pieces, cur)
		}
		last, lastKey = cur, k
		if b.Stream == 0 {
			cur.slots = append(cur.slots, uint16(slot))
		}
		if b.Stream == 0 {
			cur.addHashed(ser, b.Hashes[i], true)
		} else {
			cur.add(ser, false) // a lane hashes a scrape's series if it needs to; its names stay with the decoder
		}
	}
	return pieces
}

// whole returns a record as one piece that takes over the decoded
// batch's memory instead of copying it, or nil when the record must be
// split. It does when every series goes to one lane: a scrape record's
// all do (their stream's slot), a received batch's do when the slots of
// its series all map to the same lane, as they do while the destination
// runs one. What piece.add would do to each series is then already true
// of it: its samples and label value ids (and a received batch's
// histograms, exemplars and label name ids) live in the batch's arena,
// each series' slices of it capped, and a
// scrape record's histograms and exemplars in memory the decoder
// allocated for that record alone. Records over max_samples_per_send,
// records with a series without data (split skips those) and
// destinations that split by a tenant label take the copying path.
func (s *Sender) whole(b *record.Batch) *piece {
	if s.tenantLabel != "" || len(b.Series) == 0 {
		return nil
	}
	n := 0
	for i := range b.Series {
		ser := &b.Series[i]
		if len(ser.Samples)+len(ser.Histograms)+len(ser.Exemplars) == 0 {
			return nil
		}
		n += weight(ser)
	}
	if n > s.cfg.maxSamplesPerSend {
		return nil
	}
	p := newPiece(0, b.Tenant)
	if b.Stream != 0 {
		slot := slotOfStream(b.Stream)
		p.lane = s.router.assign(slot)
		p.slots = append(p.slots, uint16(slot))
	} else {
		for _, h := range b.Hashes {
			p.slots = append(p.slots, uint16(slotOfSeries(h)))
		}
		var same bool
		if p.lane, same = s.router.assignAll(p.slots); !same {
			// The batch spans lanes: give the slots back and split it.
			s.router.release(p.slots)
			p.recycle()
			return nil
		}
	}
	p.series, p.hashes = b.Take(p.series, p.hashes, &p.mem)
	p.n = n
	return p
}

// tenantLookup finds a series' tenant label, remembering the label name's id
// per dictionary so series with ids need no string comparison.
type tenantLookup struct {
	dict *remote.Dict
	id   uint32
	ok   bool
}

func (t *tenantLookup) value(s *remote.Series, name string) string {
	if s.Dict == nil || !s.Labels.IsEmpty() {
		return s.LabelSet().Get(name)
	}
	if t.dict != s.Dict {
		t.dict = s.Dict
		t.id, t.ok = s.Dict.Lookup(name)
	}
	if !t.ok {
		return ""
	}
	v, _ := s.DictValue(t.id)
	return v
}

// add copies one series into the piece; the batch's memory is reused.
// Samples go to the piece's arena, capped so that a lane appending to a
// series it merges never writes into a neighbour's samples. Label value
// ids live in the batch too and are copied; label name ids are copied for
// a received batch's series (copyNames), while a stream's live with the
// decoder's shapes, which keep them for the segment.
// A piece's series either all have their hash (addHashed) or none does.
func (p *piece) add(s *remote.Series, copyNames bool) {
	c := *s
	from := len(p.samples)
	p.samples = append(p.samples, s.Samples...)
	c.Samples = p.samples[from:len(p.samples):len(p.samples)]
	if s.Dict != nil {
		from := len(p.refs)
		if copyNames {
			p.refs = append(p.refs, s.Names...)
			c.Names = p.refs[from:len(p.refs):len(p.refs)]
			from = len(p.refs)
		}
		p.refs = append(p.refs, s.Values...)
		c.Values = p.refs[from:len(p.refs):len(p.refs)]
	}
	c.Histograms = append([]remote.Histogram(nil), s.Histograms...)
	c.Exemplars = append([]remote.Exemplar(nil), s.Exemplars...)
	p.series = append(p.series, c)
	p.n += weight(s)
}

// addHashed is add for a series whose hash is known: a received batch's,
// which are routed by it.
func (p *piece) addHashed(s *remote.Series, h uint64, copyNames bool) {
	p.add(s, copyNames)
	p.hashes = append(p.hashes, h)
}

// weight is what a series counts for against max_samples_per_send: its
// samples and histograms, or one for an exemplar-only series, which still
// has to be sent.
func weight(s *remote.Series) int {
	if n := len(s.Samples) + len(s.Histograms); n > 0 {
		return n
	}
	return 1
}

// protocol returns the message and encoding to send with now.
func (s *Sender) protocol() (remote.Message, remote.Encoding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msg, s.enc
}

// fallBack handles a destination refusing a format: zstd falls back to
// snappy, then RW2 to RW1. The choice sticks. It reports whether there was
// anything left to fall back to.
func (s *Sender) fallBack(msg remote.Message, enc remote.Encoding, why error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.msg != msg || s.enc != enc {
		return true // another lane already fell back
	}
	switch {
	case enc == remote.EncodingZstd:
		s.enc = remote.EncodingSnappy
	case msg == remote.MessageV2:
		s.msg = remote.MessageV1
	default:
		return false
	}
	s.logger.Warn("Destination refused the request format; falling back", "from_message", msg, "from_encoding", enc,
		"to_message", s.msg, "to_encoding", s.enc, "reason", why)
	return true
}

// delivered accounts for an acknowledged request carrying c. An RW2
// receiver that reports writing less than it was sent counts the
// difference as failed: a partial write is never silent.
func (s *Sender) delivered(c remote.Counts, a attempt, msg remote.Message) {
	s.m.reqOK.Inc()
	w := c
	if msg == remote.MessageV2 && a.hasWritten {
		w = remote.Counts{Samples: min(c.Samples, a.written.Samples), Histograms: min(c.Histograms, a.written.Histograms), Exemplars: min(c.Exemplars, a.written.Exemplars)}
		if lost := (c.Samples - w.Samples) + (c.Histograms - w.Histograms); lost > 0 {
			s.m.samplesFailed.Add(float64(lost))
			s.failed.Add(int64(lost))
			s.noteErr(fmt.Errorf("destination wrote %d of %d samples and %d of %d histograms", w.Samples, c.Samples, w.Histograms, c.Histograms))
		}
	}
	s.m.samplesTotal.Add(float64(w.Samples))
	s.m.histogramsTotal.Add(float64(w.Histograms))
	s.m.exemplarsTotal.Add(float64(w.Exemplars))
	s.sent.Add(int64(w.Samples + w.Histograms))
}

func (s *Sender) rejected(n int, err error) {
	s.m.reqRejected.Inc()
	s.m.samplesFailed.Add(float64(n))
	s.failed.Add(int64(n))
	s.noteErr(err)
	s.mu.Lock()
	logIt := time.Since(s.logged) > 10*time.Second
	if logIt {
		s.logged = time.Now()
	}
	s.mu.Unlock()
	if logIt {
		s.logger.Error("Destination rejected samples; they are dropped", "samples", n, "err", err)
	}
}

func (s *Sender) retrying(n int, err error) {
	s.m.reqRetry.Inc()
	s.m.samplesRetried.Add(float64(n))
	s.retried.Add(int64(n))
	s.noteErr(err)
	s.logger.Debug("Retrying request", "samples", n, "err", err)
}

func (s *Sender) noteErr(err error) {
	s.mu.Lock()
	s.lastErr, s.lastErrT = err, time.Now()
	s.mu.Unlock()
}

// Status describes a Sender for display.
type Status struct {
	Name, URL       string
	Message         remote.Message
	Encoding        remote.Encoding
	Lanes           int // lanes in use now
	MaxLanes        int
	Sent            int64
	Failed          int64
	Retried         int64
	Pending         int
	LastError       string
	LastErrorTime   time.Time
	MaxSamplesBatch int
}

// Status returns the Sender's current state.
func (s *Sender) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Name: s.name, URL: s.url, Message: s.msg, Encoding: s.enc, Lanes: s.router.activeLanes(), MaxLanes: len(s.lanes),
		Sent: s.sent.Load(), Failed: s.failed.Load(), Retried: s.retried.Load(),
		Pending: s.tracker.inFlight(), LastErrorTime: s.lastErrT, MaxSamplesBatch: s.cfg.maxSamplesPerSend,
	}
	if s.lastErr != nil {
		st.LastError = s.lastErr.Error()
	}
	return st
}
