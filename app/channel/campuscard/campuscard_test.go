package campuscard_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/channel/campuscard"
	simcard "campuspay/app/sim/campuscard"
	"campuspay/store"
	"campuspay/store/storetest"
)

const key = "campus-card-test-key"

// setup serves a campus card sim on a loopback listener and returns it with the base
// URL it is mounted at.
func setup(t *testing.T, db *bun.DB) (*simcard.Sim, string) {
	t.Helper()
	sim := &simcard.Sim{DB: db, Key: key}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	sim.Routes(app.Group("/sim/card"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	// Shutdown alone waits for keep-alive connections the client may hold for 90 s.
	t.Cleanup(func() { app.ShutdownWithTimeout(time.Second) })
	return sim, "http://" + ln.Addr().String() + "/sim/card"
}

func open(t *testing.T, sim *simcard.Sim, a simcard.Account) {
	t.Helper()
	if a.Password == "" {
		a.Password = "123456"
	}
	if err := sim.OpenAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func balance(t *testing.T, sim *simcard.Sim, holderNo string) int64 {
	t.Helper()
	b, err := sim.Balance(context.Background(), holderNo)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func txns(t *testing.T, db *bun.DB, kind string) int64 {
	t.Helper()
	n, err := db.NewSelect().Model((*store.CardTxn)(nil)).Where("kind = ?", kind).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pay(orderNo, payerNo, password string, fen int64) channel.CreateRequest {
	return channel.CreateRequest{OrderNo: orderNo, AmountFen: fen, Subject: "学费", PayerNo: payerNo, Password: password}
}

func TestCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base, Key: key})
		open(t, sim, simcard.Account{HolderNo: "2024001", Name: "张三", BalanceFen: 10000})

		before := time.Now().Add(-time.Second)
		res, err := ch.Create(ctx, pay("P001", "2024001", "123456", 1234))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		p := res.Paid
		if p == nil || p.OrderNo != "P001" || p.AmountFen != 1234 || p.Status != channel.TradeSuccess ||
			!strings.HasPrefix(p.TradeNo, "D") || !strings.Contains(p.Raw, p.TradeNo) {
			t.Fatalf("Create().Paid = %+v, want P001 paid 1234 fen", p)
		}
		if p.PaidAt.Before(before.Truncate(time.Second)) || p.PaidAt.After(time.Now()) {
			t.Errorf("PaidAt = %v, want about now", p.PaidAt)
		}
		if got := balance(t, sim, "2024001"); got != 10000-1234 {
			t.Errorf("balance = %d, want %d", got, 10000-1234)
		}

		// The same order again is the same payment, taken once.
		again, err := ch.Create(ctx, pay("P001", "2024001", "123456", 1234))
		if err != nil || again.Paid.TradeNo != p.TradeNo {
			t.Errorf("Create again = %+v, %v, want trade %s", again.Paid, err, p.TradeNo)
		}
		// The same order number for another amount is refused, and is not the payer's doing.
		_, err = ch.Create(ctx, pay("P001", "2024001", "123456", 999))
		if err == nil || errors.Is(err, channel.ErrDeclined) || errors.Is(err, channel.ErrUnavailable) {
			t.Errorf("Create(P001, other amount) error = %v, want a conflict", err)
		}
		if got := balance(t, sim, "2024001"); got != 10000-1234 || txns(t, db, "debit") != 1 {
			t.Errorf("after repeats: balance %d, %d debits; want %d, 1", got, txns(t, db, "debit"), 10000-1234)
		}
	})
}

func TestCreateDeclined(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base, Key: key})
		open(t, sim, simcard.Account{HolderNo: "S1", Name: "学生甲", BalanceFen: 123456})
		open(t, sim, simcard.Account{HolderNo: "S2", Name: "学生乙", BalanceFen: 123456, Frozen: true})
		open(t, sim, simcard.Account{HolderNo: "S3", Name: "学生丙", BalanceFen: 1050})

		tests := []struct {
			name     string
			req      channel.CreateRequest
			code     string
			message  string
			holderNo string
		}{
			{"wrong password", pay("P1", "S1", "000000", 1100), "wrong_password", "校园卡密码错误，请重新输入", "S1"},
			{"empty password", pay("P2", "S1", "", 1100), "wrong_password", "请输入校园卡密码", "S1"},
			{"frozen", pay("P3", "S2", "123456", 1100), "frozen", "校园卡已冻结，请到卡务中心处理", "S2"},
			{"frozen, wrong password", pay("P4", "S2", "654321", 1100), "wrong_password", "校园卡密码错误，请重新输入", "S2"},
			{"insufficient balance", pay("P5", "S3", "123456", 1100), "insufficient_balance", "校园卡余额不足，当前余额 ¥10.50，请充值后再试", "S3"},
			{"unknown holder", pay("P6", "S9", "123456", 1100), "no_account", "未找到您的校园卡，请到卡务中心咨询", ""},
			{"no payer number", pay("P7", "", "123456", 1100), "no_account", "校园卡支付仅限校内师生，请先登录", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var was int64
				if tt.holderNo != "" {
					was = balance(t, sim, tt.holderNo)
				}
				res, err := ch.Create(ctx, tt.req)
				var d *channel.Declined
				if !errors.As(err, &d) || !errors.Is(err, channel.ErrDeclined) {
					t.Fatalf("Create() = %+v, %v, want *channel.Declined", res, err)
				}
				if d.Code != tt.code || d.Message != tt.message {
					t.Errorf("Declined = %q %q, want %q %q", d.Code, d.Message, tt.code, tt.message)
				}
				if tt.holderNo != "" {
					if got := balance(t, sim, tt.holderNo); got != was {
						t.Errorf("balance = %d, want unchanged %d", got, was)
					}
				}
				if n := txns(t, db, "debit"); n != 0 {
					t.Errorf("debits = %d, want 0", n)
				}
			})
		}
	})
}

func TestConcurrentDebits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base, Key: key})

		t.Run("distinct orders", func(t *testing.T) {
			open(t, sim, simcard.Account{HolderNo: "C7", Name: "七次", BalanceFen: 7 * 100})
			var wg sync.WaitGroup
			results := make([]channel.CreateResult, 20)
			errs := make([]error, 20)
			for i := range 20 {
				wg.Go(func() {
					results[i], errs[i] = ch.Create(ctx, pay(fmt.Sprintf("PD%02d", i), "C7", "123456", 100))
				})
			}
			wg.Wait()
			paid, short := 0, 0
			after := map[int64]bool{}
			for i, err := range errs {
				var d *channel.Declined
				switch {
				case err == nil:
					paid++
					var raw struct {
						BalanceAfter int64 `json:"balance_after"`
					}
					if err := json.Unmarshal([]byte(results[i].Paid.Raw), &raw); err != nil {
						t.Fatal(err)
					}
					if raw.BalanceAfter < 0 || after[raw.BalanceAfter] {
						t.Errorf("balance_after = %d: negative or seen twice", raw.BalanceAfter)
					}
					after[raw.BalanceAfter] = true
				case errors.As(err, &d) && d.Code == "insufficient_balance":
					short++
				default:
					t.Errorf("Create(PD%02d) error = %v", i, err)
				}
			}
			if paid != 7 || short != 13 {
				t.Errorf("paid %d, declined for balance %d; want 7, 13", paid, short)
			}
			if got := balance(t, sim, "C7"); got != 0 {
				t.Errorf("balance = %d, want 0", got)
			}
			if n := txns(t, db, "debit"); n != 7 {
				t.Errorf("debits = %d, want 7", n)
			}
		})

		t.Run("same order", func(t *testing.T) {
			open(t, sim, simcard.Account{HolderNo: "C1", Name: "一次", BalanceFen: 10000})
			before := txns(t, db, "debit")
			var wg sync.WaitGroup
			trades := make([]string, 20)
			for i := range 20 {
				wg.Go(func() {
					res, err := ch.Create(ctx, pay("PSAME", "C1", "123456", 100))
					if err != nil {
						t.Errorf("Create(PSAME) #%d: %v", i, err)
						return
					}
					trades[i] = res.Paid.TradeNo
				})
			}
			wg.Wait()
			for _, tr := range trades {
				if tr != trades[0] {
					t.Errorf("trade numbers differ: %q", trades)
					break
				}
			}
			if n := txns(t, db, "debit") - before; n != 1 {
				t.Errorf("debits written = %d, want 1", n)
			}
			if got := balance(t, sim, "C1"); got != 9900 {
				t.Errorf("balance = %d, want 9900", got)
			}
		})
	})
}

func TestRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base, Key: key})
		open(t, sim, simcard.Account{HolderNo: "2024001", Name: "张三", BalanceFen: 5000})
		res, err := ch.Create(ctx, pay("P100", "2024001", "123456", 1000))
		if err != nil {
			t.Fatal(err)
		}
		refund := func(refundNo string, fen int64) channel.RefundRequest {
			return channel.RefundRequest{OrderNo: "P100", TradeNo: res.Paid.TradeNo, RefundNo: refundNo, AmountFen: fen, TotalFen: 1000}
		}
		var firstR1 string
		tests := []struct {
			name    string
			req     channel.RefundRequest
			status  channel.RefundStatus
			balance int64 // after
		}{
			{"part", refund("R1", 300), channel.RefundSucceeded, 4300},
			{"same refund again", refund("R1", 300), channel.RefundSucceeded, 4300},
			{"same number, other amount", refund("R1", 200), channel.RefundFailed, 4300},
			{"beyond what is left", refund("R2", 701), channel.RefundFailed, 4300},
			{"the rest", refund("R2", 700), channel.RefundSucceeded, 5000},
			{"one fen more", refund("R3", 1), channel.RefundFailed, 5000},
			{"unknown order", channel.RefundRequest{OrderNo: "P404", RefundNo: "R4", AmountFen: 1}, channel.RefundFailed, 5000},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := ch.Refund(ctx, tt.req)
				if err != nil {
					t.Fatalf("Refund: %v", err)
				}
				if got.Status != tt.status || got.RefundNo != tt.req.RefundNo {
					t.Errorf("Refund() = %+v, want %s", got, tt.status)
				}
				if tt.status == channel.RefundSucceeded && (got.AmountFen != tt.req.AmountFen || got.ChannelRefundNo == "") {
					t.Errorf("Refund() = %+v, want %d fen with a channel number", got, tt.req.AmountFen)
				}
				if tt.status == channel.RefundFailed && got.Message == "" {
					t.Errorf("Refund() = %+v, want a message", got)
				}
				if tt.req.RefundNo == "R1" && got.Status == channel.RefundSucceeded {
					if firstR1 == "" {
						firstR1 = got.ChannelRefundNo
					} else if got.ChannelRefundNo != firstR1 {
						t.Errorf("R1 again = %s, want the first %s", got.ChannelRefundNo, firstR1)
					}
				}
				if b := balance(t, sim, "2024001"); b != tt.balance {
					t.Errorf("balance = %d, want %d", b, tt.balance)
				}
			})
		}
		if n := txns(t, db, "refund"); n != 2 {
			t.Errorf("refunds = %d, want 2", n)
		}

		got, err := ch.QueryRefund(ctx, "P100", "R1")
		if err != nil || got.Status != channel.RefundSucceeded || got.ChannelRefundNo != firstR1 || got.AmountFen != 300 {
			t.Errorf("QueryRefund(R1) = %+v, %v, want succeeded %s 300", got, err, firstR1)
		}
		if got, err := ch.QueryRefund(ctx, "P100", "R3"); err != nil || got.Status != channel.RefundFailed {
			t.Errorf("QueryRefund(R3) = %+v, %v, want failed", got, err)
		}
		if _, err := ch.QueryRefund(ctx, "P999", "R1"); err == nil {
			t.Errorf("QueryRefund(P999, R1) succeeded, want an error: R1 belongs to P100")
		}
	})
}

func TestConcurrentRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base, Key: key})
		open(t, sim, simcard.Account{HolderNo: "2024001", Name: "张三", BalanceFen: 1000})
		if _, err := ch.Create(ctx, pay("P1", "2024001", "123456", 1000)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		succeeded := 0
		for i := range 10 {
			wg.Go(func() {
				r, err := ch.Refund(ctx, channel.RefundRequest{OrderNo: "P1", RefundNo: fmt.Sprintf("RC%d", i), AmountFen: 300})
				if err != nil {
					t.Errorf("Refund #%d: %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if r.Status == channel.RefundSucceeded {
					succeeded++
				}
			})
		}
		wg.Wait()
		if succeeded != 3 || balance(t, sim, "2024001") != 900 || txns(t, db, "refund") != 3 {
			t.Errorf("refunds succeeded %d, balance %d, rows %d; want 3, 900, 3",
				succeeded, balance(t, sim, "2024001"), txns(t, db, "refund"))
		}
	})
}

func TestQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base + "/", Key: key})
		open(t, sim, simcard.Account{HolderNo: "2024001", Name: "张三", BalanceFen: 5000})
		res, err := ch.Create(ctx, pay("P1", "2024001", "123456", 2500))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ch.Query(ctx, "P1")
		if err != nil || got.Status != channel.TradeSuccess || got.TradeNo != res.Paid.TradeNo ||
			got.AmountFen != 2500 || !got.PaidAt.Equal(res.Paid.PaidAt) {
			t.Errorf("Query(P1) = %+v, %v, want %+v", got, err, *res.Paid)
		}
		if got, err := ch.Query(ctx, "P2"); err != nil || got.Status != channel.TradeNotFound || got.OrderNo != "P2" {
			t.Errorf("Query(P2) = %+v, %v, want not found", got, err)
		}
		if err := ch.Close(ctx, "P2"); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
		if ch.Name() != "campuscard" {
			t.Errorf("Name() = %q", ch.Name())
		}
		if _, err := ch.VerifyNotification(http.Header{}, []byte(`{}`)); !errors.Is(err, channel.ErrMalformed) {
			t.Errorf("VerifyNotification error = %v, want ErrMalformed", err)
		}
		if ct, body := ch.NotificationAck(); ct != "text/plain" || string(body) != "ok" {
			t.Errorf("NotificationAck() = %q, %q", ct, body)
		}
	})
}

func TestStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim, base := setup(t, db)
		ch := campuscard.New(campuscard.Config{BaseURL: base, Key: key})
		open(t, sim, simcard.Account{HolderNo: "2024001", Name: "张三", BalanceFen: 5000})
		var trades []string
		for i, fen := range []int64{1000, 250} {
			res, err := ch.Create(ctx, pay(fmt.Sprintf("P%d", i), "2024001", "123456", fen))
			if err != nil {
				t.Fatal(err)
			}
			trades = append(trades, res.Paid.TradeNo)
		}
		r, err := ch.Refund(ctx, channel.RefundRequest{OrderNo: "P0", RefundNo: "R0", AmountFen: 400})
		if err != nil || r.Status != channel.RefundSucceeded {
			t.Fatalf("Refund = %+v, %v", r, err)
		}
		// The sim stamps txns with its own clock a moment after now; stay off midnight.
		day := time.Now()
		if h := day.In(time.FixedZone("CST", 8*3600)); h.Hour() == 23 && h.Minute() == 59 {
			t.Skip("too close to midnight in Shanghai")
		}
		st, err := ch.Statement(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		cr := csv.NewReader(bytes.NewReader(st.Raw))
		cr.FieldsPerRecord = -1
		lines, err := cr.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 5 {
			t.Fatalf("statement has %d lines, want header, 3 txns, summary: %q", len(lines), lines)
		}
		var kinds []string
		for _, l := range lines[1:4] {
			kinds = append(kinds, l[0]+" "+l[4]+" "+l[5])
		}
		if want := []string{"debit P0 1000", "debit P1 250", "refund R0 400"}; !reflect.DeepEqual(kinds, want) {
			t.Errorf("statement lines = %q, want %q", kinds, want)
		}
		if lines[1][1] != trades[0] || lines[2][1] != trades[1] {
			t.Errorf("statement txn numbers %q %q, want %q", lines[1][1], lines[2][1], trades)
		}
		if want := []string{"SUMMARY", "2", "1250", "1", "400", "850"}; !reflect.DeepEqual(lines[4], want) {
			t.Errorf("summary = %q, want %q", lines[4], want)
		}
		// The lines as reconciliation reads them: the refund carries our refund number.
		if len(st.Lines) != 3 {
			t.Fatalf("Statement = %d lines, want 3", len(st.Lines))
		}
		if l := st.Lines[0]; l.Kind != channel.StatementPayment || l.AttemptNo != "P0" || l.TradeNo != trades[0] || l.AmountFen != 1000 {
			t.Errorf("debit line = %+v", l)
		}
		if l := st.Lines[2]; l.Kind != channel.StatementRefund || l.RefundNo != "R0" || l.ChannelRefundNo != "" || l.AmountFen != 400 {
			t.Errorf("refund line = %+v, want our refund number R0", l)
		}
	})
}

// TestUnavailable: whatever does not come from the card system, signed for this very
// request, is an outage, never a payment.
func TestUnavailable(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	sim, base := setup(t, db)
	open(t, sim, simcard.Account{HolderNo: "2024001", Name: "张三", BalanceFen: 5000})
	good := campuscard.New(campuscard.Config{BaseURL: base, Key: key})
	if _, err := good.Create(ctx, pay("P1", "2024001", "123456", 100)); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(base)

	// proxy forwards to the sim and lets change rewrite the answer.
	proxy := func(change func(status int, h http.Header, body []byte) (int, []byte)) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			out, _ := http.NewRequest(r.Method, "http://"+target.Host+r.URL.Path, bytes.NewReader(body))
			out.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(out)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(resp.Body)
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			status, answer := change(resp.StatusCode, w.Header(), answer)
			w.Header().Del("Content-Length")
			w.WriteHeader(status)
			w.Write(answer)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + target.Path
	}
	var captured struct {
		sync.Mutex
		header http.Header
		body   []byte
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		baseURL string
		key     string
		badSig  bool
	}{
		{"wrong key", base, "not-the-key", true},
		{"tampered answer", proxy(func(status int, h http.Header, body []byte) (int, []byte) {
			return status, bytes.Replace(body, []byte(`"amount_fen":100`), []byte(`"amount_fen":1`), 1)
		}), key, true},
		{"unsigned answer", proxy(func(status int, h http.Header, body []byte) (int, []byte) {
			h.Del("X-Card-Signature")
			return status, body
		}), key, true},
		{"replayed answer", proxy(func(status int, h http.Header, body []byte) (int, []byte) {
			captured.Lock()
			defer captured.Unlock()
			if captured.header == nil {
				captured.header, captured.body = h.Clone(), body
			}
			for k, v := range captured.header {
				h[k] = v
			}
			return status, captured.body
		}), key, true},
		{"server error", proxy(func(int, http.Header, []byte) (int, []byte) {
			return http.StatusBadGateway, []byte("bad gateway")
		}), key, false},
		{"connection refused", closedURL + "/sim/card", key, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := campuscard.New(campuscard.Config{BaseURL: tt.baseURL, Key: tt.key, Client: &http.Client{Timeout: 5 * time.Second}})
			if tt.name == "replayed answer" {
				if _, err := ch.Query(ctx, "P1"); err != nil { // captured here, and genuine
					t.Fatalf("first Query: %v", err)
				}
			}
			got, err := ch.Query(ctx, "P1")
			if !errors.Is(err, channel.ErrUnavailable) {
				t.Fatalf("Query() = %+v, %v, want ErrUnavailable", got, err)
			}
			if errors.Is(err, channel.ErrBadSignature) != tt.badSig {
				t.Errorf("Query() error = %v, ErrBadSignature %v, want %v", err, !tt.badSig, tt.badSig)
			}
		})
	}
}
