package campuscard

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// statementLine is one transaction of a statement, with its cardholder.
type statementLine struct {
	Kind      string    `bun:"kind"`
	TxnNo     string    `bun:"txn_no"`
	CardNo    string    `bun:"card_no"`
	HolderNo  string    `bun:"holder_no"`
	OutNo     string    `bun:"out_no"`
	AmountFen int64     `bun:"amount_fen"`
	CreatedAt time.Time `bun:"created_at"`
}

// statement is the CSV of one business day in Asia/Shanghai:
// GET /api/statements/{YYYY-MM-DD}. The format is in the package comment.
func (s *Sim) statement(c *fiber.Ctx) error {
	day, err := time.ParseInLocation(time.DateOnly, c.Params("day"), shanghai)
	if err != nil {
		return badRequest(c, "日期格式应为 YYYY-MM-DD")
	}
	var lines []statementLine
	err = s.DB.NewSelect().
		TableExpr("sim_card_txns AS t").
		Join("JOIN sim_card_accounts AS a ON a.card_no = t.card_no").
		ColumnExpr("t.kind, t.txn_no, t.card_no, a.holder_no, t.out_no, t.amount_fen, t.created_at").
		Where("t.created_at >= ? AND t.created_at < ?", day.UTC(), day.AddDate(0, 0, 1).UTC()).
		OrderExpr("t.created_at, t.id").
		Scan(c.UserContext(), &lines)
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"kind", "txn_no", "card_no", "holder_no", "out_no", "amount_fen", "time"})
	var debits, refunds int
	var debitFen, refundFen int64
	for _, l := range lines {
		switch l.Kind {
		case kindDebit:
			debits++
			debitFen += l.AmountFen
		case kindRefund:
			refunds++
			refundFen += l.AmountFen
		}
		w.Write([]string{l.Kind, l.TxnNo, l.CardNo, l.HolderNo, l.OutNo,
			strconv.FormatInt(l.AmountFen, 10), l.CreatedAt.In(shanghai).Format(time.RFC3339)})
	}
	w.Write([]string{"SUMMARY", strconv.Itoa(debits), strconv.FormatInt(debitFen, 10),
		strconv.Itoa(refunds), strconv.FormatInt(refundFen, 10), strconv.FormatInt(debitFen-refundFen, 10)})
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	return c.Send(buf.Bytes())
}
