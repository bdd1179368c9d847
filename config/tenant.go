package config

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// DefaultTenantHeader is the header a tenant is sent in unless a
// destination sets tenant_header; Mimir, Cortex and Loki read it.
const DefaultTenantHeader = "X-Scope-OrgID"

func validHeaderName(s string) bool { return s != "" && httpguts.ValidHeaderFieldName(s) }

// reservedHeader reports whether a header is one ferry sets itself on
// every remote-write request.
func reservedHeader(s string) bool {
	switch strings.ToLower(http.CanonicalHeaderKey(s)) {
	case "content-type", "content-encoding", "content-length", "user-agent", "authorization",
		"x-prometheus-remote-write-version", "host", "accept-encoding":
		return true
	}
	return false
}
