package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// golden compares got with the file want, or rewrites it under -rewrite.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestGoodFiles loads each good file, compares the options written back
// as a file with its golden, and checks that the written form loads into
// the same options.
func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.conf")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			o, err := Load(f)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if o.ConfigFile != f {
				t.Fatalf("ConfigFile %q", o.ConfigFile)
			}
			out := Format(o, FormatOptions{})
			golden(t, strings.TrimSuffix(f, ".conf")+".golden", out)
			roundTrip(t, o, out)
		})
	}
}

func roundTrip(t *testing.T, o *server.Options, out string) {
	t.Helper()
	back, err := Parse(out, "formatted")
	if err != nil {
		t.Fatalf("formatted config does not load: %v\n%s", err, out)
	}
	a, b := *o, *back
	a.ConfigFile, b.ConfigFile = "", ""
	a.TLSConfig, b.TLSConfig = nil, nil
	if !reflect.DeepEqual(&a, &b) {
		t.Fatalf("round trip changed the options:\n%s", out)
	}
}

// TestBadFiles checks the exact error of each bad file.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.conf")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			var es Errors
			if !asErrors(err, &es) || len(es) == 0 {
				t.Fatalf("error is %T, want Errors", err)
			}
			golden(t, strings.TrimSuffix(f, ".conf")+".err", err.Error()+"\n")
		})
	}
}

func asErrors(err error, es *Errors) bool {
	e, ok := err.(Errors)
	*es = e
	return ok
}

func TestValues(t *testing.T) {
	o, err := Load("testdata/good/server.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := server.Options{
		ServerName: "hangar-1", Host: "127.0.0.1", Port: 4333, ClientAdvertise: "nats.example.com:4222",
		HTTPPort: 8333, HTTPBasePath: "/mon", Tags: []string{"region:eu", "tier:gold"},
		MaxPayload: 2 << 20, MaxPending: 128 << 20, MaxControlLine: 8 << 10, MaxConn: 1000, MaxSubs: 500,
		PingInterval: 30 * time.Second, MaxPingsOut: 3, WriteDeadline: 5 * time.Second,
		LameDuckDuration: time.Minute, LameDuckGracePeriod: 5 * time.Second,
		Debug: true, Logtime: true, LogUTC: true, LogFile: "/var/log/hangar.log", LogSizeLimit: 10 << 20,
		PidFile: "/var/run/hangar.pid", ConfigFile: "testdata/good/server.conf",
	}
	if !reflect.DeepEqual(*o, want) {
		t.Fatalf("got %+v\nwant %+v", *o, want)
	}

	o, err = Load("testdata/good/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	b := o.Accounts[1]
	if b.Name != "BILLING" || b.Imports[0].To != "in.orders.events.>" || b.Imports[2].To != "lookup.*" || !b.Imports[2].Service {
		t.Fatalf("imports %+v %+v", b.Imports[0], b.Imports[2])
	}
	if js := o.Accounts[0].JetStream; js.MaxMemory != 1e9 || js.MaxStore != 10<<30 || js.MaxStreams != 10 || js.MaxAckPending != -1 {
		t.Fatalf("jetstream limits %+v", js)
	}
	if e := o.Accounts[0].Exports[1]; e.ResponseType != server.RespStream || e.ResponseThreshold != 5*time.Second {
		t.Fatalf("export %+v", e)
	}
	// The loaded options make a working server.
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.SystemAccount().Name != "SYS" {
		t.Fatal("system account")
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Setenv("HANGAR_TEST_PORT", "4777")
	o, err := Parse("port: $HANGAR_TEST_PORT\n", "env")
	if err != nil || o.Port != 4777 {
		t.Fatalf("%v %d", err, o.Port)
	}
}

func TestTLSBlock(t *testing.T) {
	dir := t.TempDir()
	writeTestCerts(t, dir)
	conf := `tls { cert_file: "` + dir + `/srv.pem", key_file: "` + dir + `/srv.key", ca_file: "` + dir + `/ca.pem", verify: true, timeout: 0.5, handshake_first: true }`
	o, err := Parse(conf, "tls")
	if err != nil {
		t.Fatal(err)
	}
	if o.TLSConfig == nil || o.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert || o.TLSConfig.ClientCAs == nil ||
		!o.TLSVerify || !o.TLSHandshakeFirst || o.TLSTimeout != 500*time.Millisecond || len(o.TLSConfig.Certificates) != 1 {
		t.Fatalf("tls options %+v", o)
	}
	roundTrip(t, o, Format(o, FormatOptions{}))

	if _, err := Parse(`tls { cert_file: "`+dir+`/srv.pem", key_file: "`+dir+`/srv.pem" }`, "x"); err == nil ||
		!strings.Contains(err.Error(), "x:1:") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestFormatRedacts(t *testing.T) {
	o, err := Load("testdata/good/auth_users.conf")
	if err != nil {
		t.Fatal(err)
	}
	out := Format(o, FormatOptions{Redact: true})
	if strings.Contains(out, "s3cret") || !strings.Contains(out, redacted) {
		t.Fatalf("not redacted:\n%s", out)
	}
}

// writeTestCerts writes a CA and a server certificate signed by it.
func writeTestCerts(t *testing.T, dir string) {
	t.Helper()
	write := func(name, typ string, der []byte) {
		b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	kd, _ := x509.MarshalECPrivateKey(key)
	write("ca.pem", "CERTIFICATE", caDER)
	write("srv.pem", "CERTIFICATE", der)
	write("srv.key", "EC PRIVATE KEY", kd)
}
