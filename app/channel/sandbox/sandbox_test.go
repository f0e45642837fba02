package sandbox_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/channel/sandbox"
	simsandbox "campuspay/app/sim/sandbox"
	"campuspay/store"
	"campuspay/store/storetest"
)

const (
	merchant = "M1001"
	key      = "k-3f9a1c77e2"
)

// gateway serves the simulator on a loopback listener and returns its URL.
func gateway(t *testing.T, db *bun.DB) (string, *simsandbox.Sim) {
	t.Helper()
	sim := &simsandbox.Sim{
		DB: db,
		Key: func(m string) (string, bool) {
			return key, m == merchant
		},
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	sim.Routes(app.Group("/sim/sandbox"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sim.PublicURL = "http://" + ln.Addr().String() + "/sim/sandbox"
	go app.Listener(ln)
	t.Cleanup(func() {
		sim.Close()
		app.Shutdown()
	})
	return sim.PublicURL, sim
}

// notifications is the platform's notify endpoint: it verifies with the adapter and acks.
type notifications struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []channel.Trade
	err []error
}

func newNotifications(t *testing.T, ch *sandbox.Channel) *notifications {
	n := &notifications{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		trade, err := ch.VerifyNotification(r.Header, body)
		n.mu.Lock()
		defer n.mu.Unlock()
		if err != nil {
			n.err = append(n.err, err)
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		n.got = append(n.got, trade)
		ct, ack := ch.NotificationAck()
		w.Header().Set("Content-Type", ct)
		w.Write(ack)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *notifications) wait(t *testing.T) channel.Trade {
	t.Helper()
	for range 300 {
		n.mu.Lock()
		got, errs := append([]channel.Trade(nil), n.got...), n.err
		n.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("notification refused: %v", errs)
		}
		if len(got) > 0 {
			return got[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no notification")
	return channel.Trade{}
}

func apiCode(err error) string {
	var ae *sandbox.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestPaymentJourney(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		base, _ := gateway(t, db)
		ch := sandbox.New(sandbox.Config{GatewayURL: base, Merchant: merchant, Key: key})
		if ch.Name() != "sandbox" {
			t.Errorf("Name() = %q", ch.Name())
		}
		inbox := newNotifications(t, ch)
		req := channel.CreateRequest{OrderNo: "O20240901000123", AmountFen: 123450, Subject: "住宿费",
			ExpiresAt: time.Now().Add(30 * time.Minute), NotifyURL: inbox.srv.URL + "/notify", ReturnURL: "http://127.0.0.1:1/return"}

		res, err := ch.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.QRContent, base+"/pay/SB") || res.RedirectURL != res.QRContent || res.Paid != nil {
			t.Errorf("Create = %+v, want the pay page as QR content and redirect", res)
		}
		if again, err := ch.Create(ctx, req); err != nil || again != res {
			t.Errorf("Create again = %+v, %v; want %+v", again, err, res)
		}
		other := req
		other.AmountFen++
		if _, err := ch.Create(ctx, other); apiCode(err) != "TRADE_CONFLICT" || errors.Is(err, channel.ErrUnavailable) {
			t.Errorf("Create with another amount: %v, want TRADE_CONFLICT", err)
		}
		bad := req
		bad.OrderNo = "O-1"
		if _, err := ch.Create(ctx, bad); apiCode(err) != "INVALID_PARAM" {
			t.Errorf("Create with a bad order number: %v, want INVALID_PARAM", err)
		}
		if tr, err := ch.Query(ctx, req.OrderNo); err != nil || tr.Status != channel.TradeWaiting || tr.AmountFen != 123450 {
			t.Errorf("Query before paying = %+v, %v", tr, err)
		}

		// The payer confirms on the pay page.
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.PostForm(res.RedirectURL+"/confirm", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != req.ReturnURL {
			t.Errorf("confirm = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}

		notified := inbox.wait(t)
		if notified.OrderNo != req.OrderNo || notified.AmountFen != 123450 || notified.Status != channel.TradeSuccess ||
			!strings.HasPrefix(notified.TradeNo, "SB") || notified.PaidAt.IsZero() || !strings.Contains(notified.Raw, `"trade_no"`) {
			t.Errorf("notification = %+v", notified)
		}
		queried, err := ch.Query(ctx, req.OrderNo)
		if err != nil || queried.Status != channel.TradeSuccess || queried.TradeNo != notified.TradeNo ||
			!queried.PaidAt.Equal(notified.PaidAt) || queried.AmountFen != 123450 {
			t.Errorf("Query after paying = %+v, %v; notified %+v", queried, err, notified)
		}
		if err := ch.Close(ctx, req.OrderNo); apiCode(err) != "TRADE_PAID" {
			t.Errorf("Close a paid order: %v, want TRADE_PAID", err)
		}

		refund := channel.RefundRequest{OrderNo: req.OrderNo, TradeNo: notified.TradeNo, RefundNo: "RF1",
			AmountFen: 23450, TotalFen: 123450, Reason: "退宿"}
		rr, err := ch.Refund(ctx, refund)
		if err != nil || rr.Status != channel.RefundSucceeded || rr.RefundNo != "RF1" || rr.AmountFen != 23450 ||
			!strings.HasPrefix(rr.ChannelRefundNo, "SR") {
			t.Fatalf("Refund = %+v, %v", rr, err)
		}
		if again, err := ch.Refund(ctx, refund); err != nil || again != rr {
			t.Errorf("Refund again = %+v, %v; want %+v", again, err, rr)
		}
		if got, err := ch.QueryRefund(ctx, req.OrderNo, "RF1"); err != nil || got != rr {
			t.Errorf("QueryRefund = %+v, %v; want %+v", got, err, rr)
		}
		tooMuch := refund
		tooMuch.RefundNo, tooMuch.AmountFen = "RF2", 100001
		if got, err := ch.Refund(ctx, tooMuch); err != nil || got.Status != channel.RefundFailed || got.Message == "" {
			t.Errorf("Refund beyond the paid amount = %+v, %v; want failed with a message", got, err)
		}
		if _, err := ch.QueryRefund(ctx, req.OrderNo, "RF2"); apiCode(err) != "REFUND_NOT_EXIST" {
			t.Errorf("QueryRefund of a refused refund: %v, want REFUND_NOT_EXIST", err)
		}

		if tr, err := ch.Query(ctx, "NEVER1"); err != nil || tr.Status != channel.TradeNotFound || tr.OrderNo != "NEVER1" {
			t.Errorf("Query unknown = %+v, %v; want not found", tr, err)
		}
		if err := ch.Close(ctx, "NEVER1"); err != nil {
			t.Errorf("Close unknown: %v", err)
		}
		req.OrderNo = "O20240901000124"
		if _, err := ch.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
		if err := ch.Close(ctx, req.OrderNo); err != nil {
			t.Errorf("Close: %v", err)
		}
		if tr, err := ch.Query(ctx, req.OrderNo); err != nil || tr.Status != channel.TradeClosed {
			t.Errorf("Query closed = %+v, %v", tr, err)
		}

		ct, ack := ch.NotificationAck()
		if !strings.HasPrefix(ct, "text/plain") || string(ack) != "success" {
			t.Errorf("NotificationAck() = %q, %q", ct, ack)
		}
	})
}

func TestStatement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		base, _ := gateway(t, db)
		ch := sandbox.New(sandbox.Config{GatewayURL: base, Merchant: merchant, Key: key})
		cst := time.FixedZone("CST", 8*3600)
		y, m, d := time.Now().In(cst).AddDate(0, 0, -1).Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, cst)
		at := func(h, min, s int) *time.Time {
			t := store.UTC(day.Add(time.Duration(h)*time.Hour + time.Duration(min)*time.Minute + time.Duration(s)*time.Second))
			return &t
		}
		// The gateway's books, as the simulator keeps them.
		trades := []*store.SandboxTrade{
			{TradeNo: "SB00000000000000000001", OutTradeNo: "O1", AmountFen: 100000, RefundedFen: 30000, PaidAt: at(0, 0, 0)},
			{TradeNo: "SB00000000000000000002", OutTradeNo: "O2", AmountFen: 12345, PaidAt: at(9, 15, 0)},
			{TradeNo: "SB00000000000000000003", OutTradeNo: "O3", AmountFen: 750, PaidAt: at(23, 59, 59)},
			{TradeNo: "SB00000000000000000004", OutTradeNo: "O4", AmountFen: 500, PaidAt: at(24, 0, 0)},
			{TradeNo: "SB00000000000000000005", OutTradeNo: "O5", AmountFen: 800, PaidAt: at(-1, 0, 0)},
		}
		for _, tr := range trades {
			tr.Merchant, tr.Status, tr.NotifyURL, tr.CreatedAt = merchant, "SUCCESS", "http://127.0.0.1:1/n", *tr.PaidAt
			if _, err := db.NewInsert().Model(tr).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		refund := &store.SandboxRefund{RefundNo: "SR00000000000000000001", OutRefundNo: "RF1",
			TradeNo: "SB00000000000000000001", AmountFen: 30000, Status: "SUCCESS", CreatedAt: *at(10, 0, 0)}
		if _, err := db.NewInsert().Model(refund).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		st, err := ch.Statement(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		got := st.Raw
		golden, err := os.ReadFile("testdata/statement.csv")
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.ReplaceAll(string(golden), "{day}", day.Format(time.DateOnly)); string(got) != want {
			t.Errorf("Statement(%s) =\n%s\nwant\n%s", day.Format(time.DateOnly), got, want)
		}
		// The lines as reconciliation reads them: the refund carries the gateway's own
		// refund number, the payments their fees.
		if len(st.Lines) != 4 || st.FileName != "sandbox-"+day.Format(time.DateOnly)+".csv" {
			t.Fatalf("Statement(%s) = %d lines in %q, want 4 in sandbox-<day>.csv", day.Format(time.DateOnly), len(st.Lines), st.FileName)
		}
		if l := st.Lines[2]; l.Kind != channel.StatementRefund || l.ChannelRefundNo != "SR00000000000000000001" || l.RefundNo != "" ||
			l.AttemptNo != "O1" || l.AmountFen != 30000 || l.Line != 4 {
			t.Errorf("refund line = %+v", l)
		}
		if l := st.Lines[0]; l.Kind != channel.StatementPayment || l.TradeNo != "SB00000000000000000001" || l.FeeFen != 600 || !l.At.Equal(*at(0, 0, 0)) {
			t.Errorf("payment line = %+v", l)
		}
		if _, err := ch.Statement(ctx, time.Now()); apiCode(err) != "STATEMENT_NOT_READY" {
			t.Errorf("Statement(today): %v, want STATEMENT_NOT_READY", err)
		}
	})
}

func TestGatewayRejectsWrongKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		base, _ := gateway(t, db)
		ch := sandbox.New(sandbox.Config{GatewayURL: base, Merchant: merchant, Key: "k-wrong"})
		_, err := ch.Query(t.Context(), "O1")
		if !errors.Is(err, channel.ErrUnavailable) {
			t.Errorf("Query with a wrong key: %v, want ErrUnavailable (the refusal cannot be verified)", err)
		}
	})
}
