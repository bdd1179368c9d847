package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestSplitLinesCountsLinesAsTheYAMLScannerDoes(t *testing.T) {
	// Every kind of line break the scanner knows, once each.
	text := "a: 1\nb: 2\r\nc: 3\rd: 4\u0085e: 5\u2028f: 6\u2029g: 7"
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		t.Fatal(err)
	}
	lines := splitLines([]byte(text))
	top := documentMapping(&root)
	if top == nil || len(top.Content) != 14 {
		t.Fatalf("unexpected tree for %q", text)
	}
	for i := 0; i < len(top.Content); i += 2 {
		k := top.Content[i]
		if k.Line > len(lines) || !strings.HasPrefix(string(lines[k.Line-1].text), k.Value+":") {
			t.Errorf("key %q is on YAML line %d, but splitLines has %q there", k.Value, k.Line, lines[min(k.Line, len(lines))-1].text)
		}
	}

	// Blanking keeps the line breaks as they were.
	l, err := findLayout([]byte("ferry:\r\n  storage: {}\r\nglobal: {}\r\n"), parse(t, "ferry:\r\n  storage: {}\r\nglobal: {}\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(l.prometheusText()); got != "\r\n\r\nglobal: {}\r\n" {
		t.Errorf("prometheusText = %q", got)
	}
	if got := string(l.ferryText()); got != "ferry:\r\n  storage: {}\r\n\r\n" {
		t.Errorf("ferryText = %q", got)
	}
}

func parse(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestExtensionKeyIsCutFromItsColumnToTheEndOfTheLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"remote_write:\n- compression: zstd\n  url: x\n", "remote_write:\n- \n  url: x\n"},
		{"remote_write:\n  - url: x\n    compression: zstd # c\n", "remote_write:\n  - url: x\n    \n"},
		{"remote_write:\n  - - x\n  - url: x\n    \"compression\": 'zstd'\n", "remote_write:\n  - - x\n  - url: x\n    \n"},
		// Columns count characters, not bytes.
		{"remote_write:\n- url: x\n  headers: {X-Ünïcode: é}\n  compression: zstd\n", "remote_write:\n- url: x\n  headers: {X-Ünïcode: é}\n  \n"},
	} {
		l, err := findLayout([]byte(tc.in), parse(t, tc.in))
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if got := string(l.prometheusText()); got != tc.want {
			t.Errorf("prometheusText(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		err  string
	}{
		{"0", 0, ""},
		{"1048576", 1 << 20, ""},
		{"1KB", 1024, ""},
		{"1KiB", 1024, ""},
		{"128MiB", 128 << 20, ""},
		{"128MB", 128 << 20, ""},
		{"10GiB", 10 << 30, ""},
		{"2TB", 2 << 40, ""},
		{"1GiB512MiB", 1<<30 + 512<<20, ""},
		{"1.5KiB", 1536, ""},
		{"0B", 0, ""},
		{"", 0, "empty"},
		{"-1", 0, "negative"},
		{"-1GiB", 0, "negative"},
		{"8EiB", 0, "too large"},
		{"99999999999EiB", 0, "invalid"},
		{"1kB", 0, "invalid"},
		{"1 GiB", 0, "invalid"},
		{"GiB", 0, "invalid"},
	} {
		got, err := ParseByteSize(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseByteSize(%q) = %d, %v; want an error about %q", tc.in, got, err, tc.err)
		}
	}
	for _, b := range []ByteSize{0, 1, 1023, 1 << 20, 10 << 30, 1<<30 + 1} {
		if back, err := ParseByteSize(b.String()); err != nil || back != b {
			t.Errorf("%d renders as %q, which parses as %d, %v", b, b, back, err)
		}
	}
}

func TestDurationUsesPrometheusSyntax(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"1s", time.Second},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"7d", 7 * 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
	} {
		var d Duration
		if err := yaml.Unmarshal([]byte("v: "+tc.in), &struct {
			V *Duration `yaml:"v"`
		}{&d}); err != nil || time.Duration(d) != tc.want {
			t.Errorf("%q = %v, %v; want %v", tc.in, time.Duration(d), err, tc.want)
		}
	}
	for _, bad := range []string{"1 hour", "-1s", "1.5h", "[1s]"} {
		var d Duration
		err := yaml.Unmarshal([]byte("\nv: "+bad), &struct {
			V *Duration `yaml:"v"`
		}{&d})
		if err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
			t.Errorf("%q: err = %v, want an error at line 2", bad, err)
		}
	}
}
