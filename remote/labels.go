package remote

import (
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// maxLabelBytes is the longest label name or value accepted. The default
// labels.Labels implementation stores lengths in three bytes and panics
// beyond that, so the decoders refuse longer strings up front.
const maxLabelBytes = 1<<24 - 1

// checkLabel checks that name=value may follow a label named prev in a
// label set; prev is "" for the first label. Both protocols require sorted,
// unique, non-empty names and non-empty values. UTF-8 validity is checked
// where the bytes are read.
func checkLabel(prev, name, value string) error {
	switch {
	case name == "":
		return invalidf("empty label name")
	case value == "":
		return invalidf("label %s has an empty value", quote(name))
	case len(name) > maxLabelBytes:
		return tooLargef("label name of %d bytes, limit %d", len(name), maxLabelBytes)
	case len(value) > maxLabelBytes:
		return tooLargef("label %s: value of %d bytes, limit %d", quote(name), len(value), maxLabelBytes)
	case prev == "":
		return nil
	case name == prev:
		return invalidf("duplicate label name %s", quote(name))
	case name < prev:
		return invalidf("labels not sorted: %s after %s", quote(name), quote(prev))
	}
	return nil
}

// checkValue checks the value of a label whose name is known to be valid,
// with checkLabel's errors.
func checkValue(name, value string) error {
	switch {
	case value == "":
		return invalidf("label %s has an empty value", quote(name))
	case len(value) > maxLabelBytes:
		return tooLargef("label %s: value of %d bytes, limit %d", quote(name), len(value), maxLabelBytes)
	}
	return nil
}

// builderCopiesStrings is true when labels.ScratchBuilder.Labels copies the
// names and values it was given instead of keeping references to them.
// That holds for the default (stringlabels) implementation only.
const builderCopiesStrings = labels.ImplementationName == "stringlabels"

// builderString returns b as a string to hand to a labels.ScratchBuilder
// whose Labels method is called before b can change. When the builder
// copies, the string aliases b and costs nothing; otherwise it is a copy,
// because the decoded Request must not alias the caller's buffer.
func builderString(b []byte) string {
	if builderCopiesStrings {
		return aliasString(b)
	}
	return string(b)
}

// aliasString returns b as a string without copying it; b must not change
// while the string is in use.
func aliasString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
