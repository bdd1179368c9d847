//go:build ferry_all_sd

package config

// With -tags ferry_all_sd every service discovery mechanism Prometheus has
// is compiled in (Azure, GCE, OpenStack, Hetzner, Nomad, ...), for
// configurations that use them. It roughly adds 28 MB to the binary.
import _ "github.com/prometheus/prometheus/discovery/install"
