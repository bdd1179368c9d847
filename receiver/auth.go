package receiver

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenRefresh is how long a token read from its source is used before it
// is read again, so that a rotated token file takes effect within seconds
// without a file read per request.
const tokenRefresh = time.Second

// bearerAuth checks the Authorization header of requests against a token
// that it reads from a source, such as a file, at most once per
// tokenRefresh. A source returning "" and no error means no token is
// configured and every request passes.
type bearerAuth struct {
	source func() (string, error)
	now    func() time.Time

	mu      sync.Mutex
	token   string
	err     error
	expires time.Time
}

// current returns the token, reading it again when it is older than
// tokenRefresh.
func (a *bearerAuth) current() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now := a.now(); now.After(a.expires) {
		a.token, a.err = a.source()
		a.expires = now.Add(tokenRefresh)
	}
	return a.token, a.err
}

// authResult is the outcome of checking a request's credentials.
type authResult int

const (
	authOK authResult = iota
	authMissing
	authWrong
	authUnavailable // the token cannot be read: refuse everything
)

// check compares the request's bearer token with the expected one in
// constant time.
func (a *bearerAuth) check(r *http.Request) (authResult, error) {
	want, err := a.current()
	if err != nil {
		// Failing closed: a token file that disappeared must not open
		// the endpoint to everyone.
		return authUnavailable, err
	}
	if want == "" {
		return authOK, nil
	}
	got, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return authMissing, nil
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return authWrong, nil
	}
	return authOK, nil
}

// bearerToken extracts the token from an Authorization header value; the
// scheme name is case-insensitive (RFC 9110, section 11.1).
func bearerToken(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(h[len(scheme):]), true
}
