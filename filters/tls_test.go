package filters_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// testPair returns a self-signed certificate and its key, both PEM, with
// the key in the given encoding ("PRIVATE KEY", "RSA PRIVATE KEY" or "EC
// PRIVATE KEY").
func testPair(t *testing.T, cn, keyType string) (certPEM, keyPEM string) {
	t.Helper()
	var pub, priv any
	var der []byte
	var err error
	switch keyType {
	case "RSA PRIVATE KEY":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv, der = &k.PublicKey, k, x509.MarshalPKCS1PrivateKey(k)
	case "EC PRIVATE KEY", "PRIVATE KEY":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
		if keyType == "EC PRIVATE KEY" {
			der, err = x509.MarshalECPrivateKey(k)
		} else {
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	cder, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cder})),
		string(pem.EncodeToMemory(&pem.Block{Type: keyType, Bytes: der}))
}

func TestKeyPairGood(t *testing.T) {
	for _, kt := range []string{"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"} {
		cert, key := testPair(t, "good", kt)
		if _, err := filters.KeyPair(cert, key, nil); err != nil {
			t.Errorf("%s: %v", kt, err)
		}
		c, err := filters.ServerTLS(cert, key, nil)
		if err != nil {
			t.Fatalf("%s: ServerTLS: %v", kt, err)
		}
		if c.MinVersion != tls.VersionTLS12 || len(c.Certificates) != 1 || c.CipherSuites != nil {
			t.Errorf("%s: server config MinVersion %x, %d certificates, suites %v; want TLS 1.2, 1, Go's defaults", kt, c.MinVersion, len(c.Certificates), c.CipherSuites)
		}
	}
}

func TestKeyPairErrors(t *testing.T) {
	cert, key := testPair(t, "server.example", "RSA PRIVATE KEY")
	_, otherKey := testPair(t, "other", "RSA PRIVATE KEY")
	_, ecKey := testPair(t, "other", "EC PRIVATE KEY")
	block := func(typ, body string) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: []byte(body)}))
	}
	encrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	cases := []struct {
		name, cert, key string
		want            []string
	}{
		{"empty cert", "", key, []string{"tls.cert is empty"}},
		{"empty key", cert, "  \n", []string{"tls.key is empty"}},
		{"cert not PEM", "hello, world\n", key, []string{"tls.cert is not PEM", `"hello, world\n"`}},
		{"key not PEM", cert, "not a key", []string{"tls.key is not PEM", `"not a key"`}},
		{"swapped", key, cert, []string{"tls.cert has no CERTIFICATE block, only RSA PRIVATE KEY", "swapped?"}},
		{"key is a cert", cert, cert, []string{"tls.key has no PRIVATE KEY block, only CERTIFICATE", "swapped?"}},
		{"bad cert DER", block("CERTIFICATE", "junk"), key, []string{"tls.cert: certificate #1 of the chain cannot be parsed"}},
		{"bad key DER", cert, block("PRIVATE KEY", "junk"), []string{"tls.key: the PRIVATE KEY block cannot be parsed"}},
		{"encrypted key", cert, encrypted, []string{"tls.key is encrypted"}},
		{"other RSA key", cert, otherKey, []string{"tls.key does not match the certificate in tls.cert", `"CN=server.example"`, "an RSA 2048-bit key", "another RSA 2048-bit key"}},
		{"EC key for RSA cert", cert, ecKey, []string{"tls.key does not match", "an RSA 2048-bit key", "the key is an ECDSA P-256 key"}},
	}
	for _, tc := range cases {
		_, err := filters.KeyPair(tc.cert, tc.key, nil)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if _, err := filters.ServerTLS(tc.cert, tc.key, nil); err == nil {
			t.Errorf("%s: ServerTLS accepted it", tc.name)
		}
	}
}

func TestClientTLS(t *testing.T) {
	c, err := filters.ClientTLS("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.InsecureSkipVerify || c.MinVersion != tls.VersionTLS12 || len(c.Certificates) != 0 || c.ServerName != "" {
		t.Errorf("client config: skip verify %v, MinVersion %x, %d certificates, server name %q", c.InsecureSkipVerify, c.MinVersion, len(c.Certificates), c.ServerName)
	}
	cert, key := testPair(t, "client", "PRIVATE KEY")
	if c, err = filters.ClientTLS(cert, key, nil); err != nil || len(c.Certificates) != 1 {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := filters.ClientTLS(cert, "", nil); err == nil || !strings.Contains(err.Error(), "tls.key is empty") {
		t.Errorf("client certificate without key: %v", err)
	}
}

// Errors name the file a certificate or key was read from, when the script
// read it with os.readFile.
func TestKeyPairNamesFiles(t *testing.T) {
	cert, _ := testPair(t, "named", "PRIVATE KEY")
	_, otherKey := testPair(t, "other", "PRIVATE KEY")
	var notes filters.FileNotes
	notes.Note("certs/named.pem", []byte(cert))
	notes.Note("keys/other.pem", []byte(otherKey))
	_, err := filters.KeyPair(cert, otherKey, &notes)
	want := "tls.key (read from keys/other.pem) does not match the certificate in tls.cert (read from certs/named.pem)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	// Only PEM-looking content is noted (a script reading other files
	// per request costs nothing).
	notes.Note("plain.txt", []byte("junk\n"))
	if _, err := filters.KeyPair("junk\n", otherKey, &notes); err == nil || strings.Contains(err.Error(), "plain.txt") || !strings.Contains(err.Error(), "tls.cert is not PEM") {
		t.Errorf("error %v", err)
	}
	junk := "-----BEGIN JUNK-----\nanything\n-----END JUNK-----\n"
	notes.Note("junk.pem", []byte(junk))
	if _, err := filters.KeyPair(junk, otherKey, &notes); err == nil || !strings.Contains(err.Error(), "tls.cert (read from junk.pem)") {
		t.Errorf("error %v", err)
	}
	// Only the most recent files are kept.
	for i := 0; i < 40; i++ {
		notes.Note(fmt.Sprintf("f%d", i), []byte(fmt.Sprintf("-----BEGIN X-----\ncontent %d\n", i)))
	}
	if _, err := filters.KeyPair(junk, otherKey, &notes); err == nil || strings.Contains(err.Error(), "junk.pem") {
		t.Errorf("an old file is still named: %v", err)
	}
}

// connect's tls option reports a bad client certificate when the script
// loads, naming the filter and the option.
func TestConnectTLSOptionErrors(t *testing.T) {
	cert, _ := testPair(t, "client", "PRIVATE KEY")
	err := filtertest.LoadErr(t, "pipy().listen(18443).connect('127.0.0.1:1', {tls: {cert: "+filtertest.JSString(cert)+", key: 'garbage'}})")
	if err == nil || !strings.Contains(err.Error(), "connect: option tls: tls.key is not PEM") {
		t.Errorf("load error %v, want `connect: option tls: tls.key is not PEM`", err)
	}
	if err := filtertest.LoadErr(t, "pipy().listen(18443).connect('127.0.0.1:1', {tls: {}})"); err != nil {
		t.Errorf("connect with tls: {}: %v", err)
	}
}
