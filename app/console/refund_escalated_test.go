package console_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/server/servertest"
	"campuspay/store"
)

// A refund the channel has left without an outcome for a day is flagged in the refund queue
// and on its page, with the channel's words (billing's follow-up sets escalated_at).
func TestEscalatedRefundIsFlaggedInTheQueue(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		rfPayByCard(t, p, rfStudent, "CET-2026-12")
		bill := rfBill(t, p, rfStudent, "CET-2026-12")
		dept := rfSignIn(t, p, "dept_jwc", "dept123456")
		dept.Get("/console/refunds/new?bill=" + strconv.FormatInt(bill.ID, 10))
		id := rfRefundOf(t)(dept.Post("/console/refunds", url.Values{"bill": {strconv.FormatInt(bill.ID, 10)}, "amount": {"30"}, "reason": {"退考"}}))
		fin := rfSignIn(t, p, "finance", "finance123456")
		if _, page := fin.Get("/console/refunds?status=pending"); strings.Contains(page, "需人工核查") {
			t.Fatalf("a pending refund is flagged for finance")
		}
		now := time.Now().UTC()
		if _, err := p.DB.NewUpdate().Model((*store.Refund)(nil)).Set("status = ?", store.RefundProcessing).
			Set("escalated_at = ?", now).Set("sync_attempts = 28").Set("channel_message = ?", "渠道正在处理退款：银行处理异常，请人工核实").
			Where("id = ?", id).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, page := fin.Get("/console/refunds?status=processing")
		if !strings.Contains(page, "需人工核查") || !strings.Contains(page, "银行处理异常，请人工核实") {
			t.Errorf("refund queue does not flag the escalated refund with the channel's words")
		}
		_, page = fin.Get(rfPath(id, ""))
		if !strings.Contains(page, "转财务人工核查") || !strings.Contains(page, "已查询 28 次") {
			t.Errorf("refund page does not say the refund is finance's to look into")
		}
	})
}
