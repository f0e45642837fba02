package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"campuspay/app/api/client"
	"campuspay/app/clients"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// apiClient registers a business system allowed to post to items (roster: may sync payers).
func apiClient(t testing.TB, p *servertest.Platform, appID string, roster bool, items ...string) *client.Client {
	t.Helper()
	_, secret, err := p.Clients.CreateClient(context.Background(), clients.ClientInput{
		AppID: appID, Name: "测试系统 " + appID, AllowedItems: items, Roster: roster}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return client.New(p.URL, appID, secret)
}

// signed sends a signed request with body (a string is sent as is, anything else as JSON)
// and returns the status and the raw answer.
func signed(t *testing.T, c *client.Client, method, path string, body any) (int, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(method, c.BaseURL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	c.Sign(req, raw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type apiErr struct {
	Error struct{ Code, Message string } `json:"error"`
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	return v
}

func countBills(t *testing.T, p *servertest.Platform, appID string) int {
	t.Helper()
	n, err := p.DB.NewSelect().Model((*store.Bill)(nil)).Where("source_client = ?", appID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestBillCreateShowCancel(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		c := apiClient(t, p, "admissions", false, "TUITION-2026", "CET-2026-12")
		bill := map[string]any{"bill_no": "ADM-1", "item_code": "TUITION-2026", "amount": 650000,
			"payer": map[string]any{"type": "internal", "id": "2026000001"}, "description": "2026 级学费",
			"due_date": "2026-12-31", "metadata": map[string]any{"b": 2, "a": []int{1}}}
		code, raw := signed(t, c, "POST", "/api/v1/bills", bill)
		if code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, raw)
		}
		created := decode[client.Bill](t, raw)
		if created.Status != "unpaid" || created.Amount != 650000 || created.Payer.ID != "2026000001" || created.Payer.Name == "" ||
			*created.DueDate != "2026-12-31" || !strings.Contains(created.PayURL, "/pay/b/") || !strings.HasSuffix(created.CreatedAt, "+08:00") {
			t.Errorf("created bill %+v", created)
		}
		// The same bill again (the metadata's keys in another order): 200, the same bill.
		again := `{"metadata":{"a":[1],"b":2},"bill_no":"ADM-1","item_code":"TUITION-2026","amount":650000,"payer":{"type":"internal","id":"2026000001"},"description":"2026 级学费","due_date":"2026-12-31"}`
		code, raw2 := signed(t, c, "POST", "/api/v1/bills", again)
		if code != http.StatusOK || !bytes.Equal(raw, raw2) {
			t.Errorf("same bill again: %d %s, want 200 and %s", code, raw2, raw)
		}
		code, shown := signed(t, c, "GET", "/api/v1/bills/ADM-1", nil)
		if code != http.StatusOK || !bytes.Equal(raw, shown) {
			t.Errorf("GET: %d %s, want %s", code, shown, raw)
		}
		// The same number with other content is a conflict, and changes nothing.
		bill["amount"] = 600000
		code, raw = signed(t, c, "POST", "/api/v1/bills", bill)
		if e := decode[apiErr](t, raw); code != http.StatusConflict || e.Error.Code != "bill_conflict" {
			t.Errorf("different content: %d %s, want 409 bill_conflict", code, raw)
		}
		// A fixed-price item needs no amount; another amount is refused.
		code, raw = signed(t, c, "POST", "/api/v1/bills", map[string]any{"bill_no": "CET-1", "item_code": "CET-2026-12",
			"payer": map[string]any{"type": "internal", "id": "2026000002"}})
		if b := decode[client.Bill](t, raw); code != http.StatusCreated || b.Amount != 3000 {
			t.Errorf("fixed price without amount: %d %s", code, raw)
		}
		// Another client's bill of the same number is another bill; this client can't see it.
		other := apiClient(t, p, "training", false, "TUITION-2026")
		if code, raw := signed(t, other, "GET", "/api/v1/bills/ADM-1", nil); code != http.StatusNotFound || decode[apiErr](t, raw).Error.Code != "not_found" {
			t.Errorf("another client's bill: %d %s, want 404", code, raw)
		}
		// Cancel: 200 cancelled, the callback queued; again: 200 as it stands.
		code, raw = signed(t, c, "POST", "/api/v1/bills/ADM-1/cancel", nil)
		if b := decode[client.Bill](t, raw); code != http.StatusOK || b.Status != "cancelled" || b.PayURL != "" {
			t.Errorf("cancel: %d %s", code, raw)
		}
		if code, raw = signed(t, c, "POST", "/api/v1/bills/ADM-1/cancel", nil); code != http.StatusOK {
			t.Errorf("cancel again: %d %s, want 200", code, raw)
		}
		n, _ := p.DB.NewSelect().Model((*store.Event)(nil)).Where("client = ? AND type = ?", "admissions", "bill.cancelled").Count(context.Background())
		if n != 1 {
			t.Errorf("%d bill.cancelled events, want 1", n)
		}
		if code, _ := signed(t, c, "POST", "/api/v1/bills/NOPE/cancel", nil); code != http.StatusNotFound {
			t.Errorf("cancel unknown bill: %d, want 404", code)
		}
		if code, raw := signed(t, c, "GET", "/api/v1/nothing-here", nil); code != http.StatusNotFound || decode[apiErr](t, raw).Error.Code != "not_found" {
			t.Errorf("unknown endpoint: %d %s", code, raw)
		}
	})
}

func TestBillErrorsChangeNothing(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		c := apiClient(t, p, "admissions", false, "TUITION-2026", "CET-2026-12", "CONF-AI-2026", "DONATE-2026")
		if _, err := p.DB.NewUpdate().Model((*store.ChargeItem)(nil)).Set("status = ?", store.ItemSuspended).
			Where("code = ?", "DONATE-2026").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		good := func(change func(m map[string]any)) map[string]any {
			m := map[string]any{"bill_no": "E-1", "item_code": "TUITION-2026", "amount": 10000,
				"payer": map[string]any{"type": "internal", "id": "2026000001"}}
			change(m)
			return m
		}
		payer := func(kv ...string) func(m map[string]any) {
			return func(m map[string]any) {
				py := map[string]any{}
				for i := 0; i < len(kv); i += 2 {
					py[kv[i]] = kv[i+1]
				}
				m["payer"] = py
			}
		}
		set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { m[k] = v } }
		tests := []struct {
			name  string
			body  any
			code  int
			err   string
			field string // the message names it
		}{
			{"malformed JSON", `{"bill_no": "E-1",`, 400, "bad_request", "JSON"},
			{"empty body", ``, 400, "bad_request", "empty"},
			{"not an object", `[1,2]`, 400, "bad_request", "object"},
			{"missing bill_no", good(set("bill_no", "")), 400, "bad_request", "bill_no"},
			{"bill_no with a slash", good(set("bill_no", "A/1")), 400, "bad_request", "bill_no"},
			{"bill_no too long", good(set("bill_no", strings.Repeat("x", 65))), 400, "bad_request", "bill_no"},
			{"amount as a string", good(set("amount", "100.00")), 400, "bad_request", "amount"},
			{"amount with fen fractions", good(set("amount", 100.5)), 400, "bad_request", "amount"},
			{"missing amount", good(func(m map[string]any) { delete(m, "amount") }), 400, "bad_request", "amount"},
			{"missing payer type", good(payer("id", "2026000001")), 400, "bad_request", "payer.type"},
			{"unknown payer type", good(payer("type", "alien", "id", "2026000001")), 400, "bad_request", "payer.type"},
			{"internal without id", good(payer("type", "internal")), 400, "bad_request", "payer.id"},
			{"new internal payer without name", good(payer("type", "internal", "id", "2099123456")), 400, "bad_request", "payer.name"},
			{"name not the roster's", good(payer("type", "internal", "id", "2026000001", "name", "冒名")), 400, "bad_request", "payer.name"},
			{"external without phone", good(func(m map[string]any) {
				payer("type", "external", "name", "李同学")(m)
				m["item_code"] = "CONF-AI-2026"
				delete(m, "amount")
			}), 400, "bad_request", "payer.phone"},
			{"external on an internal item", good(payer("type", "external", "name", "李同学", "phone", "13900000000")), 400, "bad_request", "payer.type"},
			{"description too long", good(set("description", strings.Repeat("长", 201))), 400, "bad_request", "description"},
			{"due date not ISO", good(set("due_date", "2026/12/31")), 400, "bad_request", "due_date"},
			{"metadata not an object", good(set("metadata", []int{1})), 400, "bad_request", "metadata"},
			{"metadata over 4 KB", good(set("metadata", map[string]string{"x": strings.Repeat("a", 4100)})), 400, "bad_request", "metadata"},
			{"unknown item", good(set("item_code", "NO-SUCH-ITEM")), 422, "item_not_payable", "item_code"},
			{"item not allowed", good(set("item_code", "DORM-2026")), 403, "forbidden", "DORM-2026"},
			{"item suspended", good(set("item_code", "DONATE-2026")), 422, "item_not_payable", "item_code"},
			{"amount zero", good(set("amount", 0)), 422, "amount_invalid", "amount"},
			{"amount negative", good(set("amount", -5)), 422, "amount_invalid", "amount"},
			{"amount over a million yuan", good(set("amount", 100_000_001)), 422, "amount_invalid", "amount"},
			{"fixed price, another amount", good(func(m map[string]any) { m["item_code"], m["amount"] = "CET-2026-12", 2999 }), 422, "amount_invalid", "amount"},
		}
		for _, tt := range tests {
			code, raw := signed(t, c, "POST", "/api/v1/bills", tt.body)
			e := decode[apiErr](t, raw)
			if code != tt.code || e.Error.Code != tt.err || !strings.Contains(e.Error.Message, tt.field) {
				t.Errorf("%s: %d %s, want %d %s naming %q", tt.name, code, raw, tt.code, tt.err, tt.field)
			}
		}
		if n := countBills(t, p, "admissions"); n != 0 {
			t.Errorf("%d bills written by refused requests, want none", n)
		}
		var logged []store.APIRequest
		p.DB.NewSelect().Model(&logged).Where("app_id = ?", "admissions").Scan(ctx)
		if len(logged) != len(tests) || logged[0].ErrorCode == "" {
			t.Errorf("request log holds %d rows, want %d with their error codes", len(logged), len(tests))
		}
		// A new internal payer with a name is created on the roster.
		code, raw := signed(t, c, "POST", "/api/v1/bills", good(payer("type", "internal", "id", "2099123456", "name", "新同学")))
		if code != http.StatusCreated {
			t.Fatalf("new payer: %d %s", code, raw)
		}
		u := new(store.User)
		if err := p.DB.NewSelect().Model(u).Where("payer_no = ?", "2099123456").Scan(ctx); err != nil || u.Name != "新同学" || u.Roles != store.RolePayer {
			t.Errorf("new payer %+v, %v", u, err)
		}
	})
}

func TestIdenticalBillsAtOnceMakeOne(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		c := apiClient(t, p, "admissions", false, "TUITION-2026")
		body := `{"bill_no":"RACE-1","item_code":"TUITION-2026","amount":500000,"payer":{"type":"internal","id":"2099000001","name":"并发"},"description":"同时提交 20 次"}`
		var wg sync.WaitGroup
		codes := make([]int, 20)
		answers := make([][]byte, 20)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], answers[i] = signed(t, c, "POST", "/api/v1/bills", body)
			}()
		}
		wg.Wait()
		created := 0
		for i, code := range codes {
			switch {
			case code == http.StatusCreated:
				created++
			case code != http.StatusOK:
				t.Errorf("request %d: %d %s", i, code, answers[i])
			}
			if !bytes.Equal(answers[i], answers[0]) {
				t.Errorf("answer %d differs:\n%s\n%s", i, answers[i], answers[0])
			}
		}
		if created != 1 || countBills(t, p, "admissions") != 1 {
			t.Errorf("%d answers 201, %d bills; want exactly one", created, countBills(t, p, "admissions"))
		}
		n, _ := p.DB.NewSelect().Model((*store.User)(nil)).Where("payer_no = ?", "2099000001").Count(context.Background())
		if n != 1 {
			t.Errorf("%d payers 2099000001, want 1", n)
		}
	})
}

func TestBatchEachBillOnItsOwn(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		c := apiClient(t, p, "admissions", false, "TUITION-2026", "CONF-AI-2026")
		if code, raw := signed(t, c, "POST", "/api/v1/bills", map[string]any{"bill_no": "OLD-1", "item_code": "TUITION-2026",
			"amount": 100, "payer": map[string]any{"type": "internal", "id": "2026000009"}}); code != http.StatusCreated {
			t.Fatalf("first bill: %d %s", code, raw)
		}
		body := `{"bills":[
			{"bill_no":"B-1","item_code":"TUITION-2026","amount":500000,"payer":{"type":"internal","id":"2026000001"}},
			{"bill_no":"B-2","item_code":"CONF-AI-2026","payer":{"type":"external","name":"校外专家","phone":"13900000001"}},
			{"bill_no":"B-3","item_code":"TUITION-2026","amount":"5000","payer":{"type":"internal","id":"2026000002"}},
			{"bill_no":"B-4","item_code":"DORM-2026","payer":{"type":"internal","id":"2026000003"}},
			{"bill_no":"B-5","item_code":"NO-SUCH","amount":1,"payer":{"type":"internal","id":"2026000004"}},
			{"bill_no":"OLD-1","item_code":"TUITION-2026","amount":999,"payer":{"type":"internal","id":"2026000009"}},
			{"bill_no":"OLD-1","item_code":"TUITION-2026","amount":100,"payer":{"type":"internal","id":"2026000009"}},
			{"bill_no":"B-1","item_code":"TUITION-2026","amount":500000,"payer":{"type":"internal","id":"2026000001"}},
			{"bill_no":"B-6","item_code":"TUITION-2026","amount":1,"payer":{"type":"internal","id":"2099000777","name":"新生甲"}},
			{"bill_no":"B-7","item_code":"TUITION-2026","amount":2,"payer":{"type":"internal","id":"2099000777","name":"新生甲"}}
		]}`
		code, raw := signed(t, c, "POST", "/api/v1/bills/batch", body)
		if code != http.StatusOK {
			t.Fatalf("batch: %d %s", code, raw)
		}
		res := decode[struct{ Results []client.BatchResult }](t, raw).Results
		want := []struct {
			no     string
			status int
			code   string
		}{{"B-1", 201, ""}, {"B-2", 201, ""}, {"B-3", 400, "bad_request"}, {"B-4", 403, "forbidden"}, {"B-5", 422, "item_not_payable"},
			{"OLD-1", 409, "bill_conflict"}, {"OLD-1", 200, ""}, {"B-1", 200, ""}, {"B-6", 201, ""}, {"B-7", 201, ""}}
		if len(res) != len(want) {
			t.Fatalf("%d results, want %d: %s", len(res), len(want), raw)
		}
		for i, w := range want {
			r := res[i]
			gotCode := ""
			if r.Error != nil {
				gotCode = r.Error.Code
			}
			if r.BillNo != w.no || r.Status != w.status || gotCode != w.code || (w.code == "") != (r.Bill != nil) {
				t.Errorf("result %d: %+v, want %s %d %s", i, r, w.no, w.status, w.code)
			}
		}
		if res[2].Error != nil && !strings.Contains(res[2].Error.Message, "amount") {
			t.Errorf("malformed bill's message %q does not name amount", res[2].Error.Message)
		}
		if res[1].Bill.Amount != 80000 || res[1].Bill.Payer.Phone != "13900000001" {
			t.Errorf("external bill %+v", res[1].Bill)
		}
		if countBills(t, p, "admissions") != 5 { // OLD-1, B-1, B-2, B-6, B-7
			t.Errorf("%d bills, want 5", countBills(t, p, "admissions"))
		}
		// A batch over 1000 is refused whole.
		many := make([]client.NewBill, 1001)
		for i := range many {
			many[i] = client.NewBill{BillNo: fmt.Sprintf("M-%d", i), ItemCode: "TUITION-2026", Amount: 1, Payer: client.Payer{Type: "internal", ID: "2026000001"}}
		}
		code, raw = signed(t, c, "POST", "/api/v1/bills/batch", map[string]any{"bills": many})
		if e := decode[apiErr](t, raw); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "bills") {
			t.Errorf("1001 bills: %d %s", code, raw)
		}
		if code, _ := signed(t, c, "POST", "/api/v1/bills/batch", `{"bills":[]}`); code != http.StatusBadRequest {
			t.Errorf("empty batch: %d, want 400", code)
		}
	})
}
