package unionpay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"campuspay/app/channel"
)

// signingString is the sorted k=v&… string of every field except signature.
func signingString(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(fields[k])
	}
	return b.String()
}

// signDigest is what signMethod 01 signs: SHA-256 over the lowercase hex SHA-256 of the
// signing string.
func signDigest(fields map[string]string) []byte {
	h := sha256.Sum256([]byte(signingString(fields)))
	d := sha256.Sum256([]byte(hex.EncodeToString(h[:])))
	return d[:]
}

// sign sets signMethod, certId and signature on fields.
func (p *provider) sign(fields map[string]string) error {
	fields["signMethod"] = signMethodRSA
	fields["certId"] = p.certID
	delete(fields, "signature")
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, signDigest(fields))
	if err != nil {
		return fmt.Errorf("unionpay: sign: %w", err)
	}
	fields["signature"] = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// verify checks a message UnionPay signed: its signPubKeyCert chains to the configured
// middle and root certificates, is in force, names UnionPay, and its key verifies the
// signature. The error wraps channel.ErrBadSignature.
func (p *provider) verify(fields map[string]string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("unionpay: %w: "+format, append([]any{channel.ErrBadSignature}, a...)...)
	}
	if fields["signMethod"] != signMethodRSA {
		return bad("signMethod %q is not 01", fields["signMethod"])
	}
	sig, err := base64.StdEncoding.DecodeString(fields["signature"])
	if err != nil || len(sig) == 0 {
		return bad("signature is missing or not base64")
	}
	leaf, err := p.checkLeaf(fields["signPubKeyCert"], p.now())
	if err != nil {
		return bad("%v", err)
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad("signing certificate holds no RSA key")
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, signDigest(fields), sig); err != nil {
		return bad("signature does not verify with certificate %s", leaf.SerialNumber)
	}
	return nil
}

// checkLeaf parses a signPubKeyCert and checks it against the configured chain.
func (p *provider) checkLeaf(pemText string, at time.Time) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("signPubKeyCert is missing or not a PEM certificate")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signPubKeyCert does not parse: %v", err)
	}
	if err := checkSignedBy(leaf, p.middle); err != nil {
		return nil, fmt.Errorf("signPubKeyCert %s is not issued by the configured middle certificate: %v", leaf.SerialNumber, err)
	}
	if at.Before(leaf.NotBefore) || at.After(leaf.NotAfter) {
		return nil, fmt.Errorf("signPubKeyCert %s is not in force (%s to %s)", leaf.SerialNumber,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if at.Before(p.middle.NotBefore) || at.After(p.middle.NotAfter) || at.Before(p.root.NotBefore) || at.After(p.root.NotAfter) {
		return nil, errors.New("the configured root or middle certificate has expired")
	}
	parts := strings.Split(leaf.Subject.CommonName, "@")
	if len(parts) < 3 || parts[2] != p.org {
		return nil, fmt.Errorf("signPubKeyCert CN %q does not name %s", leaf.Subject.CommonName, p.org)
	}
	return leaf, nil
}

// checkSignedBy checks that parent issued child. Go's x509 refuses SHA-1 signatures, which
// UnionPay's test chains still use, so the RSA PKCS#1 v1.5 signature over the certificate
// body is checked here for exactly the hashes listed: the chain is pinned to the configured
// certificates, never to the system's roots.
func checkSignedBy(child, parent *x509.Certificate) error {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return errors.New("issuer name does not match")
	}
	if !parent.BasicConstraintsValid || !parent.IsCA {
		return errors.New("issuer is not a CA certificate")
	}
	pub, ok := parent.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("issuer key is not RSA")
	}
	var h crypto.Hash
	var digest []byte
	switch child.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		d := sha1.Sum(child.RawTBSCertificate)
		h, digest = crypto.SHA1, d[:]
	case x509.SHA256WithRSA:
		d := sha256.Sum256(child.RawTBSCertificate)
		h, digest = crypto.SHA256, d[:]
	case x509.SHA384WithRSA:
		d := sha512.Sum384(child.RawTBSCertificate)
		h, digest = crypto.SHA384, d[:]
	case x509.SHA512WithRSA:
		d := sha512.Sum512(child.RawTBSCertificate)
		h, digest = crypto.SHA512, d[:]
	default:
		return fmt.Errorf("signature algorithm %v is not accepted", child.SignatureAlgorithm)
	}
	if err := rsa.VerifyPKCS1v15(pub, h, digest, child.Signature); err != nil {
		return errors.New("certificate signature does not verify")
	}
	return nil
}
