package config

import (
	"bytes"
	"fmt"
	"strconv"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// Redacted renders the effective configuration as YAML: every field with its
// value after defaults, relative paths resolved, and secrets (passwords,
// tokens, credentials) shown as <secret>. The Prometheus part is rendered by
// Prometheus' own marshaller, as its /config page does; ferry's extension
// keys are added to each remote_write entry and the ferry section last.
func (c *Config) Redacted() (string, error) {
	promYAML, err := yaml2.Marshal(c.Prometheus)
	if err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(promYAML, &doc); err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	top := documentMapping(&doc)
	if top == nil {
		return "", fmt.Errorf("render config: unexpected shape of the Prometheus part")
	}

	if _, list := mappingEntry(top, "remote_write"); list != nil && list.Kind == yaml.SequenceNode {
		for i, item := range list.Content {
			if i >= len(c.RemoteWrite) || item.Kind != yaml.MappingNode {
				break
			}
			for _, x := range remoteWriteExtensions {
				item.Content = append(item.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Value: x.key},
					&yaml.Node{Kind: yaml.ScalarNode, Value: x.get(&c.RemoteWrite[i])})
			}
			showEffectiveQueue(item, &c.RemoteWrite[i])
		}
	}

	// runtime.gogc as ferry runs it: its default is not Prometheus'.
	// Unless the file or $GOGC chose it, it is where adapting starts.
	gogc := strconv.Itoa(c.GoGC)
	_, rt := mappingEntry(top, "runtime")
	if rt == nil || rt.Kind != yaml.MappingNode {
		rt = &yaml.Node{Kind: yaml.MappingNode}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "runtime"}, rt)
	}
	setScalar(rt, "gogc", gogc)
	if _, v := mappingEntry(rt, "gogc"); v != nil && !c.GoGCSet {
		v.LineComment = "ferry's start: adapted to what collections cost unless --no-runtime.adaptive-gogc"
	}

	var ferry yaml.Node
	if err := ferry.Encode(ferrySection{Storage: c.Storage, Receiver: c.Receiver}); err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: ferryKey}, &ferry)

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	return b.String(), nil
}

// showEffectiveQueue writes into a rendered remote_write item the queue
// settings ferry runs with where its defaults differ from Prometheus', so
// the page shows what is in effect, not what Prometheus would do.
func showEffectiveQueue(item *yaml.Node, rw *RemoteWrite) {
	_, q := mappingEntry(item, "queue_config")
	if q == nil || q.Kind != yaml.MappingNode {
		return
	}
	setScalar(q, "capacity", strconv.Itoa(rw.Queue.Capacity))
	setScalar(q, "max_samples_per_send", strconv.Itoa(rw.Queue.MaxSamplesPerSend))
	setScalar(q, "retry_on_http_429", strconv.FormatBool(rw.RetryOnHTTP429))
}

// setScalar sets key to a scalar value in mapping m, adding the key if m
// lacks it.
func setScalar(m *yaml.Node, key, value string) {
	if _, v := mappingEntry(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Content = yaml.ScalarNode, "", value, nil
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
}
