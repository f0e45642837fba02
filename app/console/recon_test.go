package console_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/bizday"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// rcDay is a business day n days before today, as the console writes it.
func rcDay(n int) string {
	return time.Now().In(bizday.Shanghai).AddDate(0, 0, -n).Format("2006-01-02")
}

// rcMissedCardPayment opens a campus card order and records at the card system (its own
// books) that it was debited yesterday morning, while the platform never heard of it.
func rcMissedCardPayment(t *testing.T, p *servertest.Platform) *store.Order {
	t.Helper()
	o := rfOrder(t, p, "2026000002", "CET-2026-12", "campuscard")
	y, _ := time.ParseInLocation("2006-01-02", rcDay(1), bizday.Shanghai)
	txn := &store.CardTxn{TxnNo: "D00000000000000f1", CardNo: "C2026000002", Kind: "debit", OutNo: o.OrderNo,
		AmountFen: o.TotalFen, CreatedAt: store.UTC(y.Add(10 * time.Hour))}
	if _, err := p.DB.NewInsert().Model(txn).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestReconConsole(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		o := rcMissedCardPayment(t, p)
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		code, body := fin.Get("/console/recon?day=" + rcDay(1))
		if code != http.StatusOK || !strings.Contains(body, "校园卡") || !strings.Contains(body, "获取并对账") {
			t.Fatalf("overview = %d\n%.500s", code, body)
		}

		// Run the card channel for yesterday: the missed payment is repaired.
		code, _, resp := fin.Post("/console/recon/run", url.Values{"day": {rcDay(1)}, "source": {"campuscard"}})
		if code != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ran=campuscard") {
			t.Fatalf("run = %d %s", code, resp.Header.Get("Location"))
		}
		var paid store.Order
		p.DB.NewSelect().Model(&paid).Where("order_no = ?", o.OrderNo).Scan(ctx)
		if paid.Status != store.OrderPaid {
			t.Fatalf("order after reconciliation = %s, want paid (repaired)", paid.Status)
		}
		_, body = fin.Get(resp.Header.Get("Location"))
		if !strings.Contains(body, "已完成校园卡") || !strings.Contains(body, "已对平") || !strings.Contains(body, "¥30.00") {
			t.Errorf("overview after the run lacks the result\n%s", body)
		}
		// Rerun: still one payment.
		fin.Post("/console/recon/run", url.Values{"day": {rcDay(1)}, "source": {"campuscard"}})
		if n, _ := p.DB.NewSelect().Table("payments").Where("order_id = ?", o.ID).Count(ctx); n != 1 {
			t.Errorf("%d payments for the repaired order after a rerun", n)
		}
		// The repair is in the queue as cleared, with a link to its statement line.
		code, body = fin.Get("/console/recon/discrepancies?status=cleared")
		if code != http.StatusOK || !strings.Contains(body, o.OrderNo) || !strings.Contains(body, "已消除") {
			t.Errorf("cleared queue = %d\n%.2000s", code, body)
		}

		// The bank side of the day before: the bank's statement of yesterday holds a
		// parent's transfer that no settlement explains.
		code, _, _ = fin.Post("/console/recon/run", url.Values{"day": {rcDay(2)}, "source": {"bank"}})
		if code != http.StatusSeeOther {
			t.Fatalf("bank run = %d", code)
		}
		code, body = fin.Get("/console/recon/discrepancies?type=bank_unexplained")
		if code != http.StatusOK || !strings.Contains(body, "银行不明收入") || !strings.Contains(body, "家长汇款") {
			t.Fatalf("queue = %d\n%.3000s", code, body)
		}
		// The HTMX fragment of the queue is the rows alone.
		_, frag, _ := fin.Do("GET", "/console/recon/discrepancies?type=bank_unexplained", nil, true)
		if !strings.Contains(frag, `<div id="discrepancy-rows">`) || strings.Contains(frag, "<html") || strings.Contains(frag, `class="sidebar"`) {
			t.Errorf("fragment = %.300s", frag)
		}
		var d store.Discrepancy
		if err := p.DB.NewSelect().Model(&d).Where("type = ? AND status = ?", "bank_unexplained", "open").Limit(1).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		page := "/console/recon/discrepancies/" + strconv.FormatInt(d.ID, 10)
		_, body = fin.Get(page)
		if !strings.Contains(body, "标记为已处理") || !strings.Contains(body, "银行流水") {
			t.Errorf("discrepancy page lacks the form or the bank line\n%s", body)
		}

		// Department staff see none of it; leadership reads but cannot run or resolve.
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		dept.Get("/console")
		for _, path := range []string{"/console/recon", page, "/console/recon/statements"} {
			if code, _ := dept.Get(path); code != http.StatusForbidden {
				t.Errorf("dept GET %s = %d, want 403", path, code)
			}
		}
		if code, _, _ := dept.Post(page+"/resolve", url.Values{"note": {"x"}}); code != http.StatusForbidden {
			t.Errorf("dept resolve = %d, want 403", code)
		}
		if _, body := dept.Get("/console"); strings.Contains(body, "/console/recon/status") {
			t.Error("the department dashboard loads the reconciliation card")
		}
		leader := p.NewBrowser(t)
		leader.Login("leader", "leader123456")
		if code, body := leader.Get(page); code != http.StatusOK || strings.Contains(body, "标记为已处理") {
			t.Errorf("leader sees the discrepancy with a resolve form (%d)", code)
		}
		if code, _, _ := leader.Post("/console/recon/run", url.Values{"day": {rcDay(1)}, "source": {"campuscard"}}); code != http.StatusForbidden {
			t.Errorf("leader run = %d, want 403", code)
		}

		// Finance resolves it with a note (escaped when shown); an empty note is refused.
		_, errBody, _ := fin.Do("POST", page+"/resolve", url.Values{"note": {" "}}, true)
		if !strings.Contains(errBody, "请填写处理说明") {
			t.Errorf("empty note: %.300s", errBody)
		}
		code, _, _ = fin.Post(page+"/resolve", url.Values{"note": {"家长学费汇款 <script>alert(1)</script>"}})
		if code != http.StatusSeeOther {
			t.Fatalf("resolve = %d", code)
		}
		_, body = fin.Get(page)
		if !strings.Contains(body, "已处理") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(body, "<script>alert(1)") {
			t.Errorf("resolved page does not show the escaped note\n%s", body)
		}
		if n, _ := p.DB.NewSelect().Table("audit_logs").Where("action = ? AND actor = ?", "discrepancy.resolved", "finance").Count(ctx); n != 1 {
			t.Errorf("%d resolve audit rows", n)
		}

		// Statements: the list, and a statement's lines.
		code, body = fin.Get("/console/recon/statements?source=campuscard")
		if code != http.StatusOK || !strings.Contains(body, "第 1 版") {
			t.Fatalf("statements = %d\n%.1000s", code, body)
		}
		var st store.Statement
		yesterday, _ := time.Parse("2006-01-02", rcDay(1))
		p.DB.NewSelect().Model(&st).Where("source = ? AND day = ?", "campuscard", yesterday).Scan(ctx)
		if _, body = fin.Get("/console/recon/statements/" + strconv.FormatInt(st.ID, 10)); !strings.Contains(body, o.OrderNo) {
			t.Errorf("statement page lacks the debit line")
		}

		// The dashboard's card.
		if _, body = fin.Get("/console"); !strings.Contains(body, `hx-get="/console/recon/status"`) {
			t.Error("the finance dashboard does not load the reconciliation card")
		}
		_, card, _ := fin.Do("GET", "/console/recon/status", nil, true)
		if !strings.Contains(card, "对账状态") || !strings.Contains(card, "校园卡") {
			t.Errorf("status card = %.500s", card)
		}
	})
}

// rcUpload posts a bank file as the upload form does.
func rcUpload(t *testing.T, b *servertest.Browser, bank, name, content string) (int, string, *http.Response) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("_csrf", b.CSRF)
	w.WriteField("bank", bank)
	fw, _ := w.CreateFormFile("file", name)
	io.WriteString(fw, content)
	w.Close()
	req, _ := http.NewRequest("POST", b.Base+"/console/recon/bankfiles", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp
}

func TestReconBankUpload(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		fin.Get("/console/recon/bankfiles")
		file := "交易日期,交易时间,借贷标志,交易金额,对方户名,摘要,流水号\n" +
			"2026-11-27,10:00:00,贷,\"12,405.60\",沙箱支付科技有限公司,SANDBOX SETTLE 2026-11-26,X001\n" +
			"2026-11-27,14:00:00,借,\"1,203.45\",国网某某供电公司,电费,X002\n"

		// First file of a bank: the mapping form, columns guessed from the header.
		code, body, _ := rcUpload(t, fin, "icbc", "icbc-1127.csv", file)
		if code != http.StatusOK || !strings.Contains(body, "首次上传该银行的流水") || !strings.Contains(body, `<option value="借贷标志" selected>`) {
			t.Fatalf("first upload = %d\n%s", code, body)
		}
		data := body[strings.Index(body, `name="file_data" value="`)+len(`name="file_data" value="`):]
		data = html.UnescapeString(data[:strings.Index(data, `"`)])
		form := url.Values{"bank": {"ICBC"}, "name": {"工商银行 基本户"}, "file_name": {"icbc-1127.csv"}, "file_data": {data},
			"date": {"交易日期"}, "time": {"交易时间"}, "amount": {"交易金额"}, "direction": {"借贷标志"},
			"reference": {"摘要"}, "counterparty": {"对方户名"}, "serial": {"流水号"}}
		code, _, resp := fin.Post("/console/recon/banks/ICBC/mapping", form)
		if code != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/recon/statements/") {
			t.Fatalf("save mapping = %d %s", code, resp.Header.Get("Location"))
		}
		_, body = fin.Get(resp.Header.Get("Location"))
		if !strings.Contains(body, "SANDBOX SETTLE 2026-11-26") || !strings.Contains(body, "¥12,405.60") || !strings.Contains(body, "¥1,203.45") {
			t.Errorf("uploaded statement page\n%s", body)
		}
		// The same file again: the saved mapping reads it, and nothing changes.
		code, _, resp = rcUpload(t, fin, "ICBC", "again.csv", file)
		if code != http.StatusSeeOther {
			t.Fatalf("second upload = %d", code)
		}
		if n, _ := p.DB.NewSelect().Table("statements").Where("source = ?", "bank:ICBC").Count(ctx); n != 1 {
			t.Errorf("%d ICBC statements after the same file twice, want 1", n)
		}
		// A bad row refuses the file whole, saying where.
		code, body, _ = rcUpload(t, fin, "ICBC", "bad.csv", file+"明天,10:00,贷,1.00,某人,x,X003\n")
		if code != http.StatusBadRequest || !strings.Contains(body, "第 4 行") {
			t.Errorf("bad file = %d\n%.500s", code, body)
		}
		// The mapping can be edited later.
		if code, body := fin.Get("/console/recon/banks/ICBC/mapping"); code != http.StatusOK || !strings.Contains(body, "工商银行 基本户") {
			t.Errorf("edit mapping = %d", code)
		}
	})
}
