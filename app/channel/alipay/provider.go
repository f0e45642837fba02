package alipay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/smartwalle/alipay/v3"
	"github.com/smartwalle/nsign"

	"campuspay/app/channel"
)

// provider is Alipay bound to one merchant.
type provider struct {
	cfg    channel.MerchantConfig
	set    *settings
	client *alipay.Client
	http   *http.Client // the merchant's client, unwrapped: statement downloads

	mu    sync.Mutex
	known map[string]*x509.Certificate // certificate mode: Alipay certificates accepted, by serial
}

var _ channel.Provider = (*provider)(nil)

func open(cfg channel.MerchantConfig) (*provider, error) {
	p := &provider{cfg: cfg, http: baseClient(cfg)}
	set, err := parseSettings(cfg.Values, p.now())
	if err != nil {
		return nil, err
	}
	p.set = set

	signer := nsign.New(nsign.WithMethod(nsign.NewRSAMethod(crypto.SHA256, set.privateKey, nil)), nsign.WithEncoder(alipay.Encoder{}))
	wrapped := *p.http
	wrapped.Transport = &answerTransport{base: p.http.Transport, p: p}
	client, err := alipay.NewWithSigner(set.appID, signer, true,
		alipay.WithProductionGateway(set.gateway.String()),
		alipay.WithHTTPClient(&wrapped),
		alipay.WithTimeLocation(shanghai))
	if err != nil {
		return nil, fmt.Errorf("alipay: client: %w", err)
	}
	client.OnReceivedData(keepRaw)
	switch set.mode {
	case modePublicKey:
		pemKey, err := publicKeyPEM(set.alipayPublicKey)
		if err == nil {
			err = client.LoadAliPayPublicKey(pemKey)
		}
		if err != nil {
			return nil, fieldErr(FieldAlipayPublicKey, "支付宝公钥无法载入（%v）", err)
		}
	case modeCert:
		if err := client.LoadAppCertPublicKey(certPEM(set.appCert)); err != nil {
			return nil, fieldErr(FieldAppCert, "应用公钥证书无法载入（%v）", err)
		}
		if err := client.LoadAliPayRootCert(set.rootsPEM); err != nil {
			return nil, fieldErr(FieldAlipayRootCert, "支付宝根证书无法载入（%v）", err)
		}
		if err := client.LoadAlipayCertPublicKey(certPEM(set.alipayCert)); err != nil {
			return nil, fieldErr(FieldAlipayCert, "支付宝公钥证书无法载入（%v）", err)
		}
		p.known = map[string]*x509.Certificate{certSN(set.alipayCert): set.alipayCert}
	}
	p.client = client
	return p, nil
}

// errRotation is an answer or notification under an Alipay certificate we could not
// accept: its download failed, or it does not chain to the configured root.
type errRotation struct{ msg string }

func (e *errRotation) Error() string { return "alipay: certificate rotation: " + e.msg }

type skipRotationKey struct{}

// answerTransport reads every gateway answer within maxAnswer and, in certificate mode,
// makes sure the Alipay certificate it names is one we accept before the library checks
// the signature with it (the library itself would download and trust any certificate).
type answerTransport struct {
	base http.RoundTripper
	p    *provider
}

func (t *answerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := readLimited(resp.Body, maxAnswer)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	if req.Context().Value(skipRotationKey{}) != nil {
		return resp, nil
	}
	var head struct {
		CertSN string `json:"alipay_cert_sn"`
	}
	if json.Unmarshal(body, &head) != nil || head.CertSN == "" {
		return resp, nil // not ours to judge: the library reports what is wrong with it
	}
	if err := t.p.accept(req.Context(), head.CertSN); err != nil {
		return nil, err
	}
	return resp, nil
}

// accept makes sure the Alipay certificate with serial sn verifies what follows: a known
// one, or one fetched with alipay.open.app.alipaycert.download that chains to the
// configured root and is valid now. In public-key mode no serial is expected.
func (p *provider) accept(ctx context.Context, sn string) error {
	if p.set.mode != modeCert {
		return &errRotation{msg: fmt.Sprintf("message names Alipay certificate %s but the merchant is configured in public-key mode", sn)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known[sn] != nil {
		return nil
	}
	rsp, err := p.client.CertDownload(context.WithValue(ctx, skipRotationKey{}, true),
		alipay.CertDownload{AliPayCertSN: sn, AppAuthToken: p.set.appAuthToken})
	if err != nil {
		return &errRotation{msg: fmt.Sprintf("download of certificate %s failed: %v", sn, err)}
	}
	if !rsp.Code.IsSuccess() {
		return &errRotation{msg: fmt.Sprintf("download of certificate %s refused: %s %s %s", sn, rsp.Code, rsp.SubCode, rsp.SubMsg)}
	}
	raw, err := base64.StdEncoding.DecodeString(rsp.AliPayCertContent)
	if err != nil {
		return &errRotation{msg: "downloaded certificate is not base64"}
	}
	cert, err := parseCert(string(raw))
	if err != nil {
		return &errRotation{msg: fmt.Sprintf("downloaded certificate: %v", err)}
	}
	if got := certSN(cert); got != sn {
		return &errRotation{msg: fmt.Sprintf("downloaded certificate has serial %s, asked for %s", got, sn)}
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return &errRotation{msg: "downloaded certificate has no RSA key"}
	}
	if err := p.set.checkChain(cert, p.now()); err != nil {
		return &errRotation{msg: fmt.Sprintf("new Alipay certificate %s refused: %v", sn, err)}
	}
	if err := p.client.LoadAlipayCertPublicKey(certPEM(cert)); err != nil {
		return &errRotation{msg: fmt.Sprintf("load certificate %s: %v", sn, err)}
	}
	p.known[sn] = cert
	return nil
}

// readLimited reads r to the end, refusing more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return b, nil
}

// callError turns what the library returned for a gateway call into the channel's errors.
// Everything but a signed business answer means Alipay could not be used just now.
func (p *provider) callError(op string, err error) error {
	var rot *errRotation
	if errors.As(err, &rot) {
		return fmt.Errorf("alipay: %s: %w: %w: %s", op, channel.ErrUnavailable, channel.ErrBadSignature, rot.msg)
	}
	var aerr *alipay.Error
	if errors.As(err, &aerr) {
		// An unsigned error answer: Alipay refused the request itself.
		switch aerr.Code {
		case alipay.CodeInvalidParam:
			if aerr.SubCode == "isv.invalid-signature" || aerr.SubCode == "isv.invalid-app-cert-sn" || aerr.SubCode == "isv.invalid-alipay-root-cert-sn" {
				return fmt.Errorf("alipay: %s: Alipay refused our request signature (%s %s): check that the app private key and app certificate in the merchant settings are the ones uploaded to the Alipay open platform: %w",
					op, aerr.SubCode, aerr.SubMsg, channel.ErrUnavailable)
			}
		case alipay.CodeInvalidAuthToken:
			return fmt.Errorf("alipay: %s: Alipay refused the app_auth_token (%s %s): the sub-merchant must authorise this app again: %w", op, aerr.SubCode, aerr.SubMsg, channel.ErrUnavailable)
		}
		return fmt.Errorf("alipay: %s: Alipay answered %s %s %s %s: %w", op, aerr.Code, aerr.Msg, aerr.SubCode, aerr.SubMsg, channel.ErrUnavailable)
	}
	if errors.Is(err, alipay.ErrBadResponse) {
		return fmt.Errorf("alipay: %s: the gateway %s answered something that is not an Alipay answer: %w", op, p.set.gateway, channel.ErrUnavailable)
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("alipay: %s: the gateway %s answered something that is not JSON (a proxy or wrong gateway address?): %w", op, p.set.gateway, channel.ErrUnavailable)
	}
	if isSignatureFailure(err) {
		return fmt.Errorf("alipay: %s: Alipay's answer does not verify with the configured Alipay public key or certificate (%v): %w: %w", op, err, channel.ErrUnavailable, channel.ErrBadSignature)
	}
	return fmt.Errorf("alipay: %s: cannot reach the Alipay gateway %s: %w: %w", op, p.set.gateway, channel.ErrUnavailable, err)
}

// isSignatureFailure reports an answer whose signature did not verify.
func isSignatureFailure(err error) bool {
	var corrupt base64.CorruptInputError
	return errors.Is(err, rsa.ErrVerification) || errors.As(err, &corrupt) || errors.Is(err, alipay.ErrAliPublicKeyNotFound)
}

// businessError is a signed answer whose code is not success.
func businessError(op string, e alipay.Error) error {
	if e.Code == alipay.CodeUnknowError || e.SubCode == "ACQ.SYSTEM_ERROR" {
		return fmt.Errorf("alipay: %s: Alipay is busy (%s %s %s): %w", op, e.Code, e.SubCode, e.SubMsg, channel.ErrUnavailable)
	}
	return fmt.Errorf("alipay: %s: Alipay refused: %s %s %s %s", op, e.Code, e.Msg, e.SubCode, e.SubMsg)
}
