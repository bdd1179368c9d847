package scrape

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	config_util "github.com/prometheus/common/config"
)

// plainTransport scrapes http:// targets over HTTP/1.1 keep-alive
// connections of its own, and hands every other request (https, a body,
// anything it does not handle) to the transport Prometheus' client
// configuration built.
//
// Why: net/http's transport gives each connection a read and a write
// goroutine, 4 KiB read and write buffers, and (through the client
// configuration's connection tracking) a 6.4 KB trace event log, all kept
// for as long as the connection is idle, which for a scrape connection is
// nearly always: 40 bytes per series in the end-to-end benchmark (200
// targets of 1000 series; docs/benchmarks.md). Here an idle connection is
// only its socket: a scrape borrows
// buffers from a pool shared by all targets, writes the request and reads
// the response on its own goroutine, and the connection goes back to the
// idle list when the body has been read to its end.
type plainTransport struct {
	fallback    http.RoundTripper
	dialer      net.Dialer
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*plainConn // by host:port, most recently used last
}

// plainConn is one connection to a target.
type plainConn struct {
	t     *plainTransport
	addr  string
	conn  net.Conn
	timer *time.Timer // closes the connection once it has been idle too long
	read  int64       // bytes read from conn, to tell a dead idle connection from a failed response
	// headLimit bounds the bytes read for a response's head (interim
	// responses included), as net/http's does; 0 once the body is read.
	headLimit int64
}

// maxResponseHead is net/http's default bound on response headers.
const maxResponseHead = 10 << 20

var errHeadTooLarge = errors.New("response headers exceed 10 MiB")

func (c *plainConn) Read(p []byte) (int, error) {
	if c.headLimit > 0 {
		if c.read >= c.headLimit {
			return 0, errHeadTooLarge
		}
		p = p[:min(int64(len(p)), c.headLimit-c.read)]
	}
	n, err := c.conn.Read(p)
	c.read += int64(n)
	return n, err
}

// connBuffers are lent to one request at a time. 32 KiB reads take most
// compressed scrape bodies in one or two system calls.
var (
	connReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}
	connWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// defaultIdleConnTimeout is the client configuration's own default: longer
// than any sane scrape interval.
const defaultIdleConnTimeout = 5 * time.Minute

func newPlainTransport(fallback http.RoundTripper, idleTimeout time.Duration) *plainTransport {
	return &plainTransport{fallback: fallback, idleTimeout: idleTimeout, idle: map[string][]*plainConn{}}
}

// plainHTTPClient returns a client that scrapes http:// targets with a
// plainTransport when cfg adds nothing to a request on the way (no
// authentication, headers or proxy), and the client cfg builds otherwise.
func plainHTTPClient(cfg config_util.HTTPClientConfig, client *http.Client) *http.Client {
	if !plainConfig(cfg) {
		return client
	}
	return &http.Client{
		Transport:     newPlainTransport(client.Transport, defaultIdleConnTimeout),
		CheckRedirect: client.CheckRedirect,
		Jar:           client.Jar,
		Timeout:       client.Timeout,
	}
}

// plainConfig reports whether cfg leaves an http:// request as the scrape
// loop wrote it. TLS settings only concern https, which the fallback
// serves.
func plainConfig(cfg config_util.HTTPClientConfig) bool {
	return cfg.BasicAuth == nil && cfg.Authorization == nil && cfg.OAuth2 == nil &&
		cfg.BearerToken == "" && cfg.BearerTokenFile == "" &&
		cfg.HTTPHeaders == nil && cfg.ProxyURL.URL == nil && !cfg.ProxyFromEnvironment
}

func (t *plainTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Method != http.MethodGet || (req.Body != nil && req.Body != http.NoBody) {
		return t.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	for {
		c, reused := t.get(addr)
		if c == nil {
			var err error
			if c, err = t.dial(req.Context(), addr); err != nil {
				return nil, err
			}
		}
		resp, err := c.roundTrip(req)
		if err == nil && reused && resp.StatusCode == http.StatusRequestTimeout {
			// A server may say 408 on a keep-alive connection it closes
			// for being idle; the answer was not to this request (net/http
			// retries too).
			resp.Body.Close()
			continue
		}
		if err == nil {
			return resp, nil
		}
		// A server may close a keep-alive connection while it is idle;
		// the request then fails before a byte of the response arrives.
		// Nothing was processed, so it goes again on another connection
		// (net/http does the same for requests without a body).
		if !reused || c.read > 0 || req.Context().Err() != nil {
			return nil, err
		}
	}
}

func (t *plainTransport) dial(ctx context.Context, addr string) (*plainConn, error) {
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &plainConn{t: t, addr: addr, conn: conn}, nil
}

// get takes the most recently used idle connection to addr.
func (t *plainTransport) get(addr string) (*plainConn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		list := t.idle[addr]
		if len(list) == 0 {
			return nil, false
		}
		c := list[len(list)-1]
		t.dropIdle(addr, len(list)-1)
		if c.timer.Stop() {
			c.read = 0
			return c, true
		}
		// Its idle timer fired and is closing it.
	}
}

// put makes c idle. A connection a scrape gives back after
// CloseIdleConnections is idle like any other, as with net/http.
func (t *plainTransport) put(c *plainConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.idle[c.addr] = append(t.idle[c.addr], c)
	if c.timer == nil {
		c.timer = time.AfterFunc(t.idleTimeout, c.expire)
	} else {
		c.timer.Reset(t.idleTimeout)
	}
}

// expire closes c after it has been idle for the idle timeout.
func (c *plainConn) expire() {
	t := c.t
	t.mu.Lock()
	if i := slices.Index(t.idle[c.addr], c); i >= 0 {
		t.dropIdle(c.addr, i)
	}
	t.mu.Unlock()
	c.conn.Close()
}

// dropIdle removes the i-th idle connection to addr from the list; t.mu
// is held.
func (t *plainTransport) dropIdle(addr string, i int) {
	list := slices.Delete(t.idle[addr], i, i+1)
	if len(list) == 0 {
		delete(t.idle, addr)
	} else {
		t.idle[addr] = list
	}
}

// CloseIdleConnections closes the idle connections of both transports;
// http.Client.CloseIdleConnections calls it.
func (t *plainTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*plainConn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			if c.timer.Stop() {
				c.conn.Close()
			}
		}
	}
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// longAgo is a deadline that has passed: setting it makes a blocked read
// or write return at once.
var longAgo = time.Unix(1, 0)

// roundTrip writes req and reads the response head. The body reads
// from the connection; it gives the connection back when read to its end.
func (c *plainConn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// Cancelling the request unblocks the connection; the connection is
	// not used again after that.
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(longAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	w := connWriters.Get().(*bufio.Writer)
	w.Reset(c.conn)
	err := req.Write(w)
	if err == nil {
		err = w.Flush()
	}
	w.Reset(nil)
	connWriters.Put(w)
	if err != nil {
		return fail(err)
	}
	r := connReaders.Get().(*bufio.Reader)
	r.Reset(c)
	c.headLimit = c.read + maxResponseHead
	resp, err := http.ReadResponse(r, req)
	// 1xx responses are interim: the final one follows (net/http skips
	// them the same way).
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(r, req)
	}
	c.headLimit = 0
	if err != nil {
		r.Reset(nil)
		connReaders.Put(r)
		return fail(err)
	}
	reuse := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	resp.Body = &plainBody{ctx: ctx, c: c, r: r, body: resp.Body, stop: stop, reuse: reuse}
	return resp, nil
}

// plainBody is a response body read straight from the connection.
type plainBody struct {
	ctx   context.Context
	c     *plainConn
	r     *bufio.Reader
	body  io.ReadCloser
	stop  func() bool
	reuse bool
	err   error // once set, the connection is gone and every Read returns it
}

var errBodyClosed = errors.New("http: read on closed response body")

func (b *plainBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.release(true)
		b.err = io.EOF
	} else if err != nil {
		if ctxErr := b.ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		b.release(false)
		b.err = err
	}
	return n, err
}

func (b *plainBody) Close() error {
	if b.err == nil {
		b.release(false)
		b.err = errBodyClosed
	}
	return nil
}

// release gives the connection back when the whole response was read and
// nothing follows it, and closes it otherwise; either way the read
// buffer goes back to the pool.
func (b *plainBody) release(complete bool) {
	c := b.c
	keep := complete && b.reuse && b.r.Buffered() == 0 && b.stop()
	if !keep {
		b.stop()
		c.conn.Close()
	}
	b.r.Reset(nil)
	connReaders.Put(b.r)
	b.r, b.body = nil, nil
	if keep {
		c.t.put(c)
	}
}
