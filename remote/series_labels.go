package remote

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// LabelSet returns the series' labels, building them from its dictionary
// when the series carries only ids. Building allocates; encoders use the ids
// directly instead.
func (s *Series) LabelSet() labels.Labels {
	if !s.Labels.IsEmpty() || !s.hasIDs() {
		return s.Labels
	}
	b := labels.NewScratchBuilder(len(s.Values))
	s.rangeLabels(func(name, value string) { b.Add(name, value) })
	return b.Labels()
}

// rangeLabels calls f with each label, from Labels or from the dictionary.
func (s *Series) rangeLabels(f func(name, value string)) {
	if !s.Labels.IsEmpty() || !s.hasIDs() {
		s.Labels.Range(func(l labels.Label) { f(l.Name, l.Value) })
		return
	}
	for i, v := range s.Values {
		f(s.Dict.String(s.Names[i]), s.Dict.String(v))
	}
}

// DictValue returns the value of the label whose name has id nameID in the
// series' dictionary, for a series that carries ids.
func (s *Series) DictValue(nameID uint32) (string, bool) {
	if !s.hasIDs() {
		return "", false
	}
	for i, v := range s.Values {
		if s.Names[i] == nameID {
			return s.Dict.String(v), true
		}
	}
	return "", false
}

// SameSeries reports whether a and b have the same labels, comparing
// dictionary ids when both carry ids into the same dictionary.
func SameSeries(a, b *Series) bool {
	if a.Dict == b.Dict && a.hasIDs() && b.hasIDs() {
		n := len(a.Values)
		return slices.Equal(a.Values, b.Values) && slices.Equal(a.Names[:n], b.Names[:n])
	}
	return labels.Equal(a.LabelSet(), b.LabelSet())
}
