package console_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/money"
	"campuspay/app/recon"
	"campuspay/app/server/servertest"
	"campuspay/app/settings"
	"campuspay/store"
)

// voucherDay sets up one business day of money: two campus card payments (DORM-2026 by
// 2026000001, CET-2026-12 by 2026000002), an offline cash collection (DORM-2026 by
// 2026000003), and a refund of the CET fee, approved by a second finance user.
func voucherDay(t *testing.T, p *servertest.Platform) {
	t.Helper()
	ctx := context.Background()
	rfPayByCard(t, p, "2026000001", "DORM-2026")
	rfPayByCard(t, p, "2026000002", "CET-2026-12")
	today := bizday.DayOf(time.Now()).Format("2006-01-02")
	job, err := p.Billing.ImportOffline(ctx, "cash.csv", []byte("方式,学号/工号,项目编码,金额,收款日期,凭证号\n现金,2026000003,DORM-2026,1200.00,"+today+",XJ-9\n"), "finance")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		job, _, err = p.Imports.Job(ctx, job.ID, nil)
		if err != nil || job.Status.Finished() || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || job.Status != store.ImportDone {
		t.Fatalf("offline import: %v %+v", err, job)
	}
	cet := rfBill(t, p, "2026000002", "CET-2026-12")
	r, err := p.Billing.RequestRefund(ctx, billing.RefundRequest{BillID: cet.ID, AmountFen: 3000, Reason: "考试取消", Actor: "finance"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = p.Billing.ApproveRefund(ctx, r.ID, "finance2", "同意"); err != nil || r.Status != store.RefundSucceeded {
		t.Fatalf("refund: %v %+v", err, r)
	}
}

func TestVouchers(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		voucherDay(t, p)
		today := bizday.DayOf(time.Now())
		// The campus card's statement of the day, twice: the first version superseded.
		for _, st := range []store.Statement{
			{Source: "campuscard", Day: today, Version: 1, ContentHash: strings.Repeat("a", 64), Origin: "fetch", FeeFen: 999, Superseded: true, CreatedBy: "system", CreatedAt: time.Now()},
			{Source: "campuscard", Day: today, Version: 2, ContentHash: strings.Repeat("b", 64), Origin: "fetch", FeeFen: 125, CreatedBy: "system", CreatedAt: time.Now()},
		} {
			if _, err := p.DB.NewInsert().Model(&st).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := p.Recon.Vouchers(ctx, today, today)
		if err != nil {
			t.Fatal(err)
		}

		// Every figure recomputed from the payments and refunds of the day.
		start, end := bizday.DayStart(today), bizday.DayStart(today.AddDate(0, 0, 1))
		var paid []struct {
			Channel  string `bun:"channel"`
			Dept     string `bun:"dept"`
			Credited int64  `bun:"credited_fen"`
		}
		if err := p.DB.NewSelect().TableExpr("payments AS p").
			Join("JOIN order_lines AS ol ON ol.order_id = p.order_id").Join("JOIN bills AS b ON b.id = ol.bill_id").
			Join("JOIN charge_items AS ci ON ci.id = b.item_id").Join("JOIN departments AS d ON d.id = ci.department_id").
			ColumnExpr("p.channel, d.name AS dept, p.credited_fen").
			Where("p.paid_at >= ? AND p.paid_at < ?", start, end).Scan(ctx, &paid); err != nil {
			t.Fatal(err)
		}
		var refunds []store.Refund
		if err := p.DB.NewSelect().Model(&refunds).Where("status = ?", store.RefundSucceeded).
			Where("finished_at >= ? AND finished_at < ?", start, end).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		wantCollected, wantRefunded, wantDept := map[string]int64{}, map[string]int64{}, map[string]int64{}
		var total int64
		for _, r := range paid {
			wantCollected[r.Channel] += r.Credited
			wantDept[r.Dept] += r.Credited
			total += r.Credited
		}
		for _, r := range refunds {
			wantRefunded[r.Channel] += r.AmountFen
		}
		if total != 120000+3000+120000 || wantRefunded["campuscard"] != 3000 {
			t.Fatalf("the day's money: collected %d, refunded %v; the setup did not run as planned", total, wantRefunded)
		}
		for _, c := range rep.ByChannel {
			if c.CollectedFen != wantCollected[c.Key] || c.RefundedFen != wantRefunded[c.Key] {
				t.Errorf("channel %s: collected %d refunded %d, want %d and %d", c.Key, c.CollectedFen, c.RefundedFen, wantCollected[c.Key], wantRefunded[c.Key])
			}
			if fee := map[string]int64{"campuscard": 125}[c.Key]; c.FeeFen != fee {
				t.Errorf("channel %s: fee %d, want %d (the latest statement version not superseded)", c.Key, c.FeeFen, fee)
			}
		}
		if len(rep.ByChannel) != 2 {
			t.Errorf("channels = %+v, want campuscard and offline", rep.ByChannel)
		}
		for _, d := range rep.Departments {
			if d.CollectedFen != wantDept[d.Key] {
				t.Errorf("department %s: collected %d, want %d", d.Key, d.CollectedFen, wantDept[d.Key])
			}
		}
		var rowsCollected, rowsRefunded int64
		for _, r := range rep.Rows {
			rowsCollected += r.CollectedFen
			rowsRefunded += r.RefundedFen
		}
		if rowsCollected != total || rep.Total.CollectedFen != total || rowsRefunded != 3000 || rep.Total.RefundedFen != 3000 ||
			rep.Total.FeeFen != 125 || rep.Total.NetFen() != total-3000-125 {
			t.Errorf("totals %+v (rows %d / %d), want collected %d, refunded 3000, fee 125", rep.Total, rowsCollected, rowsRefunded, total)
		}

		// Debits equal credits in every voucher.
		type key struct {
			day string
			no  int
		}
		debit, credit := map[key]int64{}, map[key]int64{}
		for _, l := range rep.Lines {
			k := key{l.Day.Format("2006-01-02"), l.No}
			debit[k] += l.DebitFen
			credit[k] += l.CreditFen
		}
		if len(debit) != rep.Vouchers || rep.Vouchers != 4 { // card: 收款, 退款, 手续费; offline: 收款
			t.Errorf("%d vouchers (%d numbered), want 4", rep.Vouchers, len(debit))
		}
		for k := range debit {
			if debit[k] != credit[k] || debit[k] == 0 {
				t.Errorf("voucher %v: debit %d, credit %d", k, debit[k], credit[k])
			}
		}

		// The page shows the same figures; leadership reads it, department staff don't.
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		day := today.Format("2006-01-02")
		code, page := fin.Get("/console/vouchers?from=" + day + "&to=" + day)
		if code != http.StatusOK {
			t.Fatalf("vouchers page: status %d\n%.500s", code, page)
		}
		for _, want := range []string{money.Format(total), "¥30.00", "¥1.25", money.Format(total - 3000 - 125), "第 2 版", "无需对账单", "后勤管理处", "2026-2027学年住宿费"} {
			if !strings.Contains(page, want) {
				t.Errorf("vouchers page lacks %q", want)
			}
		}
		if code, frag, _ := fin.Do("GET", "/console/vouchers?from="+day, nil, true); code != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, money.Format(total)) {
			t.Errorf("vouchers fragment: status %d", code)
		}
		if code, _ := fin.Get("/console/vouchers?from=2026-01-01&to=2026-03-01"); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			t.Errorf("a 60-day range: status %d, want refused", code)
		}
		leader := p.NewBrowser(t)
		leader.Login("leader", "leader123456")
		if code, _ := leader.Get("/console/vouchers?from=" + day); code != http.StatusOK {
			t.Errorf("leader on vouchers: status %d", code)
		}
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		if code, _ := dept.Get("/console/vouchers?from=" + day); code != http.StatusForbidden {
			t.Errorf("dept staff on vouchers: status %d, want 403", code)
		}

		// The workbook: balanced, its totals those of the page; changed accounts show.
		if _, err := p.Settings.Set(ctx, settings.VoucherClearingPrefix+"campuscard", "101201 其他货币资金-校园卡", "finance"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Settings.Set(ctx, settings.VoucherIncomePrefix+"accommodation", "410199 事业收入-住宿", "finance"); err != nil {
			t.Fatal(err)
		}
		code, _, resp := fin.Do("GET", "/console/vouchers/export.xlsx?from="+day+"&to="+day, nil, false)
		if code != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), ".xlsx") {
			t.Fatalf("export: status %d", code)
		}
		_, raw, _ := fin.Do("GET", "/console/vouchers/export.xlsx?from="+day+"&to="+day, nil, false)
		x, err := excelize.OpenReader(bytes.NewReader([]byte(raw)))
		if err != nil {
			t.Fatalf("the export is no workbook: %v", err)
		}
		defer x.Close()
		lines, _ := x.GetRows("凭证")
		if len(lines) < 2 || strings.Join(lines[0], ",") != strings.Join(recon.VoucherSheetHeader, ",") {
			t.Fatalf("voucher sheet header = %v", lines)
		}
		var sumDebit, sumCredit int64
		accounts := map[string]bool{}
		for _, row := range lines[1 : len(lines)-1] {
			sumDebit += cellFen(t, row, 6)
			sumCredit += cellFen(t, row, 7)
			accounts[cell(row, 4)+" "+cell(row, 5)] = true
		}
		if sumDebit != sumCredit || sumDebit == 0 {
			t.Errorf("workbook debits %d, credits %d", sumDebit, sumCredit)
		}
		for _, want := range []string{"101201 其他货币资金-校园卡", "410199 事业收入-住宿", "1002 银行存款", "410103 事业收入-考试费", "5901 其他费用-支付手续费"} {
			if !accounts[want] {
				t.Errorf("workbook accounts %v lack %q", accounts, want)
			}
		}
		summary, _ := x.GetRows("汇总")
		last := summary[len(summary)-1]
		if cell(last, 0) != "合计" || cellFen(t, last, 7) != total || cellFen(t, last, 8) != 3000 || cellFen(t, last, 9) != 125 || cellFen(t, last, 12) != total-3000-125 {
			t.Errorf("summary totals %v, want collected %d, refunded 3000, fee 125", last, total)
		}
		var summed int64
		for _, row := range summary[1 : len(summary)-1] {
			summed += cellFen(t, row, 12)
		}
		if summed != total-3000-125 {
			t.Errorf("summary rows' net adds up to %d, want %d", summed, total-3000-125)
		}
	})
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func cellFen(t *testing.T, row []string, i int) int64 {
	t.Helper()
	v := cell(row, i)
	if v == "" {
		return 0
	}
	fen, err := money.ParseYuan(v)
	if err != nil {
		neg, err2 := money.ParseYuan(strings.TrimPrefix(v, "-"))
		if err2 != nil || !strings.HasPrefix(v, "-") {
			t.Fatalf("cell %q: %v", v, err)
		}
		return -neg
	}
	return fen
}
