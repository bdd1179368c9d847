package scrape

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	config_util "github.com/prometheus/common/config"
)

// connCounter counts the connections a test server accepted and closed.
type connCounter struct{ opened, closed atomic.Int64 }

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *connCounter) {
	t.Helper()
	var cc connCounter
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = cc.track
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &cc
}

// scrapeClient is the client a scrape pool with cfg uses.
func scrapeClient(t *testing.T, cfg config_util.HTTPClientConfig) *http.Client {
	t.Helper()
	c, err := config_util.NewClientFromConfig(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	c = plainHTTPClient(cfg, c)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestPlainTransportKeepsOneConnectionPerTarget(t *testing.T) {
	var gotAgent atomic.Value
	srv, cc := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAgent.Store(r.Header.Get("User-Agent"))
		fmt.Fprintf(w, "metric %s\n", r.URL.Query().Get("n"))
	}))
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	if _, ok := c.Transport.(*plainTransport); !ok {
		t.Fatalf("the default configuration scrapes with %T", c.Transport)
	}
	for i := range 5 {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/metrics?n=%d", srv.URL, i), nil)
		req.Header.Set("User-Agent", "ferry-test")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != fmt.Sprintf("metric %d\n", i) {
			t.Fatalf("scrape %d: %q, %v", i, body, err)
		}
	}
	if got := gotAgent.Load(); got != "ferry-test" {
		t.Errorf("the target saw User-Agent %q", got)
	}
	if n := cc.opened.Load(); n != 1 {
		t.Errorf("5 scrapes opened %d connections, want 1", n)
	}
}

// rawServer answers every request on a connection with respond, and
// closes the connection when respond returns false.
func rawServer(t *testing.T, respond func(conn net.Conn, n int) bool) (url string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var requests atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					req.Body.Close()
					if !respond(conn, int(requests.Add(1))) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/metrics", accepted
}

func TestPlainTransportRetriesOnAConnectionTheTargetClosedWhileIdle(t *testing.T) {
	// The target closes the connection after each response without
	// saying so, as a server whose keep-alive timeout is shorter than
	// the scrape interval does.
	url, accepted := rawServer(t, func(conn net.Conn, n int) bool {
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nr%02d", n)
		return false
	})
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	for i := 1; i <= 3; i++ {
		if i > 1 {
			time.Sleep(20 * time.Millisecond) // let the close arrive
		}
		if code, body := get(t, c, url); code != 200 || body != fmt.Sprintf("r%02d", i) {
			t.Fatalf("scrape %d: %d %q", i, code, body)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d connections for 3 scrapes, want 3", n)
	}
}

func TestPlainTransportReadsEveryKindOfBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		response  string
		body      string
		keepAlive bool
	}{
		{"sized", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsized", "sized", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nchu\r\n4\r\nnked\r\n0\r\n\r\n", "chunked", true},
		{"empty", "HTTP/1.1 204 No Content\r\n\r\n", "", true},
		{"interim first", "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", true},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nunsized", "unsized", false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nlast", "last", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", "old", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, accepted := rawServer(t, func(conn net.Conn, _ int) bool {
				io.WriteString(conn, tc.response)
				return tc.keepAlive
			})
			c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
			for i := range 2 {
				code, body := get(t, c, url)
				if body != tc.body || code/100 != 2 {
					t.Fatalf("scrape %d: %d %q, want %q", i, code, body, tc.body)
				}
			}
			want := int64(2)
			if tc.keepAlive {
				want = 1
			}
			if n := accepted.Load(); n != want {
				t.Errorf("%d connections for 2 scrapes, want %d", n, want)
			}
		})
	}
}

func TestPlainTransportFailsATruncatedBodyAndDropsItsConnection(t *testing.T) {
	url, accepted := rawServer(t, func(conn net.Conn, n int) bool {
		if n == 1 {
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
			return false
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a truncated body: %v, want an unexpected EOF", err)
	}
	if _, body := get(t, c, url); body != "ok" {
		t.Fatalf("the next scrape read %q", body)
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestPlainTransportGivesUpOnTimeoutAndStartsAfresh(t *testing.T) {
	release := make(chan struct{})
	srv, cc := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/head": // never answers in time
			<-release
		case "/body": // answers, then stalls in the middle of the body
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-release
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer close(release)
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	for _, path := range []string{"/head", "/body"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		start := time.Now()
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want the deadline", path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v to time out after 100ms", path, d)
		}
		if _, body := get(t, c, srv.URL+"/ok"); body != "ok" {
			t.Fatalf("after %s: %q", path, body)
		}
	}
	if n := cc.opened.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (each timeout costs its connection)", n)
	}
}

func TestPlainTransportDropsAConnectionWhoseBodyWasNotRead(t *testing.T) {
	srv, cc := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 1<<20))
	}))
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Error("read after Close succeeded")
	}
	if _, body := get(t, c, srv.URL); len(body) != 1<<20 {
		t.Fatalf("read %d bytes", len(body))
	}
	if _, body := get(t, c, srv.URL); len(body) != 1<<20 {
		t.Fatalf("read %d bytes", len(body))
	}
	if n := cc.opened.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestPlainTransportClosesIdleConnections(t *testing.T) {
	srv, cc := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	fallback, err := config_util.NewRoundTripperFromConfig(config_util.DefaultHTTPClientConfig, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: newPlainTransport(fallback, 50*time.Millisecond)}
	get(t, c, srv.URL)
	waitFor(t, "the idle connection to close", func() bool { return cc.closed.Load() == 1 })

	c = scrapeClient(t, config_util.DefaultHTTPClientConfig)
	get(t, c, srv.URL)
	c.CloseIdleConnections()
	waitFor(t, "CloseIdleConnections to close it", func() bool { return cc.closed.Load() == 2 })
	get(t, c, srv.URL)
	if n := cc.opened.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestPlainTransportUnderConcurrentScrapes(t *testing.T) {
	srv, cc := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("n"))
	}))
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				want := fmt.Sprintf("%d-%d", g, i)
				resp, err := c.Get(srv.URL + "/?n=" + want)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(body) != want {
					errs <- fmt.Errorf("got %q (%v), want %q", body, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := cc.opened.Load(); n > 8 {
		t.Errorf("8 concurrent scrapers opened %d connections", n)
	}
}

func TestPlainTransportLeavesWhatItDoesNotHandleToTheConfiguredClient(t *testing.T) {
	// https goes through the client configuration's transport, with its
	// TLS settings.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secure") }))
	defer tlsSrv.Close()
	cfg := config_util.DefaultHTTPClientConfig
	cfg.TLSConfig.InsecureSkipVerify = true
	c := scrapeClient(t, cfg)
	if _, ok := c.Transport.(*plainTransport); !ok {
		t.Fatalf("TLS settings alone scrape http targets with %T", c.Transport)
	}
	if _, body := get(t, c, tlsSrv.URL); body != "secure" {
		t.Fatalf("https: %q", body)
	}

	// Anything that adds to the request keeps the configured client.
	var gotAuth atomic.Value
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		gotAuth.Store(u + ":" + p)
	}))
	cfg = config_util.DefaultHTTPClientConfig
	cfg.BasicAuth = &config_util.BasicAuth{Username: "u", Password: "p"}
	c = scrapeClient(t, cfg)
	if _, ok := c.Transport.(*plainTransport); ok {
		t.Fatal("basic_auth scrapes with the plain transport")
	}
	get(t, c, srv.URL)
	if got := gotAuth.Load(); got != "u:p" {
		t.Errorf("the target saw credentials %q", got)
	}
}

func TestPlainTransportFollowsRedirectsAsConfigured(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, "moved here")
	}))
	cfg := config_util.DefaultHTTPClientConfig
	if code, body := get(t, scrapeClient(t, cfg), srv.URL+"/old"); code != 200 || body != "moved here" {
		t.Errorf("follow_redirects: true: %d %q", code, body)
	}
	cfg.FollowRedirects = false
	if code, _ := get(t, scrapeClient(t, cfg), srv.URL+"/old"); code != http.StatusFound {
		t.Errorf("follow_redirects: false: %d", code)
	}
}

func TestPlainTransportRetriesA408TheTargetSentOnAnIdleConnection(t *testing.T) {
	// The target answers, then times the idle connection out with a 408
	// before closing it; the next scrape must not take that 408 as its
	// answer.
	url, accepted := rawServer(t, func(conn net.Conn, n int) bool {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		if n == 1 {
			// After the scrape has read its answer and made the
			// connection idle: bytes that come with the answer are
			// caught by the check that nothing follows it.
			time.Sleep(50 * time.Millisecond)
			io.WriteString(conn, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			return false
		}
		return true
	})
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	for i := range 2 {
		if i > 0 {
			time.Sleep(150 * time.Millisecond) // let the 408 and the close arrive
		}
		if code, body := get(t, c, url); code != 200 || body != "ok" {
			t.Fatalf("scrape %d: %d %q", i, code, body)
		}
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestPlainTransportBoundsTheResponseHead(t *testing.T) {
	// A port that streams one endless header line.
	url, _ := rawServer(t, func(conn net.Conn, _ int) bool {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nX-Endless: ")
		chunk := []byte(strings.Repeat("a", 64<<10))
		for range (maxResponseHead / len(chunk)) + 16 { // bounded: 1 MiB past the limit
			if _, err := conn.Write(chunk); err != nil {
				return false
			}
		}
		return false
	})
	c := scrapeClient(t, config_util.DefaultHTTPClientConfig)
	_, err := c.Get(url)
	if !errors.Is(err, errHeadTooLarge) {
		t.Fatalf("an endless header gave %v, want %v", err, errHeadTooLarge)
	}
}
