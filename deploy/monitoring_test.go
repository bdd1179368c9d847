package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	promql "github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

var promqlParser = promql.NewParser(promql.Options{})

// exportedMetrics lists the metric names ferry exports: every string
// literal in its (non-test) Go code that is a ferry_ or prometheus_ metric
// name, with the series names a histogram or summary adds, and the few
// families that come from libraries.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	name := regexp.MustCompile(`^(ferry|prometheus)_[a-z0-9_]+$`)
	names := map[string]bool{
		"up": true, // written by ferry for every scrape (scrape report series)
		// client_golang's Go and process collectors, which ferry registers.
		"go_memstats_heap_inuse_bytes": true, "process_resident_memory_bytes": true,
		"process_cpu_seconds_total": true,
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" || d.Name() == "testout") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && name.MatchString(s) {
					for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
						names[s+suffix] = true
					}
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.True(t, names["prometheus_remote_storage_samples_total"], "the scan finds ferry's metrics")
	return names
}

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := promqlParser.ParseExpr(expr)
	require.NoError(t, err, "parse %s", expr)
	var out []string
	promql.Inspect(e, func(n promql.Node, _ []promql.Node) error {
		if vs, ok := n.(*promql.VectorSelector); ok {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

func TestAlertingRulesPassPrometheusRuleParserAndUseExportedMetrics(t *testing.T) {
	groups, errs := rulefmt.ParseFile("prometheus/ferry-alerts.yml", false, model.UTF8Validation, promqlParser,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Empty(t, errs)
	exported := exportedMetrics(t)
	alerts := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s holds alerts only", g.Name)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
			alerts[r.Alert] = r.Expr
			for _, m := range metricNames(t, r.Expr) {
				require.True(t, exported[m], "alert %s uses %s, which ferry does not export", r.Alert, m)
			}
		}
	}
	lag := strings.Join(strings.Fields(alerts["FerryRemoteWriteBehind"]), " ")
	require.Contains(t, lag, "prometheus_remote_storage_highest_timestamp_in_seconds",
		"the standard remote-write lag alert")
	require.Contains(t, lag, "- ignoring(remote_name, url) group_right max_over_time(prometheus_remote_storage_queue_highest_sent_timestamp_seconds")
	for _, want := range []string{"FerryLogDroppedUndeliveredData", "FerryLogCorruption", "FerryLogAppendFailingDiskFull", "FerryScrapeAppendFailing", "FerryTargetDown"} {
		require.Contains(t, alerts, want)
	}
}

// grafanaVariables stand in for the dashboard's variables so that its
// queries parse as PromQL.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$job", "ferry", "$instance", ".+")

func TestDashboardIsValidJSONAndQueriesUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana/ferry-dashboard.json")
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			ID      int    `json:"id"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	require.NotEmpty(t, dash.UID)
	exported := exportedMetrics(t)
	ids := map[int]bool{}
	var used []string
	for _, p := range dash.Panels {
		require.False(t, ids[p.ID], "panel ids are unique: %d", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has queries", p.Title)
		for _, tg := range p.Targets {
			for _, m := range metricNames(t, grafanaVariables.Replace(tg.Expr)) {
				require.True(t, exported[m], "panel %q uses %s, which ferry does not export", p.Title, m)
				used = append(used, m)
			}
		}
	}
	sort.Strings(used)
	for _, want := range []string{"ferry_log_cursor_lag_bytes", "ferry_log_size_bytes", "prometheus_remote_storage_queue_highest_sent_timestamp_seconds", "ferry_receiver_requests_total"} {
		require.Contains(t, used, want)
	}
}
