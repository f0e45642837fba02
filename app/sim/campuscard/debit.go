package campuscard

import (
	"campuspay/app/money"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"campuspay/store"
)

const (
	kindDebit  = "debit"
	kindRefund = "refund"
)

type debitRequest struct {
	HolderNo  string `json:"holder_no"`
	Password  string `json:"password"`
	OutNo     string `json:"out_no"`
	AmountFen int64  `json:"amount_fen"`
	Subject   string `json:"subject"`
}

// debitAnswer is the JSON of a debit, from POST /api/debit and GET /api/txns/{out_no}.
type debitAnswer struct {
	TxnNo        string `json:"txn_no"`
	OutNo        string `json:"out_no"`
	AmountFen    int64  `json:"amount_fen"`
	BalanceAfter int64  `json:"balance_after"`
	Time         string `json:"time"`
}

func debitOf(t *store.CardTxn) debitAnswer {
	return debitAnswer{
		TxnNo:        t.TxnNo,
		OutNo:        t.OutNo,
		AmountFen:    t.AmountFen,
		BalanceAfter: t.BalanceAfter,
		Time:         t.CreatedAt.In(shanghai).Format(time.RFC3339),
	}
}

var errNotDebited = errors.New("campuscard: balance guard refused the debit")

// debit takes money from a card: POST /api/debit. Nothing is written unless the whole
// debit succeeds; the balance guard in the UPDATE keeps concurrent debits from
// overdrawing, and the unique (kind, out_no) key makes a repeated out_no harmless.
func (s *Sim) debit(c *fiber.Ctx) error {
	var req debitRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return badRequest(c, "请求格式错误")
	}
	if req.HolderNo == "" || req.Password == "" || !outNoRe.MatchString(req.OutNo) ||
		req.AmountFen <= 0 || req.AmountFen > maxAmountFen {
		return badRequest(c, "缺少必填字段或金额不正确")
	}
	ctx := c.UserContext()
	acct, err := s.account(ctx, s.DB, req.HolderNo)
	if errors.Is(err, ErrNoAccount) {
		return fail(c, fiber.StatusUnprocessableEntity, "no_account", "未找到该校园卡账户")
	} else if err != nil {
		return err
	}
	// CompareHashAndPassword compares in constant time.
	if bcrypt.CompareHashAndPassword([]byte(acct.PasswordHash), []byte(req.Password)) != nil {
		return fail(c, fiber.StatusUnprocessableEntity, "wrong_password", "校园卡密码错误")
	}
	if t, err := s.txnByOut(ctx, kindDebit, req.OutNo); err == nil {
		return s.debitAgain(c, acct, req, t)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}

	t := &store.CardTxn{
		TxnNo:     "D" + randomHex(8),
		CardNo:    acct.CardNo,
		Kind:      kindDebit,
		OutNo:     req.OutNo,
		AmountFen: req.AmountFen,
		CreatedAt: store.UTC(s.now()),
	}
	txErr := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.CardAccount)(nil)).
			Set("balance_fen = balance_fen - ?", t.AmountFen).
			Set("updated_at = ?", t.CreatedAt).
			Where("card_no = ? AND balance_fen >= ? AND frozen = FALSE", t.CardNo, t.AmountFen).
			Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errNotDebited
		}
		err = tx.NewSelect().Model((*store.CardAccount)(nil)).Column("balance_fen").
			Where("card_no = ?", t.CardNo).Scan(ctx, &t.BalanceAfter)
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(t).Exec(ctx)
		return err
	})
	switch {
	case txErr == nil:
		return c.JSON(debitOf(t))
	case errors.Is(txErr, errNotDebited), store.IsDuplicate(txErr):
		// Either way nothing was written. The same out_no may have been debited
		// meanwhile (a concurrent retry); otherwise say why the guard refused.
		if first, err := s.txnByOut(ctx, kindDebit, req.OutNo); err == nil {
			return s.debitAgain(c, acct, req, first)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if store.IsDuplicate(txErr) {
			return txErr // a txn_no collision: vanishingly rare, the client retries
		}
		return s.declineGuard(c, acct.HolderNo)
	default:
		return txErr
	}
}

// debitAgain answers a debit whose out_no is already debited: the first txn when it is
// the same debit, 409 otherwise.
func (s *Sim) debitAgain(c *fiber.Ctx, acct *store.CardAccount, req debitRequest, first *store.CardTxn) error {
	if first.CardNo != acct.CardNo || first.AmountFen != req.AmountFen {
		return fail(c, fiber.StatusConflict, "conflict", "该订单号已用于另一笔扣款")
	}
	return c.JSON(debitOf(first))
}

// declineGuard says why the balance guard refused a debit: the card is frozen or the
// balance too low.
func (s *Sim) declineGuard(c *fiber.Ctx, holderNo string) error {
	acct, err := s.account(c.UserContext(), s.DB, holderNo)
	if err != nil {
		return err
	}
	if acct.Frozen {
		return fail(c, fiber.StatusUnprocessableEntity, "frozen", "校园卡已冻结")
	}
	balance := acct.BalanceFen
	return c.Status(fiber.StatusUnprocessableEntity).JSON(errorBody{
		Code:       "insufficient_balance",
		Message:    "校园卡余额不足，当前余额 " + money.Format(balance),
		BalanceFen: &balance,
	})
}
