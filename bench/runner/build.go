package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ferryModule is the module whose cmd/ferry the runner builds.
const ferryModule = "github.com/ferrymetrics/ferry"

// prepareAgent builds ferry into dir unless spec names a binary, and
// describes the binary.
func prepareAgent(ctx context.Context, spec *AgentSpec, dir string) (Build, error) {
	var b Build
	if spec.Binary == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			return b, err
		}
		spec.Binary = filepath.Join(dir, "ferry")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", spec.Binary, "./cmd/ferry")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build ./cmd/ferry: %v\n%s", err, out)
		}
		b.Commit = strings.TrimSpace(run(ctx, root, "git", "rev-parse", "--short=12", "HEAD"))
		b.Dirty = strings.TrimSpace(run(ctx, root, "git", "status", "--porcelain", "--untracked-files=no")) != ""
	}
	b.Binary = spec.Binary
	v := run(ctx, "", spec.Binary, "--version")
	b.Version, _, _ = strings.Cut(strings.TrimSpace(v), "\n")
	return b, nil
}

// moduleRoot returns the directory of ferry's go.mod, found from the
// working directory.
func moduleRoot(ctx context.Context) (string, error) {
	gomod := strings.TrimSpace(run(ctx, "", "go", "env", "GOMOD"))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the ferry module; run from its directory or give an agent binary")
	}
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(b, []byte("module "+ferryModule+"\n")) {
		return "", fmt.Errorf("%s is not %s; run from ferry's directory or give an agent binary", gomod, ferryModule)
	}
	return filepath.Dir(gomod), nil
}

// run runs a command and returns its output, or "" if it fails.
func run(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

// machine describes this machine.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if kv, err := readKeyValues("/proc/cpuinfo", ":"); err == nil {
		m.CPUModel = kv["model name"]
	}
	if kv, err := readKeyValues("/proc/meminfo", ":"); err == nil {
		m.MemBytes = parseKB(kv["MemTotal"])
	}
	return m
}
