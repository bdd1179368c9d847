package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

// ErrClosed is returned by operations on a closed log.
var ErrClosed = errors.New("log closed")

// Options configure a Log. The zero value of a field means its default.
type Options struct {
	// FS is the file system; default vfs.OS.
	FS vfs.FS
	// SegmentSize closes a segment once it holds this many bytes; default 128 MiB.
	SegmentSize int64
	// SegmentMaxAge closes a segment once its first record is this old, so
	// age-based deletion and acknowledged-data deletion happen in time;
	// default 1h.
	SegmentMaxAge time.Duration
	// MaxSize bounds the total size of the log; 0 means unlimited.
	MaxSize int64
	// MaxAge deletes segments whose newest record is older; 0 means unlimited.
	MaxAge time.Duration
	// FsyncInterval is how often written data is synced; 0 syncs after every
	// append. Negative is replaced by the default of 1s.
	FsyncInterval time.Duration
	// CursorSyncInterval is the longest a committed cursor position stays
	// in memory only before it is written and synced to its cursor file;
	// default 1s. Positions are also persisted at every periodic data
	// sync, when a segment is closed, and by Reader.Close and Close. Each
	// write dirties and syncs a page of the cursor file: at 100ms, a
	// destination's position cost about as many disk bytes as the data.
	CursorSyncInterval time.Duration
	// DisableCompression stores payloads as given instead of compressing
	// them with zstd.
	DisableCompression bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives the log's messages; default slog.Default().
	Logger *slog.Logger
	// Registerer registers the log's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.FS == nil {
		o.FS = vfs.OS
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = 128 << 20
	}
	if o.SegmentMaxAge <= 0 {
		o.SegmentMaxAge = time.Hour
	}
	if o.FsyncInterval < 0 {
		o.FsyncInterval = time.Second
	}
	if o.CursorSyncInterval <= 0 {
		o.CursorSyncInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Log is the durable, segmented, multi-cursor record log. It is safe for
// concurrent use: any number of goroutines may append, and each cursor has
// its own Reader.
type Log struct {
	segDir, curDir string
	opts           Options
	fs             vfs.FS
	log            *slog.Logger
	m              *metrics
	zenc           *zstd.Encoder
	zdec           *zstd.Decoder
	// maintenanceWakeups counts the maintenance loop's wake-ups; a test
	// checks that duties sharing an interval share them.
	maintenanceWakeups atomic.Int64

	mu           sync.Mutex
	segs         []*segment // oldest first; the last one is the active segment
	active       vfs.File
	activeBroken bool // a failed write could not be undone: roll before the next append
	// rolled holds the still open files of segments closed since the last
	// sync. Their tails and trailers reach the disk with the next Sync, so
	// that closing a segment never waits for an fsync while holding mu.
	rolled   []rolledSegment
	dirDirty bool          // a segment was created since the segment directory was last synced
	notify   chan struct{} // closed and replaced after every append and roll
	cursors  map[string]*cursor
	corrupt  map[Pos]struct{} // bad frames already counted
	closed   bool
	wbuf     []byte
	recent   recentRecords // the last ReadSoon records' payloads

	// persistMu serialises cursor file writes (the maintenance loop,
	// Reader.Close and Close all persist) and cursor removal. Lock order:
	// persistMu before mu.
	persistMu sync.Mutex

	// syncMu serialises syncs (group commit) and Close. Lock order:
	// syncMu before mu.
	syncMu       sync.Mutex
	synced       Pos           // guarded by syncMu: everything before it is on stable storage
	rolledSynced atomic.Uint64 // closed segments up to this sequence number are on stable storage

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// Open opens the log in dir, creating it if needed, and recovers it after a
// crash: torn tails are cut, unreadable segments skipped, and cursors that
// point at data that no longer exists moved to the next data that does.
// Appends always go to a new segment.
func Open(dir string, opts Options) (*Log, error) {
	opts.setDefaults()
	l := &Log{
		segDir:  filepath.Join(dir, "segments"),
		curDir:  filepath.Join(dir, "cursors"),
		opts:    opts,
		fs:      opts.FS,
		log:     opts.Logger,
		m:       newMetrics(opts.Registerer),
		notify:  make(chan struct{}),
		cursors: map[string]*cursor{},
		corrupt: map[Pos]struct{}{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	for _, d := range []string{l.segDir, l.curDir} {
		if err := l.fs.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create log directory: %w", err)
		}
	}
	var err error
	if l.zenc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true),
		// Records are one scrape or one request, each compressed alone,
		// and what repeats in a record repeats close by: SpeedFastest's
		// default 4 MiB window would keep about 4 MiB of history per
		// encoder state for nothing.
		// 64 KiB (192 KiB of history per encoder state) writes the same
		// bytes as 512 KiB did (640 KiB per state) in BenchmarkStreamDisk
		// and BenchmarkAppendReceived; 8 KiB writes 0.2% more.
		zstd.WithWindowSize(64<<10), zstd.WithNoEntropyCompression(true)); err != nil {
		return nil, err
	}
	if l.zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxRecordSize)); err != nil {
		return nil, err
	}
	if err := l.recoverSegments(); err != nil {
		return nil, err
	}
	if err := l.loadCursors(); err != nil {
		return nil, err
	}
	if err := l.startSegment(); err != nil {
		return nil, err
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(statsCollector{l})
	}
	l.wg.Add(1)
	go l.maintain()
	return l, nil
}

// recoverSegments loads every segment file, cutting the torn tail of the
// newest and sealing it.
func (l *Log) recoverSegments() error {
	entries, err := l.fs.ReadDir(l.segDir)
	if err != nil {
		return fmt.Errorf("list segments: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && !e.IsDir() {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	seqs = l.dropTornCreation(seqs)
	for i, seq := range seqs {
		last := i == len(seqs)-1
		s, rec, err := openSegment(l.fs, filepath.Join(l.segDir, segmentName(seq)), seq, last)
		if err != nil {
			return err
		}
		if rec.damaged {
			l.m.corrupt.Inc()
			l.log.Error("Log segment has an unreadable header; skipping it", "segment", seq)
		}
		if rec.corruptRegions > 0 {
			l.m.corrupt.Add(float64(rec.corruptRegions))
			l.log.Warn("Log segment has corrupt records; they will be skipped", "segment", seq, "regions", rec.corruptRegions)
		}
		if rec.truncatedBytes > 0 {
			l.m.truncated.Add(float64(rec.truncatedBytes))
			l.log.Warn("Cut torn tail of log segment after unclean shutdown", "segment", seq, "bytes", rec.truncatedBytes)
		}
		if last && !s.damaged && !s.sealed {
			l.seal(s)
		}
		l.segs = append(l.segs, s)
	}
	return nil
}

// dropTornCreation removes the newest segment file when a crash interrupted
// its creation before its header was complete. Such a file holds no record,
// so removing it loses nothing; kept, it would be skipped as damaged and
// counted as corruption on every start.
func (l *Log) dropTornCreation(seqs []uint64) []uint64 {
	if len(seqs) == 0 {
		return seqs
	}
	seq := seqs[len(seqs)-1]
	path := filepath.Join(l.segDir, segmentName(seq))
	f, err := l.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return seqs // openSegment reports it
	}
	st, err := f.Stat()
	hdr := make([]byte, segmentHeaderSize)
	n, _ := f.ReadAt(hdr, 0)
	f.Close()
	if err != nil || st.Size() > segmentHeaderSize {
		return seqs
	}
	if herr := checkSegmentHeader(hdr[:n], seq); herr == nil || errors.Is(herr, ErrNewerFormat) {
		return seqs
	}
	if err := l.fs.Remove(path); err != nil {
		l.log.Warn("Could not remove a segment whose creation a crash interrupted", "segment", seq, "err", err)
		return seqs
	}
	l.m.truncated.Add(float64(st.Size()))
	l.log.Warn("Removed a segment whose creation a crash interrupted; it held no records", "segment", seq, "bytes", st.Size())
	return seqs[:len(seqs)-1]
}

// seal writes the trailer of a segment that will not be appended to again.
// A segment that cannot be sealed stays readable; Open then scans it.
func (l *Log) seal(s *segment) {
	f, err := l.fs.OpenFile(s.path, os.O_RDWR, 0)
	if err == nil {
		err = l.writeTrailer(f, s)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		l.log.Warn("Could not seal log segment; it will be scanned on the next start", "segment", s.seq, "err", err)
	}
	s.sealed = true
}

// writeTrailer writes the seal trailer after the segment's last frame. It
// does not sync: the caller syncs the file before relying on it.
func (l *Log) writeTrailer(f vfs.File, s *segment) error {
	off := s.size.Load()
	t := trailer{records: s.records, count: s.count, firstTime: s.firstTime, lastTime: s.lastTime, offset: off}
	if _, err := f.WriteAt(t.frame(), off); err != nil {
		f.Truncate(off)
		return err
	}
	s.size.Store(off + trailerSize)
	return nil
}

// startSegment creates the segment new appends go to.
func (l *Log) startSegment() error {
	seq := uint64(1)
	if n := len(l.segs); n > 0 {
		seq = l.segs[n-1].seq + 1
	}
	f, s, err := createSegment(l.fs, l.segDir, seq, l.opts.Now().UnixMilli(), true)
	if err != nil {
		return err
	}
	l.rolledSynced.Store(seq - 1)
	l.segs = append(l.segs, s)
	l.active = f
	return nil
}

func (l *Log) activeSegment() *segment { return l.segs[len(l.segs)-1] }

// segment returns the segment with the given sequence number, or nil.
// Callers hold l.mu.
func (l *Log) segment(seq uint64) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].seq >= seq })
	if i < len(l.segs) && l.segs[i].seq == seq {
		return l.segs[i]
	}
	return nil
}

// segmentAfter returns the oldest segment with a sequence number above seq,
// or nil. Callers hold l.mu.
func (l *Log) segmentAfter(seq uint64) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].seq > seq })
	if i < len(l.segs) {
		return l.segs[i]
	}
	return nil
}

// Close persists every cursor, seals the active segment and releases the
// log's files. Readers blocked in Next return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	l.wg.Wait()

	l.persistCursors()
	// Wait for a sync in progress: it may be using the active file.
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, r := range l.rolled {
		if err := r.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync segment %d: %w", r.seq, err))
		}
		errs = append(errs, r.f.Close())
	}
	l.rolled = nil
	s := l.activeSegment()
	if !l.activeBroken {
		if err := l.writeTrailer(l.active, s); err != nil {
			errs = append(errs, fmt.Errorf("seal segment %d: %w", s.seq, err))
		}
	}
	if err := l.active.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("sync segment %d: %w", s.seq, err))
	}
	if l.dirDirty {
		if err := l.fs.SyncDir(l.segDir); err != nil {
			errs = append(errs, fmt.Errorf("sync segment directory: %w", err))
		}
	}
	s.sealed = true
	errs = append(errs, l.active.Close())
	for _, c := range l.cursors {
		errs = append(errs, c.file.close())
	}
	l.zenc.Close()
	l.zdec.Close()
	return errors.Join(errs...)
}

// wakeMaintenance asks the maintenance loop to run now.
func (l *Log) wakeMaintenance() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// maintain syncs data on the fsync policy, persists committed cursor
// positions, and deletes segments that are no longer needed or over a limit.
func (l *Log) maintain() {
	defer l.wg.Done()
	// The loop sleeps until its next duty is due instead of waking on a
	// short tick: every wake-up of an idle agent costs context switches.
	// The duties' clocks start together and only move on their own
	// schedule (an early sync for a closed segment, or a collection for
	// the size limit, does not move them), and a duty that falls due
	// within dutySlop of another runs with it, so duties that share an
	// interval cost one wake-up per interval.
	start := l.opts.Now()
	lastSync, lastCursors, lastCollect := start, start, start
	due := func(now, last time.Time, every time.Duration) bool {
		return now.Sub(last) >= every-dutySlop(every)
	}
	t := time.NewTimer(l.untilNextDuty(start, lastSync, lastCursors, lastCollect))
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		case <-l.wake:
		}
		l.maintenanceWakeups.Add(1)
		now := l.opts.Now()
		// A closed segment is synced at once rather than at the next
		// interval, which also bounds the files kept open for it.
		if fi := l.opts.FsyncInterval; fi > 0 {
			periodic := due(now, lastSync, fi)
			if periodic {
				lastSync = now
			}
			if periodic || l.hasRolled() {
				if err := l.syncActive(); err != nil {
					l.log.Error("Periodic sync of the log failed", "err", err)
				}
			}
		}
		if due(now, lastCursors, l.opts.CursorSyncInterval) {
			lastCursors = now
			l.persistCursors()
		}
		periodic := due(now, lastCollect, collectInterval)
		if periodic {
			lastCollect = now
		}
		if periodic || l.overLimit() {
			l.collect(now)
		}
		t.Reset(l.untilNextDuty(now, lastSync, lastCursors, lastCollect))
	}
}

// dutySlop is how early a duty of the maintenance loop may run: a
// sixteenth of its interval, so that duties a wake-up's latency apart
// still run together.
func dutySlop(every time.Duration) time.Duration { return every / 16 }

// collectInterval is how often the log looks for segments to delete.
const collectInterval = time.Second

// untilNextDuty is how long the maintenance loop may sleep after now: until
// the first of its duties is due, at least a millisecond, and never longer
// than the shortest interval, whatever the last times say.
func (l *Log) untilNextDuty(now, lastSync, lastCursors, lastCollect time.Time) time.Duration {
	shortest := min(l.opts.CursorSyncInterval, collectInterval)
	d := min(l.opts.CursorSyncInterval-now.Sub(lastCursors), collectInterval-now.Sub(lastCollect))
	if fi := l.opts.FsyncInterval; fi > 0 {
		shortest = min(shortest, fi)
		d = min(d, fi-now.Sub(lastSync))
	}
	return max(min(d, shortest), time.Millisecond)
}

// hasRolled reports whether a closed segment waits for its sync.
func (l *Log) hasRolled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.rolled) > 0
}

// syncActive syncs everything written so far.
func (l *Log) syncActive() error {
	l.mu.Lock()
	s := l.activeSegment()
	end := Pos{Segment: s.seq, Offset: s.size.Load()}
	l.mu.Unlock()
	return l.Sync(end)
}
