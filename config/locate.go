package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// Prometheus' parser reports syntax errors and unknown fields with a line
// number, but most semantic checks (a bad URL or regex, a duplicate job name,
// a reserved header) come back as a bare message. locate finds the line such
// a message is about, so that every error the loader returns points into the
// file.

// hasLine matches a line reference where Prometheus' parser puts one, not
// inside quoted input.
var hasLine = regexp.MustCompile(`(?m)(?:^\s*|: )line \d+:`)

// withLine prefixes err, an error from Prometheus' Load of text, with the
// line it is about when that can be found and the message has no line yet.
func withLine(err error, text []byte) error {
	if hasLine.MatchString(err.Error()) {
		return err
	}
	var root yaml.Node
	if yaml.Unmarshal(text, &root) != nil {
		return err
	}
	if line := locate(err.Error(), &root); line > 0 {
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

// locate returns the line that the Prometheus error message msg is about, or
// 0 when it cannot tell.
func locate(msg string, root *yaml.Node) (line int) {
	top := documentMapping(root)
	if top == nil {
		return 0
	}
	for _, d := range [][2]string{{"scrape_configs", "job_name"}, {"remote_write", "name"}, {"remote_read", "name"}} {
		if l := duplicateLine(msg, top, d[0], d[1]); l > 0 {
			return l
		}
	}
	if l := quotedValueLine(msg, top); l > 0 {
		return l
	}
	// Re-parsing pieces of the file into Prometheus' types runs their
	// unmarshalers on input they may not expect in isolation; a panic there
	// must not turn a configuration error into a crash.
	defer func() {
		if recover() != nil {
			line = 0
		}
	}()
	line, _ = narrow(msg, top, reflect.TypeFor[promconfig.Config](), globalFor(top), 0)
	return line
}

// duplicateLine finds, among the items of the list under listKey, the second
// item whose field has a value another item already has, provided msg quotes
// that value. Prometheus reports duplicate job and remote_write names only
// from the top level, where narrowing cannot see them.
func duplicateLine(msg string, top *yaml.Node, listKey, field string) int {
	_, list := mappingEntry(top, listKey)
	if list == nil || list.Kind != yaml.SequenceNode {
		return 0
	}
	seen := map[string]bool{}
	for _, it := range list.Content {
		k, v := mappingEntry(it, field)
		if k == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			continue
		}
		if seen[v.Value] && strings.Contains(msg, strconv.Quote(v.Value)) {
			return k.Line
		}
		seen[v.Value] = true
	}
	return 0
}

// topLevelChecked lists values that Prometheus validates from the top level
// and quotes in its message.
var topLevelChecked = [][]string{
	{"rule_files"},
	{"scrape_config_files"},
	{"otlp", "translation_strategy"},
}

// quotedValueLine returns the line of a value in topLevelChecked, or of a
// null item of a top-level list, that msg is about.
func quotedValueLine(msg string, top *yaml.Node) int {
	for _, path := range topLevelChecked {
		n := top
		for _, key := range path {
			_, n = mappingEntry(n, key)
		}
		if n == nil {
			continue
		}
		for _, v := range append([]*yaml.Node{n}, n.Content...) {
			if v.Kind == yaml.ScalarNode && strings.Contains(msg, strconv.Quote(v.Value)) {
				return v.Line
			}
		}
	}
	// "empty or null ... section": Prometheus checks list items for nil.
	if strings.Contains(msg, "null") {
		for i := 1; i < len(top.Content); i += 2 {
			if list := top.Content[i]; list.Kind == yaml.SequenceNode {
				for _, it := range list.Content {
					if it.Kind == yaml.ScalarNode && it.Tag == "!!null" {
						return it.Line
					}
				}
			}
		}
	}
	return 0
}

// globalFor parses the file's global section on its own, to validate scrape
// configs in isolation against the same globals; on failure the defaults.
func globalFor(top *yaml.Node) promconfig.GlobalConfig {
	g := promconfig.DefaultGlobalConfig
	if _, v := mappingEntry(top, "global"); v != nil {
		var parsed promconfig.GlobalConfig
		if reproduce(v, reflect.TypeFor[promconfig.GlobalConfig](), g, reflect.ValueOf(&parsed)) == nil {
			g = parsed
		}
	}
	return g
}

// narrow returns the line of the deepest node below n, whose Go type is t,
// that on its own reproduces msg; ok is false when no child of n does. Lists
// and maps are looked through: Prometheus validates their elements, not the
// collection. The search stops at depth 32.
func narrow(msg string, n *yaml.Node, t reflect.Type, g promconfig.GlobalConfig, depth int) (line int, ok bool) {
	if depth > 32 {
		return 0, false
	}
	for _, c := range children(n, t) {
		collection := c.typ.Kind() == reflect.Slice || c.typ.Kind() == reflect.Map
		if collection {
			if line, ok := narrow(msg, c.node, c.typ, g, depth+1); ok {
				return line, true
			}
		}
		err := reproduce(c.node, c.typ, g, reflect.Value{})
		if err == nil || err.Error() == "" || !strings.Contains(msg, err.Error()) {
			continue
		}
		if !collection {
			if line, ok := narrow(msg, c.node, c.typ, g, depth+1); ok {
				return line, true
			}
		}
		return c.line, true
	}
	return 0, false
}

type child struct {
	node *yaml.Node
	typ  reflect.Type
	line int // the key's line for a mapping value, else the node's
}

// children pairs the YAML children of n with the Go types Prometheus' parser
// decodes them into: struct fields by their yaml tags (following inline
// structs), slice and map elements.
func children(n *yaml.Node, t reflect.Type) []child {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []child
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		collectFields(t, fields, 0)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if ft, ok := fields[k.Value]; ok && k.Kind == yaml.ScalarNode {
				out = append(out, child{n.Content[i+1], ft, k.Line})
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, child{n.Content[i+1], t.Elem(), n.Content[i].Line})
		}
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for _, c := range n.Content {
			out = append(out, child{c, t.Elem(), c.Line})
		}
	}
	return out
}

// collectFields maps yaml keys to field types as go.yaml.in/yaml/v2 does.
func collectFields(t reflect.Type, into map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, into, depth+1)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		into[name] = f.Type
	}
}

// Validators that Prometheus calls on parsed pieces from above, with context
// the piece does not carry.
type (
	globalValidator interface {
		Validate(promconfig.GlobalConfig) error
	}
	schemeValidator interface {
		Validate(model.ValidationScheme) error
	}
	plainValidator interface {
		Validate() error
	}
)

// reproduce parses node n on its own into a new value of type t, as
// Prometheus' parser would, and runs the validation Prometheus runs on it
// from above. into, when valid, receives the value instead.
func reproduce(n *yaml.Node, t reflect.Type, g promconfig.GlobalConfig, into reflect.Value) error {
	text, err := yaml.Marshal(n)
	if err != nil {
		return nil
	}
	if !into.IsValid() {
		into = reflect.New(t)
	}
	if err := yaml2.UnmarshalStrict(text, into.Interface()); err != nil {
		return err
	}
	v := into.Interface()
	if into.Elem().Kind() == reflect.Pointer && !into.Elem().IsNil() {
		v = into.Elem().Interface()
	}
	switch x := v.(type) {
	case globalValidator:
		return x.Validate(g)
	case schemeValidator:
		return x.Validate(g.MetricNameValidationScheme)
	case plainValidator:
		return x.Validate()
	}
	return nil
}
