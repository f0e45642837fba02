package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/server/servertest"
	"campuspay/store"
)

func TestRefundThroughSandboxPartThenAll(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		order := rfPayBySandbox(t, p, rfStudent, "DORM-2026") // ¥1,200.00
		bill := rfBill(t, p, rfStudent, "DORM-2026")
		before := rfReceipts(t, p, bill.ID)
		if len(before) != 1 {
			t.Fatalf("receipts after payment = %d, want 1", len(before))
		}

		fin := rfSignIn(t, p, "finance", "finance123456")
		fin2 := rfAddFinance(t, p)
		code, page := fin.Get("/console/refunds/new?bill=" + strconv.FormatInt(bill.ID, 10))
		if code != http.StatusOK || !strings.Contains(page, "¥1,200.00") || !strings.Contains(page, `name="amount"`) || !strings.Contains(page, "1200.00") {
			t.Fatalf("refund form: status %d; want the bill, what may be refunded and an amount field\n%s", code, page)
		}

		// More than was paid: told beside the form, nothing written.
		_, frag, _ := fin.Do("POST", "/console/refunds", url.Values{"bill": {strconv.FormatInt(bill.ID, 10)}, "amount": {"1200.01"}, "reason": {"退宿"}}, true)
		if !strings.Contains(frag, "超过可退金额 ¥1,200.00") {
			t.Errorf("over-refund answer = %q, want 超过可退金额 ¥1,200.00", frag)
		}
		_, frag, _ = fin.Do("POST", "/console/refunds", url.Values{"bill": {strconv.FormatInt(bill.ID, 10)}, "amount": {"12.345"}, "reason": {"退宿"}}, true)
		if !strings.Contains(frag, "金额最多两位小数") {
			t.Errorf("three decimals answer = %q, want 金额最多两位小数", frag)
		}
		if n, _ := p.DB.NewSelect().Model((*store.Refund)(nil)).Count(ctx); n != 0 {
			t.Fatalf("refunds after refused requests = %d, want 0", n)
		}

		// ¥200.00 back, asked by finance: finance cannot approve it, another finance user can.
		id := rfRefundOf(t)(fin.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(bill.ID, 10)}, "amount": {"200"}, "reason": {"调换宿舍，按天退还"}}))
		_, page = fin.Get(rfPath(id, ""))
		if !strings.Contains(page, "badge-pending") || !strings.Contains(page, "需由另一位财务人员审批") {
			t.Errorf("own pending refund page lacks its status or the note about approval")
		}
		code, page, _ = fin.Post(rfPath(id, "/approve"), nil)
		if code != http.StatusForbidden || !strings.Contains(page, "不能审批自己提交的退款申请") {
			t.Errorf("self approval: status %d, want 403 saying why", code)
		}
		fin2.Get(rfPath(id, ""))
		rfRefundOf(t)(fin2.Post(rfPath(id, "/approve"), url.Values{"note": {"同意"}}))
		r := rfRefund(t, p, id)
		if r.Status != store.RefundSucceeded || r.ChannelRefundNo == "" || r.DecidedBy != rfFinance2 {
			t.Fatalf("refund = %s by %q, channel no %q; want succeeded with the sandbox's number", r.Status, r.DecidedBy, r.ChannelRefundNo)
		}
		var trade store.SandboxTrade
		if err := p.DB.NewSelect().Model(&trade).Where("out_trade_no = ?", order.OrderNo).Scan(ctx); err != nil || trade.RefundedFen != 20000 {
			t.Errorf("sandbox trade refunded %d, want 20000 (%v)", trade.RefundedFen, err)
		}
		b := rfReload(t, p, bill.ID)
		if b.AmountRefundedFen != 20000 || b.Status != store.BillPaid {
			t.Errorf("bill = refunded %d, %s; want 20000 and still paid", b.AmountRefundedFen, b.Status)
		}
		rs := rfReceipts(t, p, bill.ID)
		if len(rs) != 2 || !rs[0].Voided || rs[0].VoidReason != "退款" || rs[1].Voided || rs[1].AmountFen != 100000 || rs[1].ReplacesNo != rs[0].ReceiptNo {
			t.Fatalf("receipts = %+v; want the first voided for 退款 and a new one of ¥1,000.00", rs)
		}
		if rs[1].Year != rs[0].Year || rs[1].Seq != rs[0].Seq+1 {
			t.Errorf("new receipt %s, want the number after %s", rs[1].ReceiptNo, rs[0].ReceiptNo)
		}
		_, page = fin.Get(rfPath(id, ""))
		for _, want := range []string{"退款成功", "提交退款申请", "审批通过", "同意", rfFinance2, r.ChannelRefundNo} {
			if !strings.Contains(page, want) {
				t.Errorf("refund page lacks %q", want)
			}
		}
		_, verify := p.NewBrowser(t).Get("/r/" + rs[0].VerifyToken)
		if !strings.Contains(verify, "作废") {
			t.Errorf("verification page of the voided receipt does not say 作废")
		}

		// The rest, asked by finance2 and approved by finance: the bill is refunded.
		id2 := rfRefundOf(t)(fin2.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(bill.ID, 10)}, "amount": {"1,000.00"}, "reason": {"退宿"}}))
		fin.Get(rfPath(id2, ""))
		rfRefundOf(t)(fin.Post(rfPath(id2, "/approve"), nil))
		if b := rfReload(t, p, bill.ID); b.AmountRefundedFen != 120000 || b.Status != store.BillRefunded {
			t.Errorf("bill = refunded %d, %s; want 120000 refunded", b.AmountRefundedFen, b.Status)
		}
		if rs := rfReceipts(t, p, bill.ID); len(rs) != 2 || !rs[1].Voided {
			t.Errorf("after the full refund: %d receipts, last voided=%v; want no live receipt", len(rs), rs[len(rs)-1].Voided)
		}
		// Nothing is left to refund.
		_, page = fin.Get("/console/refunds/new?bill=" + strconv.FormatInt(bill.ID, 10))
		if strings.Contains(page, `name="amount"`) || !strings.Contains(page, "不能退款") {
			t.Errorf("refund form of a refunded bill still offers an amount")
		}
	})
}

func TestDepartmentRefundByCampusCardAndScope(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		balance, _ := p.Card.Balance(ctx, rfStudent)
		rfPayByCard(t, p, rfStudent, "CET-2026-12") // ¥30.00, 教务处
		rfPayByCard(t, p, rfStudent, "DORM-2026")   // ¥1,200.00, 后勤管理处
		if got, _ := p.Card.Balance(ctx, rfStudent); got != balance-123000 {
			t.Fatalf("card balance after paying = %d, want %d", got, balance-123000)
		}
		cet, dorm := rfBill(t, p, rfStudent, "CET-2026-12"), rfBill(t, p, rfStudent, "DORM-2026")

		dept := rfSignIn(t, p, "dept_jwc", "dept123456")
		_, found := dept.Get("/console/refunds/new?payer=" + rfStudent)
		if !strings.Contains(found, "?bill="+strconv.FormatInt(cet.ID, 10)) || strings.Contains(found, "?bill="+strconv.FormatInt(dorm.ID, 10)) {
			t.Errorf("dept staff finding a payer's bills: want the exam fee only")
		}
		if code, _ := dept.Get("/console/refunds/new?bill=" + strconv.FormatInt(dorm.ID, 10)); code != http.StatusNotFound {
			t.Errorf("dept staff opening another department's bill: status %d, want 404", code)
		}
		dept.Get("/console/refunds/new?bill=" + strconv.FormatInt(cet.ID, 10))
		if code, _, _ := dept.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(dorm.ID, 10)}, "amount": {"10"}, "reason": {"x"}}); code != http.StatusNotFound {
			t.Errorf("dept staff asking to refund another department's bill: status %d, want 404", code)
		}
		own := rfRefundOf(t)(dept.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(cet.ID, 10)}, "amount": {"30"}, "reason": {"考试取消"}}))

		fin := rfSignIn(t, p, "finance", "finance123456")
		fin.Get("/console/refunds")
		other := rfRefundOf(t)(fin.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(dorm.ID, 10)}, "amount": {"100"}, "reason": {"住宿调整"}}))

		// Department staff see their own department's refunds only, and cannot decide.
		_, list := dept.Get("/console/refunds")
		if !strings.Contains(list, rfRefund(t, p, own).RefundNo) || strings.Contains(list, rfRefund(t, p, other).RefundNo) {
			t.Errorf("dept refund list: want the exam fee refund only")
		}
		if code, _ := dept.Get(rfPath(other, "")); code != http.StatusNotFound {
			t.Errorf("dept staff opening another department's refund: status %d, want 404", code)
		}
		if code, _, _ := dept.Post(rfPath(own, "/approve"), nil); code != http.StatusForbidden {
			t.Errorf("dept staff approving: status %d, want 403", code)
		}

		fin.Get(rfPath(own, ""))
		rfRefundOf(t)(fin.Post(rfPath(own, "/approve"), nil))
		if r := rfRefund(t, p, own); r.Status != store.RefundSucceeded {
			t.Fatalf("campus card refund = %s (%s), want succeeded", r.Status, r.ChannelMessage)
		}
		if got, _ := p.Card.Balance(ctx, rfStudent); got != balance-120000 {
			t.Errorf("card balance after the refund = %d, want %d (¥30.00 back)", got, balance-120000)
		}
		if b := rfReload(t, p, cet.ID); b.Status != store.BillRefunded {
			t.Errorf("exam fee bill = %s, want refunded", b.Status)
		}

		// Rejecting needs a reason; the requester then sees it.
		fin.Get(rfPath(other, ""))
		_, frag, _ := fin.Do("POST", rfPath(other, "/reject"), url.Values{"reason": {""}}, true)
		if !strings.Contains(frag, "请填写驳回原因") {
			t.Errorf("reject without reason = %q, want 请填写驳回原因", frag)
		}
		rfRefundOf(t)(fin.Post(rfPath(other, "/reject"), url.Values{"reason": {"请提供退宿证明"}}))
		_, page := fin.Get(rfPath(other, ""))
		if !strings.Contains(page, "已驳回") || !strings.Contains(page, "请提供退宿证明") {
			t.Errorf("rejected refund page lacks its status or reason")
		}
	})
}

func TestOverpaymentRefundedThroughConsole(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		// The payer opens a sandbox order, lets it lapse, pays the bill by card, then
		// confirms the old order at the sandbox after all: the money arrives for a paid bill.
		late := rfStartSandbox(t, p, rfStudent, "CET-2026-12")
		past := store.UTC(time.Now().Add(-time.Second))
		if _, err := p.DB.NewUpdate().Model((*store.Bill)(nil)).Set("held_until = ?", past).
			Where("held_by_order_id = ?", late.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		rfPayByCard(t, p, rfStudent, "CET-2026-12")
		rfConfirmAtSandbox(t, p, late)

		fin := rfSignIn(t, p, "finance", "finance123456")
		fin2 := rfAddFinance(t, p)
		_, page := fin.Get("/console/overpayments")
		if !strings.Contains(page, late.OrderNo) || !strings.Contains(page, "¥30.00") || !strings.Contains(page, "/refund") {
			t.Fatalf("overpayments page lacks the late order or its refund button\n%s", page)
		}
		var op store.Overpayment
		if err := p.DB.NewSelect().Model(&op).Where("order_id = ?", late.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		id := rfRefundOf(t)(fin.Post("/console/overpayments/"+strconv.FormatInt(op.ID, 10)+"/refund", nil))
		if code, _, _ := fin.Post("/console/overpayments/"+strconv.FormatInt(op.ID, 10)+"/refund", nil); code != http.StatusConflict {
			t.Errorf("second refund of one overpayment: status %d, want 409", code)
		}
		if code, _, _ := fin.Post(rfPath(id, "/approve"), nil); code != http.StatusForbidden {
			t.Errorf("self approval: status %d, want 403", code)
		}
		fin2.Get(rfPath(id, ""))
		rfRefundOf(t)(fin2.Post(rfPath(id, "/approve"), nil))
		if r := rfRefund(t, p, id); r.Status != store.RefundSucceeded || r.BillID != nil {
			t.Fatalf("overpayment refund = %s (%s), want succeeded without a bill", r.Status, r.ChannelMessage)
		}
		p.DB.NewSelect().Model(&op).Where("id = ?", op.ID).Scan(ctx)
		if op.Status != "refunded" {
			t.Errorf("overpayment = %s, want refunded", op.Status)
		}
		var trade store.SandboxTrade
		p.DB.NewSelect().Model(&trade).Where("out_trade_no = ?", late.OrderNo).Scan(ctx)
		if trade.RefundedFen != 3000 {
			t.Errorf("sandbox refunded %d of the late trade, want 3000", trade.RefundedFen)
		}
		if b := rfBill(t, p, rfStudent, "CET-2026-12"); b.Status != store.BillPaid || b.AmountRefundedFen != 0 {
			t.Errorf("bill = %s, refunded %d; the card payment must stand", b.Status, b.AmountRefundedFen)
		}
		_, page = fin.Get("/console/overpayments?status=refunded")
		if !strings.Contains(page, late.OrderNo) || !strings.Contains(page, "已退款") {
			t.Errorf("refunded overpayments lack the order")
		}
		// Department staff have no overpayments page, nor the overpayment's refund.
		dept := rfSignIn(t, p, "dept_jwc", "dept123456")
		if code, _ := dept.Get("/console/overpayments"); code != http.StatusForbidden {
			t.Errorf("dept staff on overpayments: status %d, want 403", code)
		}
		if code, _ := dept.Get(rfPath(id, "")); code != http.StatusNotFound {
			t.Errorf("dept staff on an overpayment refund: status %d, want 404", code)
		}
	})
}

func TestRefundListPageFragmentAndEscaping(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		rfPayByCard(t, p, rfStudent, "CET-2026-12")
		bill := rfBill(t, p, rfStudent, "CET-2026-12")
		dept := rfSignIn(t, p, "dept_jwc", "dept123456")
		dept.Get("/console/refunds/new?bill=" + strconv.FormatInt(bill.ID, 10))
		xss := `<script>alert("x")</script>`
		id := rfRefundOf(t)(dept.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(bill.ID, 10)}, "amount": {"30"}, "reason": {xss}}))

		fin := rfSignIn(t, p, "finance", "finance123456")
		_, page := fin.Get(rfPath(id, ""))
		if strings.Contains(page, xss) || !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("refund page does not escape the reason")
		}
		code, full := fin.Get("/console/refunds?status=pending")
		if code != http.StatusOK || !strings.Contains(full, "<html") || !strings.Contains(full, `id="refund-rows"`) || !strings.Contains(full, "待审核") {
			t.Fatalf("refund list page: status %d, want the whole page with the pending refund", code)
		}
		_, frag, _ := fin.Do("GET", "/console/refunds?status=pending", nil, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, `id="refund-rows"`) || !strings.Contains(frag, rfRefund(t, p, id).RefundNo) {
			t.Errorf("refund list fragment: want the rows without the layout")
		}
		_, frag, _ = fin.Do("GET", "/console/refunds?status=succeeded", nil, true)
		if strings.Contains(frag, rfRefund(t, p, id).RefundNo) || !strings.Contains(frag, "没有符合条件的退款") {
			t.Errorf("succeeded filter shows the pending refund")
		}
		// Leadership reads, decides nothing.
		leader := rfSignIn(t, p, "leader", "leader123456")
		if code, page := leader.Get(rfPath(id, "")); code != http.StatusOK || strings.Contains(page, "/approve") {
			t.Errorf("leader on a refund: status %d, approve button shown=%v", code, strings.Contains(page, "/approve"))
		}
	})
}
