package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	config_util "github.com/prometheus/common/config"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/util/compression"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// selfSignedCert writes a certificate and key for 127.0.0.1, valid for an
// hour, to dir and returns their paths and a pool that trusts it.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ferry test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// webConfig writes an exporter-toolkit web configuration with TLS and, if
// user is not empty, basic auth for user with password.
func webConfig(t *testing.T, dir, certFile, keyFile, user, password string) string {
	body := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile)
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		require.NoError(t, err)
		body += fmt.Sprintf("basic_auth_users:\n  %s: %s\n", user, hash)
	}
	p := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// rawPost sends a small valid RW2 request with client, optionally with
// credentials, and returns the status code.
func rawPost(t *testing.T, client *http.Client, url string, auth func(*http.Request)) int {
	t.Helper()
	body := mustSnappy(t, outageRequest(t, time.Now().UnixMilli(), 1, 1))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
	req.Header.Set("Content-Encoding", "snappy")
	if auth != nil {
		auth(req)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// TestReceiverOverTLSWithBasicAuthRefusesStrangers runs ferry with TLS and
// basic auth from --web.config.file and checks both endpoints of the
// receiver: a request without the right credentials, or without TLS, is
// refused; Prometheus' own client and client_golang's Pushgateway client,
// with them, get through and their data is forwarded.
func TestReceiverOverTLSWithBasicAuthRefusesStrangers(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	rc := newCountingReceiver(t)
	ra := startRelay(t, dir, relayConfig(rc.srv.URL, string(remoteapi.WriteV2MessageType), 1, ""),
		webConfig(t, dir, certFile, keyFile, "edge", "pa55word"))
	https := "https://" + ra.a.Addr()
	client := tlsClient(pool)

	require.Equal(t, http.StatusUnauthorized, rawPost(t, client, https+"/api/v1/write", nil), "no credentials")
	require.Equal(t, http.StatusUnauthorized, rawPost(t, client, https+"/api/v1/write", func(r *http.Request) { r.SetBasicAuth("edge", "guess") }))
	require.Equal(t, http.StatusUnauthorized, rawPost(t, client, https+"/metrics/job/x", nil), "the push endpoint too")
	plain, err := http.Post(ra.url("/api/v1/write"), "application/x-protobuf", bytes.NewReader(nil))
	if err == nil {
		plain.Body.Close()
		require.Equal(t, http.StatusBadRequest, plain.StatusCode, "plain HTTP to the TLS port is refused")
	}

	hc := config_util.HTTPClientConfig{
		BasicAuth: &config_util.BasicAuth{Username: "edge", Password: "pa55word"},
		TLSConfig: config_util.TLSConfig{CAFile: certFile},
	}
	prom := prometheusWriteClient(t, https+"/api/v1/write", remoteapi.WriteV2MessageType, hc)
	rs, err := prom.Store(context.Background(), mustSnappy(t, outageRequest(t, time.Now().UnixMilli(), 7, 3)), 0)
	require.NoError(t, err)
	require.Equal(t, promremote.WriteResponseStats{Samples: 3, Confirmed: true}, rs)

	reg := prometheus.NewRegistry()
	done := prometheus.NewGauge(prometheus.GaugeOpts{Name: "backup_last_success_timestamp_seconds", Help: "When the backup last succeeded."})
	done.Set(1.7e9)
	reg.MustRegister(done)
	require.NoError(t, push.New(https, "backup").Client(client).BasicAuth("edge", "pa55word").Gatherer(reg).Push())

	require.Eventually(t, func() bool {
		return len(rc.series("edge_events_total")) == 3 && len(rc.series("backup_last_success_timestamp_seconds")) == 1
	}, 20*time.Second, 20*time.Millisecond, "what got through is forwarded")
}

// TestReceiverBearerTokenGuardsTheWriteEndpoints runs ferry with TLS and
// ferry.receiver.bearer_token_file: the write and push endpoints want the
// token; the rest of ferry's pages do not.
func TestReceiverBearerTokenGuardsTheWriteEndpoints(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("edge-token\n"), 0o600))
	rc := newCountingReceiver(t)
	ra := startRelay(t, dir, relayConfig(rc.srv.URL, string(remoteapi.WriteV2MessageType), 1, "    bearer_token_file: "+tokenFile+"\n"),
		webConfig(t, dir, certFile, keyFile, "", ""))
	https := "https://" + ra.a.Addr()
	client := tlsClient(pool)

	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	require.Equal(t, http.StatusUnauthorized, rawPost(t, client, https+"/api/v1/write", nil))
	require.Equal(t, http.StatusUnauthorized, rawPost(t, client, https+"/api/v1/write", bearer("guess")))
	require.Equal(t, http.StatusUnauthorized, rawPost(t, client, https+"/metrics/job/x", nil))
	require.Equal(t, http.StatusNoContent, rawPost(t, client, https+"/api/v1/write", bearer("edge-token")))

	hc := config_util.HTTPClientConfig{
		Authorization: &config_util.Authorization{Type: "Bearer", CredentialsFile: tokenFile},
		TLSConfig:     config_util.TLSConfig{CAFile: certFile},
	}
	prom := prometheusWriteClient(t, https+"/api/v1/write", remoteapi.WriteV2MessageType, hc)
	_, err := prom.Store(context.Background(), mustSnappy(t, outageRequest(t, time.Now().UnixMilli(), 2, 2)), 0)
	require.NoError(t, err)

	resp, err := client.Get(https + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the token guards the receiver, not ferry's own pages")
	require.Eventually(t, func() bool { return len(rc.series("edge_events_total")) == 2 }, 20*time.Second, 20*time.Millisecond)
}

func mustSnappy(t *testing.T, pb []byte) []byte {
	b, err := compression.Encode(compression.Snappy, pb, nil)
	require.NoError(t, err)
	return b
}
