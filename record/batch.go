package record

import (
	"fmt"

	"github.com/prometheus/common/model"

	"github.com/ferrymetrics/ferry/remote"
)

// AppendBatch encodes a received request as a KindBatch payload.
func AppendBatch(dst []byte, req *remote.Request, st *remote.SymbolTable) []byte {
	return remote.AppendV2(dst, req, st)
}

func (d *Decoder) decodeBatch(data []byte, out *Batch) error {
	if out == nil {
		// Replayed: a batch leaves no state behind, and it was
		// validated when it was written.
		return nil
	}
	if d.transform == nil {
		return d.decodeBatchIDs(data, out)
	}
	req, err := remote.DecodeV2(data, remote.NoLimits)
	if err != nil {
		return fmt.Errorf("%w: batch: %v", ErrMalformed, err)
	}
	out.Stream = 0
	// A tenant that cannot be read leaves the data with the default tenant
	// rather than losing it; the receiver validated it when it wrote it.
	out.Tenant, _ = BatchTenant(data)
	for _, s := range req.Series {
		var keep bool
		if s.Labels, keep = d.transform(s.Labels); !keep {
			out.Dropped += len(s.Samples) + len(s.Histograms)
			continue
		}
		if d.OnMetadata != nil && !s.Metadata.IsZero() {
			d.OnMetadata(s.Labels.Get(model.MetricNameLabel), s.Metadata)
		}
		out.Series = append(out.Series, s)
		out.Hashes = append(out.Hashes, remote.LabelsHash(s.Labels))
		out.Families = append(out.Families, "")
	}
	return nil
}

// decodeBatchIDs decodes a batch whose labels need no rewriting into
// series that carry ids into the segment's dictionary, as stream records'
// series do: each string of the batch is interned once, and encoders map
// ids to symbols without hashing strings.
func (d *Decoder) decodeBatchIDs(data []byte, out *Batch) error {
	from := len(out.Series)
	var err error
	out.Series, out.Hashes, err = remote.DecodeStoredV2(data, d.dict, out.Series, out.Hashes, &out.mem.scratch)
	if err != nil {
		return fmt.Errorf("%w: batch: %v", ErrMalformed, err)
	}
	out.Stream = 0
	out.Tenant, _ = BatchTenant(data)
	for range out.Series[from:] {
		out.Families = append(out.Families, "")
	}
	if d.OnMetadata == nil {
		return nil
	}
	name, ok := d.dict.Lookup(model.MetricNameLabel)
	for i := range out.Series[from:] {
		s := &out.Series[from+i]
		if !ok || s.Metadata.IsZero() {
			continue
		}
		if family, found := s.DictValue(name); found {
			d.OnMetadata(family, s.Metadata)
		}
	}
	return nil
}
