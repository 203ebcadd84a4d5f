package filters

// TLS settings shared by TLS listeners (listen(port, {tls: {cert, key}}))
// and TLS upstreams (connect(target, {tls: {...}})).
//
// Policy: TLS 1.2 is the minimum (scripts have no option to lower it) and
// the cipher suites are Go's defaults: for TLS 1.2 only ECDHE key exchange,
// AEAD suites preferred; TLS 1.3 suites are not configurable.
//
// Certificates and keys come from the script as PEM text (usually
// os.readFile(...).toString()), so the errors below name the option
// (tls.cert, tls.key), the file the text was read from when it is known
// (see FileNotes), and say what is wrong with the content in terms the
// script's author can act on: empty, not PEM at all, a PEM block of the
// wrong type (cert and key swapped), an encrypted key, a block that does not
// parse, or a key that belongs to another certificate.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
)

// MinTLSVersion is the lowest protocol version pipy speaks, on both sides.
const MinTLSVersion = tls.VersionTLS12

// ServerTLS returns the configuration of a TLS listener serving the
// certificate chain certPEM with the private key keyPEM.
func ServerTLS(certPEM, keyPEM string, files *FileNotes) (*tls.Config, error) {
	cert, err := KeyPair(certPEM, keyPEM, files)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: MinTLSVersion}, nil
}

// ClientTLS returns the configuration of a TLS upstream connection. As in
// the original, the server's certificate is not verified and no SNI is
// sent. When certPEM or keyPEM is given, both must be, and they are the
// client certificate.
func ClientTLS(certPEM, keyPEM string, files *FileNotes) (*tls.Config, error) {
	c := &tls.Config{InsecureSkipVerify: true, MinVersion: MinTLSVersion}
	if certPEM == "" && keyPEM == "" {
		return c, nil
	}
	cert, err := KeyPair(certPEM, keyPEM, files)
	if err != nil {
		return nil, err
	}
	c.Certificates = []tls.Certificate{cert}
	return c, nil
}

// KeyPair parses a PEM certificate chain and its PEM private key, like
// tls.X509KeyPair, with errors that say which of the two is wrong and how
// (and which file it was read from, when files knows).
func KeyPair(certPEM, keyPEM string, files *FileNotes) (tls.Certificate, error) {
	var none tls.Certificate
	certName, keyName := files.optionName("tls.cert", certPEM), files.optionName("tls.key", keyPEM)
	leaf, err := parseLeaf(certName, certPEM)
	if err != nil {
		return none, err
	}
	key, err := parsePrivateKey(keyName, keyPEM)
	if err != nil {
		return none, err
	}
	if !samePublicKey(leaf.PublicKey, key.Public()) {
		certKey, keyKind := describeKey(leaf.PublicKey), describeKey(key.Public())
		if certKey == keyKind {
			keyKind = "another " + strings.TrimPrefix(strings.TrimPrefix(keyKind, "an "), "a ")
		}
		return none, fmt.Errorf("%s does not match the certificate in %s: the certificate (subject %q) has %s, the key is %s",
			keyName, certName, leaf.Subject.String(), certKey, keyKind)
	}
	// The checks above cover what X509KeyPair checks; it also picks the
	// right representation of the key. Anything it still rejects is
	// reported as is.
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return none, fmt.Errorf("%s with %s: %v", certName, keyName, err)
	}
	return cert, nil
}

// parseLeaf checks every CERTIFICATE block of s and returns the first
// certificate (the leaf).
func parseLeaf(what, s string) (*x509.Certificate, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s is empty: give the PEM text of the certificate chain (e.g. os.readFile('cert.pem').toString())", what)
	}
	rest := []byte(s)
	var chain []*x509.Certificate
	var others []string
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			others = append(others, b.Type)
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate #%d of the chain cannot be parsed: %v", what, len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	switch {
	case len(chain) > 0:
		return chain[0], nil
	case len(others) > 0:
		hint := ""
		if isKeyBlock(others[0]) {
			hint = ": tls.cert and tls.key swapped?"
		}
		return nil, fmt.Errorf("%s has no CERTIFICATE block, only %s%s", what, strings.Join(others, ", "), hint)
	default:
		return nil, fmt.Errorf("%s is not PEM: no -----BEGIN CERTIFICATE----- block found (it starts with %s)", what, quoteStart(s))
	}
}

// parsePrivateKey returns the first private key of s (PKCS #8, PKCS #1 or
// SEC 1).
func parsePrivateKey(what, s string) (crypto.Signer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s is empty: give the PEM text of the private key (e.g. os.readFile('key.pem').toString())", what)
	}
	rest := []byte(s)
	var others []string
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if !isKeyBlock(b.Type) {
			others = append(others, b.Type)
			continue
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, fmt.Errorf("%s is encrypted with a passphrase, which pipy cannot use: decrypt it first (e.g. openssl pkey -in key.pem -out key-plain.pem)", what)
		}
		k, err := parseKeyDER(b.Type, b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: the %s block cannot be parsed: %v", what, b.Type, err)
		}
		return k, nil
	}
	if len(others) > 0 {
		hint := ""
		if others[0] == "CERTIFICATE" {
			hint = ": tls.cert and tls.key swapped?"
		}
		return nil, fmt.Errorf("%s has no PRIVATE KEY block, only %s%s", what, strings.Join(others, ", "), hint)
	}
	return nil, fmt.Errorf("%s is not PEM: no -----BEGIN PRIVATE KEY----- block found (it starts with %s)", what, quoteStart(s))
}

func isKeyBlock(typ string) bool {
	return typ == "PRIVATE KEY" || strings.HasSuffix(typ, " PRIVATE KEY")
}

func parseKeyDER(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	default:
		k, err = x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			// Mislabelled blocks happen; try the other encodings.
			if k2, err2 := x509.ParsePKCS1PrivateKey(der); err2 == nil {
				k, err = k2, nil
			} else if k3, err3 := x509.ParseECPrivateKey(der); err3 == nil {
				k, err = k3, nil
			}
		}
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}

// describeKey says what kind of public key k is, e.g. "an RSA 2048-bit
// key" or "an ECDSA P-256 key".
func describeKey(k crypto.PublicKey) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("an RSA %d-bit key", k.N.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("an ECDSA %s key", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return "an Ed25519 key"
	default:
		return fmt.Sprintf("a %T key", k)
	}
}

// quoteStart quotes the first bytes of s for an error message.
func quoteStart(s string) string {
	const n = 24
	if len(s) > n {
		return fmt.Sprintf("%q...", s[:n])
	}
	return fmt.Sprintf("%q", s)
}

// FileNotes remembers the files a program's scripts read (os.readFile),
// so that a TLS error can say which file a bad certificate or key came
// from: the script hands over PEM text, not a file name. Only small PEM
// files are kept, the most recent few, keyed by their content. The zero
// value is ready to use; a nil *FileNotes knows no file. Each Program has
// its own, which goes away with it.
type FileNotes struct {
	mu    sync.Mutex
	name  map[string]string // content -> file name as the script gave it
	order []string          // contents, oldest first
}

const (
	maxNotedFiles    = 32
	maxNotedFileSize = 64 << 10
)

// Note records that a script read content from the file name (as the
// script named it).
func (n *FileNotes) Note(name string, content []byte) {
	// Only PEM text matters here; anything else (a script serving files
	// per request, say) is not copied.
	if n == nil || len(content) == 0 || len(content) > maxNotedFileSize || !bytes.Contains(content[:min(len(content), 4096)], []byte("-----BEGIN ")) {
		return
	}
	s := string(content)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.name == nil {
		n.name = map[string]string{}
	}
	if _, ok := n.name[s]; !ok {
		n.order = append(n.order, s)
		if len(n.order) > maxNotedFiles {
			delete(n.name, n.order[0])
			n.order = n.order[1:]
		}
	}
	n.name[s] = name
}

// optionName returns option ("tls.cert"), followed by the file its value
// was read from when that is known: "tls.cert (read from cert.pem)".
func (n *FileNotes) optionName(option, value string) string {
	if n == nil {
		return option
	}
	n.mu.Lock()
	name, ok := n.name[value]
	n.mu.Unlock()
	if !ok {
		return option
	}
	return fmt.Sprintf("%s (read from %s)", option, name)
}
