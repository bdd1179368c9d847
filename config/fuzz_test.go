package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
	"go.yaml.in/yaml/v3"
)

// FuzzLoad checks that Load never panics, that its errors point at lines that
// exist, that whatever it accepts can be rendered, and that on input without ferry's keywords it agrees with
// Prometheus' agent-mode loader. The seed corpus is every YAML file in
// testdata; testdata/fuzz/FuzzLoad keeps inputs found by earlier campaigns.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yml", "testdata/*/*.yml"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, text []byte) {
		// scrape_config_files makes the loader glob and read any path
		// (/dev/zero included); that is Prometheus' code and not what is
		// being fuzzed here.
		if bytes.Contains(text, []byte("scrape_config_files")) {
			t.Skip()
		}
		cfg, err := Load(text, "fuzz", logger)
		if err != nil {
			// Every line an error points at exists in the file, or is just
			// past its end (where the YAML scanner reports a premature end).
			lines := len(splitLines(text))
			for _, m := range lineRef.FindAllStringSubmatch(err.Error(), -1) {
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines+1 {
					t.Fatalf("error points at line %d of a %d-line file: %v", n, lines, err)
				}
			}
		}
		if err == nil {
			if len(cfg.RemoteWrite) != len(cfg.Prometheus.RemoteWriteConfigs) {
				t.Fatalf("%d remote_write entries for %d Prometheus configs", len(cfg.RemoteWrite), len(cfg.Prometheus.RemoteWriteConfigs))
			}
			if _, err := cfg.Redacted(); err != nil {
				t.Fatalf("accepted config does not render: %v", err)
			}
		}

		if mentionsExtensions(text) {
			if err == nil {
				checkBlankingAgainstTreeEdit(t, text, cfg, logger)
			}
			return
		}
		want, wantErr := prometheusLoad(text, logger)
		if wantErr == nil {
			if _, _, err := loadPrometheus(text, "fuzz", logger); err != nil {
				wantErr = err // refused in agent mode
			}
		}
		var dup *duplicateIDError
		switch {
		case wantErr == nil && err != nil && !errors.As(err, &dup):
			t.Fatalf("Prometheus accepts it, ferry refuses it: %v", err)
		case wantErr != nil && err == nil:
			t.Fatalf("Prometheus refuses it (%v), ferry accepts it", wantErr)
		case wantErr == nil && err == nil:
			want.SetDirectory("fuzz")
			if !reflect.DeepEqual(cfg.Prometheus, want) {
				t.Fatalf("loaded values differ from Prometheus'")
			}
		}
	})
}

// lineRef matches a line reference where errors put one: at the start of the
// message or of one of its lines, or after a "context: " prefix; not inside
// quoted input.
var lineRef = regexp.MustCompile(`(?m)(?:^\s*|: )line (\d+):`)

// checkBlankingAgainstTreeEdit checks the loader's text blanking against an
// independent way of removing ferry's extensions: deleting them from the
// YAML tree and rendering the rest. Prometheus must read both the same.
func checkBlankingAgainstTreeEdit(t *testing.T, text []byte, cfg *Config, logger *slog.Logger) {
	var root yaml.Node
	if yaml.Unmarshal(text, &root) != nil {
		return
	}
	top := documentMapping(&root)
	if top == nil {
		return // nothing to delete
	}
	top.Content = deleteKeys(top.Content, func(k string) bool { return k == ferryKey })
	if _, rw := mappingEntry(top, "remote_write"); rw != nil && rw.Kind == yaml.SequenceNode {
		for _, it := range rw.Content {
			if it.Kind == yaml.MappingNode {
				it.Content = deleteKeys(it.Content, func(k string) bool { return lookupExtension(k) != nil })
			}
		}
	}
	edited, err := yaml.Marshal(&root)
	if err != nil {
		return
	}
	want, err := prometheusLoad(edited, logger)
	if err != nil {
		t.Fatalf("ferry accepts the file, Prometheus refuses it without the extensions: %v\n%s", err, edited)
	}
	want.SetDirectory("fuzz")
	if !reflect.DeepEqual(cfg.Prometheus, want) {
		t.Fatalf("blanking and deleting the extensions give different configs:\n%s\n--- vs\n%s", cfg.Prometheus, want)
	}
}

func deleteKeys(pairs []*yaml.Node, drop func(string) bool) []*yaml.Node {
	var kept []*yaml.Node
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i].Kind != yaml.ScalarNode || !drop(pairs[i].Value) {
			kept = append(kept, pairs[i], pairs[i+1])
		}
	}
	return kept
}

// prometheusLoad is Prometheus' Load with its crashes turned into errors.
func prometheusLoad(text []byte, logger *slog.Logger) (cfg *promconfig.Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return promconfig.Load(string(text), logger)
}

// mentionsExtensions reports whether text contains any word that the loader
// treats specially.
func mentionsExtensions(text []byte) bool {
	if bytes.Contains(text, []byte(ferryKey)) {
		return true
	}
	for _, x := range remoteWriteExtensions {
		if bytes.Contains(text, []byte(x.key)) {
			return true
		}
	}
	return false
}
