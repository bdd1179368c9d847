package record

import "slices"

// A stream's series of one shape mostly share some label values: a
// target's instance and job, and the metric name of a counter or gauge
// family, are the same for all of them. A layout stores those values once
// per stream and shape, and each such series keeps only the values that
// vary (a node_exporter series typically one or two of five or six). The
// decoder puts a series' label value ids back together in the Batch it
// decodes into (Arena.ids), so the series a lane holds own their ids.
//
// A series is in one of two forms, told by seriesState.form:
//   - full: form is its shape's index, and values[valuesOff:] holds all
//     of its label value ids;
//   - compact: form is compactForm | the index of its layout in
//     streamState.layouts, and values[valuesOff:] holds the ids of the
//     layout's varying positions only.
type layout struct {
	shape    uint32
	fixedOff uint32 // streamState.fixed[fixedOff:]: an id per label position (those of varying positions unused)
	varyOff  uint32 // streamState.vary[varyOff:varyOff+nvary]: the varying positions, ascending
	nvary    uint32
}

// compactForm marks a seriesState.form that names a layout. Shape indexes
// stay below it: a segment has far fewer shapes than series.
const compactForm = 1 << 31

// layoutCost is what a layout costs besides its ids and positions, in
// bytes: a shape whose series would save less keeps them in full form.
const layoutCost = 16

// shapeOf returns the index of s's shape.
func (st *streamState) shapeOf(s *seriesState) uint32 {
	if s.form&compactForm != 0 && s.form != shapeDropped {
		return st.layouts[s.form&^compactForm].shape
	}
	return s.form
}

// appendValues appends s's label value ids, n of them, to dst.
func (st *streamState) appendValues(dst []uint32, s *seriesState, n uint32) []uint32 {
	from := len(dst)
	dst = slices.Grow(dst, int(n))[:from+int(n)]
	ids := dst[from:]
	if s.form&compactForm == 0 {
		copy(ids, st.values[s.valuesOff:s.valuesOff+n])
		return dst
	}
	l := &st.layouts[s.form&^compactForm]
	copy(ids, st.fixed[l.fixedOff:l.fixedOff+n])
	v := st.values[s.valuesOff : s.valuesOff+l.nvary]
	for k, p := range st.vary[l.varyOff : l.varyOff+l.nvary] {
		ids[p] = v[k]
	}
	return dst
}

// define stores the label value ids of a series of the given shape that a
// record after the keyframe defines: in compact form if a layout of the
// shape fixes the same values, in full form otherwise.
func (st *streamState) define(s *seriesState, shape uint32, ids []uint32) {
	for i := range st.layouts {
		l := &st.layouts[i]
		if l.shape != shape || !st.fits(l, ids) {
			continue
		}
		s.form, s.valuesOff = compactForm|uint32(i), uint32(len(st.values))
		for _, p := range st.vary[l.varyOff : l.varyOff+l.nvary] {
			st.values = append(st.values, ids[p])
		}
		return
	}
	s.form, s.valuesOff = shape, uint32(len(st.values))
	st.values = append(st.values, ids...)
}

// fits reports whether ids has l's fixed values at l's fixed positions.
func (st *streamState) fits(l *layout, ids []uint32) bool {
	fixed := st.fixed[l.fixedOff : l.fixedOff+uint32(len(ids))]
	vary := st.vary[l.varyOff : l.varyOff+l.nvary]
	for p, id := range ids {
		if id != fixed[p] && !varies(vary, p) {
			return false
		}
	}
	return true
}

func varies(vary []uint16, p int) bool {
	for _, q := range vary {
		if int(q) == p {
			return true
		}
	}
	return false
}

// layoutScratch is what compact needs per shape while it looks at a
// keyframe's series.
type layoutScratch struct {
	first   int32 // the shape's first series in the stream
	count   int32
	diffOff int32 // compactScratch.differs[diffOff:]: per position, whether it varies
}

// compactScratch is the decoder's memory for compact, kept between
// keyframes.
type compactScratch struct {
	byShape map[uint32]int32 // shape -> index in shapes
	shapes  []layoutScratch
	differs []bool
	layout  []int32 // per entry of shapes, its layout or -1
}

// compact stores the label value ids of a keyframe's series, which it
// finds in full form in src, in st.values: a shape whose series share
// enough values gets a layout, and its series keep only the others.
func (st *streamState) compact(sc *compactScratch, sh *shapes, src []uint32) {
	st.layouts, st.fixed, st.vary = st.layouts[:0], st.fixed[:0], st.vary[:0]
	if sc.byShape == nil {
		sc.byShape = map[uint32]int32{}
	}
	clear(sc.byShape)
	sc.shapes, sc.differs, sc.layout = sc.shapes[:0], sc.differs[:0], sc.layout[:0]

	full := func(s *seriesState) []uint32 {
		return src[s.valuesOff : s.valuesOff+sh.labels(s.form)]
	}
	for i := range st.series {
		s := &st.series[i]
		if !s.kept() {
			continue
		}
		k, ok := sc.byShape[s.form]
		if !ok {
			sc.byShape[s.form] = int32(len(sc.shapes))
			sc.shapes = append(sc.shapes, layoutScratch{first: int32(i), count: 1, diffOff: int32(len(sc.differs))})
			sc.differs = append(sc.differs, make([]bool, sh.labels(s.form))...)
			continue
		}
		ls := &sc.shapes[k]
		ls.count++
		ids, first := full(s), full(&st.series[ls.first])
		differs := sc.differs[ls.diffOff:]
		for p, id := range ids {
			if id != first[p] {
				differs[p] = true
			}
		}
	}
	for k := range sc.shapes {
		ls := &sc.shapes[k]
		first := &st.series[ls.first]
		labels := sh.labels(first.form)
		differs := sc.differs[ls.diffOff : ls.diffOff+int32(labels)]
		nvary := 0
		for _, d := range differs {
			if d {
				nvary++
			}
		}
		saved := 4 * int(ls.count) * (int(labels) - nvary)
		if labels > 1<<16 || saved <= layoutCost+4*int(labels)+2*nvary {
			sc.layout = append(sc.layout, -1)
			continue
		}
		sc.layout = append(sc.layout, int32(len(st.layouts)))
		st.layouts = append(st.layouts, layout{shape: first.form, fixedOff: uint32(len(st.fixed)), varyOff: uint32(len(st.vary)), nvary: uint32(nvary)})
		st.fixed = append(st.fixed, full(first)...)
		for p, d := range differs {
			if d {
				st.vary = append(st.vary, uint16(p))
			}
		}
	}

	values := st.values[:0]
	for i := range st.series {
		s := &st.series[i]
		if !s.kept() {
			s.valuesOff = uint32(len(values))
			continue
		}
		ids := full(s)
		off := uint32(len(values))
		if li := sc.layout[sc.byShape[s.form]]; li >= 0 {
			l := &st.layouts[li]
			for _, p := range st.vary[l.varyOff : l.varyOff+l.nvary] {
				values = append(values, ids[p])
			}
			s.form = compactForm | uint32(li)
		} else {
			values = append(values, ids...)
		}
		s.valuesOff = off
	}
	st.values = trimmed(values)
	st.layouts = trimmed(st.layouts)
	st.fixed = trimmed(st.fixed)
	st.vary = trimmed(st.vary)
}
