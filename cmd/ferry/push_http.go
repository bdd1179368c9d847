package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	config_util "github.com/prometheus/common/config"

	"github.com/ferrymetrics/ferry/version"
)

// clientFlags are the HTTP client settings of ferry push: how to reach and
// authenticate to the receiver.
type clientFlags struct {
	bearerTokenFile   string
	basicAuthUser     string
	basicAuthPassFile string
	caFile            string
	insecure          bool
}

func (f *clientFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("bearer-token-file", "File holding a bearer token to send.").ExistingFileVar(&f.bearerTokenFile)
	cmd.Flag("basic-auth.username", "User name for basic authentication.").StringVar(&f.basicAuthUser)
	cmd.Flag("basic-auth.password-file", "File holding the basic authentication password.").ExistingFileVar(&f.basicAuthPassFile)
	cmd.Flag("tls.ca-file", "CA certificate to verify the receiver's certificate with.").ExistingFileVar(&f.caFile)
	cmd.Flag("tls.insecure-skip-verify", "Do not verify the receiver's certificate.").BoolVar(&f.insecure)
}

// build returns an HTTP client configured as Prometheus configures its
// remote-write clients.
func (f *clientFlags) build(timeout time.Duration) (*http.Client, error) {
	cfg := config_util.HTTPClientConfig{TLSConfig: config_util.TLSConfig{CAFile: f.caFile, InsecureSkipVerify: f.insecure}}
	if f.bearerTokenFile != "" {
		cfg.Authorization = &config_util.Authorization{Type: "Bearer", CredentialsFile: f.bearerTokenFile}
	}
	if f.basicAuthUser != "" {
		cfg.BasicAuth = &config_util.BasicAuth{Username: f.basicAuthUser, PasswordFile: f.basicAuthPassFile}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("HTTP client: %w", err)
	}
	c, err := config_util.NewClientFromConfig(cfg, "ferry_push")
	if err != nil {
		return nil, fmt.Errorf("HTTP client: %w", err)
	}
	c.Timeout = timeout
	return c, nil
}

// retrySender sends requests, retrying as the remote-write specification
// says: 5xx, 429 and network errors are retried with exponential backoff
// and jitter (and Retry-After, when the answer has one); other answers are
// returned to the caller.
type retrySender struct {
	client   *http.Client
	retries  int
	min, max time.Duration
	tenant   string
	log      io.Writer
}

// answer is a final HTTP answer.
type answer struct {
	code    int
	header  http.Header
	excerpt string // the start of the body, for error messages
}

// do sends one request until it gets an answer that is not to be
// retried. describe, when not nil, names the request in retry messages.
func (s *retrySender) do(ctx context.Context, method, url string, h http.Header, body []byte, describe func() string) (answer, error) {
	delay := s.min
	for attempt := 0; ; attempt++ {
		a, err := s.once(ctx, method, url, h, body)
		retry := err != nil || a.code == http.StatusTooManyRequests || a.code/100 == 5
		if !retry {
			return a, nil
		}
		why := fmt.Sprint(err)
		if err == nil {
			why = fmt.Sprintf("HTTP %d: %s", a.code, a.excerpt)
		}
		if attempt >= s.retries {
			return a, fmt.Errorf("giving up after %d attempts: %s", attempt+1, why)
		}
		wait := delay/2 + rand.N(delay/2+1)
		if ra := retryAfter(a.header); ra > wait {
			wait = ra
		}
		what := "request"
		if describe != nil {
			what = describe()
		}
		fmt.Fprintf(s.log, "ferry push: %s failed (%s); retrying in %s\n", what, why, wait.Round(time.Millisecond))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return a, ctx.Err()
		}
		delay = min(2*delay, s.max)
	}
}

func (s *retrySender) once(ctx context.Context, method, url string, h http.Header, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if s.tenant != "" {
		req.Header.Set("X-Scope-OrgID", s.tenant)
	}
	req.Header.Set("User-Agent", version.UserAgent())
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return answer{code: resp.StatusCode, header: resp.Header, excerpt: strings.TrimSpace(string(excerpt))}, nil
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
