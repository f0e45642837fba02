package campuscard

import (
	"database/sql"
	"errors"

	"github.com/gofiber/fiber/v2"

	"campuspay/store"
)

// txn looks a debit up by the platform's order number: GET /api/txns/{out_no}.
func (s *Sim) txn(c *fiber.Ctx) error {
	t, err := s.txnByOut(c.UserContext(), kindDebit, c.Params("out_no"))
	if errors.Is(err, sql.ErrNoRows) {
		return fail(c, fiber.StatusNotFound, "not_found", "")
	} else if err != nil {
		return err
	}
	return c.JSON(debitOf(t))
}

// refundTxn looks a refund up by the platform's refund number:
// GET /api/refunds/{out_refund_no}.
func (s *Sim) refundTxn(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r, err := s.txnByOut(ctx, kindRefund, c.Params("out_refund_no"))
	if errors.Is(err, sql.ErrNoRows) {
		return fail(c, fiber.StatusNotFound, "not_found", "")
	} else if err != nil {
		return err
	}
	debit := new(store.CardTxn)
	if err := s.DB.NewSelect().Model(debit).Where("txn_no = ?", r.DebitTxnNo).Scan(ctx); err != nil {
		return err
	}
	return c.JSON(refundOf(r, debit))
}
