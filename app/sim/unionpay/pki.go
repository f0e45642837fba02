package unionpay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// chain is the fake's certificate hierarchy: a root, a middle, the current signing leaf
// (signPubKeyCert) and the merchant certificate it issued to the platform.
type chain struct {
	sigAlg    x509.SignatureAlgorithm
	rootKey   *rsa.PrivateKey
	root      *x509.Certificate
	middleKey *rsa.PrivateKey
	middle    *x509.Certificate
	leafKey   *rsa.PrivateKey
	leaf      *x509.Certificate
	leafPEM   string
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, big.NewInt(1))
}

func issue(tmpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func newChain(now time.Time, sigAlg x509.SignatureAlgorithm) (*chain, error) {
	c := &chain{sigAlg: sigAlg}
	var err error
	if c.rootKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if c.middleKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "CFCA TEST CS CA (fake)", Organization: []string{"China Financial Certification Authority"}},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm: sigAlg,
	}
	if c.root, err = issue(rootTmpl, rootTmpl, &c.rootKey.PublicKey, c.rootKey); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	midTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "CFCA TEST OCA1 (fake)", Organization: []string{"China Financial Certification Authority"}},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm: sigAlg,
	}
	if c.middle, err = issue(midTmpl, c.root, &c.middleKey.PublicKey, c.rootKey); err != nil {
		return nil, fmt.Errorf("middle: %w", err)
	}
	if err := c.issueLeaf(LeafCN(OrgUnionPay), now.Add(-time.Hour), now.AddDate(1, 0, 0)); err != nil {
		return nil, err
	}
	return c, nil
}

// OrgUnionPay is the organisation UnionPay's signing certificates name.
const OrgUnionPay = "中国银联股份有限公司"

// LeafCN is the CN of a UnionPay signing certificate naming org.
func LeafCN(org string) string { return "086@" + "1@" + org + "@00040000:SIGN" }

// issueLeaf replaces the signing leaf with a new key and certificate under the middle.
func (c *chain) issueLeaf(cn string, notBefore, notAfter time.Time) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	leaf, err := issue(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"UnionPay SIGN"}},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: c.sigAlg,
	}, c.middle, &key.PublicKey, c.middleKey)
	if err != nil {
		return fmt.Errorf("leaf: %w", err)
	}
	c.leafKey, c.leaf = key, leaf
	c.leafPEM = certPEM(leaf)
	return nil
}

// merchantPFX issues the platform's signing certificate and packs it with its key in a
// PKCS#12 file under password, as UnionPay's merchant portal hands it out.
func (c *chain) merchantPFX(merID, password string, now time.Time) (*x509.Certificate, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	cert, err := issue(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "041@Z" + merID + "@campuspay@00000001", OrganizationalUnit: []string{"Merchant SIGN"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}, c.middle, &key.PublicKey, c.middleKey)
	if err != nil {
		return nil, nil, fmt.Errorf("merchant certificate: %w", err)
	}
	pfx, err := pkcs12.Modern.Encode(key, cert, nil, password)
	if err != nil {
		return nil, nil, fmt.Errorf("merchant pkcs12: %w", err)
	}
	return cert, pfx, nil
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
