package sandbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/store"
)

const refundSuccess = "SUCCESS"

type refundRequest struct {
	OutTradeNo  string `json:"out_trade_no"`
	OutRefundNo string `json:"out_refund_no"`
	AmountFen   int64  `json:"amount_fen"`
	Reason      string `json:"reason"`
}

type refundView struct {
	RefundNo    string `json:"refund_no"`
	OutRefundNo string `json:"out_refund_no"`
	AmountFen   int64  `json:"amount_fen"`
	Status      string `json:"status"`
}

func refundViewOf(r *store.SandboxRefund) refundView {
	return refundView{RefundNo: r.RefundNo, OutRefundNo: r.OutRefundNo, AmountFen: r.AmountFen, Status: r.Status}
}

var (
	errExceeds   = errors.New("sandbox: refund exceeds paid amount")
	errDuplicate = errors.New("sandbox: duplicate refund")
)

// createRefund handles POST /api/refunds: refunds are synchronous and succeed while the
// trade's refunds total no more than it was paid.
func (s *Sim) createRefund(c *fiber.Ctx) error {
	var req refundRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "请求体不是合法的 JSON")
	}
	switch {
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "out_trade_no 须为 1 至 32 位数字或字母")
	case !outRefundNoPattern.MatchString(req.OutRefundNo):
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "out_refund_no 须为 1 至 64 位数字或字母")
	case req.AmountFen <= 0 || req.AmountFen > maxAmountFen:
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "amount_fen 须大于 0 且不超过 100000000")
	case utf8.RuneCountInString(req.Reason) > 200:
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "reason 不能超过 200 个字符")
	}
	ctx := c.UserContext()
	t, err := s.findByOut(ctx, merchantOf(c), req.OutTradeNo)
	if errors.Is(err, sql.ErrNoRows) {
		return s.replyError(c, fiber.StatusNotFound, "TRADE_NOT_EXIST", "交易不存在")
	}
	if err != nil {
		return s.internal(c, err)
	}
	for range 5 {
		r, err := s.findRefund(ctx, t.TradeNo, req.OutRefundNo)
		if err == nil {
			return s.replyRefundAgain(c, r, req.AmountFen)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return s.internal(c, err)
		}
		if t.Status != StatusSuccess {
			return s.replyError(c, fiber.StatusUnprocessableEntity, "TRADE_NOT_PAID", "交易未支付，不能退款")
		}
		r, err = s.refund(ctx, t, req)
		switch {
		case errors.Is(err, errExceeds):
			if r, err := s.findRefund(ctx, t.TradeNo, req.OutRefundNo); err == nil {
				return s.replyRefundAgain(c, r, req.AmountFen) // the same refund, just committed
			}
			return s.replyError(c, fiber.StatusUnprocessableEntity, "REFUND_EXCEEDS", "退款总额超过交易已付金额")
		case errors.Is(err, errDuplicate):
			continue // the same refund at the same moment, or a refund number collision
		case err != nil:
			return s.internal(c, err)
		}
		return s.reply(c, fiber.StatusOK, refundViewOf(r))
	}
	return s.internal(c, errors.New("sandbox: create refund: no free refund number"))
}

func (s *Sim) replyRefundAgain(c *fiber.Ctx, r *store.SandboxRefund, amountFen int64) error {
	if r.AmountFen != amountFen {
		return s.replyError(c, fiber.StatusConflict, "REFUND_CONFLICT",
			fmt.Sprintf("退款单号已存在且金额不同（原金额 %d 分）", r.AmountFen))
	}
	return s.reply(c, fiber.StatusOK, refundViewOf(r))
}

// refund adds the amount to the trade's refunded total, guarded so that the total never
// passes the paid amount, and records the refund, in one transaction.
func (s *Sim) refund(ctx context.Context, t *store.SandboxTrade, req refundRequest) (*store.SandboxRefund, error) {
	r := &store.SandboxRefund{
		RefundNo:    s.newNumber("SR"),
		OutRefundNo: req.OutRefundNo,
		TradeNo:     t.TradeNo,
		AmountFen:   req.AmountFen,
		Status:      refundSuccess,
		CreatedAt:   store.UTC(s.now()),
	}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.SandboxTrade)(nil)).
			Set("refunded_fen = refunded_fen + ?", req.AmountFen).
			Where("id = ?", t.ID).Where("status = ?", StatusSuccess).
			Where("refunded_fen + ? <= amount_fen", req.AmountFen).
			Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errExceeds
		}
		_, err = tx.NewInsert().Model(r).Exec(ctx)
		if store.IsDuplicate(err) {
			return errDuplicate
		}
		return err
	})
	if err != nil && !errors.Is(err, errExceeds) && !errors.Is(err, errDuplicate) {
		return nil, fmt.Errorf("sandbox: refund: %w", err)
	}
	return r, err
}

// queryRefund handles GET /api/refunds/{out_trade_no}/{out_refund_no}.
func (s *Sim) queryRefund(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := s.findByOut(ctx, merchantOf(c), c.Params("out_trade_no"))
	if errors.Is(err, sql.ErrNoRows) {
		return s.replyError(c, fiber.StatusNotFound, "TRADE_NOT_EXIST", "交易不存在")
	}
	if err != nil {
		return s.internal(c, err)
	}
	r, err := s.findRefund(ctx, t.TradeNo, c.Params("out_refund_no"))
	if errors.Is(err, sql.ErrNoRows) {
		return s.replyError(c, fiber.StatusNotFound, "REFUND_NOT_EXIST", "退款不存在")
	}
	if err != nil {
		return s.internal(c, err)
	}
	return s.reply(c, fiber.StatusOK, refundViewOf(r))
}

func (s *Sim) findRefund(ctx context.Context, tradeNo, outRefundNo string) (*store.SandboxRefund, error) {
	r := new(store.SandboxRefund)
	err := s.DB.NewSelect().Model(r).
		Where("trade_no = ?", tradeNo).Where("out_refund_no = ?", outRefundNo).
		Scan(ctx)
	return r, err
}
