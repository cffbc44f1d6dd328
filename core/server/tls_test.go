package server

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA with one server and one client certificate.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	leaf := func(serial int64, usage x509.ExtKeyUsage) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	p.server = leaf(2, x509.ExtKeyUsageServerAuth)
	p.client = leaf(3, x509.ExtKeyUsageClientAuth)
	return p
}

func TestTLSRequired(t *testing.T) {
	pki := newTestPKI(t)
	s := runServer(t, &Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{pki.server}}, TLSTimeout: 500 * time.Millisecond})
	// A plain client sees tls_required in INFO and is cut off when it
	// speaks plain text.
	rc, info := dialInfo(t, s)
	if !info.TLSRequired || info.TLSVerify {
		t.Fatalf("INFO tls_required=%v tls_verify=%v", info.TLSRequired, info.TLSVerify)
	}
	rc.send("CONNECT {}\r\nPING\r\n")
	rc.expectClosed()

	// A TLS client that trusts the CA gets through.
	nc, err := net.Dial("tcp", s.HostPort())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "INFO ") {
		t.Fatalf("got %q", l)
	}
	tc := tls.Client(nc, &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"})
	tc.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n"))
	if l, err := bufio.NewReader(tc).ReadString('\n'); err != nil || l != "PONG\r\n" {
		t.Fatalf("got %q %v", l, err)
	}
}

func TestTLSVerifyClientCert(t *testing.T) {
	pki := newTestPKI(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool, ClientAuth: tls.RequireAndVerifyClientCert}
	s := runServer(t, &Options{TLSConfig: cfg, TLSVerify: true, TLSHandshakeFirst: true, TLSTimeout: 500 * time.Millisecond})
	dial := func(certs []tls.Certificate) (string, error) {
		tc, err := tls.Dial("tcp", s.HostPort(), &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1", Certificates: certs})
		if err != nil {
			return "", err
		}
		defer tc.Close()
		tc.SetReadDeadline(time.Now().Add(2 * time.Second))
		return bufio.NewReader(tc).ReadString('\n')
	}
	// Handshake first: INFO comes after the handshake, over TLS.
	if l, err := dial([]tls.Certificate{pki.client}); err != nil || !strings.Contains(l, `"tls_verify":true`) {
		t.Fatalf("with a client cert: %q %v", l, err)
	}
	if _, err := dial(nil); err == nil {
		t.Fatal("a client without a certificate got in")
	}
}
