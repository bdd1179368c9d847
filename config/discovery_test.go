package config

import (
	"testing"
)

// TestCompiledInDiscoveryMechanismsParse loads a config using each service
// discovery mechanism ferry compiles in.
func TestCompiledInDiscoveryMechanismsParse(t *testing.T) {
	cfg, err := Load([]byte(`
scrape_configs:
  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod
      - role: endpointslice
        namespaces: {names: [default]}
  - job_name: consul
    consul_sd_configs:
      - server: 127.0.0.1:8500
  - job_name: ec2
    ec2_sd_configs:
      - region: eu-west-1
  - job_name: docker
    docker_sd_configs:
      - host: unix:///var/run/docker.sock
  - job_name: dns
    dns_sd_configs:
      - names: [_prometheus._tcp.example.org]
  - job_name: http
    http_sd_configs:
      - url: http://127.0.0.1:8000/targets
  - job_name: file
    file_sd_configs:
      - files: [targets/*.json]
`), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Scrape) != 7 {
		t.Fatalf("got %d scrape configs", len(cfg.Scrape))
	}
	for _, s := range cfg.Scrape {
		if len(s.ServiceDiscoveryConfigs) == 0 {
			t.Errorf("job %s: no service discovery config parsed", s.JobName)
		}
	}
}
