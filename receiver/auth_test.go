package receiver

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// fileToken reads a token file the way config.Receiver.BearerToken does.
func fileToken(path string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", errors.New("empty token file")
		}
		return tok, nil
	}
}

func TestBearerTokenGuardsBothEndpoints(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600))
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	e := newRelayEnv(t, Options{BearerToken: fileToken(tokenFile), Now: clk.Now})
	rw := body(t, remote.MessageV2, remote.EncodingSnappy, testRequest())

	cases := []struct {
		name, auth string
		code       int
	}{
		{"no credentials", "", 401},
		{"wrong token", "Bearer guess", 401},
		{"basic instead of bearer", "Basic czNjcmV0Og==", 401},
		{"token as a prefix", "Bearer s3cret-and-more", 401},
		{"right token", "Bearer s3cret", 204},
		{"scheme in another case", "bearer s3cret", 204},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.auth != "" {
				h.Set("Authorization", c.auth)
			}
			b := body(t, remote.MessageV2, remote.EncodingSnappy, requestAt(int64(i+1)))
			resp := postHeaders(t, e.srv.URL+"/api/v1/write", remote.MessageV2, "snappy", b, h)
			require.Equal(t, c.code, resp.StatusCode)
			_, ok := remote.ParseWrittenHeaders(resp.Header)
			require.True(t, ok, "RW2 answers carry the *-Written headers, refusals too")
			if c.code == 401 {
				require.Equal(t, `Bearer realm="ferry"`, resp.Header.Get("WWW-Authenticate"))
			}
			push := pushText(t, e.srv.URL+"/metrics/job/batch", "done 1\n", h)
			if c.code == 401 {
				require.Equal(t, 401, push.StatusCode, "the push endpoint is guarded too")
			} else {
				require.Equal(t, 200, push.StatusCode)
			}
		})
	}

	// A rotated token takes effect within a second, without a reload.
	require.NoError(t, os.WriteFile(tokenFile, []byte("rotated"), 0o600))
	clk.advance(2 * time.Second)
	old := http.Header{"Authorization": {"Bearer s3cret"}}
	require.Equal(t, 401, postHeaders(t, e.srv.URL, remote.MessageV2, "snappy", rw, old).StatusCode)
	rotated := http.Header{"Authorization": {"Bearer rotated"}}
	require.Equal(t, 204, postHeaders(t, e.srv.URL, remote.MessageV2, "snappy", rw, rotated).StatusCode)

	// A token that cannot be read refuses everything: the endpoint fails
	// closed, and the client retries (5xx) until it is fixed.
	require.NoError(t, os.Remove(tokenFile))
	clk.advance(2 * time.Second)
	require.Equal(t, 500, postHeaders(t, e.srv.URL, remote.MessageV2, "snappy", rw, rotated).StatusCode)
	require.Equal(t, 500, postHeaders(t, e.srv.URL, remote.MessageV2, "snappy", rw, nil).StatusCode)

	require.Len(t, e.records(t), 5, "two writes and two pushes in the table, then the write with the rotated token")
}
