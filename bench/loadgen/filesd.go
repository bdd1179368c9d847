package loadgen

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// WriteFileSD writes addrs as a Prometheus file_sd file: one target group
// without labels. It writes a temporary file and renames it over path, so
// a scraper watching path never reads half a file.
func WriteFileSD(path string, addrs []string) error {
	groups := []map[string]any{}
	if len(addrs) > 0 {
		groups = append(groups, map[string]any{"targets": addrs, "labels": map[string]string{}})
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
