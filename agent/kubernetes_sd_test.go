package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeKubeAPI serves just enough of the Kubernetes API for pod discovery: a
// list of pods and watches. A watch asking for initial events (how
// client-go lists by default) gets the pods as ADDED events and the bookmark
// that ends them; then every watch stays open without events.
func fakeKubeAPI(t *testing.T, pods []map[string]any) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/pods" && r.URL.Query().Get("watch") == "true":
			w.WriteHeader(http.StatusOK)
			enc := json.NewEncoder(w)
			if r.URL.Query().Get("sendInitialEvents") == "true" {
				for _, p := range pods {
					p["kind"], p["apiVersion"] = "Pod", "v1"
					p["metadata"].(map[string]any)["resourceVersion"] = "1"
					enc.Encode(map[string]any{"type": "ADDED", "object": p})
				}
				enc.Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{
					"kind": "Pod", "apiVersion": "v1",
					"metadata": map[string]any{"resourceVersion": "1", "annotations": map[string]any{"k8s.io/initial-events-end": "true"}},
				}})
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		case r.URL.Path == "/api/v1/pods":
			json.NewEncoder(w).Encode(map[string]any{
				"kind": "PodList", "apiVersion": "v1",
				"metadata": map[string]any{"resourceVersion": "1"},
				"items":    pods,
			})
		case r.URL.Path == "/version":
			json.NewEncoder(w).Encode(map[string]any{"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func pod(name, ip string, port int, scrape bool) map[string]any {
	return map[string]any{
		"metadata": map[string]any{
			"name": name, "namespace": "shop", "uid": name + "-uid",
			"labels":      map[string]any{"app": "checkout"},
			"annotations": map[string]any{"prometheus.io/scrape": fmt.Sprint(scrape)},
		},
		"spec": map[string]any{
			"nodeName":   "node-1",
			"containers": []any{map[string]any{"name": "app", "ports": []any{map[string]any{"name": "metrics", "containerPort": port, "protocol": "TCP"}}}},
		},
		"status": map[string]any{"phase": "Running", "podIP": ip, "hostIP": ip,
			"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
	}
}

// TestKubernetesPodDiscoveryFindsAndScrapesAnnotatedPods runs Prometheus'
// own Kubernetes SD against a fake API server: the annotated pod becomes a
// target with the usual relabeling and is scraped; the other is dropped.
func TestKubernetesPodDiscoveryFindsAndScrapesAnnotatedPods(t *testing.T) {
	target := newCountingTarget(t, math.MaxInt)
	host, portStr, _ := net.SplitHostPort(target.addr())
	var port int
	fmt.Sscan(portStr, &port)
	api := fakeKubeAPI(t, []map[string]any{pod("checkout-1", host, port, true), pod("checkout-2", host, port+1, false)})
	rc := newCountingReceiver(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
global:
  scrape_interval: 250ms
scrape_configs:
  - job_name: pods
    kubernetes_sd_configs:
      - role: pod
        api_server: %s
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        regex: "true"
        action: keep
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
remote_write:
  - url: %s
    queue_config:
      batch_send_deadline: 50ms
`, api.URL, rc.srv.URL)
	stop := startAgent(t, writeConfig(t, dir, cfg), filepath.Join(dir, "data"))
	require.Eventually(t, func() bool { return len(rc.series("requests_total")) == 2 }, 30*time.Second, 20*time.Millisecond)
	stop()
	for k := range rc.series("requests_total") {
		require.Contains(t, k, `pod="checkout-1"`)
		require.Contains(t, k, `namespace="shop"`)
		require.Contains(t, k, `app="checkout"`)
		require.Contains(t, k, `job="pods"`)
		require.True(t, strings.Contains(k, `instance="`+target.addr()+`"`), k)
	}
}
