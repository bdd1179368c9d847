package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// AgentSpec says how to run the agent under test. The default runs ferry;
// another Prometheus-compatible agent can be measured with the same load by
// giving its binary and arguments.
type AgentSpec struct {
	// Binary is the agent's executable. Empty means: build ferry from the
	// module this runner belongs to.
	Binary string
	// Args are its arguments; {config}, {data}, {listen} and {write_url}
	// are replaced by the configuration file, the storage directory, the
	// host:port of its HTTP endpoints and the counting receiver's URL
	// (for agents that take their destination from a flag).
	Args []string
	// ReadyPath is polled on {listen} until it answers 200.
	ReadyPath string
	// PlainConfig writes a configuration without ferry's extensions (the
	// `ferry:` section and `compression` in remote_write), for agents
	// that refuse unknown keys.
	PlainConfig bool
}

// FerryArgs are the arguments ferry runs with.
var FerryArgs = []string{
	"--config.file={config}", "--storage.agent.path={data}",
	"--web.listen-address={listen}", "--web.enable-pprof",
}

// agentProc is one running agent process.
type agentProc struct {
	cmd    *exec.Cmd
	pid    int
	listen string // host:port of its HTTP endpoints
	done   chan struct{}
	err    error // from Wait, valid once done is closed
}

// startAgent starts the agent with its output appended to logPath.
func startAgent(spec AgentSpec, config, data, listen, writeURL, logPath string) (*agentProc, error) {
	args := make([]string, len(spec.Args))
	r := strings.NewReplacer("{config}", config, "{data}", data, "{listen}", listen, "{write_url}", writeURL)
	for i, a := range spec.Args {
		args[i] = r.Replace(a)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the runner dies, the agent must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Binary, err)
	}
	p := &agentProc{cmd: cmd, pid: cmd.Process.Pid, listen: listen, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *agentProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls path until it answers 200, the process exits, or timeout.
func (p *agentProc) waitReady(ctx context.Context, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + p.listen + path
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("agent exited before it was ready: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("agent not ready on %s after %v", url, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sample reads the running process's resource use from /proc.
func (p *agentProc) sample() (procSample, error) { return readProc(p.pid) }

// kill ends the process with SIGKILL and returns its resource use, read
// from the kernel's accounting of the dead process.
func (p *agentProc) kill() procSample {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	return p.usage()
}

// stop asks the process to shut down (SIGTERM), kills it after timeout,
// and returns its resource use.
func (p *agentProc) stop(timeout time.Duration) (procSample, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return p.usage(), fmt.Errorf("agent did not stop within %v of SIGTERM; killed", timeout)
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		return p.usage(), p.err
	}
	return p.usage(), nil
}

// usage returns a finished process's CPU time, peak RSS and bytes written
// from its rusage: ru_oublock counts the same write_bytes as /proc/PID/io,
// in 512-byte units.
func (p *agentProc) usage() procSample {
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return procSample{}
	}
	return procSample{
		CPUSeconds: float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9,
		HWM:        ru.Maxrss * 1024,
		WriteBytes: ru.Oublock * 512,
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago, for an agent to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
