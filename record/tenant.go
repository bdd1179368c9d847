package record

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// batchTenantField is the protobuf field number under which a KindBatch
// payload carries its tenant. RW2 defines fields 1 to 5 of its Request, so
// every RW2 decoder skips this one as unknown: payloads written before the
// field existed, and decoders that do not know it, keep working.
const batchTenantField protowire.Number = 1000

// MaxTenantLen bounds the length of a tenant id kept with received data.
const MaxTenantLen = 256

// AppendBatchTenant appends the tenant field to a KindBatch payload built
// by AppendBatch (or to a received RW2 request stored as it came). The
// receiver appends it to every payload, even with an empty tenant: a
// decoder takes the last occurrence of the field, so a client that put the
// field in its own request cannot choose the tenant of its data.
func AppendBatchTenant(dst []byte, tenant string) []byte {
	dst = protowire.AppendTag(dst, batchTenantField, protowire.BytesType)
	return protowire.AppendString(dst, tenant)
}

// BatchTenant returns the tenant of a KindBatch payload: the value of the
// last tenant field, or "" if there is none (payloads from before tenancy,
// or data received without a tenant). It reads only the payload's top-level
// field headers, so it costs little next to decoding the payload.
func BatchTenant(data []byte) (string, error) {
	var (
		tenant []byte
		typ    protowire.Type = protowire.BytesType
	)
	for b := data; len(b) > 0; {
		// A request's own fields (symbols, timeseries) have one-byte
		// tags and are length-delimited: skip them without the general
		// path.
		if c := b[0]; c < 0x80 && protowire.Type(c&7) == protowire.BytesType && c>>3 != 0 {
			if l, n := protowire.ConsumeVarint(b[1:]); n > 0 && l <= uint64(len(b)-1-n) {
				b = b[1+n+int(l):]
				continue
			}
		}
		num, t, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", fmt.Errorf("%w: batch tenant: %v", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, t, b)
		if m < 0 {
			return "", fmt.Errorf("%w: batch tenant: %v", ErrMalformed, protowire.ParseError(m))
		}
		if num == batchTenantField {
			// Only the last occurrence counts, whatever came before it.
			typ = t
			tenant, _ = protowire.ConsumeBytes(b)
		}
		b = b[m:]
	}
	if typ != protowire.BytesType {
		return "", fmt.Errorf("%w: batch tenant field has wire type %d", ErrMalformed, typ)
	}
	if len(tenant) > MaxTenantLen || !utf8.Valid(tenant) {
		return "", fmt.Errorf("%w: batch tenant of %d bytes is not a valid tenant id", ErrMalformed, len(tenant))
	}
	return string(tenant), nil
}
