package config

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	promconfig "github.com/prometheus/prometheus/config"
)

// loadLikePrometheus is what `prometheus --agent` does with a file.
func loadLikePrometheus(t *testing.T, path string) (*promconfig.Config, []*promconfig.ScrapeConfig) {
	t.Helper()
	cfg, err := promconfig.LoadFile(path, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Prometheus' loader: %v", err)
	}
	scrape, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatalf("Prometheus' loader: %v", err)
	}
	return cfg, scrape
}

func mustLoadFile(t *testing.T, path string) *Config {
	t.Helper()
	cfg, err := LoadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustLoad(t *testing.T, text string) *Config {
	t.Helper()
	cfg, err := Load([]byte(text), "", nil)
	if err != nil {
		t.Fatalf("%v\n--- input:\n%s", err, text)
	}
	return cfg
}

func TestPrometheusAgentConfigLoadsUnchanged(t *testing.T) {
	const path = "testdata/agent.yml"
	want, wantScrape := loadLikePrometheus(t, path)
	got := mustLoadFile(t, path)

	if !reflect.DeepEqual(got.Prometheus, want) {
		t.Errorf("Prometheus part differs from Prometheus' own LoadFile:\n got: %s\nwant: %s", got.Prometheus, want)
	}
	if !reflect.DeepEqual(got.Scrape, wantScrape) {
		t.Errorf("scrape configs differ from Prometheus' GetScrapeConfigs")
	}
	if len(got.RemoteWrite) != len(want.RemoteWriteConfigs) {
		t.Fatalf("got %d remote_write entries, want %d", len(got.RemoteWrite), len(want.RemoteWriteConfigs))
	}
	for i, rw := range got.RemoteWrite {
		if rw.RemoteWriteConfig != got.Prometheus.RemoteWriteConfigs[i] {
			t.Errorf("remote_write %d does not share its Prometheus config", i)
		}
		if rw.Compression != CompressionSnappy {
			t.Errorf("remote_write %d: compression %q, want the default %q", i, rw.Compression, CompressionSnappy)
		}
	}
	if got.Storage != DefaultStorage() || !reflect.DeepEqual(got.Receiver, DefaultReceiver()) {
		t.Errorf("ferry settings are not the defaults: %+v %+v", got.Storage, got.Receiver)
	}
	src, _ := os.ReadFile(path)
	if !bytes.Equal(got.Source, src) {
		t.Error("Source is not the file's bytes")
	}
}

func TestExtensionsLeaveThePrometheusPartAsPrometheusReadsIt(t *testing.T) {
	want, wantScrape := loadLikePrometheus(t, "testdata/agent.yml")
	got := mustLoadFile(t, "testdata/ferry.yml")

	if !reflect.DeepEqual(got.Prometheus, want) {
		t.Errorf("Prometheus part differs:\n got: %s\nwant: %s", got.Prometheus, want)
	}
	if !reflect.DeepEqual(got.Scrape, wantScrape) {
		t.Errorf("scrape configs differ")
	}

	wantStorage := Storage{
		MaxSize:       20 << 30,
		MaxAge:        Duration(72 * time.Hour),
		SegmentSize:   256 << 20,
		SegmentMaxAge: Duration(30 * time.Minute),
		FsyncInterval: 0,
	}
	if got.Storage != wantStorage {
		t.Errorf("storage = %+v, want %+v", got.Storage, wantStorage)
	}
	wantReceiver := Receiver{
		Enabled:               true,
		Mode:                  ReceiverInspect,
		AcceptedMessages:      []remoteapi.WriteMessageType{remoteapi.WriteV2MessageType},
		MaxBodySize:           8 << 20,
		MaxDecodedSize:        64 << 20,
		MaxConcurrentRequests: 4,
		BearerTokenFile:       filepath.Join("testdata", "secrets", "receiver-token"),
	}
	if !reflect.DeepEqual(got.Receiver, wantReceiver) {
		t.Errorf("receiver = %+v, want %+v", got.Receiver, wantReceiver)
	}
	if tok, err := got.Receiver.BearerToken(); err != nil || tok != "s3cret-token" {
		t.Errorf("BearerToken() = %q, %v; want the file's content without the line break", tok, err)
	}
	if c := []string{got.RemoteWrite[0].Compression, got.RemoteWrite[1].Compression}; !slices.Equal(c, []string{"zstd", "snappy"}) {
		t.Errorf("compression = %v, want [zstd snappy]", c)
	}
}

// TestErrorsPointAtTheLine loads each file in testdata/errors. The first line
// of each reads "# want: line N: text": the error must name the file, point
// at line N and contain the text.
func TestErrorsPointAtTheLine(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error fixtures: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yml"), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := bufio.NewReader(f).ReadString('\n')
			f.Close()
			want, ok := strings.CutPrefix(strings.TrimSpace(first), "# want: ")
			if !ok {
				t.Fatalf("first line must be `# want: line N: text`, got %q", first)
			}

			_, err = LoadFile(path, nil)
			if err == nil {
				t.Fatalf("loaded without error, want %q", want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `load config file "`+path+`": `) {
				t.Errorf("error does not name the file: %q", msg)
			}
			lineNo, text, _ := strings.Cut(want, ": ")
			if !strings.Contains(msg, lineNo+":") || !strings.Contains(msg, text) {
				t.Errorf("error\n  %q\ndoes not contain %q and %q", msg, lineNo+":", text)
			}
		})
	}
}

// base is a small agent config; the position tests put extensions around it.
const (
	baseGlobal = "global:\n  scrape_interval: 15s\n"
	baseScrape = "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [localhost:9100]\n"
	baseFerry  = "ferry:\n  storage:\n    max_age: 2d\n  receiver:\n    enabled: true\n"
)

func TestFerrySectionAtAnyPosition(t *testing.T) {
	plain := mustLoad(t, baseGlobal+baseScrape)
	for _, tc := range []struct{ name, text string }{
		{"first", baseFerry + baseGlobal + baseScrape},
		{"middle", baseGlobal + baseFerry + baseScrape},
		{"last", baseGlobal + baseScrape + baseFerry},
		{"last without final newline", baseGlobal + baseScrape + strings.TrimSuffix(baseFerry, "\n")},
		{"with comments and blank lines", baseGlobal + "\n# ferry settings\n" + baseFerry + "  # trailing comment\n\n" + baseScrape},
		{"flow style value", baseGlobal + "ferry: {storage: {max_age: 2d},\n  receiver: {enabled: true}}\n" + baseScrape},
		{"windows line endings", strings.ReplaceAll(baseGlobal+baseFerry+baseScrape, "\n", "\r\n")},
		{"indented top-level mapping", indent(baseGlobal + baseFerry + baseScrape)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, tc.text)
			if !reflect.DeepEqual(got.Prometheus, plain.Prometheus) {
				t.Errorf("Prometheus part changed:\n got: %s\nwant: %s", got.Prometheus, plain.Prometheus)
			}
			if got.Storage.MaxAge != Duration(48*time.Hour) || !got.Receiver.Enabled {
				t.Errorf("ferry section not applied: %+v %+v", got.Storage, got.Receiver)
			}
		})
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

func TestCompressionKeyAtAnyPosition(t *testing.T) {
	plain := mustLoad(t, "remote_write:\n  - url: http://a/push\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n")
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"first key of the first entry",
			"remote_write:\n  - compression: zstd\n    url: http://a/push\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n",
			[]string{"zstd", "snappy"}},
		{"middle key",
			"remote_write:\n  - url: http://a/push\n    compression: zstd\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n",
			[]string{"zstd", "snappy"}},
		{"last key of the last entry",
			"remote_write:\n  - url: http://a/push\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n    compression: zstd\n",
			[]string{"snappy", "zstd"}},
		{"last line without newline",
			"remote_write:\n  - url: http://a/push\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n    compression: zstd",
			[]string{"snappy", "zstd"}},
		{"first key, dash on its own line",
			"remote_write:\n  -\n    compression: zstd\n    url: http://a/push\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n",
			[]string{"zstd", "snappy"}},
		{"unindented list, quoted, with comment",
			"remote_write:\n- compression: \"zstd\" # try zstd first\n  url: http://a/push\n  name: a\n  remote_timeout: 5s\n- url: http://b/push\n  'compression': 'snappy'\n",
			[]string{"zstd", "snappy"}},
		{"empty value means the default",
			"remote_write:\n  - url: http://a/push\n    compression:\n    name: a\n    remote_timeout: 5s\n  - url: http://b/push\n    compression: null\n",
			[]string{"snappy", "snappy"}},
		{"after the ferry section",
			baseFerry + "remote_write:\n  - url: http://a/push\n    name: a\n    compression: zstd\n    remote_timeout: 5s\n  - compression: zstd\n    url: http://b/push\n",
			[]string{"zstd", "zstd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, tc.text)
			if !reflect.DeepEqual(got.Prometheus.RemoteWriteConfigs, plain.Prometheus.RemoteWriteConfigs) {
				t.Errorf("Prometheus part changed:\n got: %s\nwant: %s", got.Prometheus, plain.Prometheus)
			}
			var c []string
			for _, rw := range got.RemoteWrite {
				c = append(c, rw.Compression)
			}
			if !slices.Equal(c, tc.want) {
				t.Errorf("compression = %v, want %v", c, tc.want)
			}
		})
	}
}

func TestDefaultsWhenTheFerrySectionIsAbsentOrEmpty(t *testing.T) {
	wantStorage := Storage{
		MaxSize:       10 << 30,
		MaxAge:        Duration(7 * 24 * time.Hour),
		SegmentSize:   128 << 20,
		SegmentMaxAge: Duration(time.Hour),
		FsyncInterval: Duration(time.Second),
	}
	wantReceiver := Receiver{
		Enabled:               false,
		Mode:                  ReceiverRelay,
		AcceptedMessages:      []remoteapi.WriteMessageType{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"},
		MaxBodySize:           32 << 20,
		MaxDecodedSize:        128 << 20,
		MaxConcurrentRequests: 16,
	}
	for _, tc := range []struct{ name, text string }{
		{"empty file", ""},
		{"no ferry section", baseScrape},
		{"null section", "ferry:\n" + baseScrape},
		{"empty mapping", "ferry: {}\n" + baseScrape},
		{"empty subsections", baseScrape + "ferry:\n  storage:\n  receiver: {}\n"},
		{"null fields", "ferry:\n  storage:\n    max_size:\n  receiver:\n    accepted_messages:\n"},
		{"comments only", baseScrape + "ferry:\n  # nothing set yet\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, tc.text)
			if got.Storage != wantStorage {
				t.Errorf("storage = %+v, want %+v", got.Storage, wantStorage)
			}
			if !reflect.DeepEqual(got.Receiver, wantReceiver) {
				t.Errorf("receiver = %+v, want %+v", got.Receiver, wantReceiver)
			}
		})
	}

	// The defaults handed out must not alias the package's.
	a := mustLoad(t, "")
	a.Receiver.AcceptedMessages[0] = "changed"
	if b := mustLoad(t, ""); b.Receiver.AcceptedMessages[0] != remoteapi.WriteV1MessageType {
		t.Error("changing one Config's receiver changed the defaults")
	}
}

func TestScrapeConfigFilesResolveAgainstTheConfigDir(t *testing.T) {
	got := mustLoadFile(t, "testdata/scrape_files/main.yml")
	var jobs []string
	for _, sc := range got.Scrape {
		jobs = append(jobs, sc.JobName)
	}
	if want := []string{"main", "app-a", "app-b"}; !slices.Equal(jobs, want) {
		t.Fatalf("jobs = %v, want %v", jobs, want)
	}
	// Globals apply to scrape configs from other files too.
	if iv := time.Duration(got.Scrape[1].ScrapeInterval); iv != 20*time.Second {
		t.Errorf("app-a interval = %v, want the global 20s", iv)
	}
	_, wantScrape := loadLikePrometheus(t, "testdata/scrape_files/main.yml")
	if len(wantScrape) != len(got.Scrape) || !reflect.DeepEqual(got.Scrape[1:], wantScrape[1:]) {
		t.Error("scrape configs from scrape_config_files differ from Prometheus'")
	}
}

func TestRemoteWriteIDIsStableAcrossSettingsButNotURLs(t *testing.T) {
	id := func(entry string) string {
		t.Helper()
		return mustLoad(t, "remote_write:\n  - "+strings.ReplaceAll(entry, "\n", "\n    ")+"\n").RemoteWrite[0].ID
	}
	base := id("url: https://mimir.example.com/api/v1/push")
	if !strings.HasPrefix(base, "mimir.example.com-api-v1-push-") {
		t.Errorf("derived ID %q does not read like its URL", base)
	}

	for _, same := range []string{
		"url: https://mimir.example.com/api/v1/push\nqueue_config:\n  max_shards: 7\n  capacity: 100",
		"url: https://mimir.example.com/api/v1/push\nheaders:\n  X-Scope-OrgID: t1",
		"url: https://mimir.example.com/api/v1/push\nbasic_auth:\n  username: u\n  password: p",
		"url: https://user:secret@mimir.example.com/api/v1/push",
		"url: https://mimir.example.com/api/v1/push\ncompression: zstd\nprotobuf_message: io.prometheus.write.v2.Request",
	} {
		if got := id(same); got != base {
			t.Errorf("ID changed to %q for\n%s", got, same)
		}
	}
	seen := map[string]string{base: "base"}
	for _, other := range []string{
		"url: https://mimir.example.com/api/v1/push?tenant=b",
		"url: https://mimir.example.com:8443/api/v1/push",
		"url: http://mimir.example.com/api/v1/push",
		"url: https://mimir.example.com/api/v2/push",
		"url: https://cortex.example.com/api/v1/push",
	} {
		got := id(other)
		if prev, dup := seen[got]; dup {
			t.Errorf("%q has the same ID %q as %s", other, got, prev)
		}
		seen[got] = other
	}
	if got := id("url: https://mimir.example.com/api/v1/push\nname: prod/eu"); got != "prod/eu" {
		t.Errorf("named entry has ID %q, want its name", got)
	}
	if got := id("url: https://[::1]:9090/" + strings.Repeat("x", 200)); len(got) > 80 || !strings.HasPrefix(got, "1-9090-xxx") {
		t.Errorf("long URL gives ID %q", got)
	}
}

func TestRemoteWriteWithTheSameIDIsRefusedUntilNamed(t *testing.T) {
	const twice = "remote_write:\n  - url: http://a/push\n  - url: http://a/push\n    queue_config: {max_shards: 2}\n"
	_, err := Load([]byte(twice), "", nil)
	var dup *duplicateIDError
	if !errors.As(err, &dup) || !strings.Contains(err.Error(), "line 3:") || !strings.Contains(err.Error(), "name") {
		t.Fatalf("err = %v, want a duplicate ID error at line 3 that suggests names", err)
	}
	named := mustLoad(t, "remote_write:\n  - url: http://a/push\n    name: one\n  - url: http://a/push\n    name: two\n")
	if named.RemoteWrite[0].ID != "one" || named.RemoteWrite[1].ID != "two" {
		t.Errorf("IDs = %q, %q", named.RemoteWrite[0].ID, named.RemoteWrite[1].ID)
	}
	// A name equal to another entry's derived ID collides too.
	derived := mustLoad(t, "remote_write:\n  - url: http://a/push\n").RemoteWrite[0].ID
	_, err = Load([]byte("remote_write:\n  - url: http://a/push\n  - url: http://b/push\n    name: "+derived+"\n"), "", nil)
	if !errors.As(err, &dup) {
		t.Errorf("err = %v, want a duplicate ID error", err)
	}
}

func TestRedactedShowsEffectiveConfigWithoutSecrets(t *testing.T) {
	t.Setenv("GOGC", "")
	cfg := mustLoadFile(t, "testdata/ferry.yml")
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hunter2") {
		t.Error("the remote_write password is shown")
	}
	for _, want := range []string{
		"password: <secret>",
		"compression: zstd",
		"compression: snappy",
		"ferry:\n  storage:\n    max_size: 20GiB\n    max_age: 3d\n",
		"mode: inspect",
		"max_concurrent_requests: 4",
		"bearer_token_file: testdata/secrets/receiver-token",
		"max_shards: 30",              // a Prometheus setting
		"scrape_timeout: 10s",         // a Prometheus default
		"max_samples_per_send: 2000",  // metadata_config default
		"max_samples_per_send: 10000", // ferry's queue_config default
		"capacity: 20000",
		"retry_on_http_429: true",
		"runtime:\n  gogc: " + strconv.Itoa(DefaultGoGC) + " # ferry's start: adapted", // ferry's default, not Prometheus'
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, out)
		}
	}

	// What is shown loads again, with the same ferry settings.
	again, err := Load([]byte(out), "", nil)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
	if again.Storage != cfg.Storage || !reflect.DeepEqual(again.Receiver, cfg.Receiver) {
		t.Errorf("ferry settings changed in the round trip: %+v %+v", again.Storage, again.Receiver)
	}
	for i := range cfg.RemoteWrite {
		if again.GoGC != cfg.GoGC {
			t.Errorf("runtime.gogc changed in the round trip: %d, was %d", again.GoGC, cfg.GoGC)
		}
		if again.RemoteWrite[i].Compression != cfg.RemoteWrite[i].Compression || again.RemoteWrite[i].ID != cfg.RemoteWrite[i].ID ||
			again.RemoteWrite[i].Queue != cfg.RemoteWrite[i].Queue || again.RemoteWrite[i].RetryOnHTTP429 != cfg.RemoteWrite[i].RetryOnHTTP429 {
			t.Errorf("remote_write %d changed in the round trip", i)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, err := LoadFile("testdata/does-not-exist.yml", nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "does-not-exist.yml") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestEmptyAgentSectionsAreAcceptedAsInPrometheus(t *testing.T) {
	mustLoad(t, "rule_files: []\nalerting: {}\nremote_read: []\n")
}

func TestRetryOnHTTP429DefaultsToRetryUnlessWrittenFalse(t *testing.T) {
	cfg, err := Load([]byte(`
remote_write:
  - url: http://a/api/v1/write
  - url: http://b/api/v1/write
    queue_config:
      retry_on_http_429: false
  - url: http://c/api/v1/write
    queue_config:
      retry_on_http_429: true
      max_shards: 5
`), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{cfg.RemoteWrite[0].RetryOnHTTP429, cfg.RemoteWrite[1].RetryOnHTTP429, cfg.RemoteWrite[2].RetryOnHTTP429}
	if got[0] != true || got[1] != false || got[2] != true {
		t.Fatalf("RetryOnHTTP429 = %v, want [true false true]", got)
	}
}

func TestQueueDefaultsApplyOnlyToSettingsTheFileLeavesOut(t *testing.T) {
	cfg, err := Load([]byte(`
remote_write:
  - url: http://a/api/v1/write
  - url: http://b/api/v1/write
    queue_config:
      max_samples_per_send: 2000
  - url: http://c/api/v1/write
    queue_config:
      capacity: 5000
  - url: http://d/api/v1/write
    queue_config: &q
      max_samples_per_send: 500
      capacity: 700
  - url: http://e/api/v1/write
    queue_config: *q
`), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{DefaultMaxSamplesPerSend, 2 * DefaultMaxSamplesPerSend}, {2000, 10000}, {DefaultMaxSamplesPerSend, 5000}, {500, 700}, {500, 700}}
	checkQueues(t, cfg, want)
}

func TestQueueSettingsWrittenThroughMergeKeysAreTheFiles(t *testing.T) {
	t.Setenv("GOGC", "")
	cfg := mustLoadFile(t, "testdata/merge-keys.yml")
	if cfg.GoGC != 130 {
		t.Errorf("GoGC = %d, want runtime.gogc 130 from a merge key", cfg.GoGC)
	}
	checkQueues(t, cfg, [][2]int{{500, 1000}, {500, 1000}, {500, 1000}, {500, 3000}})
	for i, rw := range cfg.RemoteWrite {
		if rw.RetryOnHTTP429 {
			t.Errorf("entry %d: retry_on_http_429: false, merged in, was not applied", i+1)
		}
	}
}

// checkQueues compares each remote_write entry's effective
// max_samples_per_send and capacity with want.
func checkQueues(t *testing.T, cfg *Config, want [][2]int) {
	t.Helper()
	if len(cfg.RemoteWrite) != len(want) {
		t.Fatalf("%d entries, want %d", len(cfg.RemoteWrite), len(want))
	}
	for i, rw := range cfg.RemoteWrite {
		got := [2]int{rw.Queue.MaxSamplesPerSend, rw.Queue.Capacity}
		if got != want[i] {
			t.Errorf("entry %d: max_samples_per_send, capacity = %v, want %v", i+1, got, want[i])
		}
		// The Prometheus part still reads as Prometheus reads the file.
		if p := rw.QueueConfig; rw.Queue.MaxSamplesPerSend == DefaultMaxSamplesPerSend && p.MaxSamplesPerSend == DefaultMaxSamplesPerSend {
			t.Errorf("entry %d: Prometheus' queue_config changed to ferry's default", i+1)
		}
	}
}

func TestGoGCFromFileThenEnvironmentThenFerryDefault(t *testing.T) {
	for _, c := range []struct {
		file, env string
		want      int
		set       bool // chosen by the file or the environment, not adapted
	}{
		{"", "", DefaultGoGC, false},
		{"runtime:\n  gogc: 120\n", "", 120, true},
		{"runtime:\n  gogc: 120\n", "30", 120, true},
		{"", "30", 30, true},
		{"", "off", -1, true},
		{"", "plenty", DefaultGoGC, false},
		{"runtime: {}\n", "", DefaultGoGC, false},
	} {
		t.Setenv("GOGC", c.env)
		cfg := mustLoad(t, c.file)
		if cfg.GoGC != c.want || cfg.GoGCSet != c.set {
			t.Errorf("file %q, GOGC=%q: GoGC = %d (set %v), want %d (set %v)", c.file, c.env, cfg.GoGC, cfg.GoGCSet, c.want, c.set)
		}
	}
}

func TestTenantExtensions(t *testing.T) {
	cfg, err := Load([]byte(`
remote_write:
  - url: http://a/api/v1/write
  - url: http://b/api/v1/write
    tenant_header: X-Tenant
    tenant_label: team
`), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.RemoteWrite[0], cfg.RemoteWrite[1]
	if a.TenantHeader != "X-Scope-OrgID" || a.TenantLabel != "" || b.TenantHeader != "X-Tenant" || b.TenantLabel != "team" {
		t.Fatalf("got %q/%q and %q/%q", a.TenantHeader, a.TenantLabel, b.TenantHeader, b.TenantLabel)
	}
	for _, bad := range []string{"tenant_header: Content-Type", "tenant_header: \"bad header\"", "tenant_label: \"\""} {
		if _, err := Load([]byte("remote_write:\n  - url: http://a/api/v1/write\n    "+bad+"\n"), ".", nil); err == nil {
			t.Errorf("%s: expected an error", bad)
		} else if !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%s: error without the line: %v", bad, err)
		}
	}
}
