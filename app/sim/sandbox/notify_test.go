package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/sim/sandbox"
	"campuspay/store/storetest"
)

func sandboxDrop() sandbox.Switches { return sandbox.Switches{DropNotify: true} }

func TestNotificationRetriedUntilSuccess(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		r := newReceiver(t, 2) // busy twice, then "success"
		no := e.createTrade(t, "N1", 4321, r.url(), nil)
		e.pay(t, no)
		got := r.waitFor(3, 8*time.Second)
		if len(got) != 3 {
			t.Fatalf("got %d notifications, want 3 (two failures, then success)", len(got))
		}
		for i, gap := range []time.Duration{time.Second, 3 * time.Second} {
			if d := got[i+1].at.Sub(got[i].at); d < gap-50*time.Millisecond || d > gap+time.Second {
				t.Errorf("attempt %d came %v after attempt %d, want about %v", i+2, d, i+1, gap)
			}
		}
		m := notifyFields(t, got[2])
		want := map[string]any{"merchant": merchant, "out_trade_no": "N1", "trade_no": no, "amount_fen": 4321.0, "status": "SUCCESS"}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("notification %s = %v, want %v", k, m[k], v)
			}
		}
		if _, err := time.Parse(time.RFC3339, m["paid_at"].(string)); err != nil || !strings.HasSuffix(m["paid_at"].(string), "+08:00") {
			t.Errorf("paid_at = %v, want RFC3339 in +08:00", m["paid_at"])
		}
		for _, g := range got[:2] {
			if !bytes.Equal(g.body, got[2].body) {
				t.Errorf("a retry changed the body: %s vs %s", g.body, got[2].body)
			}
		}
		if got := r.waitFor(4, 1500*time.Millisecond); len(got) != 3 {
			t.Errorf("after success, %d notifications, want no more than 3", len(got))
		}
	})
}

func TestSwitches(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		n := 0
		payWith := func(t *testing.T, sw sandbox.Switches, r *receiver) (string, time.Time) {
			t.Helper()
			e.sim.SetSwitches(sw)
			n++
			out := "W" + string(rune('A'+n))
			no := e.createTrade(t, out, 1000, r.url(), nil)
			paidAt := time.Now()
			e.pay(t, no)
			return no, paidAt
		}
		t.Run("none", func(t *testing.T) {
			r := newReceiver(t, 0)
			payWith(t, sandbox.Switches{}, r)
			if got := r.waitFor(2, time.Second); len(got) != 1 {
				t.Errorf("got %d notifications, want 1", len(got))
			}
		})
		t.Run("drop", func(t *testing.T) {
			r := newReceiver(t, 0)
			payWith(t, sandbox.Switches{DropNotify: true}, r)
			if got := r.waitFor(1, 1500*time.Millisecond); len(got) != 0 {
				t.Errorf("got %d notifications, want none", len(got))
			}
		})
		t.Run("duplicate", func(t *testing.T) {
			r := newReceiver(t, 0)
			payWith(t, sandbox.Switches{DuplicateNotify: 2}, r)
			got := r.waitFor(4, 1500*time.Millisecond)
			if len(got) != 3 {
				t.Fatalf("got %d notifications, want 3", len(got))
			}
			for _, g := range got {
				notifyFields(t, g)
				if !bytes.Equal(g.body, got[0].body) {
					t.Errorf("duplicates differ: %s vs %s", g.body, got[0].body)
				}
			}
		})
		t.Run("amount delta", func(t *testing.T) {
			r := newReceiver(t, 0)
			payWith(t, sandbox.Switches{AmountDeltaFen: -1}, r)
			got := r.waitFor(1, time.Second)
			if len(got) != 1 {
				t.Fatalf("got %d notifications, want 1", len(got))
			}
			if m := notifyFields(t, got[0]); m["amount_fen"] != 999.0 {
				t.Errorf("reported amount_fen = %v, want 999 (1000 - 1)", m["amount_fen"])
			}
		})
		t.Run("delay", func(t *testing.T) {
			r := newReceiver(t, 0)
			// Whether a notification came early is judged from when the trade was paid, not
			// from when payWith returned (on a busy machine that can be most of the delay).
			_, paidAt := payWith(t, sandbox.Switches{NotifyDelay: 800 * time.Millisecond}, r)
			got := r.waitFor(1, 3*time.Second)
			if len(got) != 1 {
				t.Fatalf("got %d notifications, want 1", len(got))
			}
			if d := got[0].at.Sub(paidAt); d < 800*time.Millisecond {
				t.Errorf("notification came %v after paying, want at least 800 ms", d)
			}
		})
		t.Run("out of order", func(t *testing.T) {
			r := newReceiver(t, 0)
			first, _ := payWith(t, sandbox.Switches{OutOfOrder: true}, r)
			second, _ := payWith(t, sandbox.Switches{OutOfOrder: true}, r)
			if got := r.waitFor(1, 300*time.Millisecond); len(got) != 0 {
				t.Errorf("%d notifications while held", len(got))
			}
			if sw := getSwitches(t, e); sw["held"] != 2.0 || sw["out_of_order"] != true {
				t.Errorf("GET /switches = %v, want 2 held", sw)
			}
			postSwitches(t, e, `{"out_of_order":false}`, 200)
			got := r.waitFor(2, 2*time.Second)
			if len(got) != 2 {
				t.Fatalf("got %d notifications after release, want 2", len(got))
			}
			if a, b := notifyFields(t, got[0])["trade_no"], notifyFields(t, got[1])["trade_no"]; a != second || b != first {
				t.Errorf("order = %v, %v; want %v then %v", a, b, second, first)
			}
		})
	})
}

func TestSwitchesOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		postSwitches(t, e, `{"notify_delay_ms":1500,"duplicate_notify":3,"amount_delta_fen":7}`, 200)
		postSwitches(t, e, `{"drop_notify":true}`, 200) // the others stay
		want := sandbox.Switches{NotifyDelay: 1500 * time.Millisecond, DuplicateNotify: 3, AmountDeltaFen: 7, DropNotify: true}
		if got := e.sim.Switches(); got != want {
			t.Errorf("Switches() = %+v, want %+v", got, want)
		}
		if sw := getSwitches(t, e); sw["notify_delay_ms"] != 1500.0 || sw["drop_notify"] != true {
			t.Errorf("GET /switches = %v", sw)
		}
		for _, bad := range []string{`{"notify_delay_ms":-1}`, `{"duplicate_notify":11}`, `{"notify_delay_ms":9223372036854775807}`, `nonsense`} {
			postSwitches(t, e, bad, 400)
		}
		if got := e.sim.Switches(); got != want {
			t.Errorf("after refused posts, Switches() = %+v, want %+v", got, want)
		}
	})
}

func TestCloseAbandonsRetries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		r := newReceiver(t, 1000)
		e.pay(t, e.createTrade(t, "K1", 100, r.url(), nil))
		r.waitFor(1, time.Second)
		start := time.Now()
		e.sim.Close()
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Close took %v while a retry was waiting", d)
		}
		if got := r.waitFor(2, 1500*time.Millisecond); len(got) != 1 {
			t.Errorf("%d notifications after Close, want the first only", len(got))
		}
	})
}

func getSwitches(t *testing.T, e *env) map[string]any {
	t.Helper()
	resp, err := http.Get(e.base + "/switches")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func postSwitches(t *testing.T, e *env, body string, status int) {
	t.Helper()
	resp, err := http.Post(e.base+"/switches", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Errorf("POST /switches %s = %d %s, want %d", body, resp.StatusCode, b, status)
	}
}
