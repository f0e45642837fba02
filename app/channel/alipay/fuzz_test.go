package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"campuspay/app/channel"
)

var (
	fuzzOnce     sync.Once
	fuzzAlipay   *rsa.PrivateKey // plays Alipay's signing key
	fuzzProvider *provider
)

// fuzzSetup opens a public-key provider whose Alipay key the test holds, so that seeds can
// be properly signed notifications. Keys are generated at run time.
func fuzzSetup(t testing.TB) (*provider, *rsa.PrivateKey) {
	fuzzOnce.Do(func() {
		app, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ali, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		appDER, _ := x509.MarshalPKCS8PrivateKey(app)
		aliDER, _ := x509.MarshalPKIXPublicKey(&ali.PublicKey)
		p, err := open(channel.MerchantConfig{Values: map[string]string{
			FieldAppID:           "2021000000000000",
			FieldPrivateKey:      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: appDER})),
			FieldAlipayPublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: aliDER})),
			FieldGateway:         "http://127.0.0.1:1/gateway.do",
		}})
		if err != nil {
			t.Fatal(err)
		}
		fuzzAlipay, fuzzProvider = ali, p
	})
	return fuzzProvider, fuzzAlipay
}

// signedForm signs v as Alipay signs a notification: all fields but sign and sign_type.
func signedForm(key *rsa.PrivateKey, v url.Values) string {
	var pairs []string
	for k := range v {
		if k != "sign" && k != "sign_type" {
			pairs = append(pairs, k+"="+v.Get(k))
		}
	}
	sort.Strings(pairs)
	sum := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v.Encode()
}

func paidForm() url.Values {
	return url.Values{
		"notify_time": {"2024-09-01 10:00:05"}, "notify_type": {"trade_status_sync"}, "notify_id": {"ac05099524730693a8b330c5ecf72da9786"},
		"app_id": {"2021000000000000"}, "charset": {"utf-8"}, "version": {"1.0"}, "sign_type": {"RSA2"},
		"trade_no": {"2024090122001400001000000001"}, "out_trade_no": {"A20240901000001"}, "seller_id": {"2088000000000000"},
		"trade_status": {"TRADE_SUCCESS"}, "total_amount": {"12.34"}, "gmt_payment": {"2024-09-01 10:00:04"}, "subject": {"学费"},
	}
}

func FuzzNotification(f *testing.F) {
	p, ali := fuzzSetup(f)
	paid := paidForm()
	f.Add(signedForm(ali, paid))
	finished := paidForm()
	finished.Set("trade_status", "TRADE_FINISHED")
	f.Add(signedForm(ali, finished))
	closed := paidForm()
	closed.Set("trade_status", "TRADE_CLOSED")
	closed.Del("gmt_payment")
	f.Add(signedForm(ali, closed))
	refunded := paidForm()
	refunded.Set("refund_fee", "1.00")
	refunded.Set("gmt_refund", "2024-09-01 11:00:00.123")
	refunded.Set("out_biz_no", "R1")
	f.Add(signedForm(ali, refunded))
	f.Add("total_amount=1.00&sign=abc&sign_type=RSA2")
	f.Add("%zz")
	f.Add("")
	f.Add("notify_type=trade_status_sync&out_trade_no=A1&trade_no=1&app_id=1&total_amount=-1.00&trade_status=TRADE_SUCCESS&sign=x&sign_type=RSA2")

	f.Fuzz(func(t *testing.T, body string) {
		// The whole door: anything but a correctly signed seed is refused as such.
		if _, err := p.verifyNotification(context.Background(), []byte(body)); err != nil && !errors.Is(err, channel.ErrBadSignature) && !errors.Is(err, channel.ErrMalformed) {
			t.Fatalf("verify error %v is neither bad signature nor malformed", err)
		}
		// The decoder behind it, on any well-formed form.
		v, err := parseNotificationForm([]byte(body))
		if err != nil {
			if !errors.Is(err, channel.ErrMalformed) && !errors.Is(err, channel.ErrBadSignature) {
				t.Fatalf("form error %v", err)
			}
			return
		}
		notice, err := decodeNotice(v, body)
		if err != nil {
			if !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("decode error %v is not malformed", err)
			}
			return
		}
		switch notice.Kind {
		case channel.NoticePaid:
			tr := notice.Trade
			if tr.AmountFen <= 0 || !attemptNoPattern.MatchString(tr.OrderNo) || tr.TradeNo == "" || tr.PaidAt.IsZero() || tr.Status != channel.TradeSuccess || tr.AppID == "" {
				t.Fatalf("accepted a paid notice that does not hold together: %+v", tr)
			}
		case channel.NoticeRefund:
			if !refundNoPattern.MatchString(notice.Refund.RefundNo) || notice.Trade.AmountFen <= 0 {
				t.Fatalf("accepted a refund notice without a refund number: %+v", notice)
			}
		case channel.NoticeIgnore:
			if notice.Reason == "" {
				t.Fatal("ignored without a reason")
			}
		default:
			t.Fatalf("kind %v", notice.Kind)
		}
	})
}

// seedBill is a small, consistent trade bill: one payment of 100.00 and a refund of 30.00.
func seedBill(t testing.TB) []byte {
	head := func(title string) string {
		return "#支付宝" + title + "查询\r\n#账号：[20880000000000000156]\r\n" +
			"#起始日期：[2024年09月01日 00:00:00]   终止日期：[2024年09月02日 00:00:00]\r\n" +
			"#-----------------------------------------" + title + "列表----------------------------------------\r\n"
	}
	detail := head("业务明细") + strings.Join(DetailHeader, ",") + "\r\n" +
		"2024090122001400001000000001\t,A1\t,交易\t,学费\t,2024-09-01 10:00:00\t,2024-09-01 10:00:04\t,\t,\t,\t,\t,stu***\t,100.00\t,100.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-0.60\t,0.00\t,\t\r\n" +
		"2024090122001400001000000001\t,A1\t,退款\t,学费\t,2024-09-01 11:00:00\t,2024-09-01 11:00:00\t,\t,\t,\t,\t,stu***\t,-30.00\t,-30.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,R1\t,0.18\t,0.00\t,\t\r\n" +
		"#-----------------------------------------业务明细列表结束------------------------------------\r\n" +
		"#交易合计：1笔，退款合计：1笔\r\n#导出时间：[2024年09月02日 09:00:00]\r\n"
	summary := head("业务汇总") + strings.Join(SummaryHeader, ",") + "\r\n" +
		"合计,,1,1,70.00,70.00,0.00,0.00,0.00,-0.42,0.00,69.58\r\n" +
		"#-----------------------------------------业务汇总列表结束------------------------------------\r\n"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range [][2]string{
		{"20880000000000000156_20240901_业务明细.csv", detail},
		{"20880000000000000156_20240901_业务明细(汇总).csv", summary},
	} {
		name, _ := simplifiedchinese.GBK.NewEncoder().String(e[0])
		body, _ := simplifiedchinese.GBK.NewEncoder().String(e[1])
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, NonUTF8: true})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

var fuzzDay = time.Date(2024, 9, 1, 0, 0, 0, 0, shanghai)

func TestSeedBillParses(t *testing.T) {
	lines, err := ParseStatement(seedBill(t), fuzzDay)
	if err != nil || len(lines) != 2 {
		t.Fatalf("ParseStatement(seed) = %+v, %v", lines, err)
	}
	if lines[0].FeeFen != 60 || lines[1].FeeFen != -18 || lines[1].AmountFen != 3000 || lines[1].RefundNo != "R1" {
		t.Errorf("lines = %+v", lines)
	}
}

func FuzzStatement(f *testing.F) {
	good := seedBill(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		lines, err := ParseStatement(raw, fuzzDay)
		if err != nil {
			if !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("error %v is not malformed", err)
			}
			return
		}
		end := fuzzDay.Add(24 * time.Hour)
		for _, l := range lines {
			ok := l.AmountFen > 0 && l.TradeNo != "" && attemptNoPattern.MatchString(l.AttemptNo) && !l.At.Before(fuzzDay) && l.At.Before(end)
			switch l.Kind {
			case channel.StatementPayment:
				ok = ok && l.RefundNo == ""
			case channel.StatementRefund:
				ok = ok && refundNoPattern.MatchString(l.RefundNo)
			default:
				ok = false
			}
			if !ok {
				t.Fatalf("accepted a line that does not hold together: %+v", l)
			}
		}
	})
}

func TestDownloadURLStaysWithAlipay(t *testing.T) {
	p, _ := fuzzSetup(t)
	for u, want := range map[string]bool{
		"http://127.0.0.1:1/bill/abc":                               true,
		"https://dwbillcenter.alipay.com/downloadBillFile.resource": true,
		"http://dwbillcenter.alipay.com/x":                          false,
		"https://alipay.com.evil.example/x":                         false,
		"http://169.254.169.254/latest/meta-data":                   false,
		"https://user@dwbillcenter.alipay.com/x":                    false,
		"/bill/abc":                                                 false,
	} {
		_, err := p.downloadURL(u)
		if (err == nil) != want {
			t.Errorf("downloadURL(%q) = %v, want accepted %v", u, err, want)
		}
	}
}

// bigBill is a consistent bill of n payments of 1.00 each.
func bigBill(b testing.TB, n int) []byte {
	var d strings.Builder
	head := func(title string) string {
		return "#支付宝" + title + "查询\r\n#起始日期：[2024年09月01日 00:00:00]   终止日期：[2024年09月02日 00:00:00]\r\n"
	}
	d.WriteString(head("业务明细") + strings.Join(DetailHeader, ",") + "\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&d, "20240901220014%014d\t,A%d\t,交易\t,学费\t,2024-09-01 10:00:00\t,2024-09-01 10:00:04\t,\t,\t,\t,\t,stu***\t,1.00\t,1.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-0.01\t,0.00\t,\t\r\n", i, i)
	}
	fmt.Fprintf(&d, "#交易合计：%d笔，退款合计：0笔\r\n", n)
	summary := head("业务汇总") + strings.Join(SummaryHeader, ",") + "\r\n" +
		fmt.Sprintf("合计,,%d,0,%d.00,%d.00,0.00,0.00,0.00,-%d.%02d,0.00,0.00\r\n", n, n, n, n/100, n%100)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range [][2]string{{"x_20240901_业务明细.csv", d.String()}, {"x_20240901_业务明细(汇总).csv", summary}} {
		name, _ := simplifiedchinese.GBK.NewEncoder().String(e[0])
		body, _ := simplifiedchinese.GBK.NewEncoder().String(e[1])
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, NonUTF8: true})
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

// BenchmarkParseStatement10k parses a day of 10,000 payments.
func BenchmarkParseStatement10k(b *testing.B) {
	raw := bigBill(b, 10000)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		lines, err := ParseStatement(raw, fuzzDay)
		if err != nil || len(lines) != 10000 {
			b.Fatalf("%d lines, %v", len(lines), err)
		}
	}
}
