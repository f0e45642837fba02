package api

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"campuspay/app/sign"
)

// The worked example of docs/api-soap.md: a programmer checks an implementation against
// it, so the platform must agree with it byte for byte.
const vectorUnsigned = `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cp="urn:campuspay:bills:v1">
  <soap:Header>
    <cp:Auth>
      <cp:AppId>demo-admissions</cp:AppId>
      <cp:Timestamp>1795000000</cp:Timestamp>
      <cp:Nonce>8f14e45fceea167a5a36dedd4bea2543</cp:Nonce>
      <cp:Signature></cp:Signature>
    </cp:Auth>
  </soap:Header>
  <soap:Body>
    <cp:QueryBill>
      <cp:bill_no>ADM-2026-000123</cp:bill_no>
    </cp:QueryBill>
  </soap:Body>
</soap:Envelope>
`

const (
	vectorSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	vectorSHA256 = "4c150e6555b0923ec35164afdebd53f1a439a516a2040e39ea3a84a007a7072b"
	vectorSig    = "2af22c08efa7d9c82f1541c33cec3874746d0d80ac740f1f4d67c6b872916c48"
)

func TestSOAPSigningVector(t *testing.T) {
	for name, sent := range map[string]string{
		"as documented":       strings.Replace(vectorUnsigned, "<cp:Signature></cp:Signature>", "<cp:Signature>"+vectorSig+"</cp:Signature>", 1),
		"signature spaced":    strings.Replace(vectorUnsigned, "<cp:Signature></cp:Signature>", "<cp:Signature>\n  "+vectorSig+"\n</cp:Signature>", 1),
		"signature uppercase": strings.Replace(vectorUnsigned, "<cp:Signature></cp:Signature>", "<cp:Signature>"+strings.ToUpper(vectorSig)+"</cp:Signature>", 1),
	} {
		call, err := parseSOAP([]byte(sent))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(call.Signed)
		if got := hex.EncodeToString(sum[:]); got != vectorSHA256 {
			t.Errorf("%s: SHA-256 of the signed bytes = %s, want %s", name, got, vectorSHA256)
		}
		a := call.Env.Header.Auth[0]
		sts := sign.StringToSign("POST", soapPath, a.Timestamp, a.Nonce, call.Signed)
		if !sign.Verify(sign.HMAC(vectorSecret, sts), strings.TrimSpace(a.Signature)) {
			t.Errorf("%s: the documented signature does not verify", name)
		}
		if call.Op != "QueryBill" || call.Env.Body.QueryBill.BillNo != "ADM-2026-000123" {
			t.Errorf("%s: op %q %+v", name, call.Op, call.Env.Body.QueryBill)
		}
	}
}
