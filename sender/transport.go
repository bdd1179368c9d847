package sender

import (
	"fmt"
	"net/http"

	config_util "github.com/prometheus/common/config"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage/remote/azuread"
	"github.com/prometheus/prometheus/storage/remote/googleiam"
	"github.com/prometheus/sigv4"
)

// newHTTPClient builds a destination's HTTP client the way Prometheus does:
// TLS, basic auth, authorization, OAuth2 and proxy settings from the
// ecosystem's HTTP client config, then SigV4, Azure AD or Google IAM request
// signing when configured (the config loader allows at most one of them).
func newHTTPClient(name string, cfg *promconfig.RemoteWriteConfig) (*http.Client, error) {
	c, err := config_util.NewClientFromConfig(cfg.HTTPClientConfig, "remote_storage_"+name)
	if err != nil {
		return nil, err
	}
	t := c.Transport
	switch {
	case cfg.SigV4Config != nil:
		if t, err = sigv4.NewSigV4RoundTripper(cfg.SigV4Config, t); err != nil {
			return nil, fmt.Errorf("sigv4: %w", err)
		}
	case cfg.AzureADConfig != nil:
		if t, err = azuread.NewAzureADRoundTripper(cfg.AzureADConfig, t); err != nil {
			return nil, fmt.Errorf("azuread: %w", err)
		}
	case cfg.GoogleIAMConfig != nil:
		if t, err = googleiam.NewRoundTripper(cfg.GoogleIAMConfig, t); err != nil {
			return nil, fmt.Errorf("google_iam: %w", err)
		}
	}
	c.Transport = t
	return c, nil
}
