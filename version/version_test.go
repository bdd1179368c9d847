package version

import (
	"strings"
	"testing"
)

func TestUserAgentNamesFerryAndItsVersion(t *testing.T) {
	ua := UserAgent()
	if ua != "ferry/"+String() || strings.TrimPrefix(ua, "ferry/") == "" {
		t.Fatalf("User-Agent %q, version %q", ua, String())
	}
}

// BenchmarkUserAgent is on the path of every scrape and remote-write request.
func BenchmarkUserAgent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if UserAgent() == "" {
			b.Fatal("empty")
		}
	}
}
