package console_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"campuspay/app/bizday"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

var offlineJobRE = regexp.MustCompile(`hx-get="/console/offline/imports/([0-9]+)"`)

// offlineUpload uploads a CSV of offline collections as finance's HTMX form does, and
// polls the job fragment until it stops polling; it returns the last fragment.
func offlineUpload(t *testing.T, b *servertest.Browser, csv string) string {
	t.Helper()
	code, frag := upload(t, b, "/console/offline/import", "收款.csv", []byte(csv))
	if code != http.StatusOK || !strings.Contains(frag, "导入 收款.csv") {
		t.Fatalf("upload: status %d, no import job in the answer\n%.500s", code, frag)
	}
	deadline := time.Now().Add(30 * time.Second)
	for m := offlineJobRE.FindStringSubmatch(frag); m != nil; m = offlineJobRE.FindStringSubmatch(frag) {
		if time.Now().After(deadline) {
			t.Fatalf("offline import did not finish:\n%s", frag)
		}
		time.Sleep(100 * time.Millisecond)
		_, frag, _ = b.Do("GET", "/console/offline/imports/"+m[1], nil, true)
	}
	return frag
}

func TestOfflineConsole(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		if code, page := fin.Get("/console/offline/import"); code != http.StatusOK || !strings.Contains(page, `enctype="multipart/form-data"`) {
			t.Fatalf("import form: status %d", code)
		}
		today := bizday.DayOf(time.Now()).Format("2006-01-02")
		header := "方式,学号/工号,项目编码,账单号,金额,收款日期,凭证号/参考号,备注\n"

		// A refused file: every bad line with its reason, nothing written.
		frag := offlineUpload(t, fin, header+
			"现金,2026000002,DORM-2026,,1200.00,"+today+",XJ-1,\n"+
			"支票,2026000002,CET-2026-12,,30.00,"+today+",ZP-1,\n"+
			"现金,2026000002,CET-2026-12,,31.00,"+today+",XJ-2,\n"+
			"现金,2026000002,CET-2026-12,,30.00,2099-01-01,XJ-3,\n")
		for _, want := range []string{"未导入任何数据", "第 3 行", "收款方式「支票」无效", "第 4 行", "超过账单待缴金额 ¥30.00", "第 5 行", "晚于今天"} {
			if !strings.Contains(frag, want) {
				t.Errorf("refused import fragment lacks %q:\n%s", want, frag)
			}
		}
		if strings.Contains(frag, "第 2 行") {
			t.Errorf("a good row is listed as bad:\n%s", frag)
		}
		if n, _ := p.DB.NewSelect().Model((*store.OfflineCollection)(nil)).Count(ctx); n != 0 {
			t.Fatalf("%d offline collections after a refused file, want 0", n)
		}

		// A good file settles the bill; the note is shown escaped.
		frag = offlineUpload(t, fin, header+"现金,2026000002,DORM-2026,,1200.00,"+today+",XJ-1,<script>alert(1)</script>\n")
		if !strings.Contains(frag, "已导入 1 笔线下收款，合计 ¥1,200.00") {
			t.Fatalf("good import fragment:\n%s", frag)
		}
		bill := rfBill(t, p, "2026000002", "DORM-2026")
		if bill.Status != store.BillPaid {
			t.Errorf("DORM bill of 2026000002 is %s, want paid", bill.Status)
		}
		var receipt store.Receipt
		if err := p.DB.NewSelect().Model(&receipt).Where("bill_id = ?", bill.ID).Scan(ctx); err != nil || receipt.Channel != "offline" {
			t.Errorf("receipt of the offline collection: %+v, %v", receipt, err)
		}

		// The list, full page and HTMX fragment; the note escaped.
		code, page := fin.Get("/console/offline")
		if code != http.StatusOK || !strings.Contains(page, "<html") || !strings.Contains(page, "XJ-1") || !strings.Contains(page, "¥1,200.00") {
			t.Fatalf("offline list: status %d\n%.400s", code, page)
		}
		if strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "&lt;script&gt;alert(1)") {
			t.Error("the note is not escaped on the list")
		}
		code, frag, _ = fin.Do("GET", "/console/offline?method=cash", nil, true)
		if code != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "XJ-1") {
			t.Errorf("offline list fragment: status %d\n%.300s", code, frag)
		}
		if _, frag, _ := fin.Do("GET", "/console/offline?method=pos", nil, true); strings.Contains(frag, "XJ-1") {
			t.Error("the POS filter shows a cash collection")
		}

		// The same file again changes nothing.
		frag = offlineUpload(t, fin, header+"现金,2026000002,DORM-2026,,1200.00,"+today+",XJ-1,again\n")
		if !strings.Contains(frag, "已导入过") {
			t.Errorf("second import of the same reference:\n%s", frag)
		}
		if n, _ := p.DB.NewSelect().Model((*store.OfflineCollection)(nil)).Count(ctx); n != 1 {
			t.Errorf("%d offline collections after importing the same reference twice, want 1", n)
		}

		// Department staff see none of it; leadership reads but can't import.
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		if code, _ := dept.Get("/console/offline"); code != http.StatusForbidden {
			t.Errorf("dept staff on the offline list: status %d, want 403", code)
		}
		leader := p.NewBrowser(t)
		leader.Login("leader", "leader123456")
		if code, page := leader.Get("/console/offline"); code != http.StatusOK || strings.Contains(page, "导入线下收款</a>") {
			t.Errorf("leader on the offline list: status %d, import button shown: %v", code, strings.Contains(page, "导入线下收款</a>"))
		}
	})
}
