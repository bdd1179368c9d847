package config

// Prometheus' parser knows a `*_sd_configs` key only when the service
// discovery mechanism behind it is registered, which its package does in
// init. These are the mechanisms ferry supports so far; static_configs is
// built in.
import (
	_ "github.com/prometheus/prometheus/discovery/dns"
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"
)
