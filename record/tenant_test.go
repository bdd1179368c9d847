package record

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

func tenantTestRequest() *remote.Request {
	return &remote.Request{Series: []remote.Series{{
		Labels: labels.FromStrings("__name__", "up"), Samples: []remote.Sample{{Value: 1, Timestamp: 1000}},
	}}}
}

func TestBatchTenantField(t *testing.T) {
	encoded := AppendBatch(nil, tenantTestRequest(), nil)
	// plain returns a copy, so that the cases' appends do not share memory.
	plain := func() []byte { return append([]byte(nil), encoded...) }
	withField := func(b []byte, typ protowire.Type, v string) []byte {
		b = protowire.AppendTag(b, batchTenantField, typ)
		if typ == protowire.VarintType {
			return protowire.AppendVarint(b, 1)
		}
		return protowire.AppendString(b, v)
	}
	cases := []struct {
		name    string
		payload []byte
		tenant  string
		bad     bool
	}{
		{"payload from before tenancy", plain(), "", false},
		{"tenant", AppendBatchTenant(plain(), "team-a"), "team-a", false},
		{"empty tenant", AppendBatchTenant(plain(), ""), "", false},
		{"the last field wins", AppendBatchTenant(withField(plain(), protowire.BytesType, "spoofed"), "real"), "real", false},
		{"an earlier field of another type is ignored", AppendBatchTenant(withField(plain(), protowire.VarintType, ""), "real"), "real", false},
		{"last field of the wrong type", withField(plain(), protowire.VarintType, ""), "", true},
		{"tenant too long", AppendBatchTenant(plain(), strings.Repeat("t", MaxTenantLen+1)), "", true},
		{"truncated", AppendBatchTenant(plain(), "team-a")[:len(encoded)+3], "", true},
		{"a request field that claims more bytes than there are", append(plain(), 0x2a, 0x05, 0x01), "", true},
		{"a request field whose length is truncated", append(plain(), 0x2a, 0x80), "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := BatchTenant(c.payload)
			if c.bad {
				require.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.tenant, got)
			var b Batch
			require.NoError(t, NewDecoder(nil).Decode(wal.Record{Kind: KindBatch, Data: c.payload}, &b), "the field does not disturb decoding")
			require.Len(t, b.Series, 1)
		})
	}
}
