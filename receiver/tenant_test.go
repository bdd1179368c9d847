package receiver

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrymetrics/ferry/remote"
)

func TestTenantHeaderIsKeptWithTheData(t *testing.T) {
	for _, msg := range []remote.Message{remote.MessageV1, remote.MessageV2} {
		t.Run(string(msg), func(t *testing.T) {
			e := newRelayEnv(t, Options{})
			for i, tenant := range []string{"team-a", "", "team-b"} {
				b := body(t, msg, remote.EncodingSnappy, requestAt(int64(i+1)))
				require.Equal(t, 204, postWithTenant(t, e.srv.URL, msg, b, tenant).StatusCode)
			}
			var got []string
			for _, r := range e.records(t) {
				got = append(got, r.tenant)
			}
			require.Equal(t, []string{"team-a", "", "team-b"}, got)
		})
	}
}

func TestTenantHeaderNameIsConfigurable(t *testing.T) {
	e := newRelayEnv(t, Options{TenantHeader: "X-Tenant"})
	b := body(t, remote.MessageV1, remote.EncodingSnappy, requestAt(1))
	h := map[string][]string{"X-Tenant": {"acme"}, DefaultTenantHeader: {"ignored"}}
	require.Equal(t, 204, postHeaders(t, e.srv.URL, remote.MessageV1, "snappy", b, h).StatusCode)
	require.Equal(t, "acme", e.records(t)[0].tenant)
}

// An RW2 request is stored as it came, so a client could put ferry's
// tenant field in it; the tenant is still the one of the header.
func TestClientCannotChooseItsTenantThroughTheBody(t *testing.T) {
	e := newRelayEnv(t, Options{})
	pbody := remote.AppendV2(nil, requestAt(1), nil)
	pbody = protowire.AppendTag(pbody, 1000, protowire.BytesType)
	pbody = protowire.AppendString(pbody, "someone-else")
	pbody = protowire.AppendTag(pbody, 1000, protowire.VarintType)
	pbody = protowire.AppendVarint(pbody, 7)
	require.Equal(t, 204, postWithTenant(t, e.srv.URL, remote.MessageV2, snappyOf(t, pbody), "me").StatusCode)
	other := append(pbody, 0x48, 1) // unknown field 9: another body, not a retry
	require.Equal(t, 204, postWithTenant(t, e.srv.URL, remote.MessageV2, snappyOf(t, other), "").StatusCode)
	recs := e.records(t)
	require.Len(t, recs, 2)
	require.Equal(t, "me", recs[0].tenant)
	require.Equal(t, "", recs[1].tenant)
}
