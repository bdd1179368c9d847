package remote

import (
	"github.com/prometheus/prometheus/model/labels"
)

// LabelSet returns the series' labels, building them from its dictionary
// when the series carries only ids. Building allocates; encoders use the ids
// directly instead.
func (s *Series) LabelSet() labels.Labels {
	if !s.Labels.IsEmpty() || s.Dict == nil {
		return s.Labels
	}
	b := labels.NewScratchBuilder(len(s.Refs) / 2)
	s.rangeLabels(func(name, value string) { b.Add(name, value) })
	return b.Labels()
}

// rangeLabels calls f with each label, from Labels or from the dictionary.
func (s *Series) rangeLabels(f func(name, value string)) {
	if !s.Labels.IsEmpty() || s.Dict == nil {
		s.Labels.Range(func(l labels.Label) { f(l.Name, l.Value) })
		return
	}
	for i := 0; i+1 < len(s.Refs)-2; i += 2 {
		f(s.Dict.String(s.Refs[i]), s.Dict.String(s.Refs[i+1]))
	}
}

// DictValue returns the value of the label whose name has id nameID in the
// series' dictionary, for a series that carries ids.
func (s *Series) DictValue(nameID uint32) (string, bool) {
	for i := 0; i+1 < len(s.Refs)-2; i += 2 {
		if s.Refs[i] == nameID {
			return s.Dict.String(s.Refs[i+1]), true
		}
	}
	return "", false
}

// SameSeries reports whether a and b have the same labels, comparing
// dictionary ids when both carry ids into the same dictionary.
func SameSeries(a, b *Series) bool {
	if a.Dict != nil && a.Dict == b.Dict && len(a.Refs) >= 2 && len(b.Refs) >= 2 {
		ra, rb := a.Refs[:len(a.Refs)-2], b.Refs[:len(b.Refs)-2]
		if len(ra) != len(rb) {
			return false
		}
		for i := range ra {
			if ra[i] != rb[i] {
				return false
			}
		}
		return true
	}
	return labels.Equal(a.LabelSet(), b.LabelSet())
}
