package sandbox_test

import (
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store/storetest"
)

func TestPayPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.sim.SetSwitches(sandboxDrop())
		no := e.createTrade(t, "P1", 123450, "http://127.0.0.1:1/n", map[string]any{
			"subject": "2024 秋季学期住宿费 <宿舍>", "return_url": "http://127.0.0.1:1/cashier/return?o=P1"})
		resp, body := e.browser(t, "GET", "/pay/"+no)
		if resp.StatusCode != 200 {
			t.Fatalf("pay page = %d", resp.StatusCode)
		}
		contains(t, body, "校园统一支付平台", "¥1,234.50", "2024 秋季学期住宿费 &lt;宿舍&gt;", "确认支付", "取消",
			`<form method="post" action="`+no+`/confirm">`, `action="`+no+`/cancel"`, "P1")

		resp, _ = e.browser(t, "POST", "/pay/"+no+"/confirm")
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "http://127.0.0.1:1/cashier/return?o=P1" {
			t.Errorf("confirm = %d to %q, want 303 to return_url", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body = e.browser(t, "POST", "/pay/"+no+"/confirm")
		if resp.StatusCode != 409 {
			t.Errorf("confirm twice = %d, want 409", resp.StatusCode)
		}
		contains(t, body, "该交易已支付")
		if resp, body = e.browser(t, "GET", "/pay/"+no); resp.StatusCode != 409 {
			t.Errorf("pay page of a paid trade = %d, want 409", resp.StatusCode)
		}
		contains(t, body, "该交易已支付")

		// Without return_url, the wallet shows its own success page.
		no = e.createTrade(t, "P2", 5, "http://127.0.0.1:1/n", nil)
		resp, body = e.browser(t, "POST", "/pay/"+no+"/confirm")
		if resp.StatusCode != 200 {
			t.Errorf("confirm without return_url = %d", resp.StatusCode)
		}
		contains(t, body, "支付成功", "¥0.05")

		resp, body = e.browser(t, "GET", "/pay/SB00000000000000000000")
		if resp.StatusCode != 404 {
			t.Errorf("unknown trade page = %d, want 404", resp.StatusCode)
		}
		contains(t, body, "交易不存在")
	})
}

func TestPayCancel(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		no := e.createTrade(t, "C1", 100, "http://127.0.0.1:1/n", map[string]any{"return_url": "http://127.0.0.1:1/back"})
		resp, _ := e.browser(t, "POST", "/pay/"+no+"/cancel")
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "http://127.0.0.1:1/back" {
			t.Errorf("cancel = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if m := e.do(t, call{method: "GET", path: "/api/trades/C1"}).json(t); m["status"] != "CLOSED" {
			t.Errorf("after cancel, status = %v", m["status"])
		}
		resp, body := e.browser(t, "POST", "/pay/"+no+"/confirm")
		if resp.StatusCode != 409 {
			t.Errorf("confirm a closed trade = %d, want 409", resp.StatusCode)
		}
		contains(t, body, "该交易已关闭")
	})
}

func TestPayExpired(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		r := newReceiver(t, 0)
		no := e.createTrade(t, "E1", 100, r.url(), map[string]any{"expires_at": e.clk.Now().Add(15 * time.Minute).Format(time.RFC3339)})
		if resp, body := e.browser(t, "GET", "/pay/"+no); resp.StatusCode != 200 {
			t.Fatalf("pay page before expiry = %d", resp.StatusCode)
		} else {
			contains(t, body, "支付截止")
		}
		e.clk.Add(15 * time.Minute)
		resp, body := e.browser(t, "POST", "/pay/"+no+"/confirm")
		if resp.StatusCode != 409 {
			t.Errorf("confirm expired = %d, want 409", resp.StatusCode)
		}
		contains(t, body, "交易已过期，无法支付")
		if m := e.do(t, call{method: "GET", path: "/api/trades/E1"}).json(t); m["status"] != "CLOSED" || m["paid_at"] != nil {
			t.Errorf("expired trade = %v, want CLOSED and unpaid", m)
		}
		if got := r.waitFor(1, 300*time.Millisecond); len(got) != 0 {
			t.Errorf("an expired trade sent %d notifications", len(got))
		}
	})
}
