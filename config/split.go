package config

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ferryKey is the top-level key of ferry's own section.
const ferryKey = "ferry"

// layout is where ferry's extensions sit in a configuration file. The loader
// finds them in the file's YAML tree and then splits the text in two: a copy
// for Prometheus' parser with the extensions blanked out, and a copy for
// ferry's with everything but the ferry section blanked out. Blanking keeps
// every line in place, so both parsers report line numbers of the file.
type layout struct {
	lines []line

	// ferryKey and ferryValue are the nodes of the `ferry:` entry, nil when
	// the file has none. The section covers lines ferryFirst..ferryLast.
	ferryKey, ferryValue  *yaml.Node
	ferryFirst, ferryLast int

	// remoteWrite has one entry per item of the remote_write list, in order,
	// when the list is a YAML sequence.
	remoteWrite []rwItem

	// gogcSet records whether runtime.gogc is written, so that ferry's
	// default applies only when neither the file nor $GOGC sets it.
	gogcSet bool
}

// rwItem is one remote_write list item.
type rwItem struct {
	line int // line of the item's first key
	ext  []extValue
	// queueKeys holds the keys written in the entry's queue_config, so
	// that ferry's own defaults (see queueDefaults) apply only to the
	// settings the file leaves out.
	queueKeys map[string]bool
}

// extValue is a ferry extension key found in a remote_write item.
type extValue struct {
	key   string
	value string
	null  bool // `key:` with no value, or `key: null`
	line  int
	col   int // 1-based column (in characters) of the key; blanked from here to the end of the line
}

// line is one line of the file: text is its content, eol its line break
// ("" on the last line when the file does not end with one).
type line struct {
	text, eol []byte
}

// splitLines cuts b into lines at the same line breaks the YAML scanner
// counts: LF, CRLF, CR, NEL, LS and PS.
func splitLines(b []byte) []line {
	var out []line
	start := 0
	for i := 0; i < len(b); {
		n := breakLen(b[i:])
		if n == 0 {
			i++
			continue
		}
		out = append(out, line{text: b[start:i], eol: b[i : i+n]})
		i += n
		start = i
	}
	return append(out, line{text: b[start:]})
}

// breakLen returns the length of the line break at the start of b, or 0.
func breakLen(b []byte) int {
	switch {
	case b[0] == '\n':
		return 1
	case b[0] == '\r':
		if len(b) > 1 && b[1] == '\n' {
			return 2
		}
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}

// findLayout locates the extensions in the file's tree. A nil root (the file
// is not YAML that go.yaml.in/yaml/v3 understands) yields an empty layout:
// the text then goes to Prometheus unchanged and its parser reports the
// problem.
func findLayout(text []byte, root *yaml.Node) (*layout, error) {
	l := &layout{lines: splitLines(text)}
	top := documentMapping(root)
	if top == nil {
		return l, nil
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		switch k.Value {
		case ferryKey:
			if l.ferryKey != nil {
				return nil, fmt.Errorf("line %d: ferry: is given twice (first at line %d)", k.Line, l.ferryKey.Line)
			}
			if top.Style&yaml.FlowStyle != 0 {
				return nil, fmt.Errorf("line %d: ferry: must be a key of a block-style top-level mapping, not of a {...} mapping", k.Line)
			}
			if !l.onlyBefore(k, " ") {
				return nil, fmt.Errorf("line %d: ferry: must start its own line", k.Line)
			}
			l.ferryKey, l.ferryValue = k, v
			l.ferryFirst, l.ferryLast = k.Line, len(l.lines)
			if i+2 < len(top.Content) {
				l.ferryLast = top.Content[i+2].Line - 1
			}
		case "remote_write":
			if v.Kind != yaml.SequenceNode {
				continue
			}
			items := make([]rwItem, 0, len(v.Content))
			for _, it := range v.Content {
				item, err := l.remoteWriteItem(it, v.Content, items)
				if err != nil {
					return nil, err
				}
				items = append(items, item)
			}
			l.remoteWrite = items
		}
	}
	if rt := mappingValue(top, "runtime"); rt != nil {
		l.gogcSet = mappingKeys(rt)["gogc"]
	}
	return l, nil
}

// documentMapping returns the top-level mapping of a parsed document, or nil.
func documentMapping(root *yaml.Node) *yaml.Node {
	if root == nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	if top := root.Content[0]; top.Kind == yaml.MappingNode {
		return top
	}
	return nil
}

// remoteWriteItem collects the extension keys of one remote_write item. An
// item that is an alias of an earlier item shares that item's extensions.
func (l *layout) remoteWriteItem(n *yaml.Node, siblings []*yaml.Node, done []rwItem) (rwItem, error) {
	item := rwItem{line: n.Line}
	if q := mappingValue(n, "queue_config"); q != nil {
		item.queueKeys = mappingKeys(q)
	}
	if n.Kind == yaml.AliasNode {
		for i, s := range siblings[:len(done)] {
			if s == n.Alias {
				item.ext = done[i].ext
			}
		}
		return item, nil
	}
	if n.Kind != yaml.MappingNode {
		return item, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || lookupExtension(k.Value) == nil {
			continue
		}
		for _, e := range item.ext {
			if e.key == k.Value {
				return item, fmt.Errorf("line %d: remote_write: %s is given twice in one entry (first at line %d)", k.Line, k.Value, e.line)
			}
		}
		e, err := l.extension(n, k, v)
		if err != nil {
			return item, err
		}
		item.ext = append(item.ext, e)
	}
	if len(item.ext) > 0 && len(item.ext) == len(n.Content)/2 {
		return item, fmt.Errorf("line %d: remote_write: the entry has only ferry keys; it needs a url", n.Line)
	}
	return item, nil
}

// extension checks that the extension key k with value v can be blanked from
// k's column to the end of its line without disturbing anything else: the
// mapping is block style, nothing but indentation and list dashes precede
// the key, and the value is a plain or quoted scalar that ends on the key's
// line.
func (l *layout) extension(m, k, v *yaml.Node) (extValue, error) {
	e := extValue{key: k.Value, line: k.Line, col: k.Column}
	fail := func(format string, args ...any) (extValue, error) {
		return e, fmt.Errorf("line %d: remote_write: %s: %s", v.Line, k.Value, fmt.Sprintf(format, args...))
	}
	if m.Style&yaml.FlowStyle != 0 {
		return fail("ferry extension keys need a block-style entry, not a {...} mapping")
	}
	if !l.onlyBefore(k, " \t-") {
		return fail("must start its own line")
	}
	if v.Kind != yaml.ScalarNode || v.Anchor != "" || v.Style&yaml.TaggedStyle != 0 {
		return fail("must be a plain value (no anchor, tag, list or mapping)")
	}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || v.Line != k.Line || !l.endsOnLine(v) {
		return fail("the value must be on the same line as the key (a multi-line value is not allowed)")
	}
	e.value = v.Value
	e.null = v.Tag == "!!null"
	return e, nil
}

// onlyBefore reports whether the characters of n's line before n's column are
// all in set.
func (l *layout) onlyBefore(n *yaml.Node, set string) bool {
	prefix, _, ok := l.cut(n.Line, n.Column)
	return ok && strings.Trim(string(prefix), set) == ""
}

// cut splits the content of line (1-based) before the character at column
// (1-based). ok is false when the line or column do not exist.
func (l *layout) cut(lineNo, column int) (before, from []byte, ok bool) {
	if lineNo < 1 || lineNo > len(l.lines) || column < 1 {
		return nil, nil, false
	}
	text := l.lines[lineNo-1].text
	off := 0
	for c := 1; c < column; c++ {
		if off >= len(text) {
			return nil, nil, false
		}
		_, size := utf8.DecodeRune(text[off:])
		off += size
	}
	return text[:off], text[off:], true
}

// endsOnLine reports whether the scalar v, which starts on the key's line,
// also ends there. A quoted scalar must close on the line; a plain scalar
// continued on later lines is folded into one value with spaces, so its
// value then differs from the text that follows it on its first line.
func (l *layout) endsOnLine(v *yaml.Node) bool {
	_, rest, ok := l.cut(v.Line, v.Column)
	if !ok {
		return false
	}
	s := string(rest)
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return true
			}
		}
		return false
	case v.Style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return true
			}
		}
		return false
	case v.Tag == "!!null" && v.Value == "":
		return true // `key:` followed by nothing on the line
	}
	// Plain scalar: drop a trailing comment (a # after white space) and
	// trailing white space; what is left must be the whole value.
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimRight(s, " \t") == v.Value
}

// hasExtensions reports whether any remote_write entry has extension keys.
func (l *layout) hasExtensions() bool {
	for _, it := range l.remoteWrite {
		if len(it.ext) > 0 {
			return true
		}
	}
	return false
}

// prometheusText returns the file with the ferry section's lines emptied and
// every extension key cut from its column to the end of its line.
func (l *layout) prometheusText() []byte {
	cuts := map[int]int{} // line -> column
	for _, it := range l.remoteWrite {
		for _, e := range it.ext {
			cuts[e.line] = e.col
		}
	}
	var b bytes.Buffer
	for i, ln := range l.lines {
		n := i + 1
		switch col, ok := cuts[n]; {
		case l.ferryKey != nil && n >= l.ferryFirst && n <= l.ferryLast:
		case ok:
			before, _, _ := l.cut(n, col)
			b.Write(before)
		default:
			b.Write(ln.text)
		}
		b.Write(ln.eol)
	}
	return b.Bytes()
}

// ferryText returns the file with every line outside the ferry section
// emptied.
func (l *layout) ferryText() []byte {
	var b bytes.Buffer
	for i, ln := range l.lines {
		if n := i + 1; n >= l.ferryFirst && n <= l.ferryLast {
			b.Write(ln.text)
		}
		b.Write(ln.eol)
	}
	return b.Bytes()
}

// mappingKeys returns the keys of the mapping n (following an alias),
// including those a YAML merge key (`<<`) brings in, as Prometheus' YAML
// parser reads them; nil when n is not a mapping.
func mappingKeys(n *yaml.Node) map[string]bool {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	keys := map[string]bool{}
	collectKeys(n, keys, map[*yaml.Node]bool{}, 0)
	return keys
}

// maxMergeDepth bounds merge keys that merge mappings with merge keys.
// Each node is visited once, so aliases repeated in a hostile file cannot
// make the walk exponential.
const maxMergeDepth = 16

func collectKeys(n *yaml.Node, keys map[string]bool, seen map[*yaml.Node]bool, depth int) {
	if n = resolveAlias(n); n == nil || depth > maxMergeDepth || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.SequenceNode: // `<<: [*a, *b]`
		for _, m := range n.Content {
			collectKeys(m, keys, seen, depth+1)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if isMergeKey(k) {
				collectKeys(n.Content[i+1], keys, seen, depth+1)
			} else if k.Kind == yaml.ScalarNode {
				keys[k.Value] = true
			}
		}
	}
}

// mappingValue returns the value of key in the mapping n, following an
// alias and merge keys; a key written in n itself wins over a merged one,
// and an earlier merged mapping over a later one. nil when there is none.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	return findValue(n, key, map[*yaml.Node]bool{}, 0)
}

func findValue(n *yaml.Node, key string, seen map[*yaml.Node]bool, depth int) *yaml.Node {
	if n = resolveAlias(n); n == nil || depth > maxMergeDepth || seen[n] {
		return nil
	}
	seen[n] = true
	switch n.Kind {
	case yaml.SequenceNode:
		for _, m := range n.Content {
			if v := findValue(m, key, seen, depth+1); v != nil {
				return v
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && !isMergeKey(k) && k.Value == key {
				return n.Content[i+1]
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isMergeKey(n.Content[i]) {
				if v := findValue(n.Content[i+1], key, seen, depth+1); v != nil {
					return v
				}
			}
		}
	}
	return nil
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxMergeDepth; i++ {
		n = n.Alias
	}
	return n
}
