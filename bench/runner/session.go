package runner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferrymetrics/ferry/bench/loadgen"
	"github.com/ferrymetrics/ferry/bench/receiver"
)

// session is one agent under load: the counting receiver, the load (load
// generator or senders), the agent process (restarted in place if a
// scenario kills it) and a sampler reading its /proc files every second.
type session struct {
	o       *Options
	log     *slog.Logger
	dir     string
	recv    *receiver.Receiver
	recvSrv *http.Server
	recvURL string
	gen     *loadgen.Generator // nil in the relay scenario

	cfg     agentConfig
	cfgFile string
	dataDir string
	logFile string
	listen  string

	mu      sync.Mutex
	agent   *agentProc
	killing bool       // the current agent is being killed on purpose
	prior   procSample // CPU and bytes written by agents that have exited; HWM their highest
	last    procSample // latest reading of the running agent
	ready   time.Time  // when the first agent became ready
	rss     []rssPoint
	loadMax float64
	died    error // set if the agent exited on its own

	// bg ends the session's goroutines (sampler, churn watcher) on close.
	bg       context.Context
	cancelBG context.CancelFunc
	wg       sync.WaitGroup
}

// newSession creates dir and starts the counting receiver.
func newSession(o *Options, dir string) (*session, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &session{o: o, log: o.Logger, dir: dir, recv: receiver.New(),
		cfgFile: filepath.Join(dir, "agent.yml"), dataDir: filepath.Join(dir, "data"), logFile: filepath.Join(dir, "agent.log")}
	s.bg, s.cancelBG = context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.recvURL = "http://" + ln.Addr().String() + "/api/v1/write"
	s.recvSrv = &http.Server{Handler: s.recv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.recvSrv.Serve(ln) }()
	return s, nil
}

// startTargets starts the load generator and writes its targets for the
// agent's file discovery; with churn, it rewrites them on every change.
func (s *session) startTargets(cfg loadgen.Config) error {
	g, err := loadgen.Start(cfg)
	if err != nil {
		return err
	}
	s.gen = g
	s.cfg.TargetsFile = filepath.Join(s.dir, "targets.json")
	if err := loadgen.WriteFileSD(s.cfg.TargetsFile, g.Targets()); err != nil {
		return err
	}
	if cfg.ChurnFraction > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.bg.Done():
					return
				case <-g.Changed():
					if err := loadgen.WriteFileSD(s.cfg.TargetsFile, g.Targets()); err != nil {
						s.log.Error("rewrite targets", "err", err)
					}
				}
			}
		}()
	}
	return nil
}

// startAgent writes the configuration, starts the agent, waits until it is
// ready and starts the sampler.
func (s *session) startAgent(ctx context.Context) error {
	if err := os.WriteFile(s.cfgFile, []byte(s.cfg.render()), 0o644); err != nil {
		return err
	}
	if err := s.launch(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.ready = time.Now()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.sampleLoop()
	return nil
}

// launch starts one agent process on a fresh port and waits for it.
func (s *session) launch(ctx context.Context) error {
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	p, err := startAgent(s.o.Agent, s.cfgFile, s.dataDir, listen, s.recvURL, s.logFile)
	if err != nil {
		return err
	}
	if err := p.waitReady(ctx, s.o.Agent.ReadyPath, time.Minute); err != nil {
		p.kill()
		return fmt.Errorf("%w (agent log: %s)", err, s.logFile)
	}
	s.mu.Lock()
	s.agent, s.listen, s.killing = p, listen, false
	s.mu.Unlock()
	return nil
}

// restartAgent kills the agent with SIGKILL, as a crash would, and starts
// it again on the same storage. It returns how long the new process took
// to become ready.
func (s *session) restartAgent(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	s.killing = true
	p := s.agent
	s.mu.Unlock()
	u := p.kill()
	s.addExited(u)
	t0 := time.Now()
	err := s.launch(ctx)
	return time.Since(t0), err
}

// addExited adds an exited agent's usage to prior.
func (s *session) addExited(u procSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prior.CPUSeconds += u.CPUSeconds
	s.prior.WriteBytes += u.WriteBytes
	s.prior.HWM = max(s.prior.HWM, u.HWM)
	s.last = procSample{}
}

// health returns an error if the agent died on its own.
func (s *session) health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.died
}

// stopAgent shuts the agent down and returns the whole session's agent
// usage: CPU and bytes written summed over every process, the highest HWM.
func (s *session) stopAgent() (procSample, error) {
	s.mu.Lock()
	p := s.agent
	s.killing = true // an exit from now on is expected
	s.mu.Unlock()
	var err error
	if p != nil {
		var u procSample
		u, err = p.stop(30 * time.Second)
		s.addExited(u)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prior, err
}

// close stops everything the session started and removes its directory
// unless Keep.
func (s *session) close() {
	s.mu.Lock()
	p := s.agent
	s.killing = true
	s.mu.Unlock()
	if p != nil && !p.exited() {
		p.kill()
	}
	s.cancelBG()
	s.wg.Wait()
	if s.gen != nil {
		_ = s.gen.Close()
	}
	_ = s.recvSrv.Close()
	if !s.o.Keep {
		_ = os.RemoveAll(s.dir)
	}
}

// sleepUntil waits until t, returning early with an error if ctx ends or
// the agent dies.
func (s *session) sleepUntil(ctx context.Context, t time.Time) error {
	for {
		if err := s.health(); err != nil {
			return err
		}
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(d, time.Second)):
		}
	}
}

// waitDelivered polls until the receiver holds want payload samples or the
// timeout passes, and returns how long that took (-1 on timeout).
func (s *session) waitDelivered(ctx context.Context, want int64, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	deadline := t0.Add(timeout)
	for {
		if s.recv.Counters().PayloadSamples >= want {
			return time.Since(t0), nil
		}
		if time.Now().After(deadline) {
			return -1, nil
		}
		if err := s.health(); err != nil {
			return -1, err
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// dirSize returns the total size of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// fileSize returns a file's size, 0 if it does not exist.
func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}
