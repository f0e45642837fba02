package unionpay_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	upsim "campuspay/app/sim/unionpay"
)

func TestNotificationPaidAndAck(t *testing.T) {
	e := newEnv(t)
	req := e.paid("A20260304N001", 4200)
	r := e.next()
	n := e.decode(r)
	if n.Kind != channel.NoticePaid || n.Trade.OrderNo != req.AttemptNo || n.Trade.AmountFen != 4200 ||
		n.Trade.MerchantNo != e.sim.MerID() || n.Trade.Status != channel.TradeSuccess || n.Raw != string(r.body) {
		t.Errorf("notice = %+v", n)
	}
	if a := e.prov.Ack(true, ""); a.Status != http.StatusOK || string(a.Body) != "ok" {
		t.Errorf("Ack(true) = %d %q", a.Status, a.Body)
	}
	if a := e.prov.Ack(false, "db down"); a.Status != http.StatusInternalServerError {
		t.Errorf("Ack(false) = %d, want 500 so UnionPay sends again", a.Status)
	}
}

func TestNotificationRetriedUntilAcknowledged(t *testing.T) {
	e := newEnv(t)
	e.mu.Lock()
	e.answers = []int{500, 500}
	e.mu.Unlock()
	e.paid("A20260304N002", 100)
	first, second, third := e.next(), e.next(), e.next()
	if string(first.body) != string(second.body) || string(second.body) != string(third.body) {
		t.Error("retries differ from the first notification")
	}
}

func TestNotificationGivesUpAfterFiveTries(t *testing.T) {
	e := newEnv(t)
	e.mu.Lock()
	e.answers = []int{500, 500, 500, 500, 500, 500, 500}
	e.mu.Unlock()
	e.paid("A20260304N003", 100)
	for i := 0; i < 5; i++ {
		e.next()
	}
	e.sim.Close() // waits for the sender: a sixth try would be at the door now
	e.none()
}

func TestNotificationTamperedIsRefused(t *testing.T) {
	e := newEnv(t)
	e.paid("A20260304N004", 100)
	r := e.next()
	body := strings.Replace(string(r.body), "txnAmt=100", "txnAmt=1", 1)
	if body == string(r.body) {
		t.Fatal("txnAmt=100 not in the body")
	}
	_, err := e.prov.Notification(context.Background(), r.header, []byte(body))
	wantErr(t, err, channel.ErrBadSignature)
}

// A leaf of another chain (another "UnionPay" with its own root) signs correctly for
// itself, names UnionPay in its CN, and is still refused.
func TestNotificationFromAnotherChainIsRefused(t *testing.T) {
	e := newEnv(t)
	other, err := upsim.New("/x", e.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	e.paid("A20260304N005", 100)
	f := formOf(t, e.next().body)
	forged := other.Sign(f)
	_, err = e.prov.Notification(context.Background(), nil, []byte(upsim.EncodeForm(forged)))
	wantErr(t, err, channel.ErrBadSignature)
}

func TestNotificationLeafNamingAnotherOrgIsRefused(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	if err := e.sim.IssueLeaf(upsim.LeafCN("某某支付有限公司"), now.Add(-time.Hour), now.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	e.paid("A20260304N006", 100)
	_, err := e.prov.Notification(context.Background(), nil, e.next().body)
	wantErr(t, err, channel.ErrBadSignature)
}

// UnionPay messages carry no timestamp to judge freshness by; what goes stale is the
// signing certificate. One past its NotAfter is refused.
func TestNotificationSignedWithAnExpiredLeafIsRefused(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	if err := e.sim.IssueLeaf(upsim.LeafCN(upsim.OrgUnionPay), now.AddDate(-1, 0, 0), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.paid("A20260304N007", 100)
	_, err := e.prov.Notification(context.Background(), nil, e.next().body)
	wantErr(t, err, channel.ErrBadSignature)
}

func TestNotificationMalformed(t *testing.T) {
	e := newEnv(t)
	e.paid("A20260304N008", 100)
	good := string(e.next().body)
	for name, body := range map[string]string{
		"empty":      "",
		"not a form": "%zz",
		"duplicated": good + "&txnAmt=100",
		"huge":       good + "&reserved=" + strings.Repeat("x", 70<<10),
	} {
		_, err := e.prov.Notification(context.Background(), nil, []byte(body))
		wantErr(t, err, channel.ErrMalformed)
		_ = name
	}
}

func TestSignedButLyingNotificationIsReportedAsItSays(t *testing.T) {
	e := newEnv(t)
	e.sim.SetSwitches(upsim.Switches{AmountDeltaFen: 1, OtherMerID: "898000000000001"})
	req := e.paid("A20260304N009", 100)
	n := e.decode(e.next())
	if n.Kind != channel.NoticePaid || n.Trade.OrderNo != req.AttemptNo || n.Trade.AmountFen != 101 ||
		n.Trade.MerchantNo != "898000000000001" || n.Trade.AppID != "" {
		t.Errorf("notice = %+v; want the lie reported: 101 fen from 898000000000001", n.Trade)
	}
	// The query answer lies the same way, and is reported the same way.
	tr, err := e.prov.Query(context.Background(), e.ref(req))
	if err != nil || tr.AmountFen != 101 || tr.MerchantNo != "898000000000001" {
		t.Errorf("Query = %+v, %v", tr, err)
	}
}

func TestDuplicateNotificationsDecodeTheSame(t *testing.T) {
	e := newEnv(t)
	e.sim.SetSwitches(upsim.Switches{DuplicateNotify: 2})
	e.paid("A20260304N010", 300)
	first := e.decode(e.next())
	for i := 0; i < 2; i++ {
		n := e.decode(e.next())
		if n.Kind != first.Kind || n.Trade != first.Trade {
			t.Errorf("duplicate %d = %+v, first %+v", i+1, n.Trade, first.Trade)
		}
	}
}

func TestReorderedNotificationsDecodeConsistently(t *testing.T) {
	e := newEnv(t)
	e.sim.SetSwitches(upsim.Switches{Reorder: true, HoldRefunds: true})
	req := e.paid("A20260304N011", 1000)
	e.clock.Set(bj(2026, 3, 5, 9, 0))
	call := refundCall(e, req, "R20260305N011", 1000)
	if _, err := e.prov.Refund(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	e.sim.FinishRefunds()
	e.sim.SetSwitches(upsim.Switches{}) // releases: the refund's notification first
	refund, paid := e.decode(e.next()), e.decode(e.next())
	if refund.Kind != channel.NoticeRefund || refund.Refund.Status != channel.RefundSucceeded || refund.Refund.RefundNo != call.RefundNo {
		t.Errorf("first released = %+v; want the refund", refund)
	}
	if paid.Kind != channel.NoticePaid || paid.Trade.OrderNo != req.AttemptNo || paid.Trade.AmountFen != 1000 {
		t.Errorf("second released = %+v; want the payment", paid)
	}
	if refund.Trade.OrderNo != "" {
		t.Errorf("refund notice claims order %q; UnionPay's refund message names the consume only by queryId", refund.Trade.OrderNo)
	}
	if refund.Trade.TradeNo != paid.Trade.TradeNo {
		t.Errorf("refund names consume %q, payment is %q", refund.Trade.TradeNo, paid.Trade.TradeNo)
	}
}

func TestNonSuccessNotificationsAreIgnored(t *testing.T) {
	e := newEnv(t)
	e.paid("A20260304N012", 100)
	f := formOf(t, e.next().body)
	for name, change := range map[string]map[string]string{
		"failed consume": {"respCode": "01", "respMsg": "交易失败"},
		"other txnType":  {"txnType": "79"},
	} {
		g := copyValues(f)
		for k, v := range change {
			g[k] = v
		}
		n, err := e.prov.Notification(context.Background(), nil, []byte(upsim.EncodeForm(e.sim.Sign(g))))
		if err != nil || n.Kind != channel.NoticeIgnore || n.Reason == "" {
			t.Errorf("%s: notice = %+v, %v; want NoticeIgnore with a reason", name, n, err)
		}
	}
}

func TestRotatedLeafIsBelieved(t *testing.T) {
	e := newEnv(t)
	before := e.sim.LeafSerial()
	if err := e.sim.RotateLeaf(); err != nil {
		t.Fatal(err)
	}
	if e.sim.LeafSerial() == before {
		t.Fatal("RotateLeaf kept the serial")
	}
	req := e.paid("A20260304N013", 100)
	r := e.next()
	b, _ := pem.Decode([]byte(formOf(t, r.body)["signPubKeyCert"]))
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil || leaf.SerialNumber.String() != e.sim.LeafSerial() {
		t.Fatalf("notification not signed by the new leaf: %v", err)
	}
	if n := e.decode(r); n.Kind != channel.NoticePaid {
		t.Errorf("notice = %+v", n)
	}
	if tr, err := e.prov.Query(context.Background(), e.ref(req)); err != nil || tr.Status != channel.TradeSuccess {
		t.Errorf("Query under the new leaf = %+v, %v", tr, err)
	}
}

// UnionPay's older test chains are SHA-1 signed; Go's x509 refuses to verify them, so the
// adapter checks the pinned chain itself.
func TestSHA1TestChainIsCheckedExplicitly(t *testing.T) {
	e := newEnv(t, upsim.WithSHA1Chain())
	b, _ := pem.Decode([]byte(e.values["middle_cert"]))
	middle, _ := x509.ParseCertificate(b.Bytes)
	b, _ = pem.Decode([]byte(e.values["root_cert"]))
	root, _ := x509.ParseCertificate(b.Bytes)
	if middle.SignatureAlgorithm != x509.SHA1WithRSA || middle.CheckSignatureFrom(root) == nil {
		t.Fatal("the test chain is not one Go's x509 refuses")
	}
	e.paid("A20260304N014", 100)
	if n := e.decode(e.next()); n.Kind != channel.NoticePaid {
		t.Errorf("notice = %+v", n)
	}
}
