package config

// Service discovery mechanisms must be registered for their *_sd_configs
// keys to parse. These are compiled into every ferry; build with
// `-tags ferry_all_sd` for every mechanism Prometheus has (see
// discovery_all.go and docs/dependencies.md for the cost).
import (
	_ "github.com/prometheus/prometheus/discovery/aws"        // ec2_sd_configs, lightsail_sd_configs, ecs_sd_configs
	_ "github.com/prometheus/prometheus/discovery/consul"     // consul_sd_configs
	_ "github.com/prometheus/prometheus/discovery/dns"        // dns_sd_configs
	_ "github.com/prometheus/prometheus/discovery/file"       // file_sd_configs
	_ "github.com/prometheus/prometheus/discovery/http"       // http_sd_configs
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // kubernetes_sd_configs
	_ "github.com/prometheus/prometheus/discovery/moby"       // docker_sd_configs, dockerswarm_sd_configs
)
