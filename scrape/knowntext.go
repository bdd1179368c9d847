package scrape

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
)

// A target exposes the same series in the same order scrape after scrape,
// so most lines of a text exposition begin with exactly the bytes of the
// series the cache expects at that position. parseKnownText reads such
// lines without the parser: it compares the line with the cached text and
// parses only the value and the timestamp after it. It also reads the
// comment, HELP and TYPE lines between them.
//
// It accepts only lines it reads exactly as textparse.PromParser does, and
// stops at the first line that is anything else: a new or moved series, a
// quoted metric name, an escape in a help text, whitespace the parser
// would read differently, a value or a timestamp that does not parse. The
// parser then reads the rest of the body, so every error it would report
// is still reported, with its own message.

// parseKnownText reads lines of a text exposition from the start of body
// while they are known series or comments. It returns the parser that
// reads the rest of body, or nil if it read every line.
//
// The parser remembers one thing between lines: the type of the last TYPE
// line, which decides whether it normalises `le` and `quantile` values.
// So the parser starts at the last TYPE line read here and skips the
// entries up to the first line not read here.
func (l *loop) parseKnownText(body []byte, ts int64, cur *int32, res *parseResult) (textparse.Parser, error) {
	pos, typeAt, entries := 0, -1, 0
	for pos < len(body) {
		n := bytes.IndexByte(body[pos:], '\n')
		if n < 0 {
			break // the parser wants a final line break; let it say so
		}
		line := body[pos : pos+n]
		if len(line) > 0 { // an empty line is no entry
			isType, ok := l.knownLine(line, ts, cur, res)
			if !ok {
				break
			}
			if isType {
				typeAt, entries = pos, 0
			}
			entries++
		}
		pos += n + 1
	}
	switch {
	case pos == len(body):
		return nil, nil
	case typeAt < 0:
		return textparse.NewPromParser(body[pos:], l.st, false), nil
	}
	p := textparse.NewPromParser(body[typeAt:], l.st, false)
	for range entries {
		if _, err := p.Next(); err != nil {
			// Cannot happen: these lines were read as the parser reads
			// them. Fail the scrape rather than read on from a wrong place.
			return nil, fmt.Errorf("parse exposition: rereading known lines: %w", err)
		}
	}
	return p, nil
}

// knownLine reads one non-empty line, reporting whether it could and
// whether it was a TYPE line.
func (l *loop) knownLine(line []byte, ts int64, cur *int32, res *parseResult) (isType, ok bool) {
	if line[0] == '#' {
		return l.knownComment(line, cur)
	}
	return false, l.knownSeries(line, ts, res)
}

// knownSeries reads a series line if it starts with the text of the series
// the cache expects next, followed by blanks, a value and optionally a
// timestamp.
func (l *loop) knownSeries(line []byte, ts int64, res *parseResult) bool {
	c := l.cache
	if c.pos >= c.order.len() {
		return false
	}
	i := c.order.at(c.pos)
	e := &c.entries[i]
	if e.flags&entryFree != 0 || e.format != formatText {
		return false
	}
	key := c.text(e.keyOff)
	if len(line) <= len(key) || !isBlank(line[len(key)]) || !bytes.Equal(line[:len(key)], key) {
		return false
	}
	v, t, hasTS, ok := valueAndTimestamp(line[len(key):])
	if !ok {
		return false
	}
	c.pos++
	res.scraped++
	if i, ok = l.admit(i); !ok {
		return true
	}
	var tp *int64
	if hasTS {
		tp = &t
	}
	l.take(scraped{e: i, t: ts, v: v}, tp)
	return true
}

// valueAndTimestamp parses what follows a series' text on its line: blanks,
// the value, and optionally blanks and an integer timestamp in
// milliseconds, then optional blanks. It reports false for anything the
// parser would not read the same way.
func valueAndTimestamp(b []byte) (v float64, ts int64, hasTS, ok bool) {
	b = skipBlanks(b)
	n := 0
	for n < len(b) && !isBlank(b[n]) {
		if b[n] == '{' {
			return 0, 0, false, false
		}
		n++
	}
	if n == 0 {
		return 0, 0, false, false
	}
	v, ok = parseValue(b[:n])
	if !ok {
		return 0, 0, false, false
	}
	b = skipBlanks(b[n:])
	if len(b) == 0 {
		return v, 0, false, true
	}
	n = 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || len(skipBlanks(b[n:])) != 0 {
		return 0, 0, false, false
	}
	ts, err := strconv.ParseInt(string(b[:n]), 10, 64)
	if err != nil {
		return 0, 0, false, false
	}
	return v, ts, true, true
}

// parseValue parses a sample value as the text parser does: Go's float
// syntax without hexadecimal mantissas or underscores, NaN made the one
// canonical NaN.
func parseValue(b []byte) (float64, bool) {
	if v, ok := parseShortDecimal(b); ok {
		return v, true
	}
	for _, ch := range b {
		if ch == 'p' || ch == 'P' || ch == '_' {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, false
	}
	if math.IsNaN(v) {
		v = math.Float64frombits(value.NormalNaN)
	}
	return v, true
}

// parseShortDecimal parses the values most expositions are made of:
// an optional sign, at most 15 digits and at most one decimal point. The
// digits make an integer below 2^53 and 10^k is exact for k <= 15, so one
// division is correctly rounded and the result is the one
// strconv.ParseFloat returns. It reports false for anything else.
func parseShortDecimal(b []byte) (float64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var m uint64
	digits, frac := 0, -1
	for _, ch := range b {
		switch {
		case ch >= '0' && ch <= '9':
			m = m*10 + uint64(ch-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case ch == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	v := float64(m)
	if frac > 0 {
		v /= pow10[frac]
	}
	if neg {
		v = -v
	}
	return v, true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// knownComment reads a line that starts with '#': a HELP or TYPE line of a
// plain metric name, or any other comment, which the parser ignores.
func (l *loop) knownComment(line []byte, cur *int32) (isType, ok bool) {
	if bytes.IndexByte(line, 0) >= 0 {
		return false, false // the parser's lexer treats NUL specially in comments
	}
	rest := skipBlanks(line[1:])
	if len(rest) == len(line)-1 {
		return false, true // '#' not followed by a blank: a comment
	}
	var help bool
	switch {
	case len(rest) > 4 && isBlank(rest[4]) && string(rest[:4]) == "HELP":
		help = true
	case len(rest) > 4 && isBlank(rest[4]) && string(rest[:4]) == "TYPE":
	default:
		return false, true // a comment
	}
	rest = skipBlanks(rest[4:])
	n := metricNameLen(rest)
	if n == 0 || (n < len(rest) && !isBlank(rest[n])) {
		return false, false // a quoted name, or something unusual after the name
	}
	name, text := rest[:n], rest[n:]
	switch {
	case len(skipBlanks(text)) == 0:
		// The lexer reads blanks alone as whitespace, not as text.
		text = text[:0]
	default:
		text = text[1:] // the blank after the name
	}
	c := l.cache
	if help {
		if bytes.IndexByte(text, '\\') >= 0 || !utf8.Valid(text) {
			return false, false
		}
		*cur = c.setHelp(name, text)
		return false, true
	}
	t, known := metricTypes[string(text)]
	if !known {
		return false, false
	}
	*cur = c.family(name)
	c.fams.setType(*cur, metricType(t))
	return true, true
}

var metricTypes = map[string]model.MetricType{
	"counter":   model.MetricTypeCounter,
	"gauge":     model.MetricTypeGauge,
	"histogram": model.MetricTypeHistogram,
	"summary":   model.MetricTypeSummary,
	"untyped":   model.MetricTypeUnknown,
}

// metricNameLen returns the length of the unquoted metric name at the
// start of b: [a-zA-Z_:][a-zA-Z0-9_:]*.
func metricNameLen(b []byte) int {
	n := 0
	for n < len(b) {
		ch := b[n]
		if ch == '_' || ch == ':' || (ch|0x20 >= 'a' && ch|0x20 <= 'z') || (n > 0 && ch >= '0' && ch <= '9') {
			n++
			continue
		}
		break
	}
	return n
}

func isBlank(ch byte) bool { return ch == ' ' || ch == '\t' }

func skipBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	return b
}
