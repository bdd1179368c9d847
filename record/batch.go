package record

import "fmt"

func (d *Decoder) decodeBatch(data []byte, out *Batch) error {
	return fmt.Errorf("%w: batch records are not supported yet", ErrUnknownKind)
}
