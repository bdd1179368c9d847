package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var binary string

// TestMain builds the ferry binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ferry")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		panic("build ferry: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func ferry(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return o.String(), e.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return o.String(), e.String(), 0
}

const goodConfig = `
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["localhost:9100"]
remote_write:
  - url: http://localhost:9201/api/v1/write
`

func TestBadConfigGivesAClearErrorAndExitCode1(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"unknown field", goodConfig + "not_a_field: 1\n", "line 10: field not_a_field not found"},
		{"bad url", strings.Replace(goodConfig, "http://localhost:9201/api/v1/write", "::not a url", 1), "line 9: parse"},
		{"bad regex", goodConfig + "    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: \"(unclosed\"\n        action: drop\n", "line 12: error parsing regexp"},
		{"duplicate job", strings.Replace(goodConfig, "remote_write:", "  - job_name: node\nremote_write:", 1), `multiple scrape configs with job name "node"`},
		{"bad ferry field", goodConfig + "ferry:\n  storage:\n    max_sise: 1GiB\n", "line 12: field max_sise not found in ferry.storage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "ferry.yml")
			require.NoError(t, os.WriteFile(file, []byte(c.body), 0o644))
			_, stderr, code := ferry(t, "check", "config", file)
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, c.want)
			require.NotContains(t, stderr, "panic")

			_, stderr, code = ferry(t, "--config.file="+file, "--storage.agent.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:0")
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, c.want)
		})
	}
}

func TestCheckConfigAcceptsAValidFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ferry.yml")
	require.NoError(t, os.WriteFile(file, []byte(goodConfig), 0o644))
	stdout, stderr, code := ferry(t, "check", "config", file)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "SUCCESS")
	stdout, _, code = ferry(t, "check", "config", "../../examples/quickstart.yml")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "1 scrape configs, 1 remote_write destinations")
}

func TestVersionAndHelp(t *testing.T) {
	stdout, _, code := ferry(t, "version")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "ferry, version")
	stdout, stderr, code := ferry(t, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, stdout+stderr, "check config")
	_, stderr, code = ferry(t, "--no-such-flag")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "unknown long flag")
}
