package sender

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/config"
	"github.com/ferrymetrics/ferry/remote"
)

// selfSignedCA writes a CA certificate for 127.0.0.1 to dir and returns the
// TLS config of a server using it and the CA file's path.
func selfSignedCA(t *testing.T, dir string) (*tls.Config, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}

// TestAuthenticationOptionsReachTheDestination configures each kind of
// authentication the way a user writes it and checks what the destination
// receives.
func TestAuthenticationOptionsReachTheDestination(t *testing.T) {
	cases := []struct {
		name  string
		yaml  func(url, dir string) string
		check func(t *testing.T, r *http.Request)
		tls   bool
	}{
		{
			name: "basic_auth",
			yaml: func(url, dir string) string {
				return fmt.Sprintf("  - url: %s\n    basic_auth:\n      username: ferry\n      password: s3cret\n", url)
			},
			check: func(t *testing.T, r *http.Request) {
				u, p, ok := r.BasicAuth()
				require.True(t, ok)
				require.Equal(t, "ferry", u)
				require.Equal(t, "s3cret", p)
			},
		},
		{
			name: "authorization",
			yaml: func(url, dir string) string {
				return fmt.Sprintf("  - url: %s\n    authorization:\n      credentials: tok-123\n", url)
			},
			check: func(t *testing.T, r *http.Request) { require.Equal(t, "Bearer tok-123", r.Header.Get("Authorization")) },
		},
		{
			name: "oauth2 client credentials",
			yaml: func(url, dir string) string {
				tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					require.NoError(t, r.ParseForm())
					if r.Form.Get("grant_type") != "client_credentials" {
						http.Error(w, "bad grant", 400)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					json.NewEncoder(w).Encode(map[string]any{"access_token": "oauth-tok", "token_type": "Bearer", "expires_in": 3600})
				}))
				t.Cleanup(tokens.Close)
				return fmt.Sprintf("  - url: %s\n    oauth2:\n      client_id: ferry\n      client_secret: shh\n      token_url: %s/token\n", url, tokens.URL)
			},
			check: func(t *testing.T, r *http.Request) {
				require.Equal(t, "Bearer oauth-tok", r.Header.Get("Authorization"))
			},
		},
		{
			name: "sigv4",
			yaml: func(url, dir string) string {
				return fmt.Sprintf("  - url: %s\n    sigv4:\n      region: eu-west-1\n      access_key: AKIDEXAMPLE\n      secret_key: wJalrXUtnFEMI\n", url)
			},
			check: func(t *testing.T, r *http.Request) {
				a := r.Header.Get("Authorization")
				require.True(t, strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), a)
				require.Contains(t, a, "/eu-west-1/aps/aws4_request")
				require.NotEmpty(t, r.Header.Get("X-Amz-Date"))
			},
		},
		{
			name: "tls with ca_file and custom headers",
			tls:  true,
			yaml: func(url, dir string) string {
				return fmt.Sprintf("  - url: %s\n    headers:\n      X-Scope-OrgID: tenant-a\n    tls_config:\n      ca_file: %s\n", url, filepath.Join(dir, "ca.pem"))
			},
			check: func(t *testing.T, r *http.Request) {
				require.NotNil(t, r.TLS)
				require.Equal(t, "tenant-a", r.Header.Get("X-Scope-OrgID"))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rc := &receiver{samples: map[string][]remote.Sample{}, seriesMeta: map[string]remote.Metadata{}, familyMeta: map[string]remote.Metadata{}}
			var mu sync.Mutex
			var seen []*http.Request
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Clone(r.Context()))
				mu.Unlock()
				rc.ServeHTTP(w, r)
			})
			var srv *httptest.Server
			if c.tls {
				tlsCfg, _ := selfSignedCA(t, dir)
				srv = httptest.NewUnstartedServer(h)
				srv.TLS = tlsCfg
				srv.StartTLS()
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			cfg, err := config.Load([]byte("remote_write:\n"+c.yaml(srv.URL+"/api/v1/write", dir)), dir, nil)
			require.NoError(t, err)
			l := openLog(t, t.TempDir())
			defer l.Close()
			rw := cfg.RemoteWrite[0].RemoteWriteConfig
			rw.QueueConfig.BatchSendDeadline = rwConfig(t, srv.URL, nil).QueueConfig.BatchSendDeadline
			s := startSender(t, l, rw, Options{})
			w := newWriter(l, 1, 2)
			w.scrape(t, time.Now().UnixMilli())
			require.Eventually(t, func() bool { return rc.total() >= 2 }, 10*time.Second, 10*time.Millisecond, "delivered: %+v", s.Status())
			s.Stop(time.Second)
			mu.Lock()
			defer mu.Unlock()
			c.check(t, seen[0])
			require.True(t, strings.HasPrefix(seen[0].Header.Get("User-Agent"), "ferry/"))
		})
	}
}
