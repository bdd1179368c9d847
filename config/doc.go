// Package config loads and validates ferry's configuration file.
//
// A Prometheus agent configuration file is a valid ferry configuration file,
// unchanged. ferry adds a few settings of its own, written in the same file.
//
// # The Prometheus part
//
// Everything except ferry's extensions is parsed and validated by
// Prometheus' own code (github.com/prometheus/prometheus/config), exactly as
// `prometheus --agent` does: the same fields, defaults, environment
// expansion in external_labels, and checks (unknown fields, duplicate job
// names, regexes, URLs, reserved headers, queue_config limits, ...). As in
// agent mode, rule_files, alerting and remote_read are refused when they are
// not empty. Relative paths are resolved against the directory of the file,
// and scrape_config_files are read and validated.
//
// Service discovery sections work for the mechanisms ferry registers:
// static_configs, file_sd_configs, http_sd_configs and dns_sd_configs.
//
// # ferry's extensions
//
// Two kinds, both of which Prometheus' strict parser would refuse:
//
// The top-level `ferry:` section, with every field optional:
//
//	ferry:
//	  storage:                    # the durable log
//	    max_size: 10GiB           # 0 = unlimited; oldest segments are dropped (and counted) beyond it
//	    max_age: 7d               # 0 = unlimited; older segments are dropped (and counted)
//	    segment_size: 128MiB      # a segment is closed at this size; >= 1MiB and <= max_size/4
//	    segment_max_age: 1h       # ... or when its first record is this old; > 0 and <= max_age
//	    fsync_interval: 1s        # scraped data is synced at least this often; 0 = after every append
//	  receiver:                   # remote-write receiver on /api/v1/write
//	    enabled: false
//	    mode: relay               # relay: append to the log and forward; inspect: keep the latest value per series in memory, write nothing
//	    accepted_messages: [prometheus.WriteRequest, io.prometheus.write.v2.Request]
//	    max_body_size: 32MiB      # compressed body limit (413 beyond)
//	    max_decoded_size: 128MiB  # decompressed body limit (413 beyond); >= max_body_size
//	    max_concurrent_requests: 16  # 429 with Retry-After beyond
//	    bearer_token_file: ""     # when set, requests must carry "Authorization: Bearer <token>"
//
// The values shown are the defaults (DefaultStorage, DefaultReceiver). Sizes
// are bytes or use the power-of-two units of ByteSize; durations use
// Prometheus' syntax (Duration). A relative bearer_token_file is resolved
// against the file's directory and, as in Prometheus, read on use and
// trimmed of surrounding white space.
//
// Extension keys in a remote_write entry, each a single-line value:
//
//	remote_write:
//	  - url: https://example.com/api/v1/push
//	    compression: zstd         # snappy (default) or zstd; the sender falls back to snappy on 415
//
// # How the file is split
//
// Before Prometheus' parser sees the text, the loader blanks the extensions
// out of it while keeping every line in place, so that the line numbers in
// Prometheus' errors are those of the file:
//
//   - the `ferry:` key of the block-style top-level mapping is blanked with
//     every line after it up to the next top-level key (or the end of the
//     file);
//   - an extension key of a remote_write entry is blanked from its first
//     character to the end of its line, so `- compression: zstd` as the first
//     key of an entry leaves a valid `-`. Its value must therefore be a plain
//     or quoted scalar on the key's line, and the entry must be block style.
//
// The ferry section is then parsed on its own, again with line numbers of the
// file; unknown fields are errors. Extension keys are looked for only
// directly in remote_write entries: they are not inherited through YAML merge
// keys (<<).
//
// # Errors
//
// Errors say where: "line N: ..." for the ferry parts, Prometheus' own line
// numbers for syntax errors and unknown fields, and, for Prometheus'
// validation messages that come without a line (bad URL or regex, duplicate
// job name, ...), the line of the smallest part of the file that reproduces
// the message when parsed on its own. LoadFile adds the file name.
//
// # Destination identity
//
// Each remote_write entry gets an ID (RemoteWrite.ID) that names its position
// in the log: its name if set, else one derived from the URL alone, so that
// changing queue_config, headers or credentials keeps the position. Two
// entries with the same ID are refused (for example two unnamed entries with
// the same URL, which Prometheus accepts); naming them resolves it.
package config
