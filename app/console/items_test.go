package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/bizday"
	"campuspay/app/money"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// itemID returns the id of the item with code.
func itemID(t *testing.T, p *servertest.Platform, code string) int64 {
	t.Helper()
	var id int64
	if err := p.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("id").Where("code = ?", code).Scan(context.Background(), &id); err != nil {
		t.Fatalf("item %s: %v", code, err)
	}
	return id
}

func itemPath(id int64, rest string) string {
	return "/console/items/" + strconv.FormatInt(id, 10) + rest
}

func itemStatus(t *testing.T, p *servertest.Platform, id int64) store.ItemStatus {
	t.Helper()
	var s store.ItemStatus
	if err := p.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("status").Where("id = ?", id).Scan(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var createdRE = regexp.MustCompile(`^/console/items/([0-9]+)\?done=created$`)

// createItem posts the new item form and returns the new item's id.
func createItem(t *testing.T, b *servertest.Browser, form url.Values) int64 {
	t.Helper()
	b.Get("/console/items/new")
	code, body, resp := b.Post("/console/items", form)
	m := createdRE.FindStringSubmatch(resp.Header.Get("Location"))
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("create item: status %d, location %q, want a redirect to the new item\n%.2000s", code, resp.Header.Get("Location"), body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func trainingForm(code string) url.Values {
	return url.Values{"code": {code}, "name": {"2026年暑期英语培训费"}, "category": {"training"}, "audience": {"internal"},
		"pricing": {"per_bill"}, "opens_at": {"2026-01-01T08:00"}, "closes_at": {"2027-12-31T18:00"},
		"refundable_until": {"2027-12-31T18:00"}, "description": {"按报名课程收费"}}
}

func TestDeptAppliesAndFinanceApproves(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		id := createItem(t, dept, trainingForm("TRAIN-2026"))
		_, page := dept.Get(itemPath(id, "?done=created"))
		if !strings.Contains(page, "TRAIN-2026") || !strings.Contains(page, "教务处") || !strings.Contains(page, "badge-draft") || !strings.Contains(page, "提交审核") {
			t.Fatalf("new item page lacks its code, department 教务处, draft badge or submit button\n%s", page)
		}
		if code, _, _ := dept.Post(itemPath(id, "/approve"), nil); code != http.StatusForbidden {
			t.Errorf("dept approves: status %d, want 403", code)
		}
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		fin.Get("/console/items")
		if code, body, _ := fin.Post(itemPath(id, "/approve"), nil); code != http.StatusConflict || !strings.Contains(body, "草稿") {
			t.Errorf("finance approves a draft: status %d, want 409 saying it is a draft", code)
		}
		if code, _, resp := dept.Post(itemPath(id, "/submit"), nil); code != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?done=submitted") {
			t.Fatalf("submit: status %d", code)
		}
		if code, _ := dept.Get(itemPath(id, "/edit")); code != http.StatusConflict {
			t.Errorf("edit a pending item: status %d, want 409", code)
		}
		// Reject needs a reason: through HTMX the message lands in the form's error slot.
		body, resp := htmx(t, fin, "POST", itemPath(id, "/reject"), url.Values{"_csrf": {fin.CSRF}, "reason": {" "}}, "reject-error")
		if resp.Header.Get("HX-Retarget") != "" || !strings.Contains(body, "请填写驳回原因") {
			t.Errorf("reject without reason: %q (retarget %q), want the message in place", body, resp.Header.Get("HX-Retarget"))
		}
		if s := itemStatus(t, p, id); s != store.ItemPending {
			t.Fatalf("after a refused rejection status = %s, want pending", s)
		}
		fin.Post(itemPath(id, "/reject"), url.Values{"reason": {"请补充物价部门批复文号"}})
		if s := itemStatus(t, p, id); s != store.ItemRejected {
			t.Fatalf("status = %s, want rejected", s)
		}
		// The department edits the rejected item and submits it again; finance approves.
		edited := trainingForm("TRAIN-2026")
		edited.Set("description", "按报名课程收费（物价批复 2026-18 号）")
		if code, body, _ := dept.Post(itemPath(id, ""), edited); code != http.StatusSeeOther {
			t.Fatalf("update rejected item: status %d\n%.1000s", code, body)
		}
		dept.Post(itemPath(id, "/submit"), nil)
		if code, _, _ := fin.Post(itemPath(id, "/approve"), nil); code != http.StatusSeeOther {
			t.Fatalf("approve: status %d", code)
		}
		_, page = dept.Get(itemPath(id, ""))
		for _, want := range []string{"badge-approved", "请补充物价部门批复文号", "审核通过", "驳回", "修改", "提交审核"} {
			if !strings.Contains(page, want) {
				t.Errorf("item page timeline lacks %q", want)
			}
		}
		if strings.Contains(page, `action="/console/items/`+strconv.FormatInt(id, 10)+`/suspend"`) {
			t.Errorf("dept sees finance's suspend button")
		}
		_, page = fin.Get(itemPath(id, ""))
		if !strings.Contains(page, "/suspend") || !strings.Contains(page, "hx-confirm") {
			t.Errorf("finance's item page lacks the suspend button with a confirmation")
		}

		// Department staff see nothing of another department's items.
		dorm := itemID(t, p, "DORM-2026")
		for _, path := range []string{"", "/edit", "/bills", "/import", "/progress", "/unpaid", "/unpaid.xlsx", "/template.xlsx"} {
			if code, _ := dept.Get(itemPath(dorm, path)); code != http.StatusNotFound {
				t.Errorf("dept GET another department's %s: status %d, want 404", itemPath(dorm, path), code)
			}
		}
		if code, _, _ := dept.Post(itemPath(dorm, "/bills"), url.Values{"payer_no": {"2026000001"}}); code != http.StatusNotFound {
			t.Errorf("dept adds a bill to another department's item: status %d, want 404", code)
		}
	})
}

func TestItemFormShowsFieldErrorsAndEscapesText(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		fin.Get("/console/items/new")
		bad := trainingForm("bad code")
		bad.Set("pricing", "fixed")
		bad.Set("price", "12.345")
		code, body, _ := fin.Post("/console/items", bad)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "大写字母") || !strings.Contains(body, "金额最多两位小数") || !strings.Contains(body, "请选择收费部门") {
			t.Errorf("bad form: status %d, want 422 with the code, price and department errors\n%.3000s", code, body)
		}
		// The HTMX submission gets 200 (htmx swaps only 2xx) with the same errors, no layout.
		code, frag, _ := fin.Do("POST", "/console/items", bad, true)
		if code != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "金额最多两位小数") {
			t.Errorf("bad form via HTMX: status %d, want 200 with the errors alone", code)
		}

		xss := trainingForm("XSS-2026")
		xss.Set("name", `<script>alert("name")</script>`)
		xss.Set("description", `<img src=x onerror=alert(1)>`)
		xss.Set("department_id", fmt.Sprint(deptID(t, p, "JWC")))
		id := createItem(t, fin, xss)
		for _, path := range []string{itemPath(id, ""), "/console/items?q=XSS"} {
			_, page := fin.Get(path)
			if strings.Contains(page, `<script>alert("name")`) || strings.Contains(page, "<img src=x") {
				t.Errorf("%s: text came back unescaped", path)
			}
			if !strings.Contains(page, "&lt;script&gt;") {
				t.Errorf("%s: escaped name missing", path)
			}
		}
	})
}

// htmx sends what htmx sends for an element targeting the element with id target.
func htmx(t *testing.T, b *servertest.Browser, method, path string, form url.Values, target string) (string, *http.Response) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.Base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", target)
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw), resp
}

func deptID(t *testing.T, p *servertest.Platform, code string) int64 {
	t.Helper()
	var id int64
	if err := p.DB.NewSelect().Model((*store.Department)(nil)).Column("id").Where("code = ?", code).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestItemListPageAndFragment(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		code, page := fin.Get("/console/items")
		if code != http.StatusOK || !strings.Contains(page, "<html") || !strings.Contains(page, "DORM-2026") || !strings.Contains(page, `id="item-rows"`) {
			t.Fatalf("item list: status %d, want the full page with every item", code)
		}
		frag, _ := htmx(t, fin, "GET", "/console/items?q=CET", nil, "item-rows")
		if strings.Contains(frag, "<html") || strings.Contains(frag, "toolbar") || !strings.Contains(frag, "CET-2026-12") || strings.Contains(frag, "DORM-2026") {
			t.Errorf("filtered fragment = %.2000s, want the rows of CET-2026-12 alone", frag)
		}
		if _, page := fin.Get("/console/items?status=draft"); strings.Contains(page, "DORM-2026") {
			t.Errorf("status filter draft lists an approved item")
		}

		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		_, page = dept.Get("/console/items")
		if !strings.Contains(page, "CET-2026-12") || strings.Contains(page, "DORM-2026") || strings.Contains(page, "TUITION-2026") {
			t.Errorf("dept list shows other departments' items or lacks its own")
		}
		if _, page := dept.Get(fmt.Sprintf("/console/items?dept=%d", deptID(t, p, "HQ"))); strings.Contains(page, "DORM-2026") {
			t.Errorf("dept list filtered by another department shows its items")
		}
	})
}

// upload posts a file to the import form as the browser's HTMX form does, and returns
// the job fragment.
func upload(t *testing.T, b *servertest.Browser, path, name string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", b.CSRF)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", b.Base+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("HX-Request", "true")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

var jobRE = regexp.MustCompile(`hx-get="/console/imports/([0-9]+)"`)

// waitJob polls the job fragment as the page does until it stops polling.
func waitJob(t *testing.T, b *servertest.Browser, frag string) string {
	t.Helper()
	m := jobRE.FindStringSubmatch(frag)
	deadline := time.Now().Add(30 * time.Second)
	for m != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, frag, _ = b.Do("GET", "/console/imports/"+m[1], nil, true)
		m = jobRE.FindStringSubmatch(frag)
	}
	if m != nil {
		t.Fatalf("import still running after 30 s:\n%s", frag)
	}
	return frag
}

func TestImportBillsThroughConsole(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		id := createItem(t, dept, trainingForm("TRAIN-2026"))
		code, page := dept.Get(itemPath(id, "/import"))
		if code != http.StatusOK || !strings.Contains(page, `enctype="multipart/form-data"`) || !strings.Contains(page, "template.xlsx") {
			t.Fatalf("import page: status %d, want the upload form and the template link", code)
		}

		// The template is a workbook with the columns.
		resp, err := dept.Client.Get(dept.Base + itemPath(id, "/template.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("template is not a workbook: %v", err)
		}
		head, _ := x.GetRows(x.GetSheetList()[0])
		if len(head) < 2 || strings.Join(head[0], ",") != strings.Join(bills.BillTemplateHeader, ",") {
			t.Errorf("template rows = %v, want the header and an example", head)
		}

		// One bad row among good ones: nothing is loaded, and the row is named.
		bad := "学号/工号,金额,说明\n2026000001,1500,第一期\n2026000002,12.345,第一期\n2026000003,1500,第一期\n"
		code, frag := upload(t, dept, itemPath(id, "/import"), "bills.csv", []byte(bad))
		if code != http.StatusOK || !strings.Contains(frag, "items-progress") && !strings.Contains(frag, "未导入") {
			t.Fatalf("upload: status %d\n%s", code, frag)
		}
		frag = waitJob(t, dept, frag)
		if !strings.Contains(frag, "第 3 行") || !strings.Contains(frag, "金额最多两位小数") || !strings.Contains(frag, "未导入任何数据") {
			t.Errorf("refused import = %s, want line 3 and its reason", frag)
		}
		if n := billCount(t, p, id); n != 0 {
			t.Fatalf("%d bills loaded from a refused file, want 0", n)
		}

		// A malformed file.
		_, frag = upload(t, dept, itemPath(id, "/import"), "bills.xlsx", []byte("PK not really"))
		if frag = waitJob(t, dept, frag); !strings.Contains(frag, "不是有效的 Excel") {
			t.Errorf("malformed file: %s", frag)
		}

		// A good file loads every row; the progress page shows the total due.
		var good strings.Builder
		good.WriteString("学号/工号,金额,说明,截止日期\n")
		for i := 1; i <= 50; i++ {
			fmt.Fprintf(&good, "20260%05d,1500.50,第一期,2026-12-31\n", i)
		}
		_, frag = upload(t, dept, itemPath(id, "/import"), "第一期.csv", []byte(good.String()))
		if frag = waitJob(t, dept, frag); !strings.Contains(frag, "已导入 50 笔账单") {
			t.Fatalf("good import: %s", frag)
		}
		if n := billCount(t, p, id); n != 50 {
			t.Errorf("bills = %d, want 50", n)
		}
		_, page = dept.Get(itemPath(id, "/progress"))
		if !strings.Contains(page, "¥75,025.00") {
			t.Errorf("progress page lacks the due total ¥75,025.00")
		}
		_, page = dept.Get(itemPath(id, "/bills"))
		if !strings.Contains(page, "2026000001") || !strings.Contains(page, "共 50 条") || !strings.Contains(page, "/cancel") {
			t.Errorf("bill list lacks the imported bills or their cancel buttons")
		}

		// Add one bill by the form; a bad one comes back with the message by the field.
		_, frag, _ = dept.Do("POST", itemPath(id, "/bills"), url.Values{"payer_no": {"2026000001"}, "amount": {"10"}}, true)
		if !strings.Contains(frag, "已有账单") || strings.Contains(frag, "<html") {
			t.Errorf("duplicate bill by the form: %.1500s", frag)
		}
		if code, _, _ := dept.Post(itemPath(id, "/bills"), url.Values{"payer_no": {"2026000099"}, "amount": {"88.80"}}); code != http.StatusSeeOther {
			t.Errorf("add a bill: status %d", code)
		}
		// Cancel it.
		var billID int64
		p.DB.NewSelect().Model((*store.Bill)(nil)).Column("id").Where("item_id = ?", id).Where("amount_due_fen = 8880").Scan(context.Background(), &billID)
		if code, _, _ := dept.Post(fmt.Sprintf("/console/bills/%d/cancel", billID), nil); code != http.StatusSeeOther {
			t.Errorf("cancel bill: status %d", code)
		}
		var status store.BillStatus
		p.DB.NewSelect().Model((*store.Bill)(nil)).Column("status").Where("id = ?", billID).Scan(context.Background(), &status)
		if status != store.BillCancelled {
			t.Errorf("bill status = %s, want cancelled", status)
		}

		// Another department's staff can't see the job.
		other := p.NewBrowser(t)
		other.Login("finance", "finance123456")
		if code, _ := other.Get("/console/imports/999999"); code != http.StatusNotFound {
			t.Errorf("unknown job: status %d, want 404", code)
		}
	})
}

func billCount(t *testing.T, p *servertest.Platform, itemID int64) int {
	t.Helper()
	n, err := p.DB.NewSelect().Model((*store.Bill)(nil)).Where("item_id = ?", itemID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// pay pays a demo payer's bill of an item by campus card.
func pay(t *testing.T, p *servertest.Platform, payerNo, code string) {
	t.Helper()
	ctx := context.Background()
	var row struct {
		BillID  int64 `bun:"bill_id"`
		PayerID int64 `bun:"payer_id"`
	}
	err := p.DB.NewSelect().TableExpr("bills AS b").ColumnExpr("b.id AS bill_id, b.payer_id").
		Join("JOIN users AS u ON u.id = b.payer_id").Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Where("u.payer_no = ?", payerNo).Where("ci.code = ?", code).Scan(ctx, &row)
	if err != nil {
		t.Fatal(err)
	}
	o, err := p.Billing.CreateOrder(ctx, billing.OrderRequest{PayerID: row.PayerID, Lines: []billing.LineRequest{{BillID: row.BillID}}, Channel: "campuscard"})
	if err != nil {
		t.Fatal(err)
	}
	if o, _, err = p.Billing.StartPayment(ctx, o.OrderNo, payerNo, "123456"); err != nil || o.Status != store.OrderPaid {
		t.Fatalf("pay %s by card: %v", payerNo, err)
	}
}

func TestProgressAndUnpaidExportAfterPayments(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		pay(t, p, "2026000001", "CET-2026-12")
		pay(t, p, "2026000002", "CET-2026-12")
		id := itemID(t, p, "CET-2026-12")

		// What an auditor would add up from the rows.
		var bills []store.Bill
		if err := p.DB.NewSelect().Model(&bills).Where("item_id = ?", id).Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		var due, paid, owed int64
		unpaid := map[string]bool{}
		for _, b := range bills {
			due += b.AmountDueFen
			paid += b.AmountPaidFen
			if b.Status == store.BillUnpaid || b.Status == store.BillPartial {
				owed += b.AmountDueFen - b.AmountPaidFen
				unpaid[b.PayerName+"|"+b.PayerPhone] = true
			}
		}
		if paid != 6000 || len(unpaid) != 98 {
			t.Fatalf("rows: paid %d, %d unpaid payers; want 6000 and 98", paid, len(unpaid))
		}

		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		_, page := dept.Get(itemPath(id, "/progress"))
		for _, want := range []string{money.Format(due), money.Format(paid), money.Format(owed), "2.00%", time.Now().In(bizday.Shanghai).Format("2006-01-02")} {
			if !strings.Contains(page, want) {
				t.Errorf("progress page lacks %s", want)
			}
		}
		_, page = dept.Get(itemPath(id, ""))
		if !strings.Contains(page, money.Format(paid)) || !strings.Contains(page, "items-progress") {
			t.Errorf("item page lacks the progress summary")
		}
		_, page = dept.Get(itemPath(id, "/unpaid"))
		if strings.Contains(page, "2026000001") || !strings.Contains(page, "2026000003") || !strings.Contains(page, "共 98 条") {
			t.Errorf("unpaid list: want 98 payers without 2026000001")
		}

		resp, err := dept.Client.Get(dept.Base + itemPath(id, "/unpaid.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("unpaid export is not a workbook: %v", err)
		}
		rows, _ := x.GetRows(x.GetSheetList()[0])
		if len(rows) != 99 {
			t.Fatalf("export has %d rows, want a header and 98 payers", len(rows))
		}
		got := map[string]bool{}
		for _, r := range rows[1:] {
			got[r[1]+"|"+r[2]] = true
			if r[0] == "2026000001" || r[0] == "2026000002" {
				t.Errorf("export lists %s, who paid", r[0])
			}
		}
		for k := range unpaid {
			if !got[k] {
				t.Errorf("export lacks unpaid payer %s", k)
			}
		}
	})
}
