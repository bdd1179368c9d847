package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes. In YAML it is written as a plain integer
// (1048576) or with a power-of-two unit: B, KB, MB, GB, TB, PB, EB or
// KiB, MiB, GiB, TiB, PiB, EiB. As in Prometheus' body_size_limit, KB and KiB
// both mean 1024. Components may be combined ("1GiB512MiB").
type ByteSize int64

// ParseByteSize parses s as described for ByteSize. Negative sizes are
// rejected.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty size")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("size %q is negative", s)
		}
		return ByteSize(n), nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("size %q is negative", s)
	}
	n, err := units.ParseBase2Bytes(s)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: use bytes or a unit such as KiB, MiB, GiB, TiB", s)
	}
	// The unit parser computes in float64; a value at 2^63 wraps negative.
	if n < 0 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n), nil
}

// String formats b with the largest power-of-two units that represent it
// exactly, for example "128MiB" or "0B".
func (b ByteSize) String() string {
	return units.Base2Bytes(b).String()
}

// UnmarshalYAML implements yaml.Unmarshaler for go.yaml.in/yaml/v3; errors
// carry the line of the value.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a size such as 128MiB", n.Line)
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) {
	return b.String(), nil
}

// Duration is a length of time written in Prometheus' duration syntax:
// a sequence of integers with the units ms, s, m, h, d, w, y ("1h30m", "7d").
// "0" is zero.
type Duration time.Duration

// String formats d in Prometheus' duration syntax.
func (d Duration) String() string {
	return model.Duration(d).String()
}

// UnmarshalYAML implements yaml.Unmarshaler for go.yaml.in/yaml/v3; errors
// carry the line of the value.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration such as 1h", n.Line)
	}
	v, err := model.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: use units ms, s, m, h, d, w or y, as in 90s or 1h30m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}
