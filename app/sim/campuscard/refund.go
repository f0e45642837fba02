package campuscard

import (
	"campuspay/app/money"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/store"
)

type refundRequest struct {
	OutNo       string `json:"out_no"`
	OutRefundNo string `json:"out_refund_no"`
	AmountFen   int64  `json:"amount_fen"`
}

// refundAnswer is the JSON of a refund, from POST /api/refund and GET /api/refunds/{no}.
type refundAnswer struct {
	TxnNo        string `json:"txn_no"`
	OutNo        string `json:"out_no"`
	OutRefundNo  string `json:"out_refund_no"`
	AmountFen    int64  `json:"amount_fen"`
	BalanceAfter int64  `json:"balance_after"`
	Time         string `json:"time"`
}

func refundOf(r, debit *store.CardTxn) refundAnswer {
	return refundAnswer{
		TxnNo:        r.TxnNo,
		OutNo:        debit.OutNo,
		OutRefundNo:  r.OutNo,
		AmountFen:    r.AmountFen,
		BalanceAfter: r.BalanceAfter,
		Time:         r.CreatedAt.In(shanghai).Format(time.RFC3339),
	}
}

var errRefundExceeds = errors.New("campuscard: refund exceeds what is left of the debit")

// refund credits a debit's card back: POST /api/refund. The refunds of a debit never
// add up to more than the debit.
func (s *Sim) refund(c *fiber.Ctx) error {
	var req refundRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return badRequest(c, "请求格式错误")
	}
	if !outNoRe.MatchString(req.OutNo) || !outNoRe.MatchString(req.OutRefundNo) ||
		req.AmountFen <= 0 || req.AmountFen > maxAmountFen {
		return badRequest(c, "缺少必填字段或金额不正确")
	}
	ctx := c.UserContext()
	debit, err := s.txnByOut(ctx, kindDebit, req.OutNo)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(c, fiber.StatusNotFound, "not_found", "原扣款交易不存在")
	} else if err != nil {
		return err
	}
	if r, err := s.txnByOut(ctx, kindRefund, req.OutRefundNo); err == nil {
		return refundAgain(c, debit, req, r)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}

	r := &store.CardTxn{
		TxnNo:      "R" + randomHex(8),
		DebitTxnNo: debit.TxnNo,
		CardNo:     debit.CardNo,
		Kind:       kindRefund,
		OutNo:      req.OutRefundNo,
		AmountFen:  req.AmountFen,
		CreatedAt:  store.UTC(s.now()),
	}
	var refundedFen int64
	txErr := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The UPDATE comes first: it takes the card's row lock before this transaction
		// reads anything, so the sum below sees every refund committed before it.
		res, err := tx.NewUpdate().Model((*store.CardAccount)(nil)).
			Set("balance_fen = balance_fen + ?", r.AmountFen).
			Set("updated_at = ?", r.CreatedAt).
			Where("card_no = ?", r.CardNo).
			Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("campuscard: refund: card %s of debit %s is gone", r.CardNo, debit.TxnNo)
		}
		err = tx.NewSelect().Model((*store.CardTxn)(nil)).
			ColumnExpr("COALESCE(SUM(amount_fen), 0)").
			Where("kind = ? AND debit_txn_no = ?", kindRefund, debit.TxnNo).
			Scan(ctx, &refundedFen)
		if err != nil {
			return err
		}
		if refundedFen+r.AmountFen > debit.AmountFen {
			return errRefundExceeds
		}
		err = tx.NewSelect().Model((*store.CardAccount)(nil)).Column("balance_fen").
			Where("card_no = ?", r.CardNo).Scan(ctx, &r.BalanceAfter)
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(r).Exec(ctx)
		return err
	})
	switch {
	case txErr == nil:
		return c.JSON(refundOf(r, debit))
	case errors.Is(txErr, errRefundExceeds), store.IsDuplicate(txErr):
		// Nothing was written. The same refund may have gone through meanwhile.
		if first, err := s.txnByOut(ctx, kindRefund, req.OutRefundNo); err == nil {
			return refundAgain(c, debit, req, first)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if store.IsDuplicate(txErr) {
			return txErr // a txn_no collision: vanishingly rare, the client retries
		}
		return fail(c, fiber.StatusUnprocessableEntity, "refund_exceeds",
			"退款金额超过可退金额，可退 "+money.Format(debit.AmountFen-refundedFen))
	default:
		return txErr
	}
}

// refundAgain answers a refund whose out_refund_no is already used: the first refund
// when it is the same, 409 otherwise.
func refundAgain(c *fiber.Ctx, debit *store.CardTxn, req refundRequest, first *store.CardTxn) error {
	if first.DebitTxnNo != debit.TxnNo || first.AmountFen != req.AmountFen {
		return fail(c, fiber.StatusConflict, "conflict", "该退款单号已用于另一笔退款")
	}
	return c.JSON(refundOf(first, debit))
}
