package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/prometheus/common/model"
	"net/url"
	"strings"

	promconfig "github.com/prometheus/prometheus/config"
)

// RemoteWrite is one remote_write destination: Prometheus' settings plus
// ferry's.
type RemoteWrite struct {
	*promconfig.RemoteWriteConfig

	// ID is the destination's stable identity; it names the destination's
	// cursor in the log, so that a restart or reload resumes where the
	// destination left off. It is the entry's name when set, otherwise
	// derived from the URL alone (host, port and path, then a short hash of
	// the URL without user info), so that editing queue_config, headers or
	// credentials never changes it. IDs are unique within a Config.
	ID string

	// Compression is the body encoding the sender tries first:
	// CompressionSnappy or CompressionZstd (ferry extension `compression`).
	Compression string

	// TenantHeader names the request header that carries a tenant
	// (ferry extension `tenant_header`, default X-Scope-OrgID).
	TenantHeader string
	// TenantLabel, when set, takes each series' tenant from this label
	// (ferry extension `tenant_label`); otherwise the tenant is the one the
	// data was received for, if any.
	TenantLabel string

	// RetryOnHTTP429 says whether responses with status 429 are retried.
	// Prometheus drops the data by default; ferry retries (honouring
	// Retry-After) unless queue_config sets retry_on_http_429: false.
	RetryOnHTTP429 bool
	// Queue is the queue_config ferry runs with: the entry's, with ferry's
	// defaults (see queueDefaults) for what the file does not write. The
	// embedded config keeps Prometheus' values, so the file still reads
	// as Prometheus reads it.
	Queue promconfig.QueueConfig
}

// Body encodings of remote-write requests.
const (
	CompressionSnappy = "snappy"
	CompressionZstd   = "zstd"
)

// remoteWriteExtension is a key that ferry adds to a remote_write entry. Its
// value is a single-line scalar; the loader blanks the key and value out of
// the text before Prometheus parses the entry.
type remoteWriteExtension struct {
	key string
	// init sets the default, before the entry's keys are applied.
	init func(rw *RemoteWrite)
	// set validates and applies the value written in the file.
	set func(rw *RemoteWrite, value string) error
	// get renders the effective value for Config.Redacted.
	get func(rw *RemoteWrite) string
}

// remoteWriteExtensions lists every ferry key allowed in a remote_write
// entry. To add one, add a row.
var remoteWriteExtensions = []remoteWriteExtension{
	{
		key:  "compression",
		init: func(rw *RemoteWrite) { rw.Compression = CompressionSnappy },
		set: func(rw *RemoteWrite, v string) error {
			switch v {
			case CompressionSnappy, CompressionZstd:
				rw.Compression = v
				return nil
			}
			return fmt.Errorf("unknown compression %q: use %q or %q", v, CompressionSnappy, CompressionZstd)
		},
		get: func(rw *RemoteWrite) string { return rw.Compression },
	},
	{
		key:  "tenant_header",
		init: func(rw *RemoteWrite) { rw.TenantHeader = DefaultTenantHeader },
		set: func(rw *RemoteWrite, v string) error {
			if !validHeaderName(v) {
				return fmt.Errorf("%q is not a valid HTTP header name", v)
			}
			if reservedHeader(v) {
				return fmt.Errorf("%s is a reserved header and cannot carry the tenant", v)
			}
			rw.TenantHeader = v
			return nil
		},
		get: func(rw *RemoteWrite) string { return rw.TenantHeader },
	},
	{
		key:  "tenant_label",
		init: func(rw *RemoteWrite) {},
		set: func(rw *RemoteWrite, v string) error {
			if v == "" || !model.UTF8Validation.IsValidLabelName(v) {
				return fmt.Errorf("%q is not a valid label name", v)
			}
			rw.TenantLabel = v
			return nil
		},
		get: func(rw *RemoteWrite) string { return rw.TenantLabel },
	},
}

func lookupExtension(key string) *remoteWriteExtension {
	for i := range remoteWriteExtensions {
		if remoteWriteExtensions[i].key == key {
			return &remoteWriteExtensions[i]
		}
	}
	return nil
}

// buildRemoteWrite pairs each remote_write entry Prometheus parsed with the
// extension keys found at the same position in the file, and assigns IDs.
// items may be shorter than cfgs only when the file's tree could not be read,
// in which case the file has no extensions.
func buildRemoteWrite(cfgs []*promconfig.RemoteWriteConfig, items []rwItem) ([]RemoteWrite, error) {
	out := make([]RemoteWrite, len(cfgs))
	ids := map[string]int{} // ID -> index
	for i, c := range cfgs {
		rw := &out[i]
		rw.RemoteWriteConfig = c
		for _, x := range remoteWriteExtensions {
			x.init(rw)
		}
		line := 0
		var written map[string]bool
		if i < len(items) {
			line, written = items[i].line, items[i].queueKeys
		}
		queueDefaults(rw, written)
		if i < len(items) {
			for _, e := range items[i].ext {
				if e.null {
					continue
				}
				if err := lookupExtension(e.key).set(rw, e.value); err != nil {
					return nil, fmt.Errorf("line %d: remote_write: %s: %w", e.line, e.key, err)
				}
			}
		}
		rw.ID = remoteWriteID(c)
		if j, dup := ids[rw.ID]; dup {
			err := &duplicateIDError{id: rw.ID, first: j, second: i}
			if i < len(items) {
				err.firstLine, err.secondLine = items[j].line, line
			}
			return nil, err
		}
		ids[rw.ID] = i
	}
	return out, nil
}

// Where ferry's queue_config defaults differ from Prometheus'.
const (
	// DefaultMaxSamplesPerSend is five times Prometheus' 2000: an RW2
	// request carries the symbols and metadata of its series, and the
	// compressor finds the same series of other targets in it, so ten
	// scrapes of 1000 series cost about 40% fewer bytes per sample on the
	// wire than one (12.05 -> 7.13 end to end, docs/benchmarks.md).
	// vmagent's default block is 10000 samples too.
	DefaultMaxSamplesPerSend = 10000
	// defaultCapacityBatches is capacity in batches when it is not
	// written: one batch being sent while the next fills.
	defaultCapacityBatches = 2
)

// queueDefaults applies ferry's defaults to the queue settings the entry
// does not write (written holds the keys of its queue_config): 429 is
// retried, and requests and the samples in flight are larger.
func queueDefaults(rw *RemoteWrite, written map[string]bool) {
	rw.Queue = rw.QueueConfig
	q := &rw.Queue
	rw.RetryOnHTTP429 = true
	if written["retry_on_http_429"] {
		rw.RetryOnHTTP429 = q.RetryOnRateLimit
	}
	q.RetryOnRateLimit = rw.RetryOnHTTP429
	if !written["max_samples_per_send"] {
		q.MaxSamplesPerSend = DefaultMaxSamplesPerSend
	}
	if !written["capacity"] {
		q.Capacity = max(q.Capacity, defaultCapacityBatches*q.MaxSamplesPerSend)
	}
}

// duplicateIDError reports two remote_write entries with the same ID. It is
// the one case where a configuration Prometheus accepts is refused: ferry
// could not tell the two destinations' positions in the log apart.
type duplicateIDError struct {
	id                    string
	first, second         int // entry indexes
	firstLine, secondLine int // 0 when unknown
}

func (e *duplicateIDError) Error() string {
	where := fmt.Sprintf("remote_write entries %d and %d", e.first+1, e.second+1)
	if e.secondLine > 0 {
		where = fmt.Sprintf("line %d: remote_write entries at lines %d and %d", e.secondLine, e.firstLine, e.secondLine)
	}
	return fmt.Sprintf("%s both have the identity %q, which names the destination's position in the log; give each a distinct `name`", where, e.id)
}

// remoteWriteID returns the entry's name, or an ID derived from its URL.
func remoteWriteID(c *promconfig.RemoteWriteConfig) string {
	if c.Name != "" {
		return c.Name
	}
	if c.URL == nil || c.URL.URL == nil {
		return "remote-" + shortHash("")
	}
	return urlID(c.URL.URL)
}

// urlID builds "host-port-path-hash" from u, keeping only characters that are
// safe in file names. The hash covers the whole URL except user info (which
// holds credentials) and fragment, so that two URLs that read alike still
// get different IDs.
func urlID(u *url.URL) string {
	canon := *u
	canon.User = nil
	canon.Fragment, canon.RawFragment = "", ""
	var parts []string
	for _, p := range []string{u.Hostname(), u.Port(), u.Path} {
		if p = sanitizeID(p); p != "" {
			parts = append(parts, p)
		}
	}
	readable := strings.Join(parts, "-")
	if len(readable) > 64 {
		readable = strings.TrimRight(readable[:64], "-.")
	}
	if readable == "" {
		readable = "remote"
	}
	return readable + "-" + shortHash(canon.String())
}

// sanitizeID maps every run of characters other than ASCII letters, digits,
// dots and underscores to one dash, and trims dashes and dots at the ends.
func sanitizeID(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return strings.Trim(b.String(), "-.")
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}
