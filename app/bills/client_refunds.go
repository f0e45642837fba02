package bills

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/fault"
	"campuspay/store"
)

// ClientRefundRequest is a business system's refund request (API.md,
// POST /api/v1/bills/{bill_no}/refunds).
type ClientRefundRequest struct {
	RefundNo string `json:"refund_no"`
	Amount   *int64 `json:"amount"` // fen
	Reason   string `json:"reason"`
}

// APIRefundDetail is a refund as the API shows it (GET /api/v1/refunds/{refund_no}).
type APIRefundDetail struct {
	RefundNo   string  `json:"refund_no"`
	BillNo     string  `json:"bill_no"`
	Amount     int64   `json:"amount"`
	Reason     string  `json:"reason"`
	Status     string  `json:"status"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
	FinishedAt *string `json:"finished_at"`
}

// RequestClientBillRefund asks for money back on a client's bill (RequestClientRefund: it
// waits as pending in the console's approval queue). It reports created false when the
// same refund_no was asked before with the same bill, amount and reason; with anything
// different it is 409 refund_conflict. Asking more than can be refunded now — including
// from a bill with nothing paid, or after the item's refund deadline — is 422
// refund_exceeds_paid (what may be refunded now is less than asked).
func (s *Service) RequestClientBillRefund(ctx context.Context, client *store.Client, billNo string, req ClientRefundRequest) (*APIRefundDetail, bool, error) {
	if req.RefundNo == "" {
		return nil, false, fault.BadField("refund_no", "必填")
	}
	if !apiBillNoRE.MatchString(req.RefundNo) {
		return nil, false, fault.BadField("refund_no", "须为 1–64 个字母、数字或 - . _ ~ ! $ & ' ( ) * + , ; = : @ 字符")
	}
	if req.Amount == nil {
		return nil, false, fault.BadField("amount", "必填（整数，单位：分）")
	}
	reason, err := billing.RefundText(req.Reason, "退款原因")
	if err != nil {
		return nil, false, fault.BadField("reason", "%s", fault.Message(err, "无效"))
	}
	bill, err := s.clientBillRow(ctx, client.AppID, billNo)
	if err != nil {
		return nil, false, err
	}
	r, created, err := s.Billing.RequestClientRefund(ctx, billing.RefundRequest{
		BillID: bill.ID, AmountFen: *req.Amount, Reason: reason,
		SourceClient: client.AppID, ClientRefundNo: req.RefundNo, Actor: "client:" + client.AppID,
	})
	var be *fault.Error
	if errors.As(err, &be) && (be.Code == "not_refundable" || be.Code == "refund_split") {
		return nil, false, fault.New(fault.ErrInvalid, "refund_exceeds_paid", "%s", be.Message)
	}
	if err != nil {
		return nil, false, err
	}
	return apiRefundDetail(r, bill.BillNo, req.RefundNo), created, nil
}

func apiRefundDetail(r *store.Refund, billNo, refundNo string) *APIRefundDetail {
	out := &APIRefundDetail{RefundNo: refundNo, BillNo: billNo, Amount: r.AmountFen, Reason: r.Reason, Status: string(r.Status),
		CreatedAt: billing.APITime(r.CreatedAt), UpdatedAt: billing.APITime(r.UpdatedAt)}
	if r.FinishedAt != nil {
		f := billing.APITime(*r.FinishedAt)
		out.FinishedAt = &f
	}
	return out
}

// ClientRefund returns a refund of one of the client's bills by the number the client
// knows it by: its own refund_no, or — for a refund finance made in the console — the
// platform's number, as the bill's refunds list shows it.
func (s *Service) ClientRefund(ctx context.Context, client *store.Client, refundNo string) (*APIRefundDetail, error) {
	if !apiBillNoRE.MatchString(refundNo) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "退款 %s 不存在", store.Clip(refundNo, 64))
	}
	r := new(store.Refund)
	err := s.DB.NewSelect().Model(r).Relation("Bill", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Column("bill_no", "source_client") }).
		Where("refund.client_refund_no = ?", refundNo).Where("bill.source_client = ?", client.AppID).
		Where("refund.source_client IN (?)", bun.In([]string{client.AppID, ""})).
		OrderExpr("refund.source_client DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "退款 %s 不存在", refundNo)
	}
	if err != nil {
		return nil, fmt.Errorf("bills: client refund: %w", err)
	}
	return apiRefundDetail(r, r.Bill.BillNo, refundNo), nil
}
