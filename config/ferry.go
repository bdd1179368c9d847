package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	promcommon "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// Storage configures the durable log that every scraped and received sample
// is appended to before it is sent.
type Storage struct {
	// MaxSize bounds the log on disk; when it is exceeded the oldest segments
	// are deleted and the loss is counted. 0 means unlimited.
	MaxSize ByteSize `yaml:"max_size"`
	// MaxAge bounds the age of the oldest record kept; older segments are
	// deleted and the loss is counted. 0 means unlimited.
	MaxAge Duration `yaml:"max_age"`
	// SegmentSize is the size at which the open segment is closed and a new
	// one started. Space is reclaimed a whole segment at a time.
	SegmentSize ByteSize `yaml:"segment_size"`
	// SegmentMaxAge closes the open segment when its first record is this
	// old, so that quiet logs still release space.
	SegmentMaxAge Duration `yaml:"segment_max_age"`
	// FsyncInterval is the longest time scraped data may stay unsynced.
	// 0 syncs after every append.
	FsyncInterval Duration `yaml:"fsync_interval"`
}

// ReceiverMode says what the remote-write receiver does with what it accepts.
type ReceiverMode string

const (
	// ReceiverRelay appends received data to the log, from where it is
	// forwarded to every remote_write destination like scraped data.
	ReceiverRelay ReceiverMode = "relay"
	// ReceiverInspect validates received data and keeps the latest value of
	// each series in memory for display. Nothing is written to the log.
	ReceiverInspect ReceiverMode = "inspect"
)

// Receiver configures the remote-write receiver on /api/v1/write.
type Receiver struct {
	// Enabled turns the endpoint on.
	Enabled bool `yaml:"enabled"`
	// Mode is ReceiverRelay or ReceiverInspect.
	Mode ReceiverMode `yaml:"mode"`
	// AcceptedMessages lists the protobuf messages accepted; a request with
	// another content type is answered 415.
	AcceptedMessages []remoteapi.WriteMessageType `yaml:"accepted_messages"`
	// MaxBodySize limits the compressed request body; larger requests are
	// answered 413.
	MaxBodySize ByteSize `yaml:"max_body_size"`
	// MaxDecodedSize limits the decompressed request body; larger requests
	// are answered 413.
	MaxDecodedSize ByteSize `yaml:"max_decoded_size"`
	// MaxConcurrentRequests is how many requests are processed at once;
	// requests beyond it are answered 429 with Retry-After.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// BearerTokenFile, when set, names a file holding the token that
	// requests must present as "Authorization: Bearer <token>". After
	// loading it is absolute or relative to the working directory.
	BearerTokenFile string `yaml:"bearer_token_file,omitempty"`
}

// DefaultStorage returns the storage settings used for fields the file
// leaves out.
func DefaultStorage() Storage {
	return Storage{
		MaxSize:       10 << 30,
		MaxAge:        Duration(7 * 24 * time.Hour),
		SegmentSize:   128 << 20,
		SegmentMaxAge: Duration(time.Hour),
		FsyncInterval: Duration(time.Second),
	}
}

// DefaultReceiver returns the receiver settings used for fields the file
// leaves out.
func DefaultReceiver() Receiver {
	return Receiver{
		Enabled:               false,
		Mode:                  ReceiverRelay,
		AcceptedMessages:      []remoteapi.WriteMessageType{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType},
		MaxBodySize:           32 << 20,
		MaxDecodedSize:        128 << 20,
		MaxConcurrentRequests: 16,
	}
}

// minSegmentSize keeps segments large enough that per-segment overhead
// (a file, a header, a trailer, a directory entry) stays negligible.
const minSegmentSize ByteSize = 1 << 20

// BearerToken reads the token from BearerTokenFile, trimmed of surrounding
// white space as Prometheus does for secrets read from files. It returns ""
// and no error when no file is configured. The file is read on every call so
// that a rotated token takes effect without a reload.
func (r Receiver) BearerToken() (string, error) {
	if r.BearerTokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(r.BearerTokenFile)
	if err != nil {
		return "", fmt.Errorf("read receiver bearer token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("read receiver bearer token: %s is empty", r.BearerTokenFile)
	}
	return tok, nil
}

// ferrySection is the `ferry:` block of the file.
type ferrySection struct {
	Storage  Storage  `yaml:"storage"`
	Receiver Receiver `yaml:"receiver"`
}

func defaultFerrySection() ferrySection {
	return ferrySection{Storage: DefaultStorage(), Receiver: DefaultReceiver()}
}

// decodeFerrySection parses the ferry section out of text, a copy of the
// file in which every line outside the section is blank, so that the line
// numbers in errors are those of the file. value is the section's node in
// the file's tree (nil when the file has no section); it is used to point
// validation errors at the offending line.
func decodeFerrySection(text []byte, value *yaml.Node, dir string) (ferrySection, error) {
	var doc struct {
		Ferry ferrySection `yaml:"ferry"`
	}
	doc.Ferry = defaultFerrySection()
	if value == nil {
		return doc.Ferry, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return ferrySection{}, tidyYAMLError(err)
	}
	s := &doc.Ferry
	if s.Receiver.AcceptedMessages == nil { // `accepted_messages:` with no value
		s.Receiver.AcceptedMessages = DefaultReceiver().AcceptedMessages
	}
	if err := s.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			if line := lineOfPath(value, fe.path); line > 0 {
				return ferrySection{}, fmt.Errorf("line %d: %w", line, err)
			}
		}
		return ferrySection{}, err
	}
	s.Receiver.BearerTokenFile = promcommon.JoinDir(dir, s.Receiver.BearerTokenFile)
	return *s, nil
}

// fieldError is a validation error about one field of the ferry section.
type fieldError struct {
	path []string // keys below `ferry:`, e.g. storage, segment_size
	msg  string
}

func (e *fieldError) Error() string {
	return "ferry." + strings.Join(e.path, ".") + ": " + e.msg
}

func fieldErrorf(path string, format string, args ...any) error {
	return &fieldError{path: strings.Split(path, "."), msg: fmt.Sprintf(format, args...)}
}

func (s *ferrySection) validate() error {
	st := &s.Storage
	if st.SegmentSize < minSegmentSize {
		return fieldErrorf("storage.segment_size", "%s is below the minimum of %s", st.SegmentSize, minSegmentSize)
	}
	if st.MaxSize > 0 && st.SegmentSize > st.MaxSize/4 {
		return fieldErrorf("storage.segment_size", "%s is more than a quarter of max_size (%s); the log reclaims space a segment at a time, so max_size must hold at least four segments", st.SegmentSize, st.MaxSize)
	}
	if st.SegmentMaxAge <= 0 {
		return fieldErrorf("storage.segment_max_age", "must be greater than 0")
	}
	if st.MaxAge > 0 && st.SegmentMaxAge > st.MaxAge {
		return fieldErrorf("storage.segment_max_age", "%s is longer than max_age (%s)", st.SegmentMaxAge, st.MaxAge)
	}

	r := &s.Receiver
	switch r.Mode {
	case ReceiverRelay, ReceiverInspect:
	default:
		return fieldErrorf("receiver.mode", "unknown mode %q: use %q or %q", r.Mode, ReceiverRelay, ReceiverInspect)
	}
	if len(r.AcceptedMessages) == 0 {
		return fieldErrorf("receiver.accepted_messages", "must list at least one of %q, %q", remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType)
	}
	for i, m := range r.AcceptedMessages {
		if m != remoteapi.WriteV1MessageType && m != remoteapi.WriteV2MessageType {
			return fieldErrorf("receiver.accepted_messages", "unknown message %q: use %q or %q", m, remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType)
		}
		if slices.Contains(r.AcceptedMessages[:i], m) {
			return fieldErrorf("receiver.accepted_messages", "%q is listed twice", m)
		}
	}
	if r.MaxBodySize <= 0 {
		return fieldErrorf("receiver.max_body_size", "must be greater than 0")
	}
	if r.MaxDecodedSize <= 0 {
		return fieldErrorf("receiver.max_decoded_size", "must be greater than 0")
	}
	if r.MaxDecodedSize < r.MaxBodySize {
		return fieldErrorf("receiver.max_decoded_size", "%s is smaller than max_body_size (%s); a decoded body is never smaller than its compressed form", r.MaxDecodedSize, r.MaxBodySize)
	}
	if r.MaxConcurrentRequests <= 0 {
		return fieldErrorf("receiver.max_concurrent_requests", "must be greater than 0")
	}
	return nil
}

// lineOfPath returns the line of the key at path below the mapping n, or of
// the deepest key of path that exists, or 0.
func lineOfPath(n *yaml.Node, path []string) int {
	line := 0
	for _, key := range path {
		k, v := mappingEntry(n, key)
		if k == nil {
			break
		}
		line, n = k.Line, v
	}
	return line
}

// mappingEntry returns the key and value nodes of key in the mapping n.
func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// sectionNames maps the Go types of the ferry section, as go.yaml.in/yaml/v3
// names them in errors, to where they are in the file.
var sectionNames = strings.NewReplacer(
	"in type config.ferrySection", "in ferry",
	"in type config.Storage", "in ferry.storage",
	"in type config.Receiver", "in ferry.receiver",
	"into config.ferrySection", "into the ferry section",
	"into config.Storage", "into ferry.storage",
	"into config.Receiver", "into ferry.receiver",
)

// tidyYAMLError rewrites an error from decoding the ferry section: without
// the "yaml: unmarshal errors:" preamble when there is one error, and with
// section names instead of Go type names.
func tidyYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	if len(te.Errors) == 1 {
		return errors.New(sectionNames.Replace(strings.TrimSpace(te.Errors[0])))
	}
	return errors.New(sectionNames.Replace(err.Error()))
}
