package sandbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/sandbox"
)

func hmacHex(k, msg string) string {
	m := hmac.New(sha256.New, []byte(k))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// notifyHeader signs body as the gateway signs a notification.
func notifyHeader(k string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set("X-Sandbox-Timestamp", ts)
	h.Set("X-Sandbox-Signature", hmacHex(k, "NOTIFY\n"+ts+"\n"+sha(body)))
	return h
}

func TestVerifyNotification(t *testing.T) {
	fixture, err := os.ReadFile("testdata/notification.json")
	if err != nil {
		t.Fatal(err)
	}
	fixture = []byte(strings.TrimSpace(string(fixture)))
	ch := sandbox.New(sandbox.Config{GatewayURL: "http://127.0.0.1:1", Merchant: merchant, Key: key})
	now := time.Now()
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(fixture), old, new, 1)) }
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"good", notifyHeader(key, now, fixture), fixture, nil},
		{"299 s old", notifyHeader(key, now.Add(-299*time.Second), fixture), fixture, nil},
		{"tampered body", notifyHeader(key, now, fixture), edit("123450", "123451"), channel.ErrBadSignature},
		{"wrong key", notifyHeader("k-wrong", now, fixture), fixture, channel.ErrBadSignature},
		{"stale timestamp", notifyHeader(key, now.Add(-301*time.Second), fixture), fixture, channel.ErrBadSignature},
		{"timestamp from the future", notifyHeader(key, now.Add(301*time.Second), fixture), fixture, channel.ErrBadSignature},
		{"no headers", http.Header{}, fixture, channel.ErrBadSignature},
		{"request signature instead", func() http.Header {
			h := notifyHeader(key, now, fixture)
			h.Set("X-Sandbox-Signature", hmacHex(key, "POST\n/notify\n"+h.Get("X-Sandbox-Timestamp")+"\n"+sha(fixture)))
			return h
		}(), fixture, channel.ErrBadSignature},
		{"not JSON", notifyHeader(key, now, []byte("amount=1")), []byte("amount=1"), channel.ErrMalformed},
		{"another merchant", notifyHeader(key, now, edit("M1001", "M2002")), edit("M1001", "M2002"), channel.ErrMalformed},
		{"unknown status", notifyHeader(key, now, edit(`"SUCCESS"`, `"PAID_MAYBE"`)), edit(`"SUCCESS"`, `"PAID_MAYBE"`), channel.ErrMalformed},
		{"zero amount", notifyHeader(key, now, edit("123450", "0")), edit("123450", "0"), channel.ErrMalformed},
		{"bad paid_at", notifyHeader(key, now, edit("2024-09-01T08:30:00+08:00", "yesterday")), edit("2024-09-01T08:30:00+08:00", "yesterday"), channel.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ch.VerifyNotification(tt.header, tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyNotification() error = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			want := channel.Trade{OrderNo: "O20240901000123", TradeNo: "SB20240901083000123456", AmountFen: 123450,
				Status: channel.TradeSuccess, PaidAt: time.Date(2024, 9, 1, 0, 30, 0, 0, time.UTC), Raw: string(fixture)}
			if got != want {
				t.Errorf("VerifyNotification() = %+v, want %+v", got, want)
			}
		})
	}
}

// fakeGateway answers every request with what answer says, after checking the request's
// signature the way the gateway does.
func fakeGateway(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, sign func(status int, body string, k string, at time.Time))) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Sandbox-Timestamp")
		if r.Header.Get("X-Sandbox-Merchant") != merchant ||
			r.Header.Get("X-Sandbox-Signature") != hmacHex(key, r.Method+"\n"+r.URL.EscapedPath()+"\n"+ts+"\n"+sha(body)) {
			t.Errorf("%s %s: request signature does not verify", r.Method, r.URL.Path)
		}
		answer(w, r, func(status int, b string, k string, at time.Time) {
			rts := strconv.FormatInt(at.Unix(), 10)
			w.Header().Set("X-Sandbox-Timestamp", rts)
			w.Header().Set("X-Sandbox-Signature", hmacHex(k, r.Method+"\n"+r.URL.EscapedPath()+"\n"+rts+"\n"+sha([]byte(b))))
			w.WriteHeader(status)
			w.Write([]byte(b))
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/gw"
}

func TestUnavailable(t *testing.T) {
	const waiting = `{"trade_no":"SB1","out_trade_no":"O1","amount_fen":100,"status":"WAIT_PAY","paid_at":null}`
	type signer = func(int, string, string, time.Time)
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, r *http.Request, sign signer)
		timeout time.Duration
		want    error // nil: success
		code    string
	}{
		{"good", func(w http.ResponseWriter, r *http.Request, sign signer) { sign(200, waiting, key, time.Now()) }, 0, nil, ""},
		{"unsigned", func(w http.ResponseWriter, r *http.Request, sign signer) { w.Write([]byte(waiting)) }, 0, channel.ErrUnavailable, ""},
		{"signed with another key", func(w http.ResponseWriter, r *http.Request, sign signer) { sign(200, waiting, "k-other", time.Now()) }, 0, channel.ErrUnavailable, ""},
		{"stale answer", func(w http.ResponseWriter, r *http.Request, sign signer) {
			sign(200, waiting, key, time.Now().Add(-10*time.Minute))
		}, 0, channel.ErrUnavailable, ""},
		{"server error", func(w http.ResponseWriter, r *http.Request, sign signer) {
			sign(500, `{"code":"SYSTEM_ERROR","message":"系统繁忙"}`, key, time.Now())
		}, 0, channel.ErrUnavailable, ""},
		{"bad gateway", func(w http.ResponseWriter, r *http.Request, sign signer) { w.WriteHeader(502) }, 0, channel.ErrUnavailable, ""},
		{"nonsense", func(w http.ResponseWriter, r *http.Request, sign signer) { sign(200, `<html>`, key, time.Now()) }, 0, channel.ErrUnavailable, ""},
		{"unknown status", func(w http.ResponseWriter, r *http.Request, sign signer) {
			sign(200, strings.Replace(waiting, "WAIT_PAY", "PENDING", 1), key, time.Now())
		}, 0, channel.ErrUnavailable, ""},
		{"answer about another order", func(w http.ResponseWriter, r *http.Request, sign signer) {
			sign(200, strings.Replace(waiting, `"O1"`, `"O2"`, 1), key, time.Now())
		}, 0, channel.ErrUnavailable, ""},
		{"signed refusal", func(w http.ResponseWriter, r *http.Request, sign signer) {
			sign(400, `{"code":"INVALID_PARAM","message":"参数错误"}`, key, time.Now())
		}, 0, nil, "INVALID_PARAM"},
		{"too slow", func(w http.ResponseWriter, r *http.Request, sign signer) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, 100 * time.Millisecond, channel.ErrUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := sandbox.New(sandbox.Config{GatewayURL: fakeGateway(t, tt.answer), Merchant: merchant, Key: key})
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			got, err := ch.Query(ctx, "O1")
			switch {
			case tt.code != "":
				if apiCode(err) != tt.code || errors.Is(err, channel.ErrUnavailable) {
					t.Errorf("Query() error = %v, want code %s", err, tt.code)
				}
			case tt.want == nil:
				if err != nil || got.Status != channel.TradeWaiting {
					t.Errorf("Query() = %+v, %v", got, err)
				}
			default:
				if !errors.Is(err, tt.want) {
					t.Errorf("Query() error = %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ch := sandbox.New(sandbox.Config{GatewayURL: "http://" + addr, Merchant: merchant, Key: key})
	if _, err := ch.Create(t.Context(), channel.CreateRequest{OrderNo: "O1", AmountFen: 1, NotifyURL: "http://x/n"}); !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("Create() error = %v, want ErrUnavailable", err)
	}
	if _, err := ch.Statement(t.Context(), time.Now()); !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("Statement() error = %v, want ErrUnavailable", err)
	}
}

// A signed notification of a trade that is closed or still waiting is read as such (the
// platform acknowledges it and does nothing); only a forged or malformed one is refused.
func TestVerifyNotificationOfANonSuccessState(t *testing.T) {
	fixture, err := os.ReadFile("testdata/notification.json")
	if err != nil {
		t.Fatal(err)
	}
	ch := sandbox.New(sandbox.Config{GatewayURL: "http://127.0.0.1:1", Merchant: merchant, Key: key})
	for status, want := range map[string]channel.TradeStatus{"CLOSED": channel.TradeClosed, "WAIT_PAY": channel.TradeWaiting} {
		body := []byte(strings.Replace(strings.TrimSpace(string(fixture)), `"SUCCESS"`, `"`+status+`"`, 1))
		body = []byte(strings.Replace(string(body), `"2024-09-01T08:30:00+08:00"`, `""`, 1)) // nothing was paid
		got, err := ch.VerifyNotification(notifyHeader(key, time.Now(), body), body)
		if err != nil || got.Status != want || got.OrderNo != "O20240901000123" || !got.PaidAt.IsZero() {
			t.Errorf("%s: VerifyNotification() = %+v, %v; want status %s", status, got, err, want)
		}
		if _, err := ch.VerifyNotification(notifyHeader("k-wrong", time.Now(), body), body); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s with a wrong key: error = %v, want ErrBadSignature", status, err)
		}
	}
}

// An answer about another refund number than the one asked for is not believed, whether it
// says succeeded or failed: the refund stays unknown (ErrUnavailable) and is asked about again.
func TestRefundAnswerAboutAnotherRefundIsRefused(t *testing.T) {
	type signer = func(int, string, string, time.Time)
	for _, status := range []string{"SUCCESS", "FAILED"} {
		answer := `{"refund_no":"SR9","out_refund_no":"RF-OTHER","amount_fen":100,"status":"` + status + `"}`
		gw := fakeGateway(t, func(w http.ResponseWriter, r *http.Request, sign signer) { sign(200, answer, key, time.Now()) })
		ch := sandbox.New(sandbox.Config{GatewayURL: gw, Merchant: merchant, Key: key})
		res, err := ch.Refund(t.Context(), channel.RefundRequest{OrderNo: "O1", TradeNo: "SB1", RefundNo: "RF1", AmountFen: 100, TotalFen: 100})
		if !errors.Is(err, channel.ErrUnavailable) {
			t.Errorf("Refund() answered %s about RF-OTHER = %+v, %v; want ErrUnavailable", status, res, err)
		}
		res, err = ch.QueryRefund(t.Context(), "O1", "RF1")
		if !errors.Is(err, channel.ErrUnavailable) {
			t.Errorf("QueryRefund() answered %s about RF-OTHER = %+v, %v; want ErrUnavailable", status, res, err)
		}
	}
	good := `{"refund_no":"SR9","out_refund_no":"RF1","amount_fen":100,"status":"SUCCESS"}`
	gw := fakeGateway(t, func(w http.ResponseWriter, r *http.Request, sign signer) { sign(200, good, key, time.Now()) })
	ch := sandbox.New(sandbox.Config{GatewayURL: gw, Merchant: merchant, Key: key})
	if res, err := ch.Refund(t.Context(), channel.RefundRequest{OrderNo: "O1", TradeNo: "SB1", RefundNo: "RF1", AmountFen: 100, TotalFen: 100}); err != nil || res.Status != channel.RefundSucceeded {
		t.Errorf("Refund() answered about RF1 = %+v, %v; want succeeded", res, err)
	}
}
