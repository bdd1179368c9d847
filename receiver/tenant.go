package receiver

import (
	"fmt"
	"net/http"

	"github.com/ferrymetrics/ferry/record"
)

// DefaultTenantHeader is the request header that names the tenant of the
// data, as Cortex, Mimir, Loki and Thanos name it.
const DefaultTenantHeader = "X-Scope-OrgID"

// tenantOf returns the tenant a request names in header, "" when it names
// none. The value is stored in the log and sent on as a header value, so it
// must be short and made of visible ASCII characters; anything else is
// refused rather than altered.
func tenantOf(r *http.Request, header string) (string, error) {
	vs := r.Header.Values(header)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fmt.Errorf("%d %s headers; send one", len(vs), header)
	}
	t := vs[0]
	if len(t) > record.MaxTenantLen {
		return "", fmt.Errorf("%s of %d bytes; the limit is %d", header, len(t), record.MaxTenantLen)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c > '~' {
			return "", fmt.Errorf("%s %q: byte %d (%#x) is not a visible ASCII character", header, t, i, c)
		}
	}
	return t, nil
}
