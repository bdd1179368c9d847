package config

import (
	"log/slog"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
)

// TestPrometheusOwnTestdataLoadsAsInPrometheus runs every configuration file
// of Prometheus' own config tests through both loaders: a file must load in
// ferry exactly when it loads in Prometheus' agent mode (with the same
// service discovery mechanisms registered), to equal values, and a refusal
// must carry Prometheus' message.
func TestPrometheusOwnTestdataLoadsAsInPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go command")
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Skipf("cannot locate Prometheus' module source: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "config", "testdata", "*.yml"))
	if len(files) == 0 {
		t.Skip("Prometheus' config testdata is not available")
	}
	logger := slog.New(slog.DiscardHandler)
	var loaded, refused int
	for _, path := range files {
		name := filepath.Base(path)
		want, wantErr := promconfig.LoadFile(path, true, logger)
		var wantScrape []*promconfig.ScrapeConfig
		if wantErr == nil {
			wantScrape, wantErr = want.GetScrapeConfigs()
		}
		got, err := LoadFile(path, logger)

		switch {
		case wantErr == nil && err == nil:
			loaded++
			if !reflect.DeepEqual(got.Prometheus, want) || !reflect.DeepEqual(got.Scrape, wantScrape) {
				t.Errorf("%s: loaded values differ from Prometheus'", name)
			}
		case wantErr != nil && err != nil:
			refused++
			msg := wantErr.Error()
			if _, rest, ok := strings.Cut(msg, path+": "); ok {
				msg = rest // Prometheus' "parsing YAML file <path>: " prefix
			}
			agentMode := strings.Contains(msg, "not allowed in agent mode") && strings.Contains(err.Error(), "ferry is an agent")
			if !agentMode && !strings.Contains(err.Error(), msg) {
				t.Errorf("%s: error\n  %s\nlacks Prometheus' message\n  %s", name, err, msg)
			}
		case wantErr == nil:
			t.Errorf("%s: Prometheus loads it, ferry refuses it: %v", name, err)
		default:
			t.Errorf("%s: Prometheus refuses it (%v), ferry loads it", name, wantErr)
		}
	}
	t.Logf("%d files load in both, %d are refused by both", loaded, refused)
}
