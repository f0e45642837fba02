package console_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"campuspay/app/billing"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// stPay pays a demo payer's bill of an item by campus card (synchronous) and returns the
// order.
func stPay(t *testing.T, p *servertest.Platform, payerNo, code string) *store.Order {
	t.Helper()
	ctx := context.Background()
	var bill store.Bill
	err := p.DB.NewSelect().Model(&bill).
		Join("JOIN charge_items AS ci ON ci.id = bill.item_id").Join("JOIN users AS u ON u.id = bill.payer_id").
		Where("u.payer_no = ? AND ci.code = ?", payerNo, code).Scan(ctx)
	if err != nil {
		t.Fatalf("bill of %s for %s: %v", payerNo, code, err)
	}
	o, err := p.Billing.CreateOrder(ctx, billing.OrderRequest{PayerID: *bill.PayerID, Lines: []billing.LineRequest{{BillID: bill.ID}}, Channel: "campuscard"})
	if err != nil {
		t.Fatal(err)
	}
	o, _, err = p.Billing.StartPayment(ctx, o.OrderNo, payerNo, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.OrderPaid {
		t.Fatalf("order %s is %s, want paid", o.OrderNo, o.Status)
	}
	return o
}

func stBrowser(t *testing.T, p *servertest.Platform, login, password string) *servertest.Browser {
	b := p.NewBrowser(t)
	b.Login(login, password)
	return b
}

var (
	stTfootRE = regexp.MustCompile(`(?s)<tfoot>(.*?)</tfoot>`)
	stTbodyRE = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)
)

func stTfoot(t *testing.T, body string) string {
	t.Helper()
	m := stTfootRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no totals row in\n%s", body)
	}
	return m[1]
}

func stRows(body string) int {
	m := stTbodyRE.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	return strings.Count(m[1], "<tr>")
}

func TestSearchPagesTotalsExportAndScope(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		// 23 exam fees of ¥30.00 (教务处) and one dormitory fee of ¥1,200.00 (后勤管理处).
		n := 0
		for i := 1; n < 23; i++ {
			if i == 3 {
				continue // this student's card is frozen
			}
			stPay(t, p, "20260"+stPad5(i), "CET-2026-12")
			n++
		}
		stPay(t, p, "2026000001", "DORM-2026")
		fin := stBrowser(t, p, "finance", "finance123456")

		code, page1 := fin.Get("/console/search/payments")
		if code != http.StatusOK || !strings.Contains(page1, "<html") || !strings.Contains(page1, `id="search-results"`) {
			t.Fatalf("payments search: status %d\n%s", code, page1)
		}
		foot := stTfoot(t, page1)
		if !strings.Contains(foot, "合计 24 笔") || !strings.Contains(foot, "¥1,890.00") {
			t.Errorf("page 1 totals %q, want 24 rows and ¥1,890.00", foot)
		}
		if got := stRows(page1); got != 20 {
			t.Errorf("page 1 has %d rows, want 20", got)
		}
		code, page2, _ := fin.Do("GET", "/console/search/payments?page=2", nil, true)
		if code != http.StatusOK || strings.Contains(page2, "<html") {
			t.Fatalf("HTMX page 2: status %d, want a fragment\n%s", code, page2)
		}
		if got := stRows(page2); got != 4 || stTfoot(t, page2) != foot {
			t.Errorf("page 2 has %d rows and totals %q, want 4 rows and the same totals", got, stTfoot(t, page2))
		}

		// Filters: item, status, channel; a bad date and an XSS attempt in the payer box.
		dorm := stItemID(t, p, "DORM-2026")
		_, body := fin.Get("/console/search/payments?item=" + dorm)
		if f := stTfoot(t, body); !strings.Contains(f, "合计 1 笔") || !strings.Contains(f, "¥1,200.00") {
			t.Errorf("DORM payments totals %q, want one of ¥1,200.00", f)
		}
		_, body = fin.Get("/console/search/bills?status=paid&item=" + dorm)
		if f := stTfoot(t, body); !strings.Contains(f, "合计 1 笔") {
			t.Errorf("paid DORM bills totals %q, want 1", f)
		}
		_, body = fin.Get("/console/search/orders?channel=sandbox")
		if !strings.Contains(body, "没有符合条件的记录") {
			t.Errorf("sandbox orders: want none")
		}
		code, body = fin.Get("/console/search/payments?from=2026-13-01")
		if code != http.StatusBadRequest || !strings.Contains(body, "日期「2026-13-01」无效") {
			t.Errorf("bad date: status %d, want 400 with a message", code)
		}
		_, body = fin.Get("/console/search/payments?payer=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
		if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("payer filter not escaped")
		}

		// The export: every row of the same filter and a totals row.
		req, _ := http.NewRequest("GET", p.URL+"/console/search/payments/export.xlsx?from=&to=", nil)
		resp, err := fin.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "payments.xlsx") {
			t.Fatalf("export: status %d, disposition %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		x, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatalf("export is not an xlsx: %v", err)
		}
		rows, _ := x.GetRows(x.GetSheetList()[0])
		if len(rows) != 1+24+1 {
			t.Fatalf("export has %d lines, want header, 24 rows, totals", len(rows))
		}
		last := rows[len(rows)-1]
		if last[0] != "合计" || last[9] != "1890.00" || rows[1][9] != "1200.00" && rows[1][9] != "30.00" {
			t.Errorf("export totals %q (first row %q), want 合计 … 1890.00", last, rows[1])
		}

		// 教务处's staff see only 教务处's money, wherever they look.
		jwc := stBrowser(t, p, "dept_jwc", "dept123456")
		_, body = jwc.Get("/console/search/payments")
		if f := stTfoot(t, body); !strings.Contains(f, "合计 23 笔") || !strings.Contains(f, "¥690.00") || strings.Contains(body, "住宿费") {
			t.Errorf("dept_jwc payments totals %q, want 23 exam fees of ¥690.00 and no dormitory fee", f)
		}
		_, body = jwc.Get("/console/search/bills?item=" + dorm)
		if !strings.Contains(body, "没有符合条件的记录") {
			t.Errorf("dept_jwc sees DORM bills")
		}
		_, body = jwc.Get("/console/search/bills")
		if strings.Contains(body, "后勤管理处") || strings.Contains(body, "住宿费") {
			t.Errorf("dept_jwc's bill search offers or shows another department")
		}
		req, _ = http.NewRequest("GET", p.URL+"/console/search/bills/export.xlsx?department="+stDeptID(t, p, "HQ"), nil)
		resp, err = jwc.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		x, _ = excelize.OpenReader(&buf)
		if rows, _ := x.GetRows(x.GetSheetList()[0]); len(rows) != 2 || rows[1][1] != "0 笔" {
			t.Errorf("dept_jwc's export of HQ bills = %q, want only the header and an empty total", rows)
		}

		for _, path := range []string{"/console/search/receipts", "/console/search/x/export.xlsx", "/console/charts/nope"} {
			if code, _ := fin.Get(path); code != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, code)
			}
		}
	})
}

func stPad5(i int) string { return fmt.Sprintf("%05d", i) }

func stItemID(t *testing.T, p *servertest.Platform, code string) string {
	t.Helper()
	var id int64
	if err := p.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("id").Where("code = ?", code).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(id, 10)
}

func stDeptID(t *testing.T, p *servertest.Platform, code string) string {
	t.Helper()
	var id int64
	if err := p.DB.NewSelect().Model((*store.Department)(nil)).Column("id").Where("code = ?", code).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(id, 10)
}
