package campuscard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/store"
	"campuspay/store/storetest"
)

const testKey = "test-key-0123456789"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// serve mounts sim at /sim/card on a real loopback listener and returns the base URL.
func serve(t *testing.T, sim *Sim) string {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	sim.Routes(app.Group("/sim/card"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	// Shutdown alone waits for keep-alive connections the client may hold for 90 s.
	t.Cleanup(func() { app.ShutdownWithTimeout(time.Second) })
	return "http://" + ln.Addr().String()
}

type signedRequest struct {
	method, path string
	body         []byte
	key          string
	ts           time.Time
	nonce        string
	tamper       func(r *http.Request) // changes the request after signing
}

type answer struct {
	path   string // the path as sent, after any tampering
	status int
	body   []byte
	header http.Header
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	return e.Code
}

var nonceSeq struct {
	sync.Mutex
	n int
}

func freshNonce() string {
	nonceSeq.Lock()
	defer nonceSeq.Unlock()
	nonceSeq.n++
	return "testnonce" + strconv.Itoa(100000000+nonceSeq.n)
}

func do(t *testing.T, base string, r signedRequest) answer {
	t.Helper()
	if r.nonce == "" {
		r.nonce = freshNonce()
	}
	ts := strconv.FormatInt(r.ts.Unix(), 10)
	req, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerNonce, r.nonce)
	req.Header.Set(headerSignature, sign(r.key, r.method, r.path, ts, r.nonce, r.body))
	if r.tamper != nil {
		r.tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{req.URL.Path, resp.StatusCode, body, resp.Header}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func countTxns(t *testing.T, db *bun.DB) int64 {
	t.Helper()
	n, err := db.NewSelect().Model((*store.CardTxn)(nil)).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignature(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Now()}
		sim := &Sim{DB: db, Key: testKey, Now: clk.Now}
		base := serve(t, sim)
		if err := sim.OpenAccount(ctx, Account{HolderNo: "2024001", Name: "张三", Password: "123456", BalanceFen: 10000}); err != nil {
			t.Fatal(err)
		}
		debit := func(outNo string) []byte {
			return mustJSON(debitRequest{HolderNo: "2024001", Password: "123456", OutNo: outNo, AmountFen: 100})
		}
		const path = "/sim/card/api/debit"
		now := clk.Now()
		tests := []struct {
			name     string
			req      signedRequest
			status   int
			code     string
			debited  bool
			unsigned bool // the answer cannot carry the request's nonce
		}{
			{"good", signedRequest{key: testKey, ts: now, body: debit("S1")}, 200, "", true, false},
			{"tampered body", signedRequest{key: testKey, ts: now, body: debit("S2"), tamper: func(r *http.Request) {
				b := bytes.Replace(debit("S2"), []byte(`"amount_fen":100`), []byte(`"amount_fen":1`), 1)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			}}, 401, "bad_signature", false, false},
			{"tampered path", signedRequest{key: testKey, ts: now, body: debit("S3"), tamper: func(r *http.Request) {
				r.URL.Path = "/sim/card/api/refund"
			}}, 401, "bad_signature", false, false},
			{"tampered timestamp", signedRequest{key: testKey, ts: now, body: debit("S4"), tamper: func(r *http.Request) {
				r.Header.Set(headerTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			}}, 401, "bad_signature", false, false},
			{"uppercase signature", signedRequest{key: testKey, ts: now, body: debit("S5"), tamper: func(r *http.Request) {
				r.Header.Set(headerSignature, strings.ToUpper(r.Header.Get(headerSignature)))
			}}, 401, "bad_signature", false, false},
			{"no signature", signedRequest{key: testKey, ts: now, body: debit("S6"), tamper: func(r *http.Request) {
				r.Header.Del(headerSignature)
			}}, 401, "bad_signature", false, false},
			{"wrong key", signedRequest{key: "another-key", ts: now, body: debit("S7")}, 401, "bad_signature", false, false},
			{"stale", signedRequest{key: testKey, ts: now.Add(-301 * time.Second), body: debit("S8")}, 401, "stale_timestamp", false, false},
			{"from the future", signedRequest{key: testKey, ts: now.Add(301 * time.Second), body: debit("S9")}, 401, "stale_timestamp", false, false},
			{"just inside the window", signedRequest{key: testKey, ts: now.Add(-299 * time.Second), body: debit("S10")}, 200, "", true, false},
			{"timestamp not a number", signedRequest{key: testKey, ts: now, body: debit("S11"), tamper: func(r *http.Request) {
				r.Header.Set(headerTimestamp, "yesterday")
			}}, 401, "stale_timestamp", false, false},
			{"nonce too short", signedRequest{key: testKey, ts: now, nonce: "abc123", body: debit("S12")}, 401, "bad_nonce", false, true},
			{"nonce too long", signedRequest{key: testKey, ts: now, nonce: strings.Repeat("a", 65), body: debit("S13")}, 401, "bad_nonce", false, true},
			{"nonce with symbols", signedRequest{key: testKey, ts: now, nonce: "abcdefgh-12345678", body: debit("S14")}, 401, "bad_nonce", false, true},
			{"replayed nonce", signedRequest{key: testKey, ts: now, nonce: "usedonce12345678", body: debit("S15")}, 401, "replayed_nonce", false, false},
		}
		// Spend the nonce the replay case reuses.
		if a := do(t, base, signedRequest{method: "GET", path: "/sim/card/api/txns/none", key: testKey, ts: now, nonce: "usedonce12345678"}); a.status != 404 {
			t.Fatalf("first use of nonce: status %d, want 404", a.status)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.req.method, tt.req.path = "POST", path
				if tt.req.nonce == "" {
					tt.req.nonce = freshNonce()
				}
				before := countTxns(t, db)
				a := do(t, base, tt.req)
				if a.status != tt.status {
					t.Fatalf("status = %d (%s), want %d", a.status, a.body, tt.status)
				}
				if tt.code != "" {
					if got := a.code(t); got != tt.code {
						t.Errorf("code = %q, want %q", got, tt.code)
					}
				}
				if got, want := countTxns(t, db)-before, map[bool]int64{true: 1, false: 0}[tt.debited]; got != want {
					t.Errorf("txns written = %d, want %d", got, want)
				}
				// Every answer is signed with the request's method and path as sent.
				nonce := a.header.Get(headerNonce)
				if !tt.unsigned && nonce != tt.req.nonce {
					t.Errorf("answer nonce = %q, want the request's %q", nonce, tt.req.nonce)
				}
				want := sign(testKey, "POST", a.path, a.header.Get(headerTimestamp), nonce, a.body)
				if got := a.header.Get(headerSignature); got != want {
					t.Errorf("answer signature = %q, want %q", got, want)
				}
			})
		}
	})
}

func TestAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim := &Sim{DB: db, Key: testKey}
		a := Account{HolderNo: "2024002", Name: "李四", Password: "111111", BalanceFen: 500}
		if err := sim.OpenAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		a.BalanceFen, a.Name = 800, "李四四"
		if err := sim.OpenAccount(ctx, a); err != nil {
			t.Fatalf("OpenAccount again: %v", err)
		}
		if got, err := sim.Balance(ctx, "2024002"); err != nil || got != 800 {
			t.Errorf("Balance = %v, %v, want 800", got, err)
		}
		var acct store.CardAccount
		if err := db.NewSelect().Model(&acct).Where("holder_no = ?", "2024002").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if acct.CardNo != "C2024002" || acct.HolderName != "李四四" || acct.PasswordHash == "111111" {
			t.Errorf("account = %+v, want card C2024002, name 李四四, hashed password", acct)
		}
		for _, frozen := range []bool{true, true, false} {
			if err := sim.SetFrozen(ctx, "2024002", frozen); err != nil {
				t.Fatalf("SetFrozen(%v): %v", frozen, err)
			}
		}
		if _, err := sim.Balance(ctx, "nobody"); !errors.Is(err, ErrNoAccount) {
			t.Errorf("Balance(nobody) error = %v, want ErrNoAccount", err)
		}
		if err := sim.SetFrozen(ctx, "nobody", true); !errors.Is(err, ErrNoAccount) {
			t.Errorf("SetFrozen(nobody) error = %v, want ErrNoAccount", err)
		}
		for _, bad := range []Account{
			{HolderNo: "", Password: "x"},
			{HolderNo: strings.Repeat("9", 32), Password: "x"},
			{HolderNo: "2024003"},
			{HolderNo: "2024003", Password: "x", BalanceFen: -1},
		} {
			if err := sim.OpenAccount(ctx, bad); err == nil {
				t.Errorf("OpenAccount(%+v) succeeded, want an error", bad)
			}
		}
	})
}
