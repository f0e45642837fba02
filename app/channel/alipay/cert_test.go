package alipay_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"campuspay/app/channel"
)

// Certificate mode sends app_cert_sn and alipay_root_cert_sn and verifies Alipay's answers
// under its certificate; when Alipay answers under a new certificate the adapter fetches
// it, accepts it because it chains to the configured root, and notifications signed with
// the new key verify.
func TestCertificateModeRotation(t *testing.T) {
	e := newEnv(t, true)
	res := e.pay("A1", channel.WayAliQR, 100)
	if c := e.lastCall("alipay.trade.precreate"); c.AppCertSN == "" {
		t.Error("precreate carried no app_cert_sn in certificate mode")
	}
	old := e.sim.AlipayCertSN()
	if err := e.sim.RotateCert(false); err != nil {
		t.Fatal(err)
	}
	if e.sim.AlipayCertSN() == old {
		t.Fatal("rotation kept the serial")
	}
	if got := e.query("A1"); got.Status != channel.TradeWaiting {
		t.Errorf("Query after rotation = %+v", got)
	}
	if c := e.lastCall("alipay.open.app.alipaycert.download"); c.Biz["alipay_cert_sn"] != e.sim.AlipayCertSN() {
		t.Errorf("certificate download asked for %v, want %s", c.Biz["alipay_cert_sn"], e.sim.AlipayCertSN())
	}
	e.scanAndPay(res)
	if n := e.notice(e.next()); n.Kind != channel.NoticePaid {
		t.Errorf("notification under the new certificate = %+v", n)
	}
}

// A new certificate that does not chain to the configured root is refused: the answer
// under it is not believed.
func TestCertificateRotationToForeignRootRefused(t *testing.T) {
	e := newEnv(t, true)
	e.pay("A1", channel.WayAliQR, 100)
	if err := e.sim.RotateCert(true); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.Query(context.Background(), channel.TradeRef{AttemptNo: "A1"})
	if !errors.Is(err, channel.ErrUnavailable) || !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("Query = %v, want unavailable and bad signature", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not say the certificate was refused", err)
	}
	// It stays refused on the next call too.
	if _, err := e.p.Query(context.Background(), channel.TradeRef{AttemptNo: "A1"}); !errors.Is(err, channel.ErrBadSignature) {
		t.Errorf("second Query = %v, want bad signature", err)
	}
}

// In public-key mode Alipay's key is what the merchant pasted: after Alipay changes it,
// answers no longer verify until finance pastes the new one.
func TestPublicKeyModeNewKey(t *testing.T) {
	e := newEnv(t, false)
	e.pay("A1", channel.WayAliQR, 100)
	if err := e.sim.RotateCert(false); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.Query(context.Background(), channel.TradeRef{AttemptNo: "A1"})
	if !errors.Is(err, channel.ErrUnavailable) || !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("Query with the old key = %v, want unavailable, bad signature", err)
	}
	e.p = e.open(e.values(false))
	if got := e.query("A1"); got.Status != channel.TradeWaiting {
		t.Errorf("Query with the new key = %+v", got)
	}
}
