package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	promconfig "github.com/prometheus/prometheus/config"
	"go.yaml.in/yaml/v3"
)

// Config is a loaded and validated ferry configuration file. It is read-only:
// callers must not modify it, nor shallow-copy the Prometheus part.
type Config struct {
	// Prometheus is the file's Prometheus part as Prometheus' own loader
	// returns it, with relative paths resolved against the file's directory.
	Prometheus *promconfig.Config
	// Scrape holds the validated scrape configs: those of the file followed
	// by those of the files named in scrape_config_files.
	Scrape []*promconfig.ScrapeConfig
	// RemoteWrite has one entry per remote_write entry of the file, in file
	// order, each sharing its *promconfig.RemoteWriteConfig with Prometheus.
	RemoteWrite []RemoteWrite
	// Storage configures the durable log (ferry.storage).
	Storage Storage
	// Receiver configures the remote-write receiver (ferry.receiver).
	Receiver Receiver
	// GoGC is the garbage collector's target percentage ferry runs with:
	// runtime.gogc when the file writes it, else $GOGC when set (both as
	// in Prometheus), else DefaultGoGC.
	GoGC int
	// GoGCSet says the file or $GOGC chose GoGC. Otherwise ferry adapts
	// the target to what collections cost (package gcgoal), starting
	// from DefaultGoGC, unless --no-runtime.adaptive-gogc keeps it there.
	GoGCSet bool
	// Source is the file as read, for display.
	Source []byte
}

// DefaultGoGC is where ferry's garbage collector target starts when neither
// the file's runtime.gogc nor $GOGC sets one (Prometheus: a fixed 75): the
// agent adapts it from there (package gcgoal), or keeps it with
// --no-runtime.adaptive-gogc. docs/benchmarks.md has the measurements.
const DefaultGoGC = 50

// goGC returns the effective runtime.gogc (see Config.GoGC) and whether
// the file or the environment chose it.
func goGC(prom *promconfig.Config, written bool) (int, bool) {
	if written {
		return prom.Runtime.GoGC, true
	}
	switch v := os.Getenv("GOGC"); {
	case strings.EqualFold(v, "off"):
		return -1, true
	case v != "":
		if n, err := strconv.Atoi(v); err == nil {
			return n, true
		}
	}
	return DefaultGoGC, false
}

// LoadFile reads and loads the configuration file at path. Relative paths in
// it are resolved against the file's directory. Errors name the file and,
// where they concern one place in it, the line.
func LoadFile(path string, logger *slog.Logger) (*Config, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config file %q: %w", path, err)
	}
	cfg, err := Load(text, filepath.Dir(path), logger)
	if err != nil {
		return nil, fmt.Errorf("load config file %q: %w", path, err)
	}
	return cfg, nil
}

// Load loads a configuration from text, resolving relative paths against
// dir. The Prometheus part is parsed and validated by Prometheus' own code,
// in agent mode; ferry's extensions (the top-level `ferry:` section and the
// extension keys of remote_write entries) are taken out before and parsed
// here. A nil logger discards Prometheus' warnings.
func Load(text []byte, dir string, logger *slog.Logger) (*Config, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	// Where are the extensions? A file go.yaml.in/yaml/v3 cannot parse is
	// handed to Prometheus as it is: Prometheus decides whether it is valid,
	// and without a tree there can be no extensions to take out.
	var root yaml.Node
	rootp := &root
	if yaml.Unmarshal(text, &root) != nil {
		rootp = nil
	}
	l, err := findLayout(text, rootp)
	if err != nil {
		return nil, err
	}
	promText := text
	if l.ferryKey != nil || l.hasExtensions() {
		if bytes.HasPrefix(text, []byte{0xfe, 0xff}) || bytes.HasPrefix(text, []byte{0xff, 0xfe}) {
			return nil, errors.New("a file with ferry extensions must be UTF-8, not UTF-16")
		}
		promText = l.prometheusText()
	}

	prom, scrape, err := loadPrometheus(promText, dir, logger)
	if err != nil {
		return nil, err
	}

	var ferryText []byte
	if l.ferryKey != nil {
		ferryText = l.ferryText()
	}
	fs, err := decodeFerrySection(ferryText, l.ferryValue, dir)
	if err != nil {
		return nil, err
	}

	rw, err := buildRemoteWrite(prom.RemoteWriteConfigs, l.remoteWrite)
	if err != nil {
		return nil, err
	}

	gogc, gogcSet := goGC(prom, l.gogcSet)
	return &Config{
		Prometheus:  prom,
		Scrape:      scrape,
		RemoteWrite: rw,
		Storage:     fs.Storage,
		Receiver:    fs.Receiver,
		GoGC:        gogc,
		GoGCSet:     gogcSet,
		Source:      bytes.Clone(text),
	}, nil
}

// loadPrometheus does what Prometheus' config.LoadFile and GetScrapeConfigs
// do in agent mode, on text instead of a file, with line numbers added to
// errors. Prometheus' parser is known to crash on some input (a null
// alertmanagers item, for one); that is turned into an error.
func loadPrometheus(text []byte, dir string, logger *slog.Logger) (cfg *promconfig.Config, scrape []*promconfig.ScrapeConfig, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, scrape, err = nil, nil, crashError(p, text)
		}
	}()
	cfg, err = promconfig.Load(string(text), logger)
	if err != nil {
		return nil, nil, withLine(err, text)
	}
	// An agent evaluates no rules and queries nothing, so Prometheus refuses
	// these sections in agent mode; so does ferry. Empty ones are accepted,
	// as Prometheus accepts them.
	for _, f := range []struct {
		key string
		set bool
	}{
		{"rule_files", len(cfg.RuleFiles) > 0},
		{"alerting", len(cfg.AlertingConfig.AlertmanagerConfigs) > 0 || len(cfg.AlertingConfig.AlertRelabelConfigs) > 0},
		{"remote_read", len(cfg.RemoteReadConfigs) > 0},
	} {
		if f.set {
			return nil, nil, agentModeError(f.key, text)
		}
	}
	cfg.SetDirectory(dir)
	scrape, err = cfg.GetScrapeConfigs()
	if err != nil {
		return nil, nil, err
	}
	return cfg, scrape, nil
}

// crashError describes a panic in Prometheus' parser. Empty list items are
// the input it has been seen to crash on, so the first one is pointed at.
func crashError(p any, text []byte) error {
	err := fmt.Errorf("the Prometheus configuration parser crashed on this file (%v)", p)
	var root yaml.Node
	if yaml.Unmarshal(text, &root) == nil {
		if n := firstNullItem(&root, 0); n != nil {
			return fmt.Errorf("line %d: empty list item: %w", n.Line, err)
		}
	}
	return err
}

// firstNullItem returns the first null item of any list in the tree below n.
func firstNullItem(n *yaml.Node, depth int) *yaml.Node {
	if depth > 64 {
		return nil
	}
	for _, c := range n.Content {
		if n.Kind == yaml.SequenceNode && c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
			return c
		}
		if found := firstNullItem(c, depth+1); found != nil {
			return found
		}
	}
	return nil
}

func agentModeError(key string, text []byte) error {
	err := fmt.Errorf("%s is not supported: ferry is an agent (like Prometheus in agent mode) and has no rules, alerting or remote reads", key)
	var root yaml.Node
	if yaml.Unmarshal(text, &root) == nil {
		if k, _ := mappingEntry(documentMapping(&root), key); k != nil {
			return fmt.Errorf("line %d: %w", k.Line, err)
		}
	}
	return err
}
