package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/server/servertest"
	"campuspay/static"
	"campuspay/store"
)

func TestReceiptReprintVoidAndVerify(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		rfPayByCard(t, p, rfStudent, "CET-2026-12")
		rc := rfReceipts(t, p, rfBill(t, p, rfStudent, "CET-2026-12").ID)[0]
		fin := rfSignIn(t, p, "finance", "finance123456")

		_, list := fin.Get("/console/receipts?payer=" + rfStudent)
		if !strings.Contains(list, rc.ReceiptNo) || !strings.Contains(list, "¥30.00") {
			t.Fatalf("receipt list by payer number lacks the receipt")
		}
		_, list = fin.Get("/console/receipts?payer=" + url.QueryEscape(rc.PayerName[:3]) + "&day=" + time.Now().In(bizday.Shanghai).Format("2006-01-02"))
		if !strings.Contains(list, rc.ReceiptNo) {
			t.Errorf("receipt list by part of the name and today lacks the receipt")
		}
		_, list = fin.Get("/console/receipts?day=2020-01-01")
		if strings.Contains(list, rc.ReceiptNo) {
			t.Errorf("receipt list of another day shows the receipt")
		}

		// First print: no mark. Second: a counted reprint, marked 补打.
		path := "/console/receipts/" + rc.ReceiptNo
		_, page := fin.Get(path)
		if !strings.Contains(page, "已打印 0 次") || strings.Contains(page, "补打）") || !strings.Contains(page, `data-print-count`) || !strings.Contains(page, static.URL("js/receipts.js")) {
			t.Fatalf("receipt page before printing: want the print form, no reprint mark")
		}
		for want := 1; want <= 2; want++ {
			var out struct {
				Receipts []struct {
					No    string
					Count int
					Label string
				}
			}
			code, body := rfPostJSON(t, fin, path+"/print")
			if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || len(out.Receipts) != 1 || out.Receipts[0].Count != want {
				t.Fatalf("print %d: status %d %s", want, code, body)
			}
			if want == 2 && out.Receipts[0].Label != "第 2 次打印（补打）" {
				t.Errorf("second print label = %q, want 第 2 次打印（补打）", out.Receipts[0].Label)
			}
		}
		_, page = fin.Get(path)
		if !strings.Contains(page, "第 2 次打印（补打）") || !strings.Contains(page, "已打印 2 次") {
			t.Errorf("receipt page after two prints lacks 第 2 次打印（补打）")
		}
		// Without script the form posts and comes back to the page.
		if code, _, resp := fin.Post(path+"/print", nil); code != http.StatusSeeOther || resp.Header.Get("Location") != path {
			t.Errorf("plain print post: status %d to %q, want 303 back", code, resp.Header.Get("Location"))
		}

		// Leadership may look, not print or void.
		leader := rfSignIn(t, p, "leader", "leader123456")
		if code, page := leader.Get(path); code != http.StatusOK || strings.Contains(page, "/void") {
			t.Errorf("leader on a receipt: status %d, void form shown=%v", code, strings.Contains(page, "/void"))
		}
		if code, _, _ := leader.Post(path+"/print", nil); code != http.StatusForbidden {
			t.Errorf("leader printing: status %d, want 403", code)
		}

		// Void: a reason is needed, it is escaped, and the verification page says 作废.
		_, frag, _ := fin.Do("POST", path+"/void", url.Values{"reason": {" "}}, true)
		if !strings.Contains(frag, "请填写作废原因") {
			t.Errorf("void without reason = %q", frag)
		}
		xss := `<script>alert(1)</script>抬头错误`
		if code, _, _ := fin.Post(path+"/void", url.Values{"reason": {xss}}); code != http.StatusSeeOther {
			t.Fatalf("void: status %d, want 303", code)
		}
		_, page = fin.Get(path)
		if !strings.Contains(page, "receipt is-void") || strings.Contains(page, xss) || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;抬头错误") {
			t.Errorf("voided receipt page: want the 作废 stamp and the reason escaped")
		}
		if code, _, _ := fin.Post(path+"/void", url.Values{"reason": {"again"}}); code != http.StatusConflict {
			t.Errorf("second void: status %d, want 409", code)
		}
		_, verify := p.NewBrowser(t).Get("/r/" + rc.VerifyToken)
		if !strings.Contains(verify, "票据已作废") || strings.Contains(verify, xss) {
			t.Errorf("verification page does not say the receipt was voided (or shows the reason raw)")
		}
	})
}

// rfPostJSON posts an empty form as receipts.js does and returns the answer.
func rfPostJSON(t *testing.T, b *servertest.Browser, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", b.Base+path, strings.NewReader(url.Values{"_csrf": {b.CSRF}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// rfQueryCounter counts the statements a database runs.
type rfQueryCounter struct{ n atomic.Int64 }

func (q *rfQueryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}
func (q *rfQueryCounter) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if !strings.Contains(ev.Query, "sessions") {
		q.n.Add(1)
	}
}

func TestBatchPrintOfFiveHundredReceiptsIsOnePageAndFewQueries(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		rfPayByCard(t, p, rfStudent, "CET-2026-12")
		first := rfReceipts(t, p, rfBill(t, p, rfStudent, "CET-2026-12").ID)[0]
		// 499 more receipts of the same day and item, written straight to the table (as many
		// payments would): numbers after the first.
		rows := make([]*store.Receipt, 0, 499)
		for i := 1; i < 500; i++ {
			r := first.Receipt
			r.ID, r.Seq = 0, first.Seq+int64(i)
			r.ReceiptNo = fmt.Sprintf("%d%08d", r.Year, r.Seq)
			r.PaymentID, r.VerifyToken = first.PaymentID+int64(i)*1000, fmt.Sprintf("tok%021d", i)
			rows = append(rows, &r)
		}
		if _, err := p.DB.NewInsert().Model(&rows).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		fin := rfSignIn(t, p, "finance", "finance123456")
		day := first.IssuedAt.In(bizday.Shanghai).Format("2006-01-02")
		counter := &rfQueryCounter{}
		p.DB.AddQueryHook(counter)
		start := time.Now()
		code, page := fin.Get("/console/receipts/print?item=CET-2026-12&day=" + day + "&size=A4")
		took := time.Since(start)
		queries := counter.n.Load()
		if code != http.StatusOK {
			t.Fatalf("batch print: status %d\n%s", code, page)
		}
		if n := strings.Count(page, `<article class="receipt`); n != 500 {
			t.Errorf("batch shows %d receipts, want 500", n)
		}
		if n := strings.Count(page, `name="no"`); n != 500 {
			t.Errorf("print form lists %d receipts, want 500", n)
		}
		if !strings.Contains(page, "receipt-batch-a4") || !strings.Contains(page, `<svg class="receipt-qr"`) {
			t.Errorf("batch page lacks the A4 class or the QR codes")
		}
		if queries > 15 {
			t.Errorf("batch print ran %d queries, want a handful (no query per receipt)", queries)
		}
		t.Logf("batch print of 500 receipts: %v, %d queries, %d KB", took, queries, len(page)/1024)

		// One request counts the whole batch.
		form := url.Values{"back": {"item=CET-2026-12"}}
		for _, r := range rows[:3] {
			form.Add("no", r.ReceiptNo)
		}
		form.Add("no", first.ReceiptNo)
		if code, _, resp := fin.Post("/console/receipts/print", form); code != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/receipts/print?") {
			t.Fatalf("batch count: status %d to %q", code, resp.Header.Get("Location"))
		}
		var counts []int
		p.DB.NewSelect().Model((*store.Receipt)(nil)).Column("print_count").Where("print_count > 0").Scan(ctx, &counts)
		if len(counts) != 4 {
			t.Errorf("%d receipts counted, want the 4 posted", len(counts))
		}
		// Printing a batch needs a filter.
		if code, _ := fin.Get("/console/receipts/print"); code != http.StatusUnprocessableEntity {
			t.Errorf("batch print without a filter: status %d, want 422", code)
		}
	})
}
